//! The activity log: the core's events as one line each, newest last, filterable by agent and
//! by kind; for the selected agent, its raw output.

use std::collections::VecDeque;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{inner, Ctx};
use crate::protocol::{Event, EventKind};
use crate::runtime::supervisor::RAW_LINES;
use crate::tui::text::{ago, clean, fit};
use crate::tui::theme::Slot;

/// How many events the console keeps for this pane.
pub const KEEP: usize = 5000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityView {
    /// Only events about this agent (its actor, or naming it).
    pub agent: Option<String>,
    /// Only events of this kind (`concern_raised`, …).
    pub kind: Option<String>,
    /// Lines scrolled back from the newest.
    pub back: usize,
    /// Show the agent's raw output instead of the events.
    pub raw: bool,
    /// How many lines of raw output the last frame had (the runner reads them).
    pub raw_len: usize,
}

/// The last events, as the console keeps them.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub events: VecDeque<Event>,
}

impl Log {
    pub fn push(&mut self, e: Event) {
        if self.events.len() == KEEP {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }
}

fn agent_of(e: &Event) -> Option<&str> {
    match &e.kind {
        EventKind::AgentStateChanged { agent, .. }
        | EventKind::AgentActivity { agent, .. }
        | EventKind::AgentRunReported { agent, .. }
        | EventKind::AgentPaused { agent }
        | EventKind::AgentResumed { agent }
        | EventKind::WorkAssigned { agent, .. } => Some(agent),
        EventKind::AgentRegistered { agent } => Some(&agent.id),
        EventKind::ClarificationRequested { clarification } => Some(&clarification.agent),
        _ => e.actor.strip_prefix("agent:"),
    }
}

/// What one run did, as the activity log shows it: `impl-1 ran a (codex, gpt-5, ok): 3 tool
/// calls, 1 failed (command_execution exit 101) · files src/lib.rs · 2400 in (400 cached) /
/// 68 out (10 reasoning) · $0.0012 priced`.
fn run_line(
    agent: &str,
    task: &Option<String>,
    run: &crate::protocol::model::RunTelemetry,
) -> String {
    let failed = match run.failed_tools.as_slice() {
        [] => String::new(),
        all => format!(
            ", {} failed ({})",
            all.len(),
            all.iter()
                .map(|f| match f.exit_code {
                    Some(c) => format!("{} exit {c}", f.name),
                    None => f.name.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let files = if run.files.is_empty() {
        String::new()
    } else {
        format!(" · files {}", run.files.join(", "))
    };
    let tokens = if run.tokens_unknown {
        "tokens unknown".to_string()
    } else {
        format!(
            "{} in ({} cached) / {} out ({} reasoning)",
            run.tokens.input, run.tokens.cached_input, run.tokens.output, run.tokens.reasoning
        )
    };
    format!(
        "{agent} ran {} ({}, {}, {}): {} tool calls{failed}{files} · {tokens} · {}",
        task.as_deref().unwrap_or("a turn"),
        run.adapter,
        run.model.as_deref().unwrap_or("model not reported"),
        if run.ok { "ok" } else { "failed" },
        run.tool_calls,
        run.cost_source.show(run.cost_micros),
    )
}

/// The telemetry of the agent's current task, else of the last task it ran (in plan order).
fn task_telemetry_of<'s>(
    state: &'s crate::protocol::State,
    agent: &str,
) -> Option<(&'s str, &'s crate::protocol::model::TaskTelemetry)> {
    let current = state.agents.get(agent).and_then(|a| a.task.as_deref());
    let last = || {
        state.plan.as_ref().and_then(|p| {
            p.tasks()
                .filter(|t| t.owner.as_deref() == Some(agent))
                .filter(|t| state.task_telemetry.contains_key(&t.id))
                .last()
                .map(|t| t.id.as_str())
        })
    };
    let task = current
        .filter(|t| state.task_telemetry.contains_key(*t))
        .or_else(last)?;
    Some((task, state.task_telemetry.get(task)?))
}

/// One event as a line of text.
pub fn describe(e: &Event) -> String {
    let text = match &e.kind {
        EventKind::AgentStateChanged {
            agent,
            state,
            task,
            detail,
            ..
        } => format!(
            "{agent} {}{}{}",
            state.as_str(),
            task.as_ref().map(|t| format!(" {t}")).unwrap_or_default(),
            detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        EventKind::AgentActivity {
            agent,
            events,
            tokens,
            last_output,
            ..
        } => format!(
            // A stretch without tokens says none rather than "0 tokens": an agent that
            // reports none has spent an unknown amount.
            "{agent}: {}{}{}",
            crate::protocol::report::plural(*events as usize, "event"),
            if *tokens > 0 {
                format!(", {tokens} tokens")
            } else {
                String::new()
            },
            last_output
                .as_ref()
                .map(|l| format!(" — {l}"))
                .unwrap_or_default()
        ),
        EventKind::AgentRunReported { agent, task, run } => run_line(agent, task, run),
        EventKind::ConcernRaised { concern } => format!(
            "{} {} {} ({} → {}): {}",
            concern.id,
            concern.severity,
            concern.category,
            concern.from,
            concern.to,
            concern.summary
        ),
        EventKind::ConcernEscalated { id, to, reason } => format!("{id} → {to}: {reason}"),
        EventKind::HandoffRecorded { handoff } => format!(
            "{} {} → {}: {}",
            handoff.id, handoff.from, handoff.to, handoff.purpose
        ),
        EventKind::TaskStatusChanged { task, status, note } => format!(
            "task {task} → {status}{}",
            note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
        ),
        EventKind::ApprovalRequested { approval } => format!(
            "{} {} {} awaits the human",
            approval.id, approval.kind, approval.subject
        ),
        EventKind::ApprovalDecided { id, decision, .. } => format!("{id} {}", decision.as_str()),
        EventKind::CheckpointCreated { checkpoint } => format!("checkpoint {}", checkpoint.name),
        EventKind::OperationStarted { operation } => {
            format!(
                "{} {} started by {}",
                operation.kind, operation.id, operation.requested_by
            )
        }
        EventKind::OperationFinished {
            id, kind, message, ..
        } => format!("{kind} {id}: {message}"),
        EventKind::GitAction {
            action,
            reference,
            detail,
            ..
        } => format!("git {action} {reference}: {detail}"),
        EventKind::SessionStatusChanged { status } => {
            // `RollingBack` → "rolling back".
            let mut words = String::new();
            for (i, c) in format!("{status:?}").chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    words.push(' ');
                }
                words.extend(c.to_lowercase());
            }
            format!("session {words}")
        }
        EventKind::OperationStep { step, detail, .. } => format!("{step}: {detail}"),
        EventKind::AgentRegistered { agent } => format!(
            "agent {} registered: {} on {}",
            agent.id, agent.role, agent.adapter
        ),
        EventKind::QaGateFinished { run, result } => {
            format!("{run} {} {}", result.gate, result.outcome.as_str())
        }
        EventKind::MetricAlert {
            level,
            key,
            message,
            concern,
        } => format!(
            "{} {key}: {message}{}",
            level,
            concern.map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        EventKind::MetricAlertCleared { key } => format!("alert {key} cleared"),
        EventKind::AgentProcessStarted { agent, process } => format!(
            "{agent}'s CLI started (pid {}){}",
            process.pid,
            process
                .task
                .as_ref()
                .map(|t| format!(" on {t}"))
                .unwrap_or_default()
        ),
        EventKind::AgentProcessEnded { agent, pid } => {
            format!("{agent}'s CLI (pid {pid}) and all it started have stopped")
        }
        EventKind::DailyReportWritten { summary, path, .. } => format!("{summary} — {path}"),
        EventKind::DispatchHalted { reason } => format!(
            "kill switch on{}",
            reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        other => other.name().replace('_', " "),
    };
    clean(&text)
}

fn kind_slot(e: &Event) -> Slot {
    match &e.kind {
        EventKind::ConcernRaised { concern } => match concern.severity {
            crate::protocol::model::Severity::Critical => Slot::Critical,
            crate::protocol::model::Severity::Warning => Slot::Warn,
            crate::protocol::model::Severity::Info => Slot::Info,
        },
        EventKind::ApprovalRequested { .. } => Slot::Badge,
        EventKind::CheckpointCreated { .. } => Slot::Ok,
        EventKind::MetricAlert { level, .. } => match level {
            crate::protocol::model::AlertLevel::Critical => Slot::Critical,
            crate::protocol::model::AlertLevel::Alert => Slot::Error,
            crate::protocol::model::AlertLevel::Warn => Slot::Warn,
        },
        EventKind::MetricAlertCleared { .. } => Slot::Ok,
        _ => Slot::Text,
    }
}

/// Where the events before the oldest one kept are (events are numbered from 1 with no gaps,
/// so an oldest event past the first means there were earlier ones).
fn events_note(log: &Log, now: time::OffsetDateTime) -> Option<String> {
    let oldest = log.events.front().filter(|e| e.seq > 1)?;
    Some(format!(
        "── {} earlier events (older than {}) are in the audit trail: overlord-tui audit export",
        oldest.seq - 1,
        age(&oldest.at, now).trim_start()
    ))
}

/// How long ago `at` was, as panes show times (`42s`, `3m`, `2h05m`, `3d`; details show the
/// absolute time), right-aligned in six columns.
fn age(at: &str, now: time::OffsetDateTime) -> String {
    match crate::core::parse_stamp(at) {
        Some(t) => format!("{:>6}", ago((now - t).whole_seconds())),
        None => format!("{:>6}", "?"),
    }
}

/// Where the agent's output before the oldest kept line is: its run logs, when lines were
/// dropped (the ring is full) or none were kept.
fn raw_note(view: &ActivityView, raw: &[String]) -> Option<String> {
    let agent = clean(view.agent.as_deref()?);
    if raw.is_empty() {
        Some(format!(
            "── no output from {agent} yet (its run logs: .overlord/logs/agents/{agent}/)"
        ))
    } else if raw.len() >= RAW_LINES {
        Some(format!(
            "── earlier output is in .overlord/logs/agents/{agent}/"
        ))
    } else {
        None
    }
}

/// How far back a window of `height` rows over `count` lines can go: up to the oldest
/// screenful, with a row left above it for where the log begins.
fn furthest_back(back: usize, count: usize, height: usize) -> usize {
    back.min(count.saturating_sub(height.saturating_sub(1)))
}

/// The furthest back the pane can scroll with `height` rows: to its oldest screenful.
pub fn last_back(view: &ActivityView, log: &Log, height: usize) -> usize {
    let count = if view.raw {
        view.raw_len
    } else {
        log.events.iter().filter(|e| shows(view, e)).count()
    };
    furthest_back(usize::MAX, count, height)
}

/// Whether the filters let `e` through.
fn shows(view: &ActivityView, e: &Event) -> bool {
    view.agent.as_deref().is_none_or(|a| agent_of(e) == Some(a))
        && view.kind.as_deref().is_none_or(|k| e.kind.name() == k)
}

/// The raw output's lines on screen, and where it begins when that is in view.
fn raw_lines<'a>(
    ctx: &Ctx<'_>,
    view: &ActivityView,
    raw: &[String],
    width: usize,
    height: usize,
) -> Vec<Line<'a>> {
    let end = raw.len() - furthest_back(view.back, raw.len(), height);
    let start = end.saturating_sub(height);
    let mut shown: Vec<Line> = raw[start..end]
        .iter()
        .map(|l| Line::from(Span::styled(fit(&clean(l), width), ctx.style(Slot::Text))))
        .collect();
    // Room above the oldest line: say where the output begins.
    if let (Some(note), true) = (raw_note(view, raw), end < height) {
        shown.insert(
            0,
            Line::from(Span::styled(fit(&note, width), ctx.style(Slot::Dim))),
        );
    }
    shown
}

/// The events on screen (the filters applied), and where the log begins when that is in
/// view.
fn event_lines<'a>(
    ctx: &Ctx<'_>,
    view: &ActivityView,
    log: &Log,
    width: usize,
    height: usize,
) -> Vec<Line<'a>> {
    let kept = |e: &&Event| shows(view, e);
    // Counting is cheap (no line is built): a few thousand events at most.
    let back = furthest_back(view.back, log.events.iter().filter(kept).count(), height);
    let mut shown: Vec<Line> = log
        .events
        .iter()
        .rev()
        .filter(kept)
        .skip(back)
        .take(height)
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("{} ", age(&e.at, ctx.now)), ctx.style(Slot::Dim)),
                Span::styled(
                    fit(&describe(e), width.saturating_sub(7)),
                    ctx.style(kind_slot(e)),
                ),
            ])
        })
        .collect();
    shown.reverse();
    // Room above the oldest event: the log does not start at the first event.
    if let (Some(note), true) = (events_note(log, ctx.now), shown.len() < height) {
        shown.insert(
            0,
            Line::from(Span::styled(fit(&note, width), ctx.style(Slot::Dim))),
        );
    }
    shown
}

