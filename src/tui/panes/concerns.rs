//! The concern queue: open concerns by severity (critical first), then age (oldest first),
//! with from → to, category, status and how far they have climbed.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::{inner, scroll_for, Ctx};
use crate::protocol::model::{Concern, ConcernStatus, Severity};
use crate::tui::text::{ago, clean, fit};
use crate::tui::theme::Slot;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConcernsView {
    pub selected: usize,
    pub offset: usize,
}

/// The open concerns in the pane's order: by severity (critical first), then in the order
/// they were raised (ids are handed out in order, so no sort is needed: a frame over 10,000
/// concerns only walks the map).
pub fn queue(state: &crate::protocol::State) -> impl Iterator<Item = &Concern> + '_ {
    [Severity::Critical, Severity::Warning, Severity::Info]
        .into_iter()
        .flat_map(move |sev| state.open_concerns().filter(move |c| c.severity == sev))
}

impl ConcernsView {
    pub fn concern<'s>(&self, state: &'s crate::protocol::State) -> Option<&'s Concern> {
        queue(state).nth(self.selected)
    }
}

pub fn severity_slot(s: Severity) -> Slot {
    match s {
        Severity::Critical => Slot::Critical,
        Severity::Warning => Slot::Warn,
        Severity::Info => Slot::Info,
    }
}

pub fn render(ctx: &Ctx<'_>, view: &ConcernsView, area: Rect, buf: &mut Buffer) {
    let (mut total, mut critical) = (0, 0);
    for c in ctx.state.open_concerns() {
        total += 1;
        if c.severity == Severity::Critical {
            critical += 1;
        }
    }
    let resolved = ctx.state.concerns.len() - total;
    let block = ctx.block(
        "Concerns",
        Some(format!(
            "{total} open, {critical} critical, {resolved} resolved"
        )),
    );
    let body = inner(area);
    block.render(area, buf);
    if total == 0 {
        Line::from(Span::styled("no open concern", ctx.style(Slot::Dim))).render(body, buf);
        return;
    }
    let wide = body.width >= 100;
    let visible = body.height.saturating_sub(1) as usize;
    let offset = scroll_for(view.selected, view.offset, visible);
    let rows = queue(ctx.state)
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, c)| {
            let age = ctx.since(&c.timestamp).map(ago).unwrap_or_default();
            let status = match c.status {
                ConcernStatus::Assigned => format!(
                    "→{}",
                    c.assigned_to.as_deref().map(clean).unwrap_or_default()
                ),
                s => s.to_string(),
            };
            let mut cells = vec![
                Cell::from(c.id.to_string()),
                Cell::from(Span::styled(
                    c.severity.to_string(),
                    ctx.style(severity_slot(c.severity)),
                )),
                Cell::from(fit(&status, 14)),
                Cell::from(format!("{}→{}", c.from, c.to)),
            ];
            if wide {
                cells.push(Cell::from(fit(&clean(&c.category), 16)));
                cells.push(Cell::from(format!(
                    "↑{}",
                    c.escalations.len().saturating_sub(1)
                )));
            }
            cells.push(Cell::from(age));
            cells.push(Cell::from(clean(&c.summary)));
            let row = Row::new(cells);
            if i == view.selected {
                row.style(ctx.style(Slot::Selection))
            } else {
                row.style(ctx.style(Slot::Text))
            }
        });
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec![
                "id",
                "sev",
                "status",
                "from→to",
                "category",
                "esc",
                "age",
                "summary",
            ],
            vec![
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(14),
                Constraint::Length(22),
                Constraint::Length(16),
                Constraint::Length(3),
                Constraint::Length(6),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec!["id", "sev", "status", "from→to", "age", "summary"],
            vec![
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(12),
                Constraint::Length(18),
                Constraint::Length(5),
                Constraint::Min(6),
            ],
        )
    };
    Table::new(rows, widths)
        .header(Row::new(header).style(ctx.style(Slot::Hint)))
        .column_spacing(1)
        .render(body, buf);
}
