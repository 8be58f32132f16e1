//! What a reply carries besides its message: the `/status` report and the records a command
//! created or changed. Computed from `State` by pure functions so every front end shows the
//! same numbers.

use serde::{Deserialize, Serialize};

use super::model::{
    Agent, AgentState, Alert, AlertLevel, Approval, ApprovalKind, Checkpoint, Clarification,
    Concern, ConcernStatus, Handoff, OperationKind, OperationOutcome, Plan, QaDecision, Role,
    SessionStatus, Severity, TaskStatus, TaskTelemetry, Variation,
};
use super::state::{DaySpend, State};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ReplyData {
    None,
    Status(Box<StatusReport>),
    Help(Vec<HelpEntry>),
    Concern(Box<Concern>),
    Handoff(Box<Handoff>),
    Variation(Box<Variation>),
    Approval(Box<Approval>),
    Clarification(Box<Clarification>),
    Agent(Box<Agent>),
    Plan(Box<Plan>),
    Operation(Box<OperationReport>),
}

/// A Save or rollback: accepted (`outcome` is `None` while it runs) or finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationReport {
    pub id: u64,
    pub kind: OperationKind,
    pub outcome: Option<OperationOutcome>,
    pub checkpoint: Option<Checkpoint>,
    pub steps: Vec<String>,
    /// How it started, or how it ended.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpEntry {
    pub command: String,
    pub usage: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub info: usize,
    pub warning: usize,
    pub critical: usize,
}

