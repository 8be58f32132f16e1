//! The panes: each is a pure function of (state, its view state, the theme, the clock, the
//! area) drawing into a buffer. Nothing here reads the core, a file or the real clock.

pub mod activity;
pub mod concerns;
pub mod diff;
pub mod metrics;
pub mod plan;
pub mod qa;
pub mod swarm;
pub mod timeline;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::theme::{Slot, Theme};

/// What every pane gets besides its own view state.
pub struct Ctx<'a> {
    pub state: &'a crate::protocol::State,
    pub theme: &'a Theme,
    /// Now, for ages, countdowns and stalls.
    pub now: time::OffsetDateTime,
    pub focused: bool,
    /// Seconds without output after which an agent shows as stalled.
    pub stall_secs: u64,
}

impl<'a> Ctx<'a> {
    /// A context for counting a pane's lines (no colours, no clock): how many lines a pane
    /// shows does not depend on them.
    pub fn counting(state: &'a crate::protocol::State) -> Ctx<'a> {
        static PLAIN: std::sync::OnceLock<Theme> = std::sync::OnceLock::new();
        Ctx {
            state,
            theme: PLAIN.get_or_init(Theme::default),
            now: time::OffsetDateTime::UNIX_EPOCH,
            focused: false,
            stall_secs: 0,
        }
    }

    pub fn style(&self, slot: Slot) -> Style {
        self.theme.style(slot)
    }

    /// Seconds from an audit timestamp to now (`None` for a timestamp that does not parse).
    pub fn since(&self, ts: &str) -> Option<i64> {
        crate::core::parse_stamp(ts).map(|t| (self.now - t).whole_seconds())
    }

    /// The pane's frame: its title, and the focused border when it has the focus.
    pub fn block<'b>(&self, title: &'b str, extra: Option<String>) -> Block<'b> {
        let mut title_line = vec![Span::styled(format!(" {title} "), self.style(Slot::Title))];
        if let Some(e) = extra {
            title_line.push(Span::styled(format!("{e} "), self.style(Slot::Dim)));
        }
        Block::default()
            .borders(Borders::ALL)
            .border_type(if self.focused {
                BorderType::Thick
            } else {
                BorderType::Plain
            })
            .border_style(self.style(if self.focused {
                Slot::BorderFocused
            } else {
                Slot::Border
            }))
            .title(Line::from(title_line))
    }
}

/// A selectable list's scroll: the first row to show so that `selected` is visible.
pub fn scroll_for(selected: usize, offset: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

/// A scrolled pane's first line: `offset`, but never past the last screenful of `lines`
/// (and within what a terminal row index can hold).
pub fn clamp_offset(offset: usize, lines: usize, height: u16) -> u16 {
    let last_screen = lines.saturating_sub(height as usize);
    offset.min(last_screen).min(u16::MAX as usize) as u16
}

/// The inner area of a bordered pane.
pub fn inner(area: Rect) -> Rect {
    Rect {
        x: area.x.saturating_add(1),
        y: area.y.saturating_add(1),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    }
}
