//! The audit trail's anchors outside the database, so that a store cannot silently start
//! over: the head file `.overlord/audit-head` (the last committed record's seq and hash,
//! rewritten atomically after every commit) and the `Audit-Head:` line of each checkpoint's
//! git note (`refs/notes/overlord`). A store whose chain does not reach an anchor — emptied,
//! truncated, its tail deleted, or replaced by another chain — refuses every write.
//!
//! A leaf: it knows hashes and files, not the store, so `store` and `verify` both use it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::chain::Hash;
use super::head_file::{self, parse_hash, parse_seq, HeadFile};
pub use super::head_file::{parse, render, Head, HEAD_FILE};

/// The line a checkpoint note carries: `Audit-Head: <seq> <sha256 hex>`.
pub const NOTE_KEY: &str = "Audit-Head:";

/// One anchor as `audit verify` and `status` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorView {
    /// `.overlord/audit-head` or `checkpoint note <name>`.
    pub source: String,
    pub seq: u64,
    pub hash: String,
}

/// Why the store may not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// The chain stops before an anchored record.
    #[error("the audit trail has lost records {from}..{to} — run `overlord-tui audit verify`")]
    Lost { from: u64, to: u64, anchor: String },
    /// The chain reaches the anchored record but holds something else there.
    #[error("the audit trail has lost record {seq}: the store holds a different record {seq} than {anchor} anchored (the chain was replaced or rewritten) — run `overlord-tui audit verify`")]
    Replaced { seq: u64, anchor: String },
    /// The head file exists but is not one.
    #[error(
        "the audit head file {path} cannot be read: {message} — run `overlord-tui audit verify`"
    )]
    Unreadable { path: String, message: String },
}

impl Head {
    pub fn view(&self, source: impl Into<String>) -> AnchorView {
        AnchorView {
            source: source.into(),
            seq: self.seq,
            hash: hex::encode(self.hash),
        }
    }
}

/// Reads the head file (either layout, `head_file.rs`); a missing or empty file is no anchor.
pub fn read(path: &Path) -> Result<Option<Head>, AnchorError> {
    head_file::read(path).map_err(|message| AnchorError::Unreadable {
        path: path.display().to_string(),
        message,
    })
}

/// Writes `head` to the head file (in its older slot when it is in the two-slot layout,
/// else the whole file anew), without keeping it open.
pub fn write(path: &Path, head: &Head) -> std::io::Result<()> {
    head_file::write_head(&mut None, path, head)
}

/// Whether opening a file failed because `.overlord/` cannot be written here (permissions or
/// a read-only file system), rather than for a reason a read-only open would not avoid.
pub fn read_only_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Whether this process may create files in `dir`.
pub fn writable(dir: &Path) -> bool {
    rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok()
}

/// The `Audit-Head:` line for a checkpoint note.
pub fn note_line(head: &Head) -> String {
    format!("{NOTE_KEY} {} {}", head.seq, hex::encode(head.hash))
}

/// The audit head a checkpoint note carries; `None` for notes written before notes carried
/// one, or a line that does not parse.
pub fn parse_note(note: &str) -> Option<Head> {
    let rest = note
        .lines()
        .find_map(|l| l.trim().strip_prefix(NOTE_KEY))?
        .trim();
    let (seq, hash) = rest.split_once(' ')?;
    Some(Head {
        seq: parse_seq(seq).ok()?,
        hash: parse_hash(hash).ok()?,
    })
}

/// How many notes commits back the newest anchored note is looked for (notes written before
/// notes carried an audit head have none).
const NOTE_DEPTH: usize = 16;

/// The audit head of the newest checkpoint note that carries one, with the checkpoint's
/// name: the notes added by the newest commits of `refs/notes/overlord`.
pub fn newest_note(git_dir: &Path) -> Result<Option<(Head, String)>, String> {
    let repo = match git2::Repository::open(git_dir) {
        Ok(r) => r,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.message().to_string()),
    };
    let tip = match repo.refname_to_id(crate::git::NOTES_REF) {
        Ok(id) => id,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.message().to_string()),
    };
    let err = |e: git2::Error| e.message().to_string();
    let mut commit = Some(repo.find_commit(tip).map_err(err)?);
    let mut best: Option<(Head, String)> = None;
    for _ in 0..NOTE_DEPTH {
        let Some(c) = commit.take() else { break };
        let parent = c.parents().next();
        let old_tree = parent.as_ref().map(|p| p.tree()).transpose().map_err(err)?;
        let diff = repo
            .diff_tree_to_tree(old_tree.as_ref(), Some(&c.tree().map_err(err)?), None)
            .map_err(err)?;
        for delta in diff.deltas() {
            let blob = delta.new_file().id();
            if blob.is_zero() {
                continue;
            }
            let Ok(blob) = repo.find_blob(blob) else {
                continue;
            };
            let text = String::from_utf8_lossy(blob.content());
            if let Some(head) = parse_note(&text) {
                if best.as_ref().is_none_or(|(b, _)| head.seq > b.seq) {
                    let name = text
                        .lines()
                        .next()
                        .and_then(|l| l.strip_prefix("Overlord "))
                        .unwrap_or("?")
                        .trim()
                        .to_string();
                    best = Some((head, name));
                }
            }
        }
        if best.is_some() {
            break;
        }
        commit = parent;
    }
    Ok(best)
}

