//! What the core's events become on Discord, and how each thing looks there. Pure: (event,
//! state) → alerts, (state) → messages. The outbox (`outbox.rs`) posts them.
//!
//! - `#agent-concerns`: each concern as an embed with Ack / Resolve / Assign buttons, edited as
//!   its status moves. A burst of concerns shares messages (up to five concerns each, one
//!   embed and one row of buttons per concern).
//! - `#approvals`: each pending approval (plan, design spec, test plan, variation, promotion,
//!   merge) with Approve / Reject buttons, edited when decided.
//! - `#project-updates`: merges, checkpoints, rollbacks, promotions, as lines.
//! - `#system-health`: gate failures, critical concerns, the kill switch, the metrics' alerts
//!   (raised and cleared), the daily summary and digest.

use crate::protocol::model::{
    AlertLevel, Approval, ApprovalId, CheckpointKind, Concern, ConcernId, ConcernStatus, Decision,
    QaDecision, Severity,
};
use crate::protocol::permission::Answer;
use crate::protocol::report::StatusReport;
use crate::protocol::{Event, EventKind, Reply, ReplyData, State};

use super::message::{clip, Button, ButtonStyle, Embed, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Concerns,
    Approvals,
    Updates,
    Health,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    PostConcern(ConcernId),
    EditConcern(ConcernId),
    PostApproval(ApprovalId),
    EditApproval(ApprovalId),
    Line(Channel, String),
}

/// Concerns that share one message (one embed and one row of buttons each).
pub const CONCERNS_PER_MESSAGE: usize = 5;

const RED: u32 = 0xE0_6C_75;
const YELLOW: u32 = 0xE5_C0_7B;
const BLUE: u32 = 0x61_AF_EF;
const GREEN: u32 = 0x98_C3_79;
const GREY: u32 = 0x5C_63_70;
const PURPLE: u32 = 0xC6_78_DD;

