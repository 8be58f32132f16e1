//! The screen rows of a file's diff: unified (a hunk header, then each line) or side by side
//! (removed and added runs paired line by line), and which text side a row's line shows.

use crate::protocol::diff::{DiffLine, FileContent, FileDiff, LineKind};
use crate::tui::highlight::TextSide;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Unified,
    SideBySide,
}

/// One screen row of the selected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Row {
    Hunk(usize),
    /// A line of hunk `.0` (unified).
    Line(usize, usize),
    /// Side by side: the old line and the new line shown next to each other.
    Pair(Option<(usize, usize)>, Option<(usize, usize)>),
    Note(String),
    /// A reviewer's finding about the line above (or the file, at the top).
    Review(String),
}

/// The rows of `file` in `layout`, with the row of each hunk header.
pub(super) fn file_rows(
    file: &FileDiff,
    layout: Layout,
    rows: &mut Vec<Row>,
    hunk_rows: &mut Vec<usize>,
) {
    match &file.content {
        FileContent::Binary { old_size, new_size } => rows.push(Row::Note(format!(
            "binary file: {old_size} → {new_size} bytes"
        ))),
        FileContent::TooLarge { old_size, new_size } => rows.push(Row::Note(format!(
            "too large to diff: {old_size} → {new_size} bytes"
        ))),
        FileContent::Text { hunks } if hunks.is_empty() => {
            rows.push(Row::Note("no line changes".into()))
        }
        FileContent::Text { hunks } => {
            for (h, hunk) in hunks.iter().enumerate() {
                hunk_rows.push(rows.len());
                rows.push(Row::Hunk(h));
                match layout {
                    Layout::Unified => {
                        rows.extend((0..hunk.lines.len()).map(|l| Row::Line(h, l)));
                    }
                    Layout::SideBySide => pair_rows(h, &hunk.lines, rows),
                }
            }
        }
    }
}

pub(super) fn same_place(a: &Row, b: &Row) -> bool {
    match (a, b) {
        (Row::Hunk(x), Row::Hunk(y)) => x == y,
        (Row::Line(h, l), Row::Pair(x, y)) | (Row::Pair(x, y), Row::Line(h, l)) => {
            *x == Some((*h, *l)) || *y == Some((*h, *l))
        }
        _ => a == b,
    }
}

/// Context lines pair with themselves; a run of removed lines pairs line by line with the
/// added run after it, the longer run's rest facing blanks.
fn pair_rows(h: usize, lines: &[DiffLine], rows: &mut Vec<Row>) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].kind == LineKind::Context {
            rows.push(Row::Pair(Some((h, i)), Some((h, i))));
            i += 1;
            continue;
        }
        let removed_from = i;
        while i < lines.len() && lines[i].kind == LineKind::Removed {
            i += 1;
        }
        let added_from = i;
        while i < lines.len() && lines[i].kind == LineKind::Added {
            i += 1;
        }
        let (r, a) = (added_from - removed_from, i - added_from);
        for k in 0..r.max(a) {
            rows.push(Row::Pair(
                (k < r).then_some((h, removed_from + k)),
                (k < a).then_some((h, added_from + k)),
            ));
        }
    }
}

pub(super) fn unified_side(kind: LineKind) -> TextSide {
    match kind {
        LineKind::Removed => TextSide::Old,
        LineKind::Added | LineKind::Context => TextSide::New,
    }
}
