//! The diff pane: what is being compared, the viewer of it (plain text at once, syntax colours
//! as the highlighter's results arrive), or why there is nothing to show.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{inner, Ctx};
use crate::tui::diff_source::DiffSource;
use crate::tui::diff_view::{self, DiffView};
use crate::tui::highlight::Highlights;
use crate::tui::text::clean;
use crate::tui::theme::Slot;

/// The diff pane's view state.
#[derive(Debug, Clone, Default)]
pub struct DiffPane {
    pub source: Option<DiffSource>,
    pub view: Option<DiffView>,
    /// Which load the pane waits for; results of older loads are dropped.
    pub generation: u64,
    pub loading: bool,
    /// A change arrived while loading: load again when this one lands.
    pub reload_pending: bool,
    pub error: Option<String>,
    pub highlights: Highlights,
    /// Where the viewer was drawn last (the page size of the page keys, highlight requests).
    pub area: Rect,
}

impl DiffPane {
    /// Rows a page key moves.
    pub fn page(&self) -> u16 {
        DiffView::page_height(self.area).max(1)
    }
}

pub fn render(ctx: &Ctx<'_>, pane: &DiffPane, area: Rect, buf: &mut Buffer) {
    let mut extra = pane
        .source
        .as_ref()
        .map(|s| clean(&s.title()))
        .unwrap_or_default();
    if let Some(v) = &pane.view {
        let set = v.set();
        let (add, del) = set
            .files
            .iter()
            .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
        extra.push_str(&format!(" · {} files +{add} −{del}", set.files.len()));
    }
    if pane.loading {
        extra.push_str(" · loading…");
    }
    let block = ctx.block("Diff", Some(extra));
    let body = inner(area);
    block.render(area, buf);
    if body.height == 0 || body.width == 0 {
        return;
    }
    let message = |text: &str, slot: Slot, buf: &mut Buffer| {
        Paragraph::new(Line::from(Span::styled(clean(text), ctx.style(slot))))
            .wrap(Wrap { trim: true })
            .render(body, buf);
    };
    match (&pane.view, &pane.error) {
        (_, Some(e)) => message(e, Slot::Error, buf),
        (Some(v), None) if v.set().files.is_empty() => {
            message("no differences", Slot::Dim, buf)
        }
        (Some(v), None) => diff_view::render(v, &pane.highlights, ctx.theme, body, buf),
        (None, None) if pane.loading => message("loading the diff…", Slot::Dim, buf),
        (None, None) => message(
            "d on an agent shows its task's diff, d on a checkpoint what it changed (m marks one to compare with), i the integration branch against main",
            Slot::Dim,
            buf,
        ),
    }
}
