//! Files agents touch, as they touch them: a `notify` watcher on the task worktrees
//! (`.overlord/worktrees/<task>/…`) reports each changed file with its task, so the swarm and
//! diff panes update without polling. Git's own files are ignored.

use std::path::{Component, Path, PathBuf};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A file changed in a task's worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    pub task: String,
    /// The path inside the worktree.
    pub path: String,
}

/// Which task's worktree `path` is in, and the path inside it (`None` for git's files and for
/// anything outside the worktrees).
pub fn classify(worktrees: &Path, path: &Path) -> Option<Touched> {
    let rel = path.strip_prefix(worktrees).ok()?;
    let mut parts = rel.components();
    let task = match parts.next()? {
        Component::Normal(t) => t.to_string_lossy().into_owned(),
        _ => return None,
    };
    let inside: PathBuf = parts.collect();
    if inside.as_os_str().is_empty()
        || inside
            .components()
            .any(|c| c.as_os_str() == ".git" || c.as_os_str() == "target")
    {
        return None;
    }
    Some(Touched {
        task,
        path: inside.to_string_lossy().into_owned(),
    })
}

/// Watches `<root>/.overlord/worktrees` (created if missing). Keep the watcher alive as long
/// as the receiver is used.
pub fn worktrees(
    root: &Path,
) -> notify::Result<(RecommendedWatcher, mpsc::UnboundedReceiver<Touched>)> {
    let dir = root.join(".overlord").join("worktrees");
    std::fs::create_dir_all(&dir).map_err(notify::Error::io)?;
    let dir = dir.canonicalize().map_err(notify::Error::io)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let base = dir.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for p in &event.paths {
            if let Some(t) = classify(&base, p) {
                let _ = tx.send(t);
            }
        }
    })?;
    watcher.watch(&dir, RecursiveMode::Recursive)?;
    Ok((watcher, rx))
}