impl SeverityCounts {
    pub fn total(&self) -> usize {
        self.info + self.warning + self.critical
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseLine {
    pub id: String,
    pub name: String,
    pub tasks_done: usize,
    pub tasks_total: usize,
    pub promoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLine {
    pub id: String,
    pub role: Role,
    pub adapter: String,
    pub task: Option<String>,
    pub state: AgentState,
    pub paused: bool,
    /// Why it is in its state (a failure, a countdown, a budget).
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub tokens: u64,
    #[serde(default)]
    pub cost_micros: u64,
    /// Rate-limited until this time (as in `state.agents[]`).
    #[serde(default)]
    pub rate_limited_until: Option<String>,
    /// Seconds from the report's time to `rate_limited_until` (0 once it passed): the
    /// countdown, computed from the deadline each time a report is made.
    #[serde(default)]
    pub resumes_in_secs: Option<u64>,
}

/// Whole seconds from `now` to `until` (both audit timestamps), 0 once `until` passed.
fn secs_until(now: &str, until: &str) -> Option<u64> {
    let left = stamp_millis(until)? - stamp_millis(now)?;
    Some((left.max(0) as u64).div_ceil(1000))
}

/// An audit timestamp (`2026-12-07T08:00:00.123Z`, UTC) as milliseconds since the epoch;
/// `None` for anything else. Plain arithmetic: the protocol reads no clock and no library
/// of dates.
pub fn stamp_millis(t: &str) -> Option<i64> {
    let t = t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00"))?;
    let (date, clock) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (h, min, sec) = (c.next()??, c.next()??, c.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let ms = match frac.len() {
        0 => 0,
        _ if frac.bytes().all(|b| b.is_ascii_digit()) => {
            let digits: String = frac.chars().chain("000".chars()).take(3).collect();
            digits.parse::<i64>().ok()?
        }
        _ => return None,
    };
    // Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
    // days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + min) * 60_000 + sec * 1000 + ms)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalLine {
    pub id: String,
    pub kind: ApprovalKind,
    pub subject: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcernLine {
    pub id: String,
    pub severity: Severity,
    pub status: ConcernStatus,
    pub from: Role,
    pub to: Role,
    pub summary: String,
}

/// `/status`: seed 001's status snapshot, with what a governor needs at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub plan: Option<String>,
    pub phase: Option<PhaseLine>,
    pub tasks_done: usize,
    pub tasks_total: usize,
    pub agents: Vec<AgentLine>,
    pub agents_active: usize,
    pub open_concerns: SeverityCounts,
    pub concerns: Vec<ConcernLine>,
    pub pending_approvals: Vec<ApprovalLine>,
    pub dispatch_halted: bool,
    pub session: SessionStatus,
    pub last_checkpoint: Option<String>,
    pub qa: Option<QaDecision>,
    pub last_event_seq: u64,
    /// The Save or rollback in progress: "Save 3: merged: t1 (2 commits)".
    #[serde(default)]
    pub operation: Option<String>,
    /// Task branches a rollback flagged: "t2: builds on …".
    #[serde(default)]
    pub flagged_tasks: Vec<String>,
    /// Finished tasks governance holds back from integration: "t3: variation V-2 … awaits
    /// the human as A-4".
    #[serde(default)]
    pub held_tasks: Vec<String>,
    /// The UTC day `spend_today` covers (`YYYY-MM-DD`).
    #[serde(default)]
    pub today: String,
    /// Agents' tokens and cost on that day.
    #[serde(default)]
    pub spend_today: DaySpend,
    /// The metrics' alerts in force, most severe first.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// What each task's agent runs did (tools, files, tokens, cost and its source, models),
    /// kept after the task ends.
    #[serde(default)]
    pub task_telemetry: std::collections::BTreeMap<String, TaskTelemetry>,
}

impl StatusReport {
    /// The report at `now` (an audit timestamp: its UTC day is "today" for the spend).
    pub fn from_state(state: &State, now: &str) -> StatusReport {
        let today = now.get(..10).unwrap_or(now).to_string();
        let spend_today = state.spend_by_day.get(&today).copied().unwrap_or_default();
        let alerts: Vec<Alert> = state.alerts_in_force().into_iter().cloned().collect();
        let (tasks_done, tasks_total) = state
            .plan
            .as_ref()
            .map(|p| {
                let total = p.tasks().count();
                let done = p.tasks().filter(|t| t.status == TaskStatus::Done).count();
                (done, total)
            })
            .unwrap_or((0, 0));
        // The current phase is the first one not yet promoted.
        let phase = state.plan.as_ref().and_then(|p| {
            p.phases
                .iter()
                .find(|ph| ph.promoted_at.is_none())
                .or(p.phases.last())
                .map(|ph| PhaseLine {
                    id: ph.id.clone(),
                    name: ph.name.clone(),
                    tasks_done: ph
                        .tasks
                        .iter()
                        .filter(|t| t.status == TaskStatus::Done)
                        .count(),
                    tasks_total: ph.tasks.len(),
                    promoted: ph.promoted_at.is_some(),
                })
        });
        let mut open = SeverityCounts::default();
        let mut concerns = Vec::new();
        for c in state.open_concerns() {
            match c.severity {
                Severity::Info => open.info += 1,
                Severity::Warning => open.warning += 1,
                Severity::Critical => open.critical += 1,
            }
            concerns.push(ConcernLine {
                id: c.id.to_string(),
                severity: c.severity,
                status: c.status,
                from: c.from,
                to: c.to,
                summary: c.summary.clone(),
            });
        }
        // Most severe first, then oldest first.
        concerns.sort_by_key(|c| std::cmp::Reverse(c.severity));
        concerns.truncate(20);
        StatusReport {
            plan: state.plan.as_ref().map(|p| p.title.clone()),
            phase,
            tasks_done,
            tasks_total,
            agents: state
                .agents
                .values()
                .map(|a| AgentLine {
                    id: a.id.clone(),
                    role: a.role,
                    adapter: a.adapter.clone(),
                    task: a.task.clone(),
                    state: a.state,
                    paused: a.paused,
                    detail: a.detail.clone(),
                    tokens: a.tokens,
                    cost_micros: a.cost_micros,
                    rate_limited_until: a.rate_limited_until.clone(),
                    resumes_in_secs: a
                        .rate_limited_until
                        .as_deref()
                        .filter(|_| a.state == AgentState::RateLimited)
                        .and_then(|u| secs_until(now, u)),
                })
                .collect(),
            agents_active: state.active_agents().count(),
            open_concerns: open,
            concerns,
            pending_approvals: state
                .pending_approvals()
                .map(|a| ApprovalLine {
                    id: a.id.to_string(),
                    kind: a.kind,
                    subject: a.subject.clone(),
                    summary: a.summary.clone(),
                })
                .collect(),
            dispatch_halted: state.dispatch_halted,
            session: state.session,
            last_checkpoint: state.checkpoints.last().map(|c| c.name.clone()),
            operation: state.operation.as_ref().map(|o| {
                format!(
                    "{} {}: {}",
                    o.kind,
                    o.id,
                    o.steps.last().map(String::as_str).unwrap_or("started")
                )
            }),
            flagged_tasks: state
                .flagged_tasks
                .iter()
                .map(|(t, why)| format!("{t}: {why}"))
                .collect(),
            held_tasks: state
                .held_tasks()
                .into_iter()
                .map(|(t, why)| format!("{t}: {why}"))
                .collect(),
            qa: state.qa_runs.last().map(|r| r.decision),
            last_event_seq: state.last_event_seq,
            today,
            spend_today,
            alerts,
            task_telemetry: state.task_telemetry.clone(),
        }
    }

    /// Alerts in force at each level: (critical, alert, warn).
    pub fn alert_counts(&self) -> (usize, usize, usize) {
        let n = |l| self.alerts.iter().filter(|a| a.level == l).count();
        (
            n(AlertLevel::Critical),
            n(AlertLevel::Alert),
            n(AlertLevel::Warn),
        )
    }

    /// "$0.42 (12.3k tokens)".
    pub fn spend_line(&self) -> String {
        format!(
            "{} ({} tokens)",
            usd(self.spend_today.cost_micros),
            compact(self.spend_today.tokens)
        )
    }

    /// The health line: phase, tasks done/total, agents active, open concerns by severity,
    /// last checkpoint, QA state and spend today, then what needs the governor (approvals,
    /// alerts, the kill switch).
    pub fn headline(&self) -> String {
        let phase = match &self.phase {
            Some(p) => format!("{} – {}", p.id, p.name),
            None => "no plan".to_string(),
        };
        let c = &self.open_concerns;
        let mut s = format!(
            "{phase} · tasks {}/{} done · {} agents active · concerns {} critical, {} warning, {} info · last checkpoint {} · QA {} · spend today {}",
            self.tasks_done,
            self.tasks_total,
            self.agents_active,
            c.critical,
            c.warning,
            c.info,
            self.last_checkpoint.as_deref().unwrap_or("none"),
            self.qa.map(|d| d.as_str()).unwrap_or("not run"),
            self.spend_line(),
        );
        if !self.pending_approvals.is_empty() {
            s.push_str(&format!(
                " · {} approval{} pending",
                self.pending_approvals.len(),
                if self.pending_approvals.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        let (crit, alert, warn) = self.alert_counts();
        if crit + alert + warn > 0 {
            let parts: Vec<String> = [(crit, "critical"), (alert, "alert"), (warn, "warn")]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, l)| format!("{n} {l}"))
                .collect();
            s.push_str(&format!(" · alerts {}", parts.join(", ")));
        }
        if self.dispatch_halted {
            s.push_str(" · ALL PAUSED");
        }
        s
    }

    /// The multi-line text form used by the CLI and the console.
    pub fn render_text(&self) -> String {
        let mut out = format!("Health: {}\n", self.headline());
        out.push_str(&format!(
            "Plan: {}\n",
            self.plan.as_deref().unwrap_or("none imported")
        ));
        if let Some(p) = &self.phase {
            out.push_str(&format!(
                "Phase: {} – {} ({}/{} tasks done{})\n",
                p.id,
                p.name,
                p.tasks_done,
                p.tasks_total,
                if p.promoted { ", promoted" } else { "" }
            ));
        }
        out.push_str(&format!(
            "Tasks: {}/{} done\n",
            self.tasks_done, self.tasks_total
        ));
        out.push_str(&format!(
            "Agents: {} registered, {} active{}\n",
            self.agents.len(),
            self.agents_active,
            if self.dispatch_halted {
                " — dispatch halted (kill switch)"
            } else {
                ""
            }
        ));
        for a in &self.agents {
            let spent = match (a.tokens, a.cost_micros) {
                (0, 0) => String::new(),
                (t, 0) => format!(", {t} tokens"),
                (t, c) => format!(", {t} tokens, ${:.4}", c as f64 / 1e6),
            };
            out.push_str(&format!(
                "  {} ({}, {}{spent}) {}{}{}{}\n",
                a.id,
                a.role,
                a.adapter,
                a.state.as_str(),
                if a.paused { " [paused]" } else { "" },
                a.task
                    .as_ref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default(),
                a.detail
                    .as_ref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default()
                    + &a.resumes_in_secs
                        .map(|s| format!("; resumes in {s}s"))
                        .unwrap_or_default()
            ));
        }
        if !self.task_telemetry.is_empty() {
            out.push_str("Agent runs by task:\n");
            for (task, t) in &self.task_telemetry {
                out.push_str(&format!("  {task}: {}\n", t.summary()));
                if !t.files.is_empty() {
                    out.push_str(&format!("    files: {}\n", t.files.join(", ")));
                }
                for f in &t.failed_tools {
                    out.push_str(&format!(
                        "    failed: {} {}{}\n",
                        f.name,
                        f.summary,
                        f.exit_code
                            .map(|c| format!(" (exit {c})"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        out.push_str(&format!(
            "Open concerns: {} ({} critical, {} warning, {} info)\n",
            self.open_concerns.total(),
            self.open_concerns.critical,
            self.open_concerns.warning,
            self.open_concerns.info
        ));
        for c in &self.concerns {
            out.push_str(&format!(
                "  {} [{}] {} {} → {}: {}\n",
                c.id, c.severity, c.status, c.from, c.to, c.summary
            ));
        }
        if !self.pending_approvals.is_empty() {
            out.push_str(&format!(
                "Pending approvals: {}\n",
                self.pending_approvals.len()
            ));
            for a in &self.pending_approvals {
                out.push_str(&format!(
                    "  {} {} {}: {}\n",
                    a.id, a.kind, a.subject, a.summary
                ));
            }
        }
        out.push_str(&format!(
            "Last checkpoint: {}\n",
            self.last_checkpoint.as_deref().unwrap_or("none")
        ));
        match (&self.operation, self.session) {
            (Some(op), _) => out.push_str(&format!("In progress: {op}\n")),
            (None, SessionStatus::AwaitingReview) => out
                .push_str("Session: awaiting review (the last Save was held; see the concerns)\n"),
            _ => {}
        }
        for f in &self.flagged_tasks {
            out.push_str(&format!("Flagged branch: {f}\n"));
        }
        for h in &self.held_tasks {
            out.push_str(&format!("Held back from integration: {h}\n"));
        }
        out.push_str(&format!(
            "QA: {}\n",
            match self.qa {
                Some(QaDecision::AutoMerge) => "auto-merge",
                Some(QaDecision::RequireHuman) => "human review required",
                Some(QaDecision::Fail) => "failed",
                None => "not run",
            }
        ));
        out.push_str(&format!(
            "Spend today ({}): {}\n",
            self.today,
            self.spend_line()
        ));
        for a in &self.alerts {
            out.push_str(&format!(
                "Alert [{}] {}: {}{}\n",
                a.level,
                a.key,
                a.message,
                a.concern.map(|c| format!(" ({c})")).unwrap_or_default()
            ));
        }
        out
    }
}

/// `n` and the noun, plural unless `n` is 1: `1 agent`, `3 agents`, `0 checkpoints`.
pub fn plural(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        // "1 history" is no word of ours; "-y" after a consonant makes "-ies".
        (_, Some(stem)) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ if noun.ends_with(['s', 'x']) || noun.ends_with("ch") || noun.ends_with("sh") => {
            format!("{n} {noun}es")
        }
        _ => format!("{n} {noun}s"),
    }
}

/// Dollars from micro-dollars, to the cent; to the hundredth of a cent below one cent, so a
/// small spend does not read as nothing (6_000 → "$0.0060", 420_000 → "$0.42").
pub fn usd(micros: u64) -> String {
    if micros > 0 && micros < 10_000 {
        format!("${:.4}", micros as f64 / 1e6)
    } else {
        format!("${:.2}", micros as f64 / 1e6)
    }
}

/// 950 → "950", 12_345 → "12.3k", 4_200_000 → "4.2M".
fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}
