//! The reviewer's findings in the diff viewer: each finding of a task's latest review shown
//! under the line it is about (the task's version of the file, by line number), and findings
//! about a whole file — or a line the diff does not show — at the top of that file's rows.

use super::rows::Row;
use crate::protocol::diff::{FileContent, FileDiff};
use crate::protocol::model::Review;

/// One finding as the viewer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewNote {
    /// The file, relative to the repository.
    pub file: String,
    /// The line in the task's version of the file.
    pub line: Option<u32>,
    /// `◆ review 2 request_changes [major] the error is swallowed`.
    pub text: String,
}

impl ReviewNote {
    /// The findings of the latest review of `task` (none when it was never reviewed).
    pub fn latest(state: &crate::protocol::State, task: Option<&str>) -> Vec<ReviewNote> {
        let Some(task) = task else {
            return Vec::new();
        };
        state
            .reviews
            .iter()
            .rev()
            .find(|r| r.task == task)
            .map(ReviewNote::of)
            .unwrap_or_default()
    }

    /// The findings of `review` as notes.
    pub fn of(review: &Review) -> Vec<ReviewNote> {
        review
            .findings
            .iter()
            .map(|f| ReviewNote {
                file: f.file.clone(),
                line: f.line,
                text: format!(
                    "◆ review {} {} [{}]{} {}",
                    review.round,
                    review.verdict,
                    f.severity,
                    f.line.map(|l| format!(" line {l}:")).unwrap_or_default(),
                    crate::tui::text::clean(&f.text)
                ),
            })
            .collect()
    }
}

/// `rows` of `file` with the notes about it inserted; `hunk_rows` follows the moved headers.
pub(super) fn annotate(
    file: &FileDiff,
    notes: &[ReviewNote],
    rows: &mut Vec<Row>,
    hunk_rows: &mut Vec<usize>,
) {
    let path = file.path();
    let mine: Vec<&ReviewNote> = notes
        .iter()
        .filter(|n| n.file == path || file.old_path.as_deref() == Some(n.file.as_str()))
        .collect();
    if mine.is_empty() {
        return;
    }
    let hunks = match &file.content {
        FileContent::Text { hunks } => hunks.as_slice(),
        _ => &[],
    };
    let new_no = |row: &Row| -> Option<u32> {
        let (h, l) = match row {
            Row::Line(h, l) => (*h, *l),
            Row::Pair(_, Some((h, l))) => (*h, *l),
            _ => return None,
        };
        hunks.get(h)?.lines.get(l)?.new_no
    };
    let shown: Vec<u32> = rows.iter().filter_map(new_no).collect();
    let mut out: Vec<Row> = mine
        .iter()
        .filter(|n| n.line.is_none_or(|l| !shown.contains(&l)))
        .map(|n| Row::Review(n.text.clone()))
        .collect();
    for row in rows.drain(..) {
        let no = new_no(&row);
        out.push(row);
        if let Some(no) = no {
            out.extend(
                mine.iter()
                    .filter(|n| n.line == Some(no))
                    .map(|n| Row::Review(n.text.clone())),
            );
        }
    }
    *rows = out;
    *hunk_rows = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Row::Hunk(_)))
        .map(|(i, _)| i)
        .collect();
}
