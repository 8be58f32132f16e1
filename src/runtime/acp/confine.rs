//! Where an ACP agent may read and write through the client (`fs/read_text_file`,
//! `fs/write_text_file`): inside its worktree, never in the worktree's `.git`, symbolic links
//! resolved — the guard rails at the protocol level, besides the kernel's sandbox.

use std::path::{Component, Path, PathBuf};

/// The real path `requested` names when it lies inside `worktree`; else why not.
pub fn confine(worktree: &Path, requested: &Path) -> Result<PathBuf, String> {
    if !requested.is_absolute() {
        return Err(format!(
            "{} is not an absolute path (the protocol's paths are absolute)",
            requested.display()
        ));
    }
    let root = worktree
        .canonicalize()
        .map_err(|e| format!("the worktree {}: {e}", worktree.display()))?;
    let mut lexical = PathBuf::new();
    for c in requested.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // Symbolic links: the longest part that exists, resolved, then the rest.
    let mut existing = lexical.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let resolved = loop {
        match existing.canonicalize() {
            Ok(mut real) => {
                for part in rest.iter().rev() {
                    real.push(part);
                }
                break real;
            }
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name);
                    existing = parent;
                }
                _ => break lexical.clone(),
            },
        }
    };
    let Ok(inside) = resolved.strip_prefix(&root) else {
        return Err(format!(
            "{} is outside the task's worktree",
            requested.display()
        ));
    };
    if inside.components().next() == Some(Component::Normal(".git".as_ref())) {
        return Err(format!(
            "{} is git's own metadata, not the task's files",
            requested.display()
        ));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_and_git() {
        let dir = tempfile::tempdir().unwrap();
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(wt.join("src")).unwrap();
        let real = wt.canonicalize().unwrap();
        assert_eq!(
            confine(&wt, &wt.join("src/new.rs")).unwrap(),
            real.join("src/new.rs")
        );
        assert_eq!(
            confine(&wt, &wt.join("a/b/../c.txt")).unwrap(),
            real.join("a/c.txt")
        );
        assert!(confine(&wt, &wt.join("../outside.txt"))
            .unwrap_err()
            .contains("outside"));
        assert!(confine(&wt, Path::new("/etc/passwd")).is_err());
        assert!(confine(&wt, Path::new("relative.txt")).is_err());
        assert!(confine(&wt, &wt.join(".git/config")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_worktree_is_outside() {
        let dir = tempfile::tempdir().unwrap();
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), wt.join("link")).unwrap();
        assert!(confine(&wt, &wt.join("link/x.txt")).is_err());
    }
}
