//! The git controller: everything Overlord does to the repository, on git objects through
//! libgit2 (no OpenSSL, no libssh2, no `git` binary needed).
//!
//! - Protected refs (the main branch, configured branches, `refs/tags/checkpoint/*`,
//!   `refs/notes/overlord`) move only with a [`Publish`] authority, which only Save, promotion
//!   and rollback hold; every other update through [`update_ref`] is refused.
//! - Commits carry trailers (`Signed-off-by`, `Audit-ID`, `Overlord-Session`,
//!   `Overlord-Version`).
//! - [`publish`] moves main, the checkpoint tag and the notes ref together, under ref locks,
//!   only if main is still where the operation found it.

pub mod merge;
pub mod recheck;
pub mod tree_diff;
pub mod watch;

use std::path::Path;

use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryState, Signature, StatusOptions};

use crate::protocol::model::Role;

pub const NOTES_REF: &str = "refs/notes/overlord";
pub const CHECKPOINT_TAGS: &str = "refs/tags/checkpoint/";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// How many file names an error lists before "and N more".
const LIST: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0} is not a git repository")]
    NotARepo(String),
    #[error("{0} is a bare repository: Overlord needs a work tree")]
    Bare(String),
    #[error("the repository has no commits yet: commit something first")]
    NoCommits,
    #[error("HEAD is detached: check out a branch (e.g. `git switch {0}`) first")]
    Detached(String),
    #[error("the index is locked ({0}): another git command is running, or crashed and left the lock; remove it if no git command is running")]
    IndexLocked(String),
    #[error("a git {0} is in progress in your work tree: finish or abort it first")]
    InProgress(String),
    #[error("your work tree on {branch} has uncommitted changes ({}): commit or stash them first", list(.files))]
    Dirty { branch: String, files: Vec<String> },
    #[error("untracked files in your work tree are in the way of {what} ({}): move them away first", list(.files))]
    InTheWay { what: String, files: Vec<String> },
    #[error("there is no branch '{0}' (set [git] main in .overlord/config.toml)")]
    NoBranch(String),
    #[error("task {task} is finished but its branch {branch} is missing; recreate it or set the task back (`/task {task} todo`)")]
    MissingTaskBranch { task: String, branch: String },
    #[error("'{0}' is not a valid branch name (letters, digits, '.', '_', '-' and '/'; no '..', no control characters)")]
    BadName(String),
    #[error("{0} is protected: only Save, promotion and rollback move it")]
    Protected(String),
    #[error("{reference} moved while the operation ran (expected {expected}, found {found}); nothing was published")]
    Moved {
        reference: String,
        expected: String,
        found: String,
    },
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0}")]
    Git(String),
}

fn list(files: &[String]) -> String {
    let mut s = files
        .iter()
        .take(LIST)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > LIST {
        s.push_str(&format!(" and {} more", files.len() - LIST));
    }
    s
}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> Self {
        GitError::Git(e.message().to_string())
    }
}

pub type Result<T> = std::result::Result<T, GitError>;

/// Opens the repository at the top of a work tree, refusing bare and empty repositories.
pub fn open(root: &Path) -> Result<Repository> {
    let repo =
        Repository::open(root).map_err(|_| GitError::NotARepo(root.display().to_string()))?;
    if repo.is_bare() {
        return Err(GitError::Bare(root.display().to_string()));
    }
    Ok(repo)
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}

/// The branch Save moves: as configured, else `main`, else `master`, else HEAD's branch.
pub fn detect_main(repo: &Repository, configured: &str) -> Result<String> {
    let configured = configured.trim();
    if !configured.is_empty() {
        check_branch_name(configured)?;
        if repo
            .find_reference(&format!("refs/heads/{configured}"))
            .is_err()
        {
            return Err(GitError::NoBranch(configured.to_string()));
        }
        return Ok(configured.to_string());
    }
    for name in ["main", "master"] {
        if repo.find_reference(&format!("refs/heads/{name}")).is_ok() {
            return Ok(name.to_string());
        }
    }
    match head_branch(repo)? {
        Some(b) => Ok(b),
        None => Err(GitError::Detached("main".into())),
    }
}

/// The branch HEAD is on; `None` when detached. Errors when there are no commits.
pub fn head_branch(repo: &Repository) -> Result<Option<String>> {
    let head = match repo.head() {
        Ok(h) => h,
        Err(e) if e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound => {
            return Err(GitError::NoCommits)
        }
        Err(e) => return Err(e.into()),
    };
    if repo.head_detached()? {
        return Ok(None);
    }
    Ok(head
        .name()
        .and_then(|n| n.strip_prefix("refs/heads/"))
        .map(str::to_string))
}

