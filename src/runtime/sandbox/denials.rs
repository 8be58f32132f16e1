//! Writes the sandbox refused, found in what the agent printed. Landlock tells nobody but the
//! process it stopped (the call fails with EACCES, "Permission denied", or EXDEV for a rename
//! across folders), so the CLI's own output is all there is: a line that says a write was
//! refused and names a path inside the repository that the run may not write (`.overlord/…`,
//! `.git/refs/…`, another worktree, the user's checkout) becomes an activity line, "sandbox
//! denied write to .overlord/overlord.db". A CLI that swallows the error is not seen; the
//! write is refused all the same.

use std::path::{Path, PathBuf};

use super::policy::{normalize, Policy};
use crate::workspace::Workspace;

/// What an error line says when a write was refused (compared in lower case).
const REFUSALS: [&str; 6] = [
    "permission denied",
    "read-only file system",
    "eacces",
    "operation not permitted",
    "eperm",
    "cross-device link",
];

/// The denials of one run: what it may write, and the paths already reported (each once).
#[derive(Debug, Clone)]
pub struct Denials {
    root: PathBuf,
    common: PathBuf,
    cwd: PathBuf,
    writable: Vec<PathBuf>,
    seen: Vec<PathBuf>,
}

impl Denials {
    pub fn new(ws: &Workspace, cwd: &Path, policy: &Policy) -> Denials {
        Denials {
            root: normalize(&ws.root),
            common: normalize(&ws.git_common_dir),
            cwd: normalize(cwd),
            writable: policy.writable().map(normalize).collect(),
            seen: Vec::new(),
        }
    }

    /// The activity line for a refused write `line` reports, the first time its path shows.
    pub fn check(&mut self, line: &str) -> Option<String> {
        let path = denied_write(line, &self.root, &self.common, &self.cwd, &self.writable)?;
        if self.seen.contains(&path) || self.seen.len() >= 100 {
            return None;
        }
        self.seen.push(path.clone());
        let shown = match path.strip_prefix(&self.root) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        };
        Some(format!("sandbox denied write to {shown}"))
    }
}

/// The protected path a refused write in `line` names: a path (absolute, or relative to
/// `cwd`) inside the repository's top `root` or git directory `common`, outside every
/// `writable` path. `None` when the line reports no refusal or names no such path.
pub fn denied_write(
    line: &str,
    root: &Path,
    common: &Path,
    cwd: &Path,
    writable: &[PathBuf],
) -> Option<PathBuf> {
    let lower = line.to_ascii_lowercase();
    if !REFUSALS.iter().any(|r| lower.contains(r)) {
        return None;
    }
    // JSON-escaped output (a CLI's event line) separates words with \n, \t, \".
    let text = line
        .replace("\\n", " ")
        .replace("\\t", " ")
        .replace("\\\"", " ")
        .replace("\\'", " ");
    let words = text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\'' | '"' | '`' | ',' | '(' | ')' | '[' | ']' | '{' | '}' | '=' | '<' | '>'
            )
    });
    for word in words {
        let word = word.trim_end_matches([':', ';']);
        if !word.contains('/') || word.contains("://") {
            continue;
        }
        let path = normalize(&cwd.join(word));
        let inside = path.starts_with(root) || path.starts_with(common);
        if inside && !writable.iter().any(|w| path.starts_with(w)) {
            return Some(path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_writes_to_protected_places_are_found() {
        let root = PathBuf::from("/nonexistent-repo");
        let common = root.join(".git");
        let wt = root.join(".overlord/worktrees/t1");
        let writable = vec![wt.clone(), common.join("objects")];
        let find = |line: &str| denied_write(line, &root, &common, &wt, &writable);
        assert_eq!(
            find("sh: 1: cannot create /nonexistent-repo/.overlord/overlord.db: Permission denied"),
            Some(root.join(".overlord/overlord.db"))
        );
        assert_eq!(
            find("error: cannot lock ref 'refs/heads/main': Unable to create '/nonexistent-repo/.git/refs/heads/main.lock': Permission denied"),
            Some(common.join("refs/heads/main.lock"))
        );
        assert_eq!(
            find(
                r#"{"type":"item.completed","item":{"aggregated_output":"touch: cannot touch '../t2/x': Permission denied\n"}}"#
            ),
            Some(root.join(".overlord/worktrees/t2/x"))
        );
        // A write the run may do, a path outside the repository, no refusal: nothing.
        assert_eq!(find("touch: cannot touch 'src/x': Permission denied"), None);
        assert_eq!(find("cannot open /etc/shadow: Permission denied"), None);
        assert_eq!(find("wrote /nonexistent-repo/.overlord/overlord.db"), None);
    }
}
