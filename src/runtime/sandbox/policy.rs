//! What one agent run may write (the Landlock allow-list) and how its CLI is started through
//! the wrapper. Landlock denies whatever is not granted, so the policy lists only what the run
//! needs: its worktree; for a task worktree also the worktree's admin folder
//! (`.git/worktrees/<name>`: HEAD, index, their locks), the object store, and the folder of
//! its branch's ref and reflog (where `<branch>.lock` is made); a tmp folder of its own; the
//! CLI's state folders; device files; configured extra paths. Every path is checked against
//! the repository's protected places: none may contain `.overlord/`, the repository's top,
//! the git directory, `refs/heads`, `refs/tags`, `refs/notes` or `packed-refs`.

use std::path::{Component, Path, PathBuf};

use crate::agent::adapter::Invocation;
use crate::git::Protection;
use crate::workspace::Workspace;

/// Device files a CLI writes or talks to (those that exist are granted).
const DEVICES: [&str; 9] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
];

/// What one run may write, and how the wrapper confines it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Granted every write right beneath (a folder) or on (a file).
    pub write: Vec<PathBuf>,
    /// Folders made (with their parents) before the ruleset applies; writable too.
    pub mkdir: Vec<PathBuf>,
    /// The run's own tmp folder: made, writable, and the CLI's `TMPDIR`.
    pub tmp: Option<PathBuf>,
    /// Outgoing TCP ports allowed (Landlock ABI 4+); empty: no network rule.
    pub net_ports: Vec<u16>,
    /// Run unconfined (with a warning on stderr) where the kernel has no Landlock.
    pub best_effort: bool,
    /// The owner's pid: the wrapper dies with it (PR_SET_PDEATHSIG) and refuses to start
    /// when it is already gone.
    pub owner_pid: Option<u32>,
}

impl Policy {
    /// The wrapper's options for this policy (`overlord-tui sandbox-exec` reads them back).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut put = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        for p in &self.write {
            put("--write", p.display().to_string());
        }
        for p in &self.mkdir {
            put("--mkdir", p.display().to_string());
        }
        if let Some(t) = &self.tmp {
            put("--tmp", t.display().to_string());
        }
        for port in &self.net_ports {
            put("--net-port", port.to_string());
        }
        if let Some(pid) = self.owner_pid {
            put("--owner-pid", pid.to_string());
        }
        if self.best_effort {
            args.push("--best-effort".to_string());
        }
        args
    }

    /// Every path the run may write (folders and files; device files included).
    pub fn writable(&self) -> impl Iterator<Item = &Path> {
        self.write
            .iter()
            .chain(&self.mkdir)
            .chain(&self.tmp)
            .map(PathBuf::as_path)
    }
}

/// What decides one run's policy.
pub struct Grants<'a> {
    pub ws: &'a Workspace,
    /// The run's work directory: a task worktree, or the agent's scratch folder.
    pub workdir: &'a Path,
    pub agent: &'a str,
    /// Protected branches: a ref folder that may hold one is never granted.
    pub protection: &'a Protection,
    /// The adapter's state folders (`[adapters.<name>] state_dirs`).
    pub state: &'a [String],
    /// `[agents] sandbox_extra_write`.
    pub extra: &'a [String],
    pub net_ports: &'a [u16],
    pub best_effort: bool,
    pub owner_pid: Option<u32>,
    /// A read-only run (a reviewer): the work directory is not writable, only this folder
    /// (and the tmp, devices, the CLI's state and the extra paths) is.
    pub only_write: Option<&'a Path>,
}

/// `~` and `~/…` in the home directory; other paths must be absolute.
pub fn expand_home(path: &str) -> Option<PathBuf> {
    let path = path.trim();
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if path == "~" {
        return home();
    }
    if let Some(rest) = path.strip_prefix("~/") {
        return home().map(|h| h.join(rest));
    }
    let p = PathBuf::from(path);
    p.is_absolute().then_some(p)
}

/// `path` with `.` and `..` resolved by name, through the longest part of it that exists
/// (symbolic links there resolved).
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if let Ok(p) = out.canonicalize() {
        return p;
    }
    let mut tail = Vec::new();
    let mut head = out.clone();
    while let Some(name) = head.file_name().map(|n| n.to_os_string()) {
        head.pop();
        tail.push(name);
        if let Ok(p) = head.canonicalize() {
            return tail.iter().rev().fold(p, |acc, n| acc.join(n));
        }
    }
    out
}