/// What an event (already folded into `state`) asks of the bridge.
pub fn route(event: &Event, state: &State) -> Vec<Alert> {
    let mut out = Vec::new();
    match &event.kind {
        EventKind::ConcernRaised { concern } => {
            out.push(Alert::PostConcern(concern.id));
            if concern.severity == Severity::Critical {
                out.push(Alert::Line(
                    Channel::Health,
                    format!(
                        "🔴 critical concern {} ({} → {}): {}",
                        concern.id,
                        concern.from,
                        concern.to,
                        one_line(&concern.summary)
                    ),
                ));
            }
        }
        EventKind::ConcernAcknowledged { id }
        | EventKind::ConcernAssigned { id, .. }
        | EventKind::ConcernEscalated { id, .. }
        | EventKind::ConcernResolved { id, .. } => out.push(Alert::EditConcern(*id)),
        EventKind::ApprovalRequested { approval } => out.push(Alert::PostApproval(approval.id)),
        EventKind::ApprovalDecided { id, .. } => out.push(Alert::EditApproval(*id)),
        EventKind::CheckpointCreated { checkpoint: c } => {
            let qa = c
                .qa_run
                .and_then(|id| state.qa_runs.iter().find(|r| r.id == id))
                .map(|r| format!(" ({} {})", r.id, r.decision.as_str()))
                .unwrap_or_default();
            let line = match c.kind {
                CheckpointKind::Save => {
                    format!("✅ {} saved{qa}: {}", c.name, one_line(&c.summary))
                }
                CheckpointKind::Rollback => format!(
                    "↩️ {} rolled back to {}: {}",
                    c.name,
                    c.restores.as_deref().unwrap_or("an earlier checkpoint"),
                    one_line(&c.summary)
                ),
                CheckpointKind::Promotion => {
                    format!("🚀 {} promoted{qa}: {}", c.name, one_line(&c.summary))
                }
            };
            out.push(Alert::Line(Channel::Updates, line));
        }
        EventKind::GitAction {
            action,
            reference,
            source: Some(source),
            ..
        } if action == "merge" => out.push(Alert::Line(
            Channel::Updates,
            format!(
                "🔀 merged {source} into {}",
                reference.trim_start_matches("refs/heads/")
            ),
        )),
        // The reviewer loop's thread: the verdict and its findings.
        EventKind::ReviewRecorded { review } => {
            let mut line = format!(
                "🔍 review {} of {} by {}: {}",
                review.round, review.task, review.reviewer, review.verdict
            );
            for f in review.finding_lines().iter().take(5) {
                line.push_str(&format!("\n• {f}"));
            }
            if review.findings.len() > 5 {
                line.push_str(&format!("\n… {} more", review.findings.len() - 5));
            }
            out.push(Alert::Line(Channel::Updates, line));
        }
        EventKind::PhasePromoted { phase } => out.push(Alert::Line(
            Channel::Updates,
            format!("🚀 phase {phase} promoted"),
        )),
        EventKind::QaRunRecorded { run } => {
            let failed = run.failed_gates();
            if run.decision == QaDecision::Fail || !failed.is_empty() {
                let gates = if failed.is_empty() {
                    String::new()
                } else {
                    format!(" (failed: {})", failed.join(", "))
                };
                out.push(Alert::Line(
                    Channel::Health,
                    format!(
                        "❌ {} {}{gates}: {}",
                        run.id,
                        run.decision.as_str(),
                        one_line(&run.reasons.join("; "))
                    ),
                ));
            }
        }
        EventKind::DispatchHalted { reason } => out.push(Alert::Line(
            Channel::Health,
            format!(
                "⏸ dispatch paused by {} (kill switch){}",
                event.actor,
                reason
                    .as_deref()
                    .map(|r| format!(": {}", one_line(r)))
                    .unwrap_or_default()
            ),
        )),
        EventKind::MetricAlert {
            level,
            key,
            message,
            concern,
        } => out.push(Alert::Line(
            Channel::Health,
            format!(
                "{} {} `{key}`: {}{}",
                match level {
                    AlertLevel::Warn => "🟡",
                    AlertLevel::Alert => "🟠",
                    AlertLevel::Critical => "🔴",
                },
                level,
                one_line(message),
                concern.map(|c| format!(" ({c})")).unwrap_or_default()
            ),
        )),
        EventKind::MetricAlertCleared { key } => {
            out.push(Alert::Line(Channel::Health, format!("🟢 cleared `{key}`")))
        }
        EventKind::DailyReportWritten {
            path,
            commit,
            summary,
            ..
        } => out.push(Alert::Line(
            Channel::Health,
            format!(
                "📊 {} — {path}{}",
                one_line(summary),
                commit
                    .as_deref()
                    .map(|c| format!(" ({})", c.get(..10).unwrap_or(c)))
                    .unwrap_or_default()
            ),
        )),
        EventKind::DispatchResumed => out.push(Alert::Line(
            Channel::Health,
            format!("▶ dispatch resumed by {}", event.actor),
        )),
        _ => {}
    }
    out
}

fn one_line(text: &str) -> String {
    let t: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    clip(t.trim(), 300)
}

fn severity_color(s: Severity) -> u32 {
    match s {
        Severity::Critical => RED,
        Severity::Warning => YELLOW,
        Severity::Info => BLUE,
    }
}

fn status_word(c: &Concern) -> String {
    match c.status {
        ConcernStatus::Open => "open".into(),
        ConcernStatus::Acknowledged => format!(
            "acknowledged by {}",
            c.acknowledged_by.as_deref().unwrap_or("someone")
        ),
        ConcernStatus::Assigned => format!(
            "assigned to {}",
            c.assigned_to.as_deref().unwrap_or("someone")
        ),
        ConcernStatus::Resolved => format!(
            "resolved by {}",
            c.resolved_by.as_deref().unwrap_or("someone")
        ),
    }
}

/// A concern's embed.
pub fn concern_embed(c: &Concern) -> Embed {
    let color = if c.status == ConcernStatus::Resolved {
        GREY
    } else {
        severity_color(c.severity)
    };
    let mut description = c.summary.clone();
    if let Some(d) = &c.details {
        description.push_str("\n\n");
        description.push_str(d);
    }
    let mut e = Embed::new(format!("{} · {} · {}", c.id, c.severity, c.category))
        .description(description)
        .color(color)
        .field("from → to", format!("{} → {}", c.from, c.to), true)
        .field("status", status_word(c), true);
    if let Some(t) = &c.task {
        e = e.field("task", t.clone(), true);
    }
    if let Some(a) = &c.raised_by {
        e = e.field("raised by", a.clone(), true);
    }
    if !c.escalations.is_empty() {
        let path: Vec<String> = c.escalations.iter().map(|r| r.to_string()).collect();
        e = e.field("escalated to", path.join(" → "), true);
    }
    if let Some(r) = &c.resolution {
        e = e.field("resolution", r.clone(), false);
    }
    if let Some(at) = crate::core::parse_stamp(&c.timestamp) {
        e = e.timestamp(at);
    }
    e
}