pub fn render(
    ctx: &Ctx<'_>,
    view: &ActivityView,
    log: &Log,
    raw: &[String],
    area: Rect,
    buf: &mut Buffer,
) {
    let body = inner(area);
    let width = body.width as usize;
    let height = body.height as usize;
    let mut filter = Vec::new();
    if let Some(a) = &view.agent {
        filter.push(format!("agent {a}"));
    }
    if let Some(k) = &view.kind {
        filter.push(format!("kind {k}"));
    }
    // The agent's details over its raw output: what its (current, else last) task's runs did.
    if view.raw {
        if let Some((task, t)) = view
            .agent
            .as_deref()
            .and_then(|a| task_telemetry_of(ctx.state, a))
        {
            filter.push(format!("{task}: {}", t.summary()));
        }
    }
    // Only the lines that show are built: the log can hold thousands of events.
    let lines = if view.raw {
        raw_lines(ctx, view, raw, width, height)
    } else {
        event_lines(ctx, view, log, width, height)
    };
    let title = if view.raw { "Raw output" } else { "Activity" };
    let extra = if filter.is_empty() {
        None
    } else {
        Some(filter.join(", "))
    };
    Paragraph::new(lines)
        .block(ctx.block(title, extra))
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use crate::protocol::model::{CostSource, RunTelemetry};

    #[test]
    fn a_run_that_reported_no_usage_shows_it_unknown_not_zero() {
        let run = RunTelemetry {
            adapter: "gemini-acp".into(),
            ok: true,
            tokens_unknown: true,
            ..RunTelemetry::default()
        };
        let line = super::run_line("impl-1", &Some("a".into()), &run);
        assert!(line.contains("tokens unknown · cost unknown"), "{line}");
        assert!(!line.contains('$') && !line.contains("0 in"), "{line}");
        let reported = RunTelemetry {
            cost_micros: 12_300,
            cost_source: CostSource::Reported,
            ..run
        };
        let line = super::run_line("impl-1", &Some("a".into()), &reported);
        assert!(
            line.ends_with("tokens unknown · $0.0123 reported"),
            "{line}"
        );
    }
}
