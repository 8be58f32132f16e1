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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConcernsView {
    pub selected: usize,
    pub offset: usize,
    pub shown: Shown,
    /// Resolved concerns the live state has let go of, read from the history as the list is
    /// scrolled towards its end (the most recently resolved first).
    pub older: Vec<Concern>,
    /// How many concerns are resolved in all, once the history has said.
    pub resolved_total: Option<u64>,
    /// The history page asked for and not yet come (its offset).
    pub asked: Option<u64>,
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

/// The resolved concerns the state holds, then those read from the history.
fn resolved_with<'s>(
    state: &'s crate::protocol::State,
    older: &'s [Concern],
) -> impl Iterator<Item = &'s Concern> + 's {
    resolved(state).chain(older.iter().filter(|c| !state.concerns.contains_key(&c.id)))
}

/// The concerns `view.shown` lists, in the pane's order: the open queue, then the resolved
/// (those in the state, then the older ones read from the history).
pub fn listed<'s>(
    state: &'s crate::protocol::State,
    view: &'s ConcernsView,
) -> Box<dyn Iterator<Item = &'s Concern> + 's> {
    match view.shown {
        Shown::Open => Box::new(queue(state)),
        Shown::Resolved => Box::new(resolved_with(state, &view.older)),
        Shown::All => Box::new(queue(state).chain(resolved_with(state, &view.older))),
    }
}

impl ConcernsView {
    pub fn concern<'s>(&'s self, state: &'s crate::protocol::State) -> Option<&'s Concern> {
        listed(state, self).nth(self.selected)
    }

    /// How many concerns the pane lists now.
    pub fn count(&self, state: &crate::protocol::State) -> usize {
        match self.shown {
            Shown::Open => state.open_concerns().count(),
            Shown::Resolved => resolved_with(state, &self.older).count(),
            Shown::All => state.open_concerns().count() + resolved_with(state, &self.older).count(),
        }
    }

    /// How many resolved concerns there are (the history's count once known).
    pub fn resolved_count(&self, state: &crate::protocol::State) -> usize {
        let known = resolved_with(state, &self.older).count();
        self.resolved_total.map_or(known, |t| known.max(t as usize))
    }

    /// The history page to ask for now, if any: when a list of resolved concerns is shown,
    /// the selection is near its end and the history holds more. Marks it asked.
    pub fn wants_older(&mut self, state: &crate::protocol::State) -> Option<u64> {
        if self.shown == Shown::Open || self.asked.is_some() {
            return None;
        }
        // The first time, at once (the title's count comes with it); then near the end.
        let listed = self.count(state);
        if self.resolved_total.is_some() && self.selected + LOOK_AHEAD < listed {
            return None;
        }
        let offset = (resolved_with(state, &self.older).count()) as u64;
        if self.resolved_total.is_some_and(|t| offset >= t) {
            return None;
        }
        self.asked = Some(offset);
        Some(offset)
    }

    /// A history page came: the older resolved concerns from `offset`, and how many there are.
    pub fn on_older(&mut self, offset: u64, total: u64, page: Vec<Concern>) {
        if self.asked != Some(offset) {
            return;
        }
        self.asked = None;
        let before = self.older.len();
        for c in page {
            if !self.older.iter().any(|o| o.id == c.id) {
                self.older.push(c);
            }
        }
        // A page that brings nothing new ends the reading, whatever the count says.
        self.resolved_total = Some(if self.older.len() == before {
            offset
        } else {
            total
        });
    }
}

/// How close to the end of the list the selection comes before the next page is read.
const LOOK_AHEAD: usize = 20;

/// How many older concerns one history page brings.
pub const HISTORY_PAGE: u64 = 100;

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
    let resolved = view.resolved_count(ctx.state);
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
    let rows = listed(ctx.state, view)
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