/// The buttons of a concern; those that no longer apply are disabled.
pub fn concern_buttons(c: &Concern) -> Vec<Button> {
    let id = c.id.to_string();
    let mut ack = Button::new(
        ButtonStyle::Primary,
        format!("Ack {id}"),
        format!("ack:{id}"),
    );
    let mut resolve = Button::new(
        ButtonStyle::Success,
        format!("Resolve {id}"),
        format!("resolve:{id}"),
    );
    let mut assign = Button::new(
        ButtonStyle::Secondary,
        format!("Assign {id}"),
        format!("assign:{id}"),
    );
    if c.status != ConcernStatus::Open {
        ack = ack.disabled();
    }
    if c.status == ConcernStatus::Resolved {
        resolve = resolve.disabled();
        assign = assign.disabled();
    }
    if c.category == crate::protocol::permission::CATEGORY {
        // An agent's permission request: its three answers instead of a free-text Resolve.
        let mut row = vec![ack];
        for (answer, style) in [
            (Answer::AllowOnce, ButtonStyle::Success),
            (Answer::AllowSession, ButtonStyle::Primary),
            (Answer::Reject, ButtonStyle::Danger),
        ] {
            let mut b = Button::new(style, permit_label(answer), permit_id(&id, answer));
            if c.status == ConcernStatus::Resolved {
                b = b.disabled();
            }
            row.push(b);
        }
        row.push(assign);
        return row;
    }
    vec![ack, resolve, assign]
}

/// A permission answer button's label.
fn permit_label(answer: Answer) -> String {
    match answer {
        Answer::AllowOnce => "Allow once".into(),
        Answer::AllowSession => "Allow for the session".into(),
        Answer::Reject => "Reject".into(),
    }
}

/// A permission answer button's custom id: `permit:C-3:allow_once`.
pub fn permit_id(concern: &str, answer: Answer) -> String {
    format!("permit:{concern}:{}", answer.option_kind())
}

/// The command a permission answer button gives (`C-3:allow_once` after `permit:`).
pub fn permit_line(target: &str) -> Option<String> {
    let (concern, kind) = target.split_once(':')?;
    let answer = Answer::ALL.into_iter().find(|a| a.option_kind() == kind)?;
    Some(format!("/resolve {concern} {}", answer.note()))
}

/// One message for up to [`CONCERNS_PER_MESSAGE`] concerns. `buttons`: false for webhooks,
/// which cannot carry interactive components.
pub fn concerns_message(group: &[&Concern], buttons: bool) -> Message {
    let mut m = Message::default();
    for c in group.iter().take(CONCERNS_PER_MESSAGE) {
        m = m.with_embed(concern_embed(c));
        if buttons {
            m = m.with_row(concern_buttons(c));
        }
    }
    m.fitted()
}

/// The concerns shown by the same message as `id` (its message id in the state), in id order.
pub fn concern_group(state: &State, message_id: &str) -> Vec<ConcernId> {
    state
        .concerns
        .values()
        .filter(|c| c.discord_message_id.as_deref() == Some(message_id))
        .map(|c| c.id)
        .collect()
}

