//! The timeline: checkpoints newest first — Saves, rollbacks, promotions — with their QA
//! summary; the selection is what a rollback or a diff starts from.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::{inner, scroll_for, Ctx};
use crate::protocol::model::{Checkpoint, CheckpointKind};
use crate::tui::text::{ago, clean, plural};
use crate::tui::theme::Slot;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineView {
    pub selected: usize,
    pub offset: usize,
    /// A checkpoint marked to diff the selected one against.
    pub marked: Option<String>,
}

/// Checkpoints in the pane's order (newest first).
pub fn entries(state: &crate::protocol::State) -> Vec<&Checkpoint> {
    state.checkpoints.iter().rev().collect()
}

impl TimelineView {
    pub fn checkpoint<'s>(&self, state: &'s crate::protocol::State) -> Option<&'s Checkpoint> {
        entries(state).get(self.selected).copied()
    }
}

pub fn render(ctx: &Ctx<'_>, view: &TimelineView, area: Rect, buf: &mut Buffer) {
    let list = entries(ctx.state);
    let block = ctx.block("Timeline", Some(plural(list.len(), "checkpoint")));
    let body = inner(area);
    block.render(area, buf);
    if list.is_empty() {
        Line::from(Span::styled(
            "no checkpoint yet: Save makes the first",
            ctx.style(Slot::Dim),
        ))
        .render(body, buf);
        return;
    }
    let visible = body.height.saturating_sub(1) as usize;
    let offset = scroll_for(view.selected, view.offset, visible);
    // Narrow: the name, the kind and the QA with the summary; wide: the time and the QA
    // run in columns of their own.
    let narrow = body.width < 70;
    let rows = list
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, c)| {
            let (kind, slot) = match c.kind {
                CheckpointKind::Save => ("save", Slot::Ok),
                CheckpointKind::Rollback => ("rollback", Slot::Warn),
                CheckpointKind::Promotion => ("promotion", Slot::Badge),
            };
            let qa = c
                .qa_run
                .and_then(|id| ctx.state.qa_runs.iter().find(|r| r.id == id))
                .map(|r| format!("{} {}", r.id, r.decision.as_str()))
                .unwrap_or_else(|| "—".into());
            // Panes say how long ago; details give the absolute time.
            let when = ctx
                .since(&c.created_at)
                .map(|s| format!("{} ago", ago(s)))
                .unwrap_or_else(|| "—".into());
            let name = c.name.trim_start_matches("checkpoint/").to_string();
            // Marked to compare with (`m`, then `d` on another).
            let name = if view.marked.as_deref() == Some(c.name.as_str()) {
                Cell::from(Span::styled(name, ctx.style(Slot::Badge)))
            } else {
                Cell::from(name)
            };
            let kind = Cell::from(Span::styled(kind, ctx.style(slot)));
            let row = if narrow {
                Row::new(vec![
                    name,
                    kind,
                    Cell::from(format!("{qa} · {}", clean(&c.summary))),
                ])
            } else {
                Row::new(vec![
                    name,
                    kind,
                    Cell::from(when),
                    Cell::from(qa),
                    Cell::from(clean(&c.summary)),
                ])
            };
            if i == view.selected {
                row.style(ctx.style(Slot::Selection))
            } else {
                row.style(ctx.style(Slot::Text))
            }
        });
    let (widths, header): (Vec<Constraint>, Vec<&str>) = if narrow {
        (
            vec![
                Constraint::Length(12),
                Constraint::Length(9),
                Constraint::Min(4),
            ],
            vec!["checkpoint", "kind", "QA · summary"],
        )
    } else {
        (
            vec![
                Constraint::Length(13),
                Constraint::Length(9),
                Constraint::Length(11),
                Constraint::Length(18),
                Constraint::Min(10),
            ],
            vec!["checkpoint", "kind", "when", "QA", "summary"],
        )
    };
    Table::new(rows, widths)
        .header(Row::new(header).style(ctx.style(Slot::Hint)))
        .column_spacing(1)
        .render(body, buf);
}
