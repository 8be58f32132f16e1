//! The swarm: every agent with its role, adapter, state (a rate limit with its countdown, a
//! stall standing out), task, last output, files touched, spending and time since it last
//! spoke.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::{inner, scroll_for, Ctx};
use crate::protocol::model::{Agent, AgentState};
use crate::tui::text::{ago, clean, columns, plural, Column};
use crate::tui::theme::Slot;

/// The swarm pane's view state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmView {
    pub selected: usize,
    pub offset: usize,
    /// Files seen changing in each task's worktree (the watcher), by task.
    pub live: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl SwarmView {
    /// The selected agent's id.
    pub fn agent<'s>(&self, state: &'s crate::protocol::State) -> Option<&'s Agent> {
        state.agents.values().nth(self.selected)
    }
}

fn state_cell(ctx: &Ctx<'_>, a: &Agent) -> (String, Slot) {
    if a.paused {
        return ("paused".into(), Slot::Paused);
    }
    match a.state {
        AgentState::RateLimited => {
            let left = a
                .rate_limited_until
                .as_deref()
                .and_then(|u| ctx.since(u))
                .map(|s| format!("rate-limited {}", ago(-s)))
                .unwrap_or_else(|| "rate-limited".into());
            (left, Slot::RateLimited)
        }
        AgentState::Running if stalled(ctx, a) => ("stalled".into(), Slot::Stalled),
        AgentState::Running => ("running".into(), Slot::Running),
        AgentState::Waiting => ("waiting".into(), Slot::Waiting),
        AgentState::Failed => ("failed".into(), Slot::Failed),
        AgentState::Done => ("done".into(), Slot::Done),
        AgentState::Idle => ("idle".into(), Slot::Dim),
        AgentState::Paused => ("paused".into(), Slot::Paused),
    }
}

/// Running with nothing heard for `stall_secs` (or the supervisor said so).
fn stalled(ctx: &Ctx<'_>, a: &Agent) -> bool {
    a.detail
        .as_deref()
        .is_some_and(|d| d.starts_with("stalled"))
        || a.last_event_at
            .as_deref()
            .and_then(|t| ctx.since(t))
            .is_some_and(|s| s >= ctx.stall_secs as i64)
}

pub fn render(ctx: &Ctx<'_>, view: &SwarmView, area: Rect, buf: &mut Buffer) {
    let agents: Vec<&Agent> = ctx.state.agents.values().collect();
    let active = ctx.state.active_agents().count();
    let block = ctx.block(
        "Swarm",
        Some(format!(
            "{}, {active} active",
            plural(agents.len(), "agent")
        )),
    );
    let body = inner(area);
    block.render(area, buf);
    if agents.is_empty() {
        Line::from(Span::styled(
            "no agents yet: they start when the plan is approved",
            ctx.style(Slot::Dim),
        ))
        .render(body, buf);
        return;
    }
    let wide = body.width >= 100;
    let rows_visible = body.height.saturating_sub(1) as usize;
    let offset = scroll_for(view.selected, view.offset, rows_visible);
    // Ids (agents, tasks) are never cut: the other columns give way, the lowest rank first.
    let longest = |f: &dyn Fn(&Agent) -> usize, floor: usize| {
        agents.iter().map(|a| f(a)).max().unwrap_or(0).max(floor)
    };
    let id_w = longest(&|a| clean(&a.id).chars().count(), 5);
    let task_w = longest(
        &|a| a.task.as_deref().map_or(1, |t| clean(t).chars().count()),
        4,
    );
    let col = |want: usize, least: usize, rank: u8| Column { want, least, rank };
    let cols = [
        ("agent", col(id_w, id_w, 9)),
        ("role", col(11, 11, 3)),
        ("adapter", if wide { col(10, 10, 1) } else { col(0, 0, 0) }),
        ("state", col(16, 12, 8)),
        ("task", col(task_w, task_w, 7)),
        ("files", if wide { col(5, 5, 1) } else { col(0, 0, 0) }),
        ("spent", if wide { col(14, 14, 1) } else { col(0, 0, 0) }),
        ("quiet", col(6, 5, 4)),
        ("last", col(usize::from(body.width), 6, 2)),
    ];
    let laid = columns(
        &cols.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        usize::from(body.width),
        1,
    );
    // Adapter, files and spent only on wide terminals.
    let shown: Vec<(usize, usize)> = laid
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.filter(|w| *w > 0).map(|w| (i, w)))
        .collect();
    let rows = agents
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_visible)
        .map(|(i, a)| {
            let (state, slot) = state_cell(ctx, a);
            // Quiet counts only while an agent could speak: a finished one is not quiet.
            let finished = matches!(a.state, AgentState::Done | AgentState::Failed);
            let since = a
                .last_event_at
                .as_deref()
                .filter(|_| !finished)
                .and_then(|t| ctx.since(t))
                .map(ago)
                .unwrap_or_else(|| "—".into());
            // No token count reported (an acp agent that does not say): unknown, not 0.
            let tokens = match a.tokens {
                0 => "—".to_string(),
                n => format!("{n}t"),
            };
            let spent = if a.cost_micros > 0 {
                format!("{tokens} ${:.2}", a.cost_micros as f64 / 1e6)
            } else {
                tokens
            };
            let last = a
                .last_output
                .as_deref()
                .or(a.detail.as_deref())
                .map(clean)
                .unwrap_or_default();
            // Committed files, and those the watcher saw change since.
            let live = a.task.as_ref().and_then(|t| view.live.get(t));
            let files = match live {
                Some(l) => l.len() + a.files_touched.iter().filter(|f| !l.contains(*f)).count(),
                None => a.files_touched.len(),
            };
            let mut all = vec![
                Cell::from(clean(&a.id)),
                Cell::from(a.role.to_string()),
                Cell::from(clean(&a.adapter)),
                Cell::from(Span::styled(state, ctx.style(slot))),
                Cell::from(a.task.as_deref().map(clean).unwrap_or_else(|| "—".into())),
                Cell::from(files.to_string()),
                Cell::from(spent),
                Cell::from(since),
                Cell::from(Span::styled(last, ctx.style(Slot::Dim))),
            ];
            let cells: Vec<Cell> = shown
                .iter()
                .map(|(i, _)| std::mem::take(&mut all[*i]))
                .collect();
            let row = Row::new(cells);
            if i == view.selected {
                row.style(ctx.style(Slot::Selection))
            } else {
                row.style(ctx.style(Slot::Text))
            }
        });
    let header: Vec<&str> = shown.iter().map(|(i, _)| cols[*i].0).collect();
    let widths: Vec<Constraint> = shown
        .iter()
        .map(|(_, w)| Constraint::Length(*w as u16))
        .collect();
    Table::new(rows, widths)
        .header(Row::new(header).style(ctx.style(Slot::Hint)))
        .column_spacing(1)
        .render(body, buf);
}