/// A branch name as `git check-ref-format --branch` accepts it, narrowed to what is safe in
/// paths and terminals.
pub fn check_branch_name(name: &str) -> Result<()> {
    let first = name.split('/').next().unwrap_or("");
    // Names git would read as something else: `refs/…` (a full ref name), `HEAD` and the
    // other special refs, `heads/…`, `tags/…`, `remotes/…` (shorthands `git rev-parse` tries
    // before branches), `@`, and a full object id.
    let ambiguous = matches!(first, "refs" | "heads" | "tags" | "remotes" | "@")
        || first.ends_with("HEAD")
        || (name.len() >= 40 && name.chars().all(|c| c.is_ascii_hexdigit()));
    let ok = !name.is_empty()
        && !ambiguous
        && name
            .split('/')
            .all(|c| crate::core::worktree::check_component(c).is_ok() && !c.is_empty());
    if ok {
        Ok(())
    } else {
        Err(GitError::BadName(name.escape_debug().to_string()))
    }
}

pub fn branch_tip(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match repo.find_reference(&format!("refs/heads/{branch}")) {
        Ok(r) => Ok(Some(r.peel_to_commit()?.id())),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The refs only Save, promotion and rollback may move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub main: String,
    /// Branch names; a trailing `*` matches any suffix (`release/*`).
    pub branches: Vec<String>,
}

impl Protection {
    pub fn is_protected(&self, refname: &str) -> bool {
        if refname.starts_with(CHECKPOINT_TAGS) || refname == NOTES_REF {
            return true;
        }
        let Some(branch) = refname.strip_prefix("refs/heads/") else {
            return false;
        };
        branch == self.main
            || self.branches.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => branch.starts_with(prefix),
                None => branch == p,
            })
    }
}

/// The right to move protected refs; only the core's Save, promotion and rollback make one.
#[derive(Debug)]
pub struct Publish(());

impl Publish {
    pub(crate) fn grant() -> Publish {
        Publish(())
    }
}

/// Moves (or creates) `refname` to `new`, only if it is at `expected` (`None`: must not
/// exist). Protected refs need the `Publish` authority.
pub fn update_ref(
    repo: &Repository,
    protection: &Protection,
    authority: Option<&Publish>,
    refname: &str,
    new: Oid,
    expected: Option<Oid>,
    message: &str,
) -> Result<()> {
    if protection.is_protected(refname) && authority.is_none() {
        return Err(GitError::Protected(refname.to_string()));
    }
    let current = match repo.find_reference(refname) {
        Ok(r) => r.target(),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    if current != expected {
        return Err(GitError::Moved {
            reference: refname.to_string(),
            expected: expected.map(|o| o.to_string()).unwrap_or("nothing".into()),
            found: current.map(|o| o.to_string()).unwrap_or("nothing".into()),
        });
    }
    match expected {
        Some(old) => {
            repo.reference_matching(refname, new, true, old, message)?;
        }
        None => {
            repo.reference(refname, new, false, message)?;
        }
    }
    Ok(())
}

/// The state of the user's own work tree, checked before an operation that moves the branch
/// it may have checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTree {
    /// Whether the user's HEAD is on the main branch (its files then follow main).
    pub on_main: bool,
}

/// Refuses a detached HEAD, a locked index, a merge or rebase in progress, and (when the user
/// is on `main`) uncommitted changes to tracked files.
pub fn check_user_tree(repo: &Repository, main: &str) -> Result<UserTree> {
    check_user_tree_with(repo, main, tracked_changes)
}

/// [`check_user_tree`] with `scan` listing the changed tracked files.
pub(crate) fn check_user_tree_with(
    repo: &Repository,
    main: &str,
    mut scan: impl FnMut(&Repository) -> Result<Vec<String>>,
) -> Result<UserTree> {
    let branch = head_branch(repo)?;
    let Some(branch) = branch else {
        return Err(GitError::Detached(main.to_string()));
    };
    let lock = repo.path().join("index.lock");
    if lock.exists() {
        return Err(GitError::IndexLocked(lock.display().to_string()));
    }
    let busy = match repo.state() {
        RepositoryState::Clean => None,
        RepositoryState::Merge => Some("merge"),
        RepositoryState::Revert | RepositoryState::RevertSequence => Some("revert"),
        RepositoryState::CherryPick | RepositoryState::CherryPickSequence => Some("cherry-pick"),
        RepositoryState::Bisect => Some("bisect"),
        _ => Some("rebase"),
    };
    if let Some(what) = busy {
        return Err(GitError::InProgress(what.to_string()));
    }
    let on_main = branch == main;
    if on_main {
        let dirty = scan(repo)?;
        if !dirty.is_empty() {
            return Err(GitError::Dirty {
                branch,
                files: dirty,
            });
        }
    }
    Ok(UserTree { on_main })
}