/// The places no grant may contain.
fn guarded(ws: &Workspace) -> Vec<PathBuf> {
    let common = normalize(&ws.git_common_dir);
    vec![
        normalize(&ws.root),
        normalize(&ws.dir),
        normalize(&ws.dir.join("overlord.db")),
        common.join("refs").join("heads"),
        common.join("refs").join("tags"),
        common.join("refs").join("notes"),
        common.join("packed-refs"),
        common,
    ]
}

/// Refuses a grant that contains a protected place.
fn check_grant(ws: &Workspace, path: &Path, what: &str) -> Result<(), String> {
    let p = normalize(path);
    if p.parent().is_none() {
        return Err(format!(
            "{what} is the whole file system: agents could write everything"
        ));
    }
    match guarded(ws).into_iter().find(|g| g.starts_with(&p)) {
        Some(g) => Err(format!(
            "{what} {} {}, which only Overlord and the human may write",
            if g == p { "is" } else { "contains" },
            g.display()
        )),
        None => Ok(()),
    }
}

/// A configured path (state folder, extra path): granted when it exists; a missing one that
/// ends in `/` is made as a folder. None may lie inside the repository (the user's checkout,
/// `.overlord/`, the git directory).
fn configured(ws: &Workspace, entry: &str, key: &str, policy: &mut Policy) -> Result<(), String> {
    let Some(path) = expand_home(entry) else {
        return Err(format!("{key}: '{entry}' is not an absolute path (or ~/…)"));
    };
    let what = format!("{key}: '{entry}'");
    check_grant(ws, &path, &what)?;
    let p = normalize(&path);
    if p.starts_with(normalize(&ws.root)) || p.starts_with(normalize(&ws.git_common_dir)) {
        return Err(format!(
            "{what} is inside the repository ({}): only the task's worktree is writable there",
            ws.root.display()
        ));
    }
    if p.exists() {
        policy.write.push(p);
    } else if entry.trim_end().ends_with('/') {
        policy.mkdir.push(p);
    }
    Ok(())
}

/// Whether a branch folder (`session/s/task`, under `refs/heads`) may hold a protected
/// branch: then it is never granted.
fn holds_protected(dir: &str, protection: &Protection) -> bool {
    let inside = format!("{dir}/");
    std::iter::once(protection.main.as_str())
        .chain(protection.branches.iter().map(String::as_str))
        .any(|b| match b.strip_suffix('*') {
            Some(prefix) => prefix.starts_with(&inside) || inside.starts_with(prefix),
            None => b.is_empty() || b.starts_with(&inside),
        })
}

/// A linked worktree of the repository: its admin folder, the object store, and its
/// branch's ref and reflog folders (unless they may hold a protected branch).
fn git_grants(g: &Grants<'_>, workdir: &Path, policy: &mut Policy) {
    let Ok(repo) = git2::Repository::open(workdir) else {
        return;
    };
    let common = normalize(repo.commondir());
    if !repo.is_worktree() || common != normalize(&g.ws.git_common_dir) {
        return;
    }
    let admin = normalize(repo.path());
    if !admin.starts_with(common.join("worktrees")) || admin == common.join("worktrees") {
        return;
    }
    policy.write.push(admin);
    policy.write.push(common.join("objects"));
    let branch = repo
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().map(str::to_string))
        .and_then(|t| t.strip_prefix("refs/heads/").map(str::to_string));
    let Some(branch) = branch.filter(|b| crate::git::check_branch_name(b).is_ok()) else {
        return;
    };
    let Some((dir, _)) = branch.rsplit_once('/') else {
        return;
    };
    if holds_protected(dir, g.protection) {
        return;
    }
    policy
        .mkdir
        .push(common.join("refs").join("heads").join(dir));
    policy
        .mkdir
        .push(common.join("logs").join("refs").join("heads").join(dir));
}

