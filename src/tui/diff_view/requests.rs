//! What to ask the highlighter for: the lines of the selected file on screen whose syntax
//! colours have not arrived yet, per text side, and then those of a fixed look-ahead around
//! the screen ([`LOOK_AHEAD`] screens below, one above), so scrolling shows colours at once
//! while the work stays bounded by what is near the screen.

use ratatui::layout::Rect;

use super::rows::{unified_side, Row};
use super::view::DiffView;
use crate::protocol::diff::{DiffLine, FileContent};
use crate::tui::highlight::{HighlightRequest, Highlights, TextSide};

/// Screens below the one shown whose colours are asked for too.
pub const LOOK_AHEAD: usize = 2;

impl DiffView {
    /// Highlight requests for the lines of the selected file on screen in `area` that
    /// `have` does not hold yet, then for those of the look-ahead around it (empty when there
    /// is nothing to ask, or no texts).
    pub fn highlight_requests(
        &self,
        generation: u64,
        area: Rect,
        have: &Highlights,
    ) -> Vec<HighlightRequest> {
        let page = (Self::page_height(area) as usize).max(1);
        let shown = self.scroll..self.scroll + page;
        let below = shown.end..shown.end + LOOK_AHEAD * page;
        let above = self.scroll.saturating_sub(page)..self.scroll;
        let mut out = self.requests_for(generation, shown, have);
        for range in [below, above] {
            out.extend(self.requests_for(generation, range, have));
        }
        out
    }

    /// Highlight requests for the lines on rows `range` that `have` does not hold yet.
    fn requests_for(
        &self,
        generation: u64,
        range: std::ops::Range<usize>,
        have: &Highlights,
    ) -> Vec<HighlightRequest> {
        let Some(Some(texts)) = self.texts.get(self.selected) else {
            return Vec::new();
        };
        let Some(file) = self.file() else {
            return Vec::new();
        };
        let FileContent::Text { hunks } = &file.content else {
            return Vec::new();
        };
        let (mut old, mut new) = (Vec::new(), Vec::new());
        let mut want = |side: TextSide, line: &DiffLine| {
            let (no, into) = match side {
                TextSide::Old => (line.old_no, &mut old),
                TextSide::New => (line.new_no, &mut new),
            };
            if let Some(no) = no {
                if !have.contains(self.selected, side, no) {
                    into.push(no);
                }
            }
        };
        let rows = self
            .rows
            .get(range.start.min(self.rows.len())..range.end.min(self.rows.len()));
        for row in rows.unwrap_or_default() {
            match row {
                Row::Line(h, l) => {
                    let line = &hunks[*h].lines[*l];
                    want(unified_side(line.kind), line);
                }
                Row::Pair(left, right) => {
                    if let Some((h, l)) = left {
                        want(TextSide::Old, &hunks[*h].lines[*l]);
                    }
                    if let Some((h, l)) = right {
                        want(TextSide::New, &hunks[*h].lines[*l]);
                    }
                }
                Row::Hunk(_) | Row::Note(_) | Row::Review(_) => {}
            }
        }
        let path = file.path().to_string();
        let mut out = Vec::new();
        for (side, lines, text) in [
            (TextSide::Old, old, &texts.old),
            (TextSide::New, new, &texts.new),
        ] {
            if !lines.is_empty() {
                out.push(HighlightRequest {
                    generation,
                    file: self.selected,
                    side,
                    path: path.clone(),
                    text: text.clone(),
                    lines,
                });
            }
        }
        out
    }
}
