//! The keys of the help overlay: it is a layer of its own (nothing reaches the pane behind
//! it) — scrolling, the filter typed into it, and closing it (`esc` clears a filter first).

use super::{App, Intent};
use crate::tui::help;
use crate::tui::keymap::Action;

impl App {
    /// An action while the help is open. Whatever the help does not do is ignored.
    pub(super) fn on_help_action(&mut self, action: Action) -> Vec<Intent> {
        let page = help::page(self.help_body_height());
        let v = &mut self.screen.help_view;
        match action {
            Action::Up => v.scroll(-1, None, page),
            Action::Down => v.scroll(1, None, page),
            Action::PageUp => v.scroll(-(page as isize), None, page),
            Action::PageDown => v.scroll(page as isize, None, page),
            Action::Top => v.scroll(0, Some(false), page),
            Action::Bottom => v.scroll(0, Some(true), page),
            Action::Filter => {
                v.filter.get_or_insert_with(String::new);
            }
            Action::Back | Action::Cancel | Action::Help => {
                if v.filter.is_some() {
                    v.filter = None;
                    v.offset = 0;
                } else {
                    self.screen.help = false;
                }
            }
            Action::Quit => return vec![Intent::Quit],
            _ => {}
        }
        Vec::new()
    }

    /// A character typed while the help is open: it goes into the filter.
    pub fn on_help_text(&mut self, c: char) {
        if self.screen.help {
            self.screen.help_view.type_char(c);
            self.dirty = true;
        }
    }

    /// Backspace while the help is open: edits the filter (and closes an empty one).
    pub fn on_help_backspace(&mut self) {
        if self.screen.help {
            self.screen.help_view.backspace();
            self.dirty = true;
        }
    }

    /// The rows of the screen's body at the last frame (what a help page is made of).
    fn help_body_height(&self) -> u16 {
        crate::tui::screen::areas(&self.screen, self.screen.size).map_or(0, |a| a.body.height)
    }
}
