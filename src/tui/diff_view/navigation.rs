//! The viewer's keys: files, hunks, scrolling, paging, layout and focus. Each returns
//! whether anything changed (so the console redraws only then).

use super::rows::{same_place, Layout};
use super::view::{DiffView, Focus};

impl DiffView {
    pub fn select_file(&mut self, index: usize) -> bool {
        if index >= self.set.files.len() || index == self.selected {
            return false;
        }
        self.selected = index;
        self.scroll = 0;
        self.hscroll = 0;
        self.find.current = None;
        self.rebuild();
        true
    }

    /// The next file the list shows (it may be filtered).
    pub fn next_file(&mut self) -> bool {
        let next = self.find.shown.iter().copied().find(|&i| i > self.selected);
        next.is_some_and(|i| self.select_file(i))
    }

    pub fn prev_file(&mut self) -> bool {
        let prev = self
            .find
            .shown
            .iter()
            .rev()
            .copied()
            .find(|&i| i < self.selected);
        prev.is_some_and(|i| self.select_file(i))
    }

    /// To the next hunk header below the top row; past the last hunk, the next file.
    pub fn next_hunk(&mut self) -> bool {
        if let Some(&row) = self.hunk_rows.iter().find(|&&r| r > self.scroll) {
            self.scroll = row;
            return true;
        }
        self.next_file()
    }

    /// To the previous hunk header above the top row; before the first, the previous file's
    /// last hunk.
    pub fn prev_hunk(&mut self) -> bool {
        if let Some(&row) = self.hunk_rows.iter().rev().find(|&&r| r < self.scroll) {
            self.scroll = row;
            return true;
        }
        if self.prev_file() {
            self.scroll = self.hunk_rows.last().copied().unwrap_or(0);
            return true;
        }
        false
    }

    fn scroll_to(&mut self, row: usize) -> bool {
        let row = row.min(self.rows.len().saturating_sub(1));
        let changed = row != self.scroll;
        self.scroll = row;
        changed
    }

    pub fn scroll_down(&mut self, n: usize) -> bool {
        self.scroll_to(self.scroll.saturating_add(n))
    }

    pub fn scroll_up(&mut self, n: usize) -> bool {
        self.scroll_to(self.scroll.saturating_sub(n))
    }

    /// A page is the diff pane's height ([`DiffView::page_height`]).
    pub fn page_down(&mut self, page: u16) -> bool {
        self.scroll_down((page as usize).max(1))
    }

    pub fn page_up(&mut self, page: u16) -> bool {
        self.scroll_up((page as usize).max(1))
    }

    pub fn top(&mut self) -> bool {
        self.scroll_to(0)
    }

    /// The last page in view.
    pub fn bottom(&mut self, page: u16) -> bool {
        self.scroll_to(self.rows.len().saturating_sub(page as usize))
    }

    pub fn toggle_layout(&mut self) -> bool {
        // Keep the same diff line at the top.
        let anchor = self.rows.get(self.scroll).cloned();
        self.layout = match self.layout {
            Layout::Unified => Layout::SideBySide,
            Layout::SideBySide => Layout::Unified,
        };
        self.rebuild();
        if let Some(anchor) = anchor {
            let at = self.rows.iter().position(|r| same_place(r, &anchor));
            self.scroll = at.unwrap_or(0);
        }
        true
    }

    pub fn toggle_focus(&mut self) -> bool {
        self.focus = match self.focus {
            Focus::Files => Focus::Hunks,
            Focus::Hunks => Focus::Files,
        };
        true
    }

    /// Up/down keys: move the file selection or scroll, by focus.
    pub fn down(&mut self) -> bool {
        match self.focus {
            Focus::Files => self.next_file(),
            Focus::Hunks => self.scroll_down(1),
        }
    }

    pub fn up(&mut self) -> bool {
        match self.focus {
            Focus::Files => self.prev_file(),
            Focus::Hunks => self.scroll_up(1),
        }
    }
}
