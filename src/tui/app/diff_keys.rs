//! The diff pane's own keys beyond moving: the search and filter prompts (every key goes to
//! the prompt while one is open), n/N on a search, sideways scrolling and wrapping, esc
//! leaving the diff for the pane it was opened from, and a click on the file list.

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use super::App;
use crate::tui::keymap::Action;
use crate::tui::screen::{self, Pane};

impl App {
    /// Where the diff viewer is drawn in the last frame's layout.
    fn diff_viewer_area(&self) -> Rect {
        screen::diff_area(&self.screen, self.screen.size).unwrap_or_default()
    }

    /// Whether a diff prompt (search or filter) takes the keys.
    pub fn diff_prompt_open(&self) -> bool {
        self.screen.focus == Pane::Diff
            && self
                .screen
                .diff
                .view
                .as_ref()
                .is_some_and(|v| v.prompt().is_some())
    }

    /// A key while a diff prompt is open.
    pub fn on_diff_prompt_key(&mut self, key: KeyEvent) {
        let area = self.diff_viewer_area();
        if let Some(v) = self.screen.diff.view.as_mut() {
            if v.prompt_key(key, area) {
                self.dirty = true;
            }
        }
    }

    /// The diff keys that act on the view: search, filter, n/N on a search, sideways.
    /// `false`: not one of them (or no view).
    pub(super) fn on_diff_view_action(&mut self, action: Action) -> bool {
        let area = self.diff_viewer_area();
        let Some(v) = self.screen.diff.view.as_mut() else {
            return false;
        };
        let searching = !v.query().is_empty();
        match action {
            Action::Search => v.start_search(),
            Action::Filter => v.start_filter(),
            Action::NextHunk if searching => v.next_match(true, area),
            Action::PrevHunk if searching => v.next_match(false, area),
            Action::ScrollLeft => v.scroll_left(),
            Action::ScrollRight => v.scroll_right(area),
            Action::LineStart => v.line_start(),
            Action::Wrap => v.toggle_wrap(),
            _ => return false,
        };
        true
    }

    /// Esc in the diff: clears its search, else its filter, else goes back to the pane the
    /// diff was opened from.
    pub(super) fn diff_back(&mut self) {
        if let Some(v) = self.screen.diff.view.as_mut() {
            if v.back() {
                return;
            }
        }
        let to = self
            .diff_back_to
            .filter(|p| *p != Pane::Diff)
            .unwrap_or(Pane::Swarm);
        self.screen.focus = to;
    }

    /// Remembers the pane the diff is entered from (esc goes back there).
    pub(super) fn entering_diff(&mut self) {
        if self.screen.focus != Pane::Diff {
            self.diff_back_to = Some(self.screen.focus);
        }
    }

    /// A click at (`x`, `y`) over the diff pane: a file of the list is selected.
    pub fn click_diff(&mut self, x: u16, y: u16) {
        let area = self.diff_viewer_area();
        if let Some(v) = self.screen.diff.view.as_mut() {
            if let Some(i) = v.file_at(area, x, y) {
                v.select_file(i);
                self.dirty = true;
            }
        }
    }
}