/// Tracked files with staged or unstaged changes in the user's work tree.
///
/// The scan writes back the index's stat cache for files it found unchanged (as `git status`
/// does), so the next scan — the re-check before main moves, the next Save — does not read
/// and hash every file again because files were rewritten after the index was (what a Save
/// leaves behind). When the index cannot be written (the user's git holds its lock), the
/// scan runs without the refresh.
pub fn tracked_changes(repo: &Repository) -> Result<Vec<String>> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .update_index(true);
    let statuses = match repo.statuses(Some(&mut opts)) {
        Ok(s) => s,
        Err(_) => {
            opts.update_index(false);
            repo.statuses(Some(&mut opts))?
        }
    };
    Ok(statuses
        .iter()
        .filter(|s| !s.status().is_empty())
        .filter_map(|s| s.path().map(str::to_string))
        .collect())
}

/// The trailer block of every commit Overlord makes.
pub fn trailers(role: Role, audit_id: u64, session: &str) -> String {
    let name = role_name(role);
    let mail = role.to_string().replace('_', "-");
    format!(
        "Signed-off-by: {name}-Agent <{mail}@overlord.local>\nAudit-ID: {audit_id}\nOverlord-Session: {session}\nOverlord-Version: {VERSION}\n"
    )
}

/// The capitalized role name trailers use (`Implementer`, `PM`).
fn role_name(role: Role) -> String {
    if role == Role::ProjectManager {
        return "PM".into();
    }
    role.to_string()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Overlord's own identity on the commits, tags and notes it makes.
pub fn signature(role: Option<Role>) -> Result<Signature<'static>> {
    let sig = match role {
        Some(r) => Signature::now(
            &format!("{}-Agent", role_name(r)),
            &format!("{}@overlord.local", r.to_string().replace('_', "-")),
        )?,
        None => Signature::now("Overlord", "overlord@overlord.local")?,
    };
    Ok(sig)
}

/// Writes a commit object (no ref moves).
pub fn commit(
    repo: &Repository,
    tree: Oid,
    parents: &[Oid],
    message: &str,
    author: &Signature<'_>,
) -> Result<Oid> {
    let tree = repo.find_tree(tree)?;
    let parents = parents
        .iter()
        .map(|p| repo.find_commit(*p))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let committer = signature(None)?;
    Ok(repo.commit(None, author, &committer, message, &tree, &refs)?)
}

/// One line per commit `tip` brings in over `base` (newest first), at most `max`.
pub fn commits_between(
    repo: &Repository,
    base: Oid,
    tip: Oid,
    max: usize,
) -> Result<(Vec<String>, usize)> {
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    walk.hide(base)?;
    let ids = walk.collect::<std::result::Result<Vec<Oid>, _>>()?;
    commit_lines(repo, &ids, max)
}

/// One line per commit of `ids` (`<short id> <summary>`), at most `max`, and how many there
/// are.
pub fn commit_lines(repo: &Repository, ids: &[Oid], max: usize) -> Result<(Vec<String>, usize)> {
    let mut lines = Vec::new();
    for id in ids.iter().take(max) {
        let c = repo.find_commit(*id)?;
        lines.push(format!(
            "{} {}",
            short(&id.to_string()),
            c.summary().unwrap_or("")
        ));
    }
    Ok((lines, ids.len()))
}

/// The next free `checkpoint/<YYYYMMDD>-<NNN>` for the day of `now` (an RFC 3339 time).
pub fn next_checkpoint_name(repo: &Repository, now: &str, taken: &[String]) -> Result<String> {
    let day: String = now.chars().filter(|c| c.is_ascii_digit()).take(8).collect();
    let prefix = format!("checkpoint/{day}-");
    let mut max = 0u32;
    let mut names: Vec<String> = taken.to_vec();
    for name in repo
        .tag_names(Some(&format!("{prefix}*")))?
        .iter()
        .flatten()
    {
        names.push(name.to_string());
    }
    for n in names {
        if let Some(num) = n.strip_prefix(&prefix).and_then(|s| s.parse::<u32>().ok()) {
            max = max.max(num);
        }
    }
    Ok(format!("{prefix}{:03}", max + 1))
}