/// An approval's message, with Approve / Reject while it is pending.
pub fn approval_message(a: &Approval, buttons: bool) -> Message {
    let (color, status) = match a.decision {
        None => (PURPLE, "awaiting a decision".to_string()),
        Some(d) => {
            let color = match d {
                Decision::Approved => GREEN,
                Decision::Rejected => RED,
                _ => YELLOW,
            };
            (
                color,
                format!(
                    "{} by {}",
                    d.as_str(),
                    a.decided_by.as_deref().unwrap_or("someone")
                ),
            )
        }
    };
    let mut e = Embed::new(format!("{} · {} · {}", a.id, a.kind, a.subject))
        .description(a.summary.clone())
        .color(color)
        .field("requested by", a.requested_by.clone(), true)
        .field("status", status, true);
    if let Some(c) = &a.conditions {
        e = e.field("conditions", c.clone(), false);
    }
    if let Some(n) = &a.note {
        e = e.field("note", n.clone(), false);
    }
    if let Some(at) = crate::core::parse_stamp(&a.requested_at) {
        e = e.timestamp(at);
    }
    let mut m = Message::embed(e);
    if buttons {
        let id = a.id.to_string();
        let mut approve = Button::new(ButtonStyle::Success, "Approve", format!("approve:{id}"));
        let mut reject = Button::new(ButtonStyle::Danger, "Reject", format!("reject:{id}"));
        if a.decision.is_some() {
            approve = approve.disabled();
            reject = reject.disabled();
        }
        m = m.with_row(vec![approve, reject]);
    }
    m.fitted()
}

/// Lines packed into as few messages as fit (2,000 characters each).
pub fn lines_messages(lines: &[String]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in lines {
        let line = clip(line, 1_900);
        if !current.is_empty() && current.chars().count() + 1 + line.chars().count() > 2_000 {
            out.push(Message::text(std::mem::take(&mut current)).fitted());
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(Message::text(current).fitted());
    }
    out
}

/// `/status` (and the daily summary): phase, agents, tasks done/total, open concerns by
/// severity, last checkpoint, QA state.
pub fn status_embed(r: &StatusReport, title: &str) -> Embed {
    let phase = r
        .phase
        .as_ref()
        .map(|p| format!("{} ({}/{} tasks)", p.name, p.tasks_done, p.tasks_total))
        .unwrap_or_else(|| "—".into());
    let c = &r.open_concerns;
    let (crit_alerts, _, _) = r.alert_counts();
    let color = if c.critical > 0 || crit_alerts > 0 {
        RED
    } else if r.dispatch_halted {
        YELLOW
    } else {
        GREEN
    };
    let mut e = Embed::new(title)
        .description(format!(
            "{}\n{}",
            r.plan.as_deref().unwrap_or("no plan imported yet"),
            r.headline()
        ))
        .color(color)
        .field("phase", phase, true)
        .field(
            "tasks",
            format!("{}/{} done", r.tasks_done, r.tasks_total),
            true,
        )
        .field(
            "agents",
            format!(
                "{} active of {}{}",
                r.agents_active,
                r.agents.len(),
                if r.dispatch_halted { " · PAUSED" } else { "" }
            ),
            true,
        )
        .field(
            "open concerns",
            format!(
                "{} critical · {} warning · {} info",
                c.critical, c.warning, c.info
            ),
            true,
        )
        .field(
            "last checkpoint",
            r.last_checkpoint
                .clone()
                .unwrap_or_else(|| "none yet".into()),
            true,
        )
        .field(
            "QA",
            r.qa.map(|d| d.as_str().to_string())
                .unwrap_or_else(|| "not run yet".into()),
            true,
        )
        .field(format!("spend today ({})", r.today), r.spend_line(), true);
    let (crit, alert, warn) = r.alert_counts();
    if crit + alert + warn > 0 {
        let list: Vec<String> = r
            .alerts
            .iter()
            .map(|a| format!("{} {}", a.level, a.message))
            .collect();
        e = e.field("alerts", list.join("\n"), false);
    }
    if !r.pending_approvals.is_empty() {
        let list: Vec<String> = r
            .pending_approvals
            .iter()
            .map(|a| format!("{} {}", a.id, a.kind))
            .collect();
        e = e.field("awaiting you", list.join(", "), false);
    }
    if let Some(op) = &r.operation {
        e = e.field("in progress", op.clone(), false);
    }
    e
}

/// The core's reply to a command, as Discord shows it (the status as an embed).
pub fn reply_message(reply: &Reply) -> Message {
    match &reply.data {
        ReplyData::Status(report) if reply.ok => {
            Message::embed(status_embed(report, "Overlord status")).fitted()
        }
        _ => {
            let text = if reply.ok {
                reply.message.clone()
            } else {
                format!("⚠️ {}", reply.message)
            };
            Message::text(text).fitted()
        }
    }
}
