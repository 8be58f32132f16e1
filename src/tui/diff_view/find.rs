//! The viewer's keys beyond moving up and down: the search (`/` typed incrementally, every
//! match highlighted, n/N with wrap-around, enter keeps it, esc cancels — like `less`), the
//! file list's filter (`f`), horizontal scrolling (h/l by [`H_STEP`] columns, `0` back) and
//! wrapping long lines (`w`). Each returns whether anything changed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::line_text::{col_of, display_width};
use super::rows::Row;
use super::search::{occurrences, passes, Match, Prompt, PromptKind};
use super::view::{DiffView, Focus};
use crate::protocol::diff::FileContent;

/// Columns one h/l moves.
pub const H_STEP: usize = 8;

impl DiffView {
    /// The prompt being typed, if any.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.find.prompt.as_ref()
    }

    /// The search's query in force (empty: none).
    pub fn query(&self) -> &str {
        &self.find.query
    }

    /// Every match of the search in the selected file, in order.
    pub fn matches(&self) -> &[Match] {
        &self.find.matches
    }

    /// "match 3/17", "no match for …", or `None` without a search.
    pub fn find_status(&self) -> Option<String> {
        self.find.status()
    }

    /// The file list's filter (empty: none).
    pub fn filter(&self) -> &str {
        &self.find.filter
    }

    /// The files the list shows (indices into the diff's files).
    pub fn shown_files(&self) -> &[usize] {
        &self.find.shown
    }

    /// `/`: opens the search prompt.
    pub fn start_search(&mut self) -> bool {
        self.find.prompt = Some(Prompt {
            kind: PromptKind::Search,
            text: String::new(),
            from_scroll: self.scroll,
            from_hscroll: self.hscroll,
        });
        self.focus = Focus::Hunks;
        true
    }

    /// `f`: opens the file list's filter prompt with the filter in force.
    pub fn start_filter(&mut self) -> bool {
        self.find.prompt = Some(Prompt {
            kind: PromptKind::Filter,
            text: self.find.filter.clone(),
            from_scroll: self.scroll,
            from_hscroll: self.hscroll,
        });
        self.focus = Focus::Files;
        true
    }

    /// A key while a prompt is open (the runner routes every key here then): characters
    /// type, backspace and ctrl-u delete, enter keeps, esc (or ctrl-c) cancels. `area` is
    /// where the viewer is drawn (to bring a match into view).
    pub fn prompt_key(&mut self, key: KeyEvent, area: Rect) -> bool {
        let Some(prompt) = self.find.prompt.as_mut() else {
            return false;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return self.cancel_prompt(),
            KeyCode::Char('c') if ctrl => return self.cancel_prompt(),
            KeyCode::Enter => {
                self.find.prompt = None;
                return true;
            }
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char('u') if ctrl => prompt.text.clear(),
            KeyCode::Char(c) if !ctrl && !c.is_control() => prompt.text.push(c),
            _ => return false,
        }
        let (kind, text) = (prompt.kind, prompt.text.clone());
        let (from_scroll, from_hscroll) = (prompt.from_scroll, prompt.from_hscroll);
        match kind {
            PromptKind::Filter => self.set_filter(&text),
            PromptKind::Search => {
                self.find.query = text;
                self.find.current = None;
                self.refind();
                // Incremental: the first match from where the search started, else back there.
                self.scroll = from_scroll;
                self.hscroll = from_hscroll;
                if let Some(i) = self.first_match_from(from_scroll) {
                    self.jump_to(i, area);
                }
            }
        }
        true
    }

    fn cancel_prompt(&mut self) -> bool {
        let Some(prompt) = self.find.prompt.take() else {
            return false;
        };
        match prompt.kind {
            PromptKind::Search => {
                self.find.query.clear();
                self.refind();
                self.scroll = prompt.from_scroll.min(self.rows.len().saturating_sub(1));
                self.hscroll = prompt.from_hscroll;
            }
            PromptKind::Filter => self.set_filter(""),
        }
        true
    }

    /// Esc in the viewer: clears the search, else the filter; false when there was neither
    /// (then esc leaves the diff).
    pub fn back(&mut self) -> bool {
        if self.find.prompt.is_some() {
            return self.cancel_prompt();
        }
        if !self.find.query.is_empty() {
            self.find.query.clear();
            self.refind();
            return true;
        }
        if !self.find.filter.is_empty() {
            self.set_filter("");
            return true;
        }
        false
    }

    /// n / N with a search: the next (previous) match, wrapping around the file.
    pub fn next_match(&mut self, forward: bool, area: Rect) -> bool {
        let n = self.find.matches.len();
        if n == 0 {
            return false;
        }
        let i = match (self.find.current, forward) {
            (Some(c), true) => (c + 1) % n,
            (Some(c), false) => (c + n - 1) % n,
            (None, true) => self.first_match_from(self.scroll).unwrap_or(0),
            (None, false) => self
                .first_match_from(self.scroll)
                .map_or(n - 1, |i| (i + n - 1) % n),
        };
        self.jump_to(i, area);
        true
    }

    /// The matches again, for the selected file (its rows changed, or the query did).
    pub(super) fn refind(&mut self) {
        let mut matches = std::mem::take(&mut self.find.matches);
        matches.clear();
        let query = &self.find.query;
        if let Some(FileContent::Text { hunks }) =
            self.set.files.get(self.selected).map(|f| &f.content)
        {
            for (h, hunk) in hunks.iter().enumerate() {
                for (l, line) in hunk.lines.iter().enumerate() {
                    for (start, end) in occurrences(&line.text, query) {
                        matches.push(Match {
                            hunk: h,
                            line: l,
                            start,
                            end,
                        });
                    }
                }
            }
        }
        self.find.matches = matches;
        if self
            .find
            .current
            .is_some_and(|c| c >= self.find.matches.len())
        {
            self.find.current = None;
        }
    }

    /// The first match on row `row` or below (the file's first match when none is).
    fn first_match_from(&self, row: usize) -> Option<usize> {
        if self.find.matches.is_empty() {
            return None;
        }
        let at = self
            .find
            .matches
            .iter()
            .position(|m| self.row_of(m.hunk, m.line).is_some_and(|r| r >= row));
        Some(at.unwrap_or(0))
    }

    /// The row showing line `l` of hunk `h` in the current layout.
    fn row_of(&self, h: usize, l: usize) -> Option<usize> {
        self.rows.iter().position(|r| match r {
            Row::Line(x, y) => (*x, *y) == (h, l),
            Row::Pair(a, b) => *a == Some((h, l)) || *b == Some((h, l)),
            _ => false,
        })
    }

    /// Makes match `i` current and brings it into view: its row a third down the page when
    /// it was off screen, its columns inside the text width when the lines are cut.
    fn jump_to(&mut self, i: usize, area: Rect) {
        let Some(m) = self.find.matches.get(i).copied() else {
            return;
        };
        self.find.current = Some(i);
        let page = Self::page_height(area) as usize;
        if let Some(row) = self.row_of(m.hunk, m.line) {
            if row < self.scroll || row >= self.scroll + page.max(1) {
                self.scroll = row.saturating_sub(page / 3);
            }
        }
        if self.wrap {
            return;
        }
        let Some(text) = self.line_text(m.hunk, m.line) else {
            return;
        };
        let (start, end) = (col_of(text, m.start), col_of(text, m.end));
        let cols = self.text_cols(area).max(1);
        // One column each side is taken by a cut marker.
        if start < self.hscroll + 1 || end + 1 > self.hscroll + cols {
            self.hscroll = if end < cols {
                0
            } else {
                start.saturating_sub(H_STEP)
            };
        }
    }

    fn line_text(&self, h: usize, l: usize) -> Option<&str> {
        match &self.file()?.content {
            FileContent::Text { hunks } => Some(hunks.get(h)?.lines.get(l)?.text.as_str()),
            _ => None,
        }
    }

    /// The widest line of the selected file, in columns.
    fn widest(&self) -> usize {
        match self.file().map(|f| &f.content) {
            Some(FileContent::Text { hunks }) => hunks
                .iter()
                .flat_map(|h| h.lines.iter())
                .map(|l| display_width(&l.text))
                .max()
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// l / →: the lines' text [`H_STEP`] columns further right, until the widest line's end
    /// is in view (nothing while wrapping).
    pub fn scroll_right(&mut self, area: Rect) -> bool {
        if self.wrap {
            return false;
        }
        let last = self.widest().saturating_sub(self.text_cols(area));
        let to = (self.hscroll + H_STEP)
            .min(last)
            .max(self.hscroll.min(last));
        let changed = to != self.hscroll;
        self.hscroll = to;
        changed
    }

    /// h / ←: back [`H_STEP`] columns.
    pub fn scroll_left(&mut self) -> bool {
        let to = self.hscroll.saturating_sub(H_STEP);
        let changed = to != self.hscroll;
        self.hscroll = to;
        changed
    }

    /// 0: back to the lines' start.
    pub fn line_start(&mut self) -> bool {
        let changed = self.hscroll != 0;
        self.hscroll = 0;
        changed
    }

    /// w: long lines wrap onto the next rows, or are cut again.
    pub fn toggle_wrap(&mut self) -> bool {
        self.wrap = !self.wrap;
        self.hscroll = 0;
        true
    }

    /// Filters the file list; the selection moves to the first file shown when the selected
    /// one is filtered out.
    pub fn set_filter(&mut self, filter: &str) {
        self.find.filter = filter.to_string();
        let files = &self.set.files;
        self.find.shown = (0..files.len())
            .filter(|&i| passes(files[i].path(), filter))
            .collect();
        if !self.find.shown.contains(&self.selected) {
            if let Some(&first) = self.find.shown.first() {
                self.selected = first;
                self.scroll = 0;
                self.hscroll = 0;
                self.rebuild();
            }
        }
    }
}
