//! The viewer's geometry: how small it may get, when the file list shows beside the hunks,
//! and the page height the page keys move by.

use ratatui::layout::Rect;

use super::view::DiffView;

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
