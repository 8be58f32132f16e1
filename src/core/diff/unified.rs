//! Printing the diff model as text: a unified diff (as `git diff` prints it) and a `--stat`
//! summary.

use std::fmt::Write;

use crate::protocol::diff::{DiffSet, FileContent, FileDiff, FileStatus, Hunk, LineKind};

fn range(out: &mut String, start: u32, len: u32) {
    if len == 1 {
        let _ = write!(out, "{start}");
    } else {
        let _ = write!(out, "{start},{len}");
    }
}

fn push_header(out: &mut String, h: &Hunk) {
    out.push_str("@@ -");
    range(out, h.old_start, h.old_len);
    out.push_str(" +");
    range(out, h.new_start, h.new_len);
    out.push_str(" @@");
}

pub fn hunk_header(h: &Hunk) -> String {
    let mut out = String::new();
    push_header(&mut out, h);
    out
}

/// One hunk: its header and its lines, `\ No newline at end of file` where it applies.
pub fn write_hunk(out: &mut String, h: &Hunk) {
    push_header(out, h);
    out.push('\n');
    for l in &h.lines {
        out.push(match l.kind {
            LineKind::Context => ' ',
            LineKind::Added => '+',
            LineKind::Removed => '-',
        });
        out.push_str(&l.text);
        out.push('\n');
        if l.no_newline {
            out.push_str("\\ No newline at end of file\n");
        }
    }
}

pub fn unified(set: &DiffSet) -> String {
    let mut out = String::new();
    for f in &set.files {
        write_file(&mut out, f);
    }
    out
}

/// One file of a unified diff: its `diff --git` header, what happened to it, and its hunks.
pub fn write_file(out: &mut String, f: &FileDiff) {
    let old = f.old_path.as_deref().unwrap_or(f.path());
    let new = f.new_path.as_deref().unwrap_or(f.path());
    let _ = writeln!(out, "diff --git a/{old} b/{new}");
    match f.status {
        FileStatus::Added => out.push_str("new file\n"),
        FileStatus::Deleted => out.push_str("deleted file\n"),
        FileStatus::Renamed => {
            let _ = writeln!(out, "rename from {old}\nrename to {new}");
        }
        FileStatus::Modified => {}
    }
    let minus = if f.status == FileStatus::Added {
        "/dev/null".to_string()
    } else {
        format!("a/{old}")
    };
    let plus = if f.status == FileStatus::Deleted {
        "/dev/null".to_string()
    } else {
        format!("b/{new}")
    };
    match &f.content {
        FileContent::Binary { .. } => {
            let _ = writeln!(out, "Binary files {minus} and {plus} differ");
        }
        FileContent::TooLarge { old_size, new_size } => {
            let _ = writeln!(
                out,
                "Large files {minus} ({old_size} bytes) and {plus} ({new_size} bytes) differ (not diffed line by line)"
            );
        }
        FileContent::Text { hunks } => {
            if hunks.is_empty() {
                return;
            }
            let _ = writeln!(out, "--- {minus}\n+++ {plus}");
            for h in hunks {
                write_hunk(out, h);
            }
        }
    }
}

/// `path | N ++--` lines and a total, as `git diff --stat` prints them.
pub fn stat(set: &DiffSet) -> String {
    let width = set
        .files
        .iter()
        .map(|f| f.path().chars().count())
        .max()
        .unwrap_or(0);
    let most = set
        .files
        .iter()
        .map(|f| f.additions + f.deletions)
        .max()
        .unwrap_or(0)
        .max(1);
    let bar_max = 50u32;
    let mut out = String::new();
    for f in &set.files {
        let label = match f.status {
            FileStatus::Renamed => {
                format!("{} => {}", f.old_path.as_deref().unwrap_or(""), f.path())
            }
            _ => f.path().to_string(),
        };
        match f.content {
            FileContent::Binary { old_size, new_size }
            | FileContent::TooLarge { old_size, new_size } => {
                let _ = writeln!(out, " {label:<width$} | Bin {old_size} -> {new_size} bytes");
            }
            FileContent::Text { .. } => {
                let n = f.additions + f.deletions;
                let scale = |x: u32| {
                    if most <= bar_max {
                        x
                    } else {
                        (x as u64 * bar_max as u64 / most as u64).max(u64::from(x > 0)) as u32
                    }
                };
                let _ = writeln!(
                    out,
                    " {label:<width$} | {n:>5} {}{}",
                    "+".repeat(scale(f.additions) as usize),
                    "-".repeat(scale(f.deletions) as usize)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        " {} file{} changed, {} insertion{}(+), {} deletion{}(-)",
        set.files.len(),
        if set.files.len() == 1 { "" } else { "s" },
        set.additions(),
        if set.additions() == 1 { "" } else { "s" },
        set.deletions(),
        if set.deletions() == 1 { "" } else { "s" }
    );
    out
}
