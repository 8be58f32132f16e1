//! The viewer's geometry: how small it may get, when the file list shows beside the hunks,
//! the page height the page keys move by, the columns a line's text gets, and which file a
//! click on the list lands on.

use ratatui::layout::Rect;

use super::rows::Layout;
use super::view::DiffView;
use crate::protocol::diff::{FileContent, Hunk};

/// Narrower than this, the viewer shows a message instead of a diff.
pub const MIN_WIDTH: u16 = 24;
pub const MIN_HEIGHT: u16 = 4;
/// From this width on, the file list is shown beside the hunks.
pub const FILE_LIST_FROM: u16 = 70;

impl DiffView {
    /// The number of diff rows `area` shows (the page size for the page keys).
    pub fn page_height(area: Rect) -> u16 {
        panes(area)
            .map(|(_, d)| d.height.saturating_sub(2))
            .unwrap_or(0)
    }

    /// The columns the text of a line gets in `area` (after the line numbers and the sign;
    /// half the width side by side).
    pub(super) fn text_cols(&self, area: Rect) -> usize {
        let Some((_, diff)) = panes(area) else {
            return 0;
        };
        let inner = diff.width.saturating_sub(2) as usize;
        let width = match self.file().map(|f| &f.content) {
            Some(FileContent::Text { hunks }) => number_width(hunks),
            _ => 1,
        };
        match self.layout {
            Layout::Unified => inner.saturating_sub(2 * (width + 1) + 1),
            Layout::SideBySide => (inner / 2).saturating_sub(width + 2),
        }
    }

    /// The first file the list shows when it has `height` rows (the selection stays in view).
    pub(super) fn list_offset(&self, height: usize) -> usize {
        let at = self
            .find
            .shown
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0);
        at.saturating_sub(height.saturating_sub(1))
    }

    /// The file whose row of the list is at (`x`, `y`) when the viewer is drawn in `area`.
    pub fn file_at(&self, area: Rect, x: u16, y: u16) -> Option<usize> {
        let (Some(list), _) = panes(area)? else {
            return None;
        };
        let inner = Rect::new(
            list.x + 1,
            list.y + 1,
            list.width.saturating_sub(2),
            list.height.saturating_sub(2),
        );
        if x < inner.x || x >= inner.right() || y < inner.y || y >= inner.bottom() {
            return None;
        }
        let offset = self.list_offset(inner.height as usize);
        self.find
            .shown
            .get(offset + (y - inner.y) as usize)
            .copied()
    }
}

/// The width of the line numbers: the digits of the highest line any hunk reaches.
pub(super) fn number_width(hunks: &[Hunk]) -> usize {
    hunks
        .iter()
        .map(|h| {
            digits(
                h.old_start
                    .saturating_add(h.old_len)
                    .max(h.new_start.saturating_add(h.new_len)),
            )
        })
        .max()
        .unwrap_or(1)
}

fn digits(n: u32) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// The file list and diff panes of `area`, or `None` when it is too small.
pub(super) fn panes(area: Rect) -> Option<(Option<Rect>, Rect)> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    if area.width < FILE_LIST_FROM {
        return Some((None, area));
    }
    let list_w = (area.width / 4).clamp(20, 40);
    let list = Rect::new(area.x, area.y, list_w, area.height);
    let diff = Rect::new(area.x + list_w, area.y, area.width - list_w, area.height);
    Some((Some(list), diff))
}