/// Writes a notes commit on top of `before` that adds `note` to each of `targets`.
pub fn notes_commit(
    repo: &Repository,
    before: Option<Oid>,
    targets: &[Oid],
    note: &str,
    message: &str,
) -> Result<Oid> {
    let parent = match before {
        Some(b) => Some(repo.find_commit(b)?),
        None => None,
    };
    let base_tree = match &parent {
        Some(p) => Some(p.tree()?),
        None => None,
    };
    let mut builder = repo.treebuilder(base_tree.as_ref())?;
    let blob = repo.blob(note.as_bytes())?;
    for t in targets {
        let name = t.to_string();
        // A fanned-out note for the same object (`ab/cdef…`) would shadow ours: drop it.
        if let Some(tree) = &base_tree {
            if let Some(dir) = tree.get_name(&name[..2]) {
                if dir.kind() == Some(ObjectType::Tree) {
                    let sub = repo.find_tree(dir.id())?;
                    if sub.get_name(&name[2..]).is_some() {
                        let mut sb = repo.treebuilder(Some(&sub))?;
                        sb.remove(&name[2..])?;
                        let id = sb.write()?;
                        builder.insert(&name[..2], id, 0o040000)?;
                    }
                }
            }
        }
        builder.insert(&name, blob, 0o100644)?;
    }
    let tree = repo.find_tree(builder.write()?)?;
    let sig = signature(None)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    Ok(repo.commit(None, &sig, &sig, message, &tree, &parents)?)
}

/// The note Overlord attached to an object, if any.
pub fn read_note(repo: &Repository, target: Oid) -> Option<String> {
    repo.find_note(Some(NOTES_REF), target)
        .ok()
        .and_then(|n| n.message().map(str::to_string))
}

pub fn ref_target(repo: &Repository, refname: &str) -> Result<Option<Oid>> {
    match repo.find_reference(refname) {
        Ok(r) => Ok(r.target()),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What [`publish`] moves.
#[derive(Debug, Clone)]
pub struct RefMoves {
    pub main_ref: String,
    pub main_before: Oid,
    pub main_after: Oid,
    /// `refs/tags/checkpoint/…` and its tag object (must not exist yet).
    pub tag_ref: String,
    pub tag_object: Oid,
    pub notes_before: Option<Oid>,
    pub notes_after: Oid,
}

/// Moves main, creates the tag and moves the notes ref, holding all three ref locks, and only
/// if main and the notes ref are still where the operation found them.
pub fn publish(
    repo: &Repository,
    _authority: &Publish,
    moves: &RefMoves,
    message: &str,
) -> Result<()> {
    let mut tx = repo.transaction()?;
    tx.lock_ref(&moves.main_ref)?;
    tx.lock_ref(&moves.tag_ref)?;
    tx.lock_ref(NOTES_REF)?;
    let main_now = ref_target(repo, &moves.main_ref)?;
    if main_now != Some(moves.main_before) {
        return Err(GitError::Moved {
            reference: moves.main_ref.clone(),
            expected: moves.main_before.to_string(),
            found: main_now.map(|o| o.to_string()).unwrap_or("nothing".into()),
        });
    }
    if ref_target(repo, &moves.tag_ref)?.is_some() {
        return Err(GitError::Exists(moves.tag_ref.clone()));
    }
    let notes_now = ref_target(repo, NOTES_REF)?;
    if notes_now != moves.notes_before {
        return Err(GitError::Moved {
            reference: NOTES_REF.into(),
            expected: moves
                .notes_before
                .map(|o| o.to_string())
                .unwrap_or("nothing".into()),
            found: notes_now.map(|o| o.to_string()).unwrap_or("nothing".into()),
        });
    }
    let sig = signature(None)?;
    tx.set_target(&moves.main_ref, moves.main_after, Some(&sig), message)?;
    tx.set_target(&moves.tag_ref, moves.tag_object, Some(&sig), message)?;
    tx.set_target(NOTES_REF, moves.notes_after, Some(&sig), message)?;
    tx.commit()?;
    Ok(())
}

/// Paths that differ between two trees, with whether each is added in `new`.
pub fn changed_paths(repo: &Repository, old: Oid, new: Oid) -> Result<Vec<(String, bool)>> {
    let (a, b) = (repo.find_tree(old)?, repo.find_tree(new)?);
    Ok(tree_diff::tree_changes(repo, &a, &b)?
        .into_iter()
        .map(|c| {
            let added = c.added();
            (c.path, added)
        })
        .collect())
}

/// Untracked files in the user's work tree at paths `new` adds over `old`: a checkout of
/// `new` would overwrite them.
pub fn untracked_in_the_way(repo: &Repository, changed: &[(String, bool)]) -> Result<Vec<String>> {
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    Ok(changed
        .iter()
        .filter(|(p, added)| *added && workdir.join(p).exists())
        .map(|(p, _)| p.clone())
        .collect())
}

/// After main moved to `new` with the user's (clean) work tree on it: writes the changed
/// files and brings their index entries up to date, with their stat data (nothing else is
/// touched).
pub fn follow_main(repo: &Repository, changed: &[(String, bool)], new: Oid) -> Result<()> {
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(());
    };
    if changed.is_empty() {
        return Ok(());
    }
    let tree = repo.find_commit(new)?.tree()?;
    let mut index = repo.index()?;
    let io = |e: std::io::Error, p: &str| GitError::Git(format!("{p}: {e}"));
    for (path, _) in changed {
        let full = workdir.join(path);
        match tree.get_path(Path::new(path)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Blob) => {
                let blob = repo.find_blob(entry.id())?;
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io(e, path))?;
                }
                if full.symlink_metadata().is_ok() {
                    std::fs::remove_file(&full).map_err(|e| io(e, path))?;
                }
                if entry.filemode() == 0o120000 {
                    let target = String::from_utf8_lossy(blob.content()).into_owned();
                    std::os::unix::fs::symlink(target, &full).map_err(|e| io(e, path))?;
                } else {
                    std::fs::write(&full, blob.content()).map_err(|e| io(e, path))?;
                    if entry.filemode() == 0o100755 {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755))
                            .map_err(|e| io(e, path))?;
                    }
                }
                // The entry from the blob's id (the file holds it) and the file's stat
                // data: `add_path` would read and hash the file just written.
                let meta = std::fs::symlink_metadata(&full).map_err(|e| io(e, path))?;
                // The mode as written above: a link, executable, or a plain file.
                let mode = match entry.filemode() {
                    0o120000 => 0o120000,
                    0o100755 => 0o100755,
                    _ => 0o100644,
                };
                index.add(&index_entry(path, entry.id(), mode, &meta))?;
            }
            _ => {
                if full.symlink_metadata().is_ok() {
                    std::fs::remove_file(&full).map_err(|e| io(e, path))?;
                }
                let _ = index.remove_path(Path::new(path));
                // Drop directories the removal left empty.
                let mut dir = full.parent().map(Path::to_path_buf);
                while let Some(d) = dir {
                    if d == workdir || std::fs::remove_dir(&d).is_err() {
                        break;
                    }
                    dir = d.parent().map(Path::to_path_buf);
                }
            }
        }
    }
    // Each entry above carries the stat data of the file just written (`add_path`), so the
    // next scan — the user's `git status`, the next Save — trusts it without hashing.
    index.write()?;
    Ok(())
}