/// What the store is checked against: the head file (read at every check) and the newest
/// checkpoint note (read once, on the first check: only this store's own checkpoints move
/// it later, and those are behind its head).
#[derive(Debug)]
pub struct Anchors {
    pub head_file: PathBuf,
    git_dir: Option<PathBuf>,
    note: Option<Option<(Head, String)>>,
    /// The head file, opened by the first write and kept open for the next ones.
    held: Option<HeadFile>,
}

impl Clone for Anchors {
    /// A copy reads the same anchors; it opens the head file itself if it ever writes.
    fn clone(&self) -> Anchors {
        Anchors {
            head_file: self.head_file.clone(),
            git_dir: self.git_dir.clone(),
            note: self.note.clone(),
            held: None,
        }
    }
}

impl Anchors {
    pub fn new(head_file: PathBuf, git_dir: Option<PathBuf>) -> Anchors {
        Anchors {
            head_file,
            git_dir,
            note: None,
            held: None,
        }
    }

    fn note(&mut self) -> Option<(Head, String)> {
        if self.note.is_none() {
            let found = match &self.git_dir {
                Some(dir) => newest_note(dir).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read the checkpoint notes");
                    None
                }),
                None => None,
            };
            self.note = Some(found);
        }
        self.note.clone().flatten()
    }

    /// Every anchor found, with where it came from; the head file's trouble as an error.
    pub fn all(&mut self) -> (Vec<(Head, String)>, Option<AnchorError>) {
        let mut out = Vec::new();
        let mut trouble = None;
        match read(&self.head_file) {
            Ok(Some(h)) => out.push((h, ".overlord/audit-head".to_string())),
            Ok(None) => {}
            Err(e) => trouble = Some(e),
        }
        if let Some((h, name)) = self.note() {
            out.push((h, format!("the checkpoint note of {name}")));
        }
        (out, trouble)
    }

    /// Whether a store whose last record is `head` (and whose record `seq` has the hash
    /// `hash_at(seq)`) reaches every anchor.
    pub fn check(
        &mut self,
        head: u64,
        accepted: &[Head],
        hash_at: impl Fn(u64) -> Result<Option<Hash>, String>,
    ) -> Result<(), AnchorError> {
        self.check_fresh(|| head, accepted, hash_at)
    }

    /// [`check`](Self::check) against the head `head` gives when called after the anchors
    /// were read. Anchors are written after their records are committed, so a head read after
    /// them holds every record they name: another process committing while this one looks
    /// cannot pass for a loss.
    pub fn check_fresh(
        &mut self,
        head: impl FnOnce() -> u64,
        accepted: &[Head],
        hash_at: impl Fn(u64) -> Result<Option<Hash>, String>,
    ) -> Result<(), AnchorError> {
        let (mut anchors, trouble) = self.all();
        anchors.retain(|(h, _)| !accepted.contains(h));
        if let Some(e) = trouble {
            return Err(e);
        }
        judge(head(), &anchors, hash_at)
    }

    /// Records a committed head (under the write lock, after the commit), in place in the
    /// head file's older slot. A head file that cannot be written is logged: the database
    /// already holds the records.
    pub fn record(&mut self, head: &Head) {
        // An empty store has no record to anchor (an append of nothing commits too).
        if head.seq == 0 {
            return;
        }
        if let Err(e) = head_file::write_head(&mut self.held, &self.head_file, head) {
            tracing::warn!(error = %e, path = %self.head_file.display(), "could not write the audit head file");
        }
    }
}

/// Renders accepted anchors for the store's `meta` table: `<seq> <hash>` per line.
pub fn render_accepted(heads: &[Head]) -> String {
    heads
        .iter()
        .map(|h| format!("{} {}\n", h.seq, hex::encode(h.hash)))
        .collect()
}