/// The policy of one run, or why the run must not start (a grant would open a protected
/// place: a misconfigured extra path, a work directory that is the repository itself).
pub fn policy_for(g: &Grants<'_>) -> Result<Policy, String> {
    let ws = g.ws;
    let workdir = normalize(g.workdir);
    check_grant(
        ws,
        &workdir,
        &format!("the work directory {}", workdir.display()),
    )?;
    let root = normalize(&ws.root);
    let dir = normalize(&ws.dir);
    if workdir.starts_with(&root) {
        let ours = [dir.join("worktrees"), dir.join("agents")]
            .iter()
            .any(|d| workdir.starts_with(d) && &workdir != d);
        if !ours {
            return Err(format!(
                "the work directory {} is part of the user's checkout, which agents may not write",
                workdir.display()
            ));
        }
    }
    crate::core::worktree::check_component(g.agent).map_err(|e| e.to_string())?;
    let write = match g.only_write {
        Some(out) => {
            check_grant(ws, out, &format!("the review folder {}", out.display()))?;
            normalize(out)
        }
        None => workdir.clone(),
    };
    let mut policy = Policy {
        write: vec![write],
        tmp: Some(dir.join("tmp").join(g.agent)),
        net_ports: g.net_ports.to_vec(),
        best_effort: g.best_effort,
        owner_pid: g.owner_pid,
        ..Policy::default()
    };
    if g.only_write.is_none() {
        git_grants(g, &workdir, &mut policy);
    }
    for entry in g.state {
        configured(ws, entry, "[adapters] state_dirs", &mut policy)?;
    }
    for entry in g.extra {
        configured(ws, entry, "[agents] sandbox_extra_write", &mut policy)?;
    }
    for d in DEVICES {
        if Path::new(d).exists() {
            policy.write.push(PathBuf::from(d));
        }
    }
    Ok(policy)
}

/// The CLI's invocation started through `self_exe sandbox-exec <policy> -- <program> …`. The
/// program is looked up first, so a CLI that is not installed says so as before.
pub fn wrap(inv: Invocation, policy: &Policy, self_exe: &Path) -> Result<Invocation, String> {
    let found = if inv.program.contains('/') && !Path::new(&inv.program).is_absolute() {
        crate::runtime::adapters::find_program(&inv.cwd.join(&inv.program).display().to_string())
            .or_else(|| crate::runtime::adapters::find_program(&inv.program))
    } else {
        crate::runtime::adapters::find_program(&inv.program)
    };
    let Some(program) = found else {
        let where_ = if inv.program.contains('/') {
            "no such file"
        } else {
            "not found in PATH"
        };
        return Err(format!(
            "{} is not installed ({where_}); install it or set binary = \"…\" in [adapters.…] of .overlord/config.toml",
            inv.program
        ));
    };
    let mut args = vec!["sandbox-exec".to_string()];
    args.extend(policy.to_args());
    args.push("--".to_string());
    args.push(program.display().to_string());
    args.extend(inv.args);
    Ok(Invocation {
        program: self_exe.display().to_string(),
        args,
        ..inv
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protection(main: &str, branches: &[&str]) -> Protection {
        Protection {
            main: main.to_string(),
            branches: branches.iter().map(|b| b.to_string()).collect(),
        }
    }

    #[test]
    fn a_folder_that_may_hold_a_protected_branch_is_never_granted() {
        let p = protection("main", &["release/*", "develop"]);
        assert!(!holds_protected("session/s1/task", &p));
        assert!(holds_protected("release", &p));
        assert!(holds_protected("release/v1", &p));
        let nested = protection("session/s1/task/main", &[]);
        assert!(holds_protected("session/s1/task", &nested));
        assert!(holds_protected("session", &nested));
        assert!(holds_protected(
            "session/s1/task",
            &protection("main", &["*"])
        ));
        assert!(holds_protected(
            "session/s1/task",
            &protection("main", &["session/*"])
        ));
    }

    #[test]
    fn names_are_normalized_through_what_exists() {
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        assert_eq!(normalize(&tmp.join("a/../b/./c")), tmp.join("b/c"));
        assert_eq!(expand_home("relative/path"), None);
        assert_eq!(expand_home("/abs"), Some(PathBuf::from("/abs")));
    }

    #[test]
    fn the_wrapper_options_name_every_grant() {
        let p = Policy {
            write: vec!["/w".into()],
            mkdir: vec!["/m".into()],
            tmp: Some("/t".into()),
            net_ports: vec![443],
            best_effort: true,
            owner_pid: Some(7),
        };
        assert_eq!(
            p.to_args().join(" "),
            "--write /w --mkdir /m --tmp /t --net-port 443 --owner-pid 7 --best-effort"
        );
        let w: Vec<&Path> = p.writable().collect();
        assert_eq!(w, [Path::new("/w"), Path::new("/m"), Path::new("/t")]);
    }
}
