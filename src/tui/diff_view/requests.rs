//! What to ask the highlighter for: the lines of the selected file on screen whose syntax
//! colours have not arrived yet, per text side.

use ratatui::layout::Rect;

use super::rows::{unified_side, Row};
use super::view::DiffView;
use crate::protocol::diff::{DiffLine, FileContent};
use crate::tui::highlight::{HighlightRequest, Highlights, TextSide};

impl DiffView {
    /// Highlight requests for the lines of the selected file on screen in `area` that
    /// `have` does not hold yet (empty when there is nothing to ask, or no texts).
    pub fn highlight_requests(
        &self,
        generation: u64,
        area: Rect,
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
        let page = Self::page_height(area) as usize;
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
        for row in self.rows.iter().skip(self.scroll).take(page) {
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
                Row::Hunk(_) | Row::Note(_) => {}
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
