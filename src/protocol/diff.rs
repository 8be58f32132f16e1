//! The structured diff every front end shows: files → hunks → lines, with the changed byte
//! ranges inside a changed line pair. Pure data; `core::diff` computes it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// A byte range of a line's text (`start..end`) that changed against its paired line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: LineKind,
    /// 1-based line numbers on each side (absent on the side the line is not in).
    pub old_no: Option<u32>,
    pub new_no: Option<u32>,
    /// The text without its line ending.
    pub text: String,
    /// The line is the last one and has no newline at its end.
    pub no_newline: bool,
    /// Word-level changes against the paired line of the other side (empty: not paired, or the
    /// whole line is new).
    pub words: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    /// As in a unified diff header: `@@ -old_start,old_len +new_start,new_len @@`.
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Deleted,
    Modified,
    Renamed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileContent {
    Text {
        hunks: Vec<Hunk>,
    },
    /// Not diffed line by line: binary content.
    Binary {
        old_size: u64,
        new_size: u64,
    },
    /// Not diffed line by line: larger than the limit.
    TooLarge {
        old_size: u64,
        new_size: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    pub status: FileStatus,
    pub additions: u32,
    pub deletions: u32,
    pub content: FileContent,
}

impl FileDiff {
    /// The path to show: the new one, or the old one for a deletion.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }
}

/// The diff between two states of the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSet {
    /// What was compared, as given and as resolved (a commit id, or `working tree`).
    pub from: String,
    pub to: String,
    pub from_id: String,
    pub to_id: String,
    pub files: Vec<FileDiff>,
}

impl DiffSet {
    pub fn additions(&self) -> u64 {
        self.files.iter().map(|f| f.additions as u64).sum()
    }

    pub fn deletions(&self) -> u64 {
        self.files.iter().map(|f| f.deletions as u64).sum()
    }
}
