//! Where Overlord lives in a repository: `.overlord/` at the top of the work tree holds the
//! store, the mirrors, the configuration, the socket and the logs. `init` creates it and
//! keeps it out of git through `.git/info/exclude`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{DEFAULT_CONFIG, DEFAULT_QA_POLICY};
use crate::store::StorePaths;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{0} is not inside a git repository (run `git init` first, or pass --repo DIR)")]
    NotARepo(String),
    #[error("{0} is a bare repository: Overlord needs a work tree")]
    Bare(String),
    #[error("Overlord is not set up in {0}: run `overlord-tui init` there first")]
    NotInitialized(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct Workspace {
    /// The top of the work tree.
    pub root: PathBuf,
    /// `<root>/.overlord`.
    pub dir: PathBuf,
    /// The repository's common git directory (shared by all worktrees).
    pub git_common_dir: PathBuf,
}

/// What `init` did, for its report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InitReport {
    pub root: String,
    pub created: Vec<String>,
    pub already_initialized: bool,
}

impl Workspace {
    /// Finds the repository containing `start`.
    pub fn discover(start: &Path) -> Result<Workspace, WorkspaceError> {
        let repo = git2::Repository::discover(start)
            .map_err(|_| WorkspaceError::NotARepo(start.display().to_string()))?;
        if repo.is_bare() {
            return Err(WorkspaceError::Bare(repo.path().display().to_string()));
        }
        // From inside a task worktree (`.overlord/worktrees/<task>`, where agents run
        // `overlord-tui concern raise …`), Overlord is the main work tree's.
        let main_repo = if repo.is_worktree() {
            git2::Repository::open(repo.commondir()).ok()
        } else {
            None
        };
        let root = main_repo
            .as_ref()
            .and_then(|m| m.workdir())
            .or_else(|| repo.workdir())
            .ok_or_else(|| WorkspaceError::Bare(repo.path().display().to_string()))?;
        let root = root.canonicalize().map_err(|e| io_err(root, e))?;
        let common = repo.commondir().to_path_buf();
        Ok(Workspace {
            dir: root.join(".overlord"),
            root,
            git_common_dir: common,
        })
    }

    /// A path as shown to the user: relative to the top of the work tree when inside it.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }

    /// The store's files, with the repository whose checkpoint notes anchor its chain.
    pub fn store_paths(&self) -> StorePaths {
        StorePaths {
            git_dir: Some(self.git_common_dir.clone()),
            ..StorePaths::under(&self.dir)
        }
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("overlord.sock")
    }

    pub fn serve_lock_path(&self) -> PathBuf {
        self.dir.join("serve.lock")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    pub fn policy_path(&self) -> PathBuf {
        self.dir.join("QA_POLICY.yaml")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn is_initialized(&self) -> bool {
        self.store_paths().db.exists()
    }

    pub fn require_initialized(&self) -> Result<(), WorkspaceError> {
        if self.is_initialized() {
            Ok(())
        } else {
            Err(WorkspaceError::NotInitialized(
                self.root.display().to_string(),
            ))
        }
    }

    /// Creates `.overlord/` with the store, the default configuration and QA policy, and adds
    /// it to `.git/info/exclude`. Safe to run again: it only adds what is missing.
    pub fn init(&self) -> Result<InitReport, WorkspaceError> {
        let mut report = InitReport {
            root: self.root.display().to_string(),
            already_initialized: self.is_initialized(),
            ..Default::default()
        };
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
            report.created.push(".overlord/".into());
        }
        restrict_dir(&self.dir)?;
        for (path, text, shown) in [
            (self.config_path(), DEFAULT_CONFIG, ".overlord/config.toml"),
            (
                self.policy_path(),
                DEFAULT_QA_POLICY,
                ".overlord/QA_POLICY.yaml",
            ),
        ] {
            if !path.exists() {
                fs::write(&path, text).map_err(|e| io_err(&path, e))?;
                report.created.push(shown.into());
            }
        }
        fs::create_dir_all(self.log_dir()).map_err(|e| io_err(&self.log_dir(), e))?;
        if !self.is_initialized() {
            crate::store::Store::open(&self.store_paths()).map_err(|e| WorkspaceError::Io {
                path: self.store_paths().db.display().to_string(),
                message: e.to_string(),
            })?;
            report.created.push(".overlord/overlord.db".into());
            report.created.push(".overlord/audit/".into());
        }
        if self.exclude_from_git()? {
            report.created.push(".git/info/exclude entry".into());
        }
        self.tighten()?;
        Ok(report)
    }

    /// Adds `/.overlord/` to `info/exclude`; returns whether it had to.
    fn exclude_from_git(&self) -> Result<bool, WorkspaceError> {
        let info = self.git_common_dir.join("info");
        fs::create_dir_all(&info).map_err(|e| io_err(&info, e))?;
        let exclude = info.join("exclude");
        let existing = match fs::read_to_string(&exclude) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_err(&exclude, e)),
        };
        if existing.lines().any(|l| {
            matches!(
                l.trim(),
                "/.overlord/" | ".overlord/" | "/.overlord" | ".overlord"
            )
        }) {
            return Ok(false);
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&exclude)
            .map_err(|e| io_err(&exclude, e))?;
        let sep = if existing.is_empty() || existing.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        write!(
            f,
            "{sep}# Overlord's local state (store, logs, socket)\n/.overlord/\n"
        )
        .map_err(|e| io_err(&exclude, e))?;
        Ok(true)
    }
}

impl Workspace {
    /// Gives `.overlord/` and what it holds owner-only modes whatever the umask was when they
    /// were made: directories 0700, files (the store, the audit mirrors, logs, the config, the
    /// socket) 0600. Task worktrees and restored checkpoints are the project's own files and
    /// keep theirs. Run by `init` and by every process that owns the repository, at start.
    /// Symlinks are not followed. Returns how many entries it changed.
    pub fn tighten(&self) -> Result<usize, WorkspaceError> {
        restrict_dir(&self.dir)?;
        tighten_tree(&self.dir, true)
    }
}

#[cfg(unix)]
fn tighten_tree(dir: &Path, top: bool) -> Result<usize, WorkspaceError> {
    use std::os::unix::fs::PermissionsExt;
    let mut changed = 0;
    let entries = fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let path = entry.path();
        if top && matches!(entry.file_name().to_str(), Some("worktrees" | "restore")) {
            continue;
        }
        // `symlink_metadata`: a link is neither followed nor changed.
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Gone meanwhile (a log rotated, a lock released).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&path, e)),
        };
        let kind = meta.file_type();
        let want = if kind.is_dir() {
            0o700
        } else if kind.is_symlink() {
            continue;
        } else {
            0o600
        };
        if meta.permissions().mode() & 0o7777 != want {
            match fs::set_permissions(&path, fs::Permissions::from_mode(want)) {
                Ok(()) => changed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path, e)),
            }
        }
        if kind.is_dir() {
            changed += tighten_tree(&path, false)?;
        }
    }
    Ok(changed)
}

#[cfg(not(unix))]
fn tighten_tree(_dir: &Path, _top: bool) -> Result<usize, WorkspaceError> {
    Ok(0)
}

/// `.overlord/` holds the socket and the audit store: only the owner may enter.
fn restrict_dir(dir: &Path) -> Result<(), WorkspaceError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}