/// Parses what `render_accepted` wrote; lines that do not parse are skipped.
pub fn parse_accepted(text: &str) -> Vec<Head> {
    text.lines()
        .filter_map(|l| {
            let (seq, hash) = l.trim().split_once(' ')?;
            Some(Head {
                seq: parse_seq(seq).ok()?,
                hash: parse_hash(hash).ok()?,
            })
        })
        .collect()
}

/// Judges a store's chain against the anchors: the farthest anchor it does not reach decides.
pub fn judge(
    head: u64,
    anchors: &[(Head, String)],
    hash_at: impl Fn(u64) -> Result<Option<Hash>, String>,
) -> Result<(), AnchorError> {
    let mut sorted: Vec<&(Head, String)> = anchors.iter().collect();
    sorted.sort_by_key(|(h, _)| std::cmp::Reverse(h.seq));
    for (anchor, source) in sorted {
        if anchor.seq > head {
            return Err(AnchorError::Lost {
                from: head + 1,
                to: anchor.seq,
                anchor: source.clone(),
            });
        }
        let found = hash_at(anchor.seq).map_err(|message| AnchorError::Unreadable {
            path: source.clone(),
            message,
        })?;
        if found != Some(anchor.hash) {
            return Err(AnchorError::Replaced {
                seq: anchor.seq,
                anchor: source.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::anchor::{
        judge, note_line, parse_note, read, write, AnchorError, Anchors, Head, HEAD_FILE,
    };

    fn head(seq: u64) -> Head {
        Head {
            seq,
            hash: [seq as u8; 32],
        }
    }

    #[test]
    fn notes_without_a_head_are_old_notes_not_errors() {
        let old = "Overlord checkpoint/x\nOperation: save 1\nAudit-IDs: 1 2\n";
        assert_eq!(parse_note(old), None);
        let new = format!("{old}{}\n", note_line(&head(9)));
        assert_eq!(parse_note(&new), Some(head(9)));
    }

    #[test]
    fn judging_names_the_lost_range() {
        let anchors = vec![(head(9), "f".to_string())];
        let hashes = |s: u64| Ok(Some([s as u8; 32]));
        assert_eq!(
            judge(4, &anchors, hashes),
            Err(AnchorError::Lost {
                from: 5,
                to: 9,
                anchor: "f".into()
            })
        );
        assert_eq!(judge(9, &anchors, hashes), Ok(()));
        assert_eq!(judge(12, &anchors, hashes), Ok(()));
        assert!(matches!(
            judge(12, &anchors, |_| Ok(Some([0; 32]))),
            Err(AnchorError::Replaced { seq: 9, .. })
        ));
        assert_eq!(
            AnchorError::Lost {
                from: 1,
                to: 5,
                anchor: String::new()
            }
            .to_string(),
            "the audit trail has lost records 1..5 — run `overlord-tui audit verify`"
        );
    }

    /// A store's anchors keep the head file open and overwrite it in place: one inode for
    /// every commit, and what another reader finds is always the last head recorded.
    #[test]
    fn recording_heads_overwrites_the_file_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEAD_FILE);
        let mut anchors = Anchors::new(path.clone(), None);
        anchors.record(&head(0));
        assert!(!path.exists(), "record 0 is no anchor");
        anchors.record(&head(1));
        let inode = |p: &std::path::Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p).unwrap().ino()
        };
        let first = inode(&path);
        for seq in 2..=9 {
            anchors.record(&head(seq));
            assert_eq!(read(&path), Ok(Some(head(seq))));
            assert_eq!(inode(&path), first, "a new file at record {seq}");
        }
        // Another process replaced the file (or deleted it): the next record writes the file
        // found at the path, not the one held open.
        write(&path.with_extension("other"), &head(10)).unwrap();
        std::fs::rename(path.with_extension("other"), &path).unwrap();
        anchors.record(&head(11));
        assert_eq!(read(&path), Ok(Some(head(11))));
        std::fs::remove_file(&path).unwrap();
        anchors.record(&head(12));
        assert_eq!(read(&path), Ok(Some(head(12))));
        let unreadable = read(&dir.path().join("nothing")).map(|_| ());
        assert_eq!(unreadable, Ok(()));
        std::fs::write(&path, b"overlord-audit-head 1\nseq banana\n").unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.to_string().contains(HEAD_FILE), "{e}");
        assert!(
            e.to_string().contains("'banana' is not a record number"),
            "{e}"
        );
    }
}
