//! The activity log: the core's events as one line each, newest last, filterable by agent and
//! by kind; for the selected agent, its raw output.

use std::collections::VecDeque;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{inner, Ctx};
use crate::protocol::{Event, EventKind};
use crate::tui::text::{clean, fit};
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
        | EventKind::AgentPaused { agent }
        | EventKind::AgentResumed { agent }
        | EventKind::WorkAssigned { agent, .. } => Some(agent),
        EventKind::AgentRegistered { agent } => Some(&agent.id),
        EventKind::ClarificationRequested { clarification } => Some(&clarification.agent),
        _ => e.actor.strip_prefix("agent:"),
    }
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
            "{agent}: {events} events, {tokens} tokens{}",
            last_output
                .as_ref()
                .map(|l| format!(" — {l}"))
                .unwrap_or_default()
        ),
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
    // Only the lines that show are built: the log can hold thousands of events.
    let lines: Vec<Line> = if view.raw {
        let end = raw.len().saturating_sub(view.back);
        let start = end.saturating_sub(height);
        raw[start..end]
            .iter()
            .map(|l| Line::from(Span::styled(fit(&clean(l), width), ctx.style(Slot::Text))))
            .collect()
    } else {
        let mut shown: Vec<Line> = log
            .events
            .iter()
            .rev()
            .filter(|e| {
                view.agent.as_deref().is_none_or(|a| agent_of(e) == Some(a))
                    && view.kind.as_deref().is_none_or(|k| e.kind.name() == k)
            })
            .skip(view.back)
            .take(height)
            .map(|e| {
                let at = e.at.get(11..19).unwrap_or("");
                Line::from(vec![
                    Span::styled(format!("{at} "), ctx.style(Slot::Dim)),
                    Span::styled(
                        fit(&describe(e), width.saturating_sub(9)),
                        ctx.style(kind_slot(e)),
                    ),
                ])
            })
            .collect();
        shown.reverse();
        shown
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