/// An index entry for the file at `path` holding blob `id`, with the stat data `m` (as git
/// and libgit2 record it: times, device and inode, owner, size, truncated to 32 bits).
fn index_entry(path: &str, id: Oid, mode: u32, m: &std::fs::Metadata) -> git2::IndexEntry {
    use std::os::unix::fs::MetadataExt;
    git2::IndexEntry {
        ctime: git2::IndexTime::new(m.ctime() as i32, m.ctime_nsec() as u32),
        mtime: git2::IndexTime::new(m.mtime() as i32, m.mtime_nsec() as u32),
        dev: m.dev() as u32,
        ino: m.ino() as u32,
        mode,
        uid: m.uid(),
        gid: m.gid(),
        file_size: m.size() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// After main moved from `old` to `new` while the user's work tree (on main) was left at
/// `old` (a process killed between the two): brings it up to `new` when it is exactly `old`
/// (index and files), and leaves anything the user changed alone. Returns whether it did.
pub fn catch_up_user_tree(repo: &Repository, main: &str, old: Oid, new: Oid) -> Result<bool> {
    if head_branch(repo)?.as_deref() != Some(main) {
        return Ok(false);
    }
    let old_tree = repo.find_commit(old)?.tree_id();
    let mut index = repo.index()?;
    if index.has_conflicts() || index.write_tree()? != old_tree {
        return Ok(false);
    }
    let mut opts = StatusOptions::new();
    opts.include_untracked(false).include_ignored(false);
    let unstaged = repo.statuses(Some(&mut opts))?.iter().any(|s| {
        s.status().intersects(
            git2::Status::WT_MODIFIED
                | git2::Status::WT_DELETED
                | git2::Status::WT_TYPECHANGE
                | git2::Status::WT_RENAMED,
        )
    });
    if unstaged {
        return Ok(false);
    }
    let changed = changed_paths(repo, old_tree, repo.find_commit(new)?.tree_id())?;
    if !untracked_in_the_way(repo, &changed)?.is_empty() {
        return Ok(false);
    }
    follow_main(repo, &changed, new)?;
    Ok(true)
}
