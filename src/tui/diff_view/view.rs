//! The view state of one diff: the files and their texts, which file is selected, the scroll,
//! the layout and which pane has focus; building it (from a diff set, two texts, or a
//! repository) and keeping the place across a reload.

use std::sync::Arc;

use git2::Repository;

use super::review::{annotate, ReviewNote};
use super::rows::{file_rows, Layout, Row};
use super::search::Find;
use super::texts::{split_lines, FileTexts};
use crate::core::diff::text::{diff_text, CONTEXT};
use crate::core::diff::{file_text, DiffError, Side};
use crate::protocol::diff::{DiffSet, FileContent, FileDiff, FileStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Files,
    Hunks,
}

/// The view state of one diff.
#[derive(Debug, Clone)]
pub struct DiffView {
    pub(super) set: DiffSet,
    pub(super) texts: Vec<Option<FileTexts>>,
    pub(super) selected: usize,
    pub(super) scroll: usize,
    pub(super) layout: Layout,
    pub(super) focus: Focus,
    pub(super) rows: Vec<Row>,
    pub(super) hunk_rows: Vec<usize>,
    /// Columns of the lines' text scrolled off to the left (not while wrapping).
    pub(super) hscroll: usize,
    /// Long lines wrap onto the next screen rows instead of being cut.
    pub(super) wrap: bool,
    /// The search in the selected file and the file list's filter.
    pub(super) find: Find,
    /// The reviewer's findings shown next to their lines.
    pub(super) review: Vec<ReviewNote>,
}

impl DiffView {
    /// A view of `set`; `texts[i]` (when present) is the whole text of file `i`'s sides.
    pub fn new(set: DiffSet, mut texts: Vec<Option<FileTexts>>) -> DiffView {
        texts.resize(set.files.len(), None);
        let mut view = DiffView {
            set,
            texts,
            selected: 0,
            scroll: 0,
            layout: Layout::Unified,
            focus: Focus::Hunks,
            rows: Vec::new(),
            hunk_rows: Vec::new(),
            hscroll: 0,
            wrap: false,
            find: Find::default(),
            review: Vec::new(),
        };
        view.find.shown = (0..view.set.files.len()).collect();
        view.rebuild();
        view
    }

    /// A view of one file's two texts (diffed here).
    pub fn from_texts(path: &str, old: &str, new: &str) -> DiffView {
        let d = diff_text(old, new, CONTEXT);
        let file = FileDiff {
            old_path: Some(path.to_string()),
            new_path: Some(path.to_string()),
            status: FileStatus::Modified,
            additions: d.additions,
            deletions: d.deletions,
            content: FileContent::Text { hunks: d.hunks },
        };
        let set = DiffSet {
            from: "old".into(),
            to: "new".into(),
            from_id: String::new(),
            to_id: String::new(),
            files: vec![file],
        };
        DiffView::new(set, vec![Some(FileTexts::from_texts(old, new))])
    }

    /// Loads the diff between two sides of a repository with the texts of its text files.
    /// Blocking (git2 and diffing): call it off the UI loop.
    pub fn load(repo: &Repository, from: &Side, to: &Side) -> Result<DiffView, DiffError> {
        let set = crate::core::diff::diff(repo, from, to)?;
        let mut texts = Vec::with_capacity(set.files.len());
        for f in &set.files {
            if !matches!(f.content, FileContent::Text { .. }) {
                texts.push(None);
                continue;
            }
            let side = |side: &Side, path: &Option<String>| -> Result<Vec<String>, DiffError> {
                Ok(match path {
                    Some(p) => file_text(repo, side, p)?
                        .map(|t| split_lines(&t))
                        .unwrap_or_default(),
                    None => Vec::new(),
                })
            };
            texts.push(Some(FileTexts {
                old: Arc::new(side(from, &f.old_path)?),
                new: Arc::new(side(to, &f.new_path)?),
            }));
        }
        Ok(DiffView::new(set, texts))
    }

    pub fn set(&self) -> &DiffSet {
        &self.set
    }
    pub fn selected(&self) -> usize {
        self.selected
    }
    pub fn scroll(&self) -> usize {
        self.scroll
    }
    pub fn layout(&self) -> Layout {
        self.layout
    }
    pub fn focus(&self) -> Focus {
        self.focus
    }
    /// Rows of the selected file in the current layout.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
    /// Columns scrolled off to the left.
    pub fn hscroll(&self) -> usize {
        self.hscroll
    }
    pub fn wraps(&self) -> bool {
        self.wrap
    }
    /// The row each hunk header of the selected file is on.
    pub fn hunk_rows(&self) -> &[usize] {
        &self.hunk_rows
    }

    pub(super) fn file(&self) -> Option<&FileDiff> {
        self.set.files.get(self.selected)
    }

    pub(super) fn rebuild(&mut self) {
        self.rows.clear();
        self.hunk_rows.clear();
        let Some(file) = self.set.files.get(self.selected) else {
            return;
        };
        file_rows(file, self.layout, &mut self.rows, &mut self.hunk_rows);
        annotate(file, &self.review, &mut self.rows, &mut self.hunk_rows);
        self.scroll = self.scroll.min(self.rows.len().saturating_sub(1));
        self.refind();
    }

    /// The reviewer's findings to show next to their lines (a task's latest review);
    /// whether they changed.
    pub fn set_review(&mut self, notes: Vec<ReviewNote>) -> bool {
        if notes == self.review {
            return false;
        }
        self.review = notes;
        let scroll = self.scroll;
        self.rebuild();
        self.scroll = scroll.min(self.rows.len().saturating_sub(1));
        true
    }

    /// The files the reviewer's findings are about.
    pub fn reviewed(&self, path: &str) -> usize {
        self.review.iter().filter(|n| n.file == path).count()
    }

    /// After a reload of the same diff: the same file (by path), layout, focus and scroll
    /// as `old`, as far as they still exist.
    pub fn carry_over(&mut self, old: &DiffView) {
        let path = old.file().map(|f| f.path().to_string());
        if let Some(i) = path.and_then(|p| self.set.files.iter().position(|f| f.path() == p)) {
            self.selected = i;
        }
        self.layout = old.layout;
        self.focus = old.focus;
        self.hscroll = old.hscroll;
        self.wrap = old.wrap;
        self.find.query = old.find.query.clone();
        self.review = old.review.clone();
        self.set_filter(&old.find.filter);
        self.rebuild();
        self.scroll = old.scroll.min(self.rows.len().saturating_sub(1));
    }
}
