//! The concern queue: open concerns by severity (critical first), then age (oldest first),
//! with from → to, category, status and how far they have climbed; `f` lists the resolved
//! ones (newest first) or all, with the counts of each in the title.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::{inner, scroll_for, Ctx};
use crate::protocol::model::{Concern, ConcernStatus, Severity};
use crate::tui::text::{ago, clean, fit};
use crate::tui::theme::Slot;

/// Which concerns the pane lists (`f` cycles open → resolved → all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shown {
    #[default]
    Open,
    Resolved,
    All,
}

impl Shown {
    pub fn next(self) -> Shown {
        match self {
            Shown::Open => Shown::Resolved,
            Shown::Resolved => Shown::All,
            Shown::All => Shown::Open,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Shown::Open => "open",
            Shown::Resolved => "resolved",
            Shown::All => "all",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConcernsView {
    pub selected: usize,
    pub offset: usize,
    pub shown: Shown,
}

/// The open concerns in the pane's order: by severity (critical first), then in the order
/// they were raised (ids are handed out in order, so no sort is needed: a frame over 10,000
/// concerns only walks the map).
pub fn queue(state: &crate::protocol::State) -> impl Iterator<Item = &Concern> + '_ {
    [Severity::Critical, Severity::Warning, Severity::Info]
        .into_iter()
        .flat_map(move |sev| state.open_concerns().filter(move |c| c.severity == sev))
}

/// The resolved concerns, the newest raised first.
pub fn resolved(state: &crate::protocol::State) -> impl Iterator<Item = &Concern> + '_ {
    state
        .concerns
        .values()
        .rev()
        .filter(|c| c.status == ConcernStatus::Resolved)
}

/// The concerns `shown` lists, in the pane's order: the open queue, then the resolved.
pub fn listed(
    state: &crate::protocol::State,
    shown: Shown,
) -> Box<dyn Iterator<Item = &Concern> + '_> {
    match shown {
        Shown::Open => Box::new(queue(state)),
        Shown::Resolved => Box::new(resolved(state)),
        Shown::All => Box::new(queue(state).chain(resolved(state))),
    }
}

impl ConcernsView {
    pub fn concern<'s>(&self, state: &'s crate::protocol::State) -> Option<&'s Concern> {
        listed(state, self.shown).nth(self.selected)
    }

    /// How many concerns the pane lists now.
    pub fn count(&self, state: &crate::protocol::State) -> usize {
        match self.shown {
            Shown::Open => state.open_concerns().count(),
            Shown::Resolved => resolved(state).count(),
            Shown::All => state.concerns.len(),
        }
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
    let (mut open, mut critical) = (0, 0);
    for c in ctx.state.open_concerns() {
        open += 1;
        if c.severity == Severity::Critical {
            critical += 1;
        }
    }
    let resolved = ctx.state.concerns.len() - open;
    let critical = if critical > 0 {
        format!(" ({critical} critical)")
    } else {
        String::new()
    };
    // Which list is shown is said when it is not the usual one (the open queue).
    let showing = match view.shown {
        Shown::Open => String::new(),
        other => format!(" · showing {}", other.name()),
    };
    let block = ctx.block(
        "Concerns",
        Some(format!(
            "· open {open}{critical} · resolved {resolved}{showing}"
        )),
    );
    let body = inner(area);
    block.render(area, buf);
    let total = match view.shown {
        Shown::Open => open,
        Shown::Resolved => resolved,
        Shown::All => open + resolved,
    };
    if total == 0 {
        let empty = match view.shown {
            Shown::Open => "no open concern",
            Shown::Resolved => "no resolved concern",
            Shown::All => "no concern",
        };
        Line::from(Span::styled(empty, ctx.style(Slot::Dim))).render(body, buf);
        return;
    }
    let wide = body.width >= 100;
    let visible = body.height.saturating_sub(1) as usize;
    let offset = scroll_for(view.selected, view.offset, visible);
    let rows = listed(ctx.state, view.shown)
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
