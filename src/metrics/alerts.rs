//! Alert levels (seed 000 §16): WARN for a metric near its threshold, ALERT for a failed gate,
//! a regression or a budget exceeded, CRITICAL for audit-chain breakage, data corruption, a
//! halted agent or a policy breach. Pure: the same figures and thresholds always give the
//! same alerts, so an alert clears by itself when its figure comes back. `transitions` tells
//! what was raised and what cleared between two evaluations (what a front end announces).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Metrics;
use crate::config::MetricsConfig;
use crate::protocol::model::Severity;
pub use crate::protocol::model::{Alert, AlertLevel};
use crate::protocol::EventKind;

/// What the figures cannot tell: the caller checks them (the audit chain, unreadable records).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Facts {
    /// `Some(false)`: the hash chain or the replay check failed (with the first finding).
    pub chain_ok: Option<bool>,
    pub chain_finding: Option<String>,
    /// Stored records that could not be read as events.
    pub corrupt_records: u64,
}

fn pct(x: f64) -> String {
    format!("{x:.1}%")
}

/// The alerts the figures call for, most severe first, then by key.
pub fn evaluate(m: &Metrics, t: &MetricsConfig, facts: &Facts) -> Vec<Alert> {
    let mut out = Raised::default();
    critical_alerts(&mut out, m, facts);
    coverage_alert(&mut out, m, t);
    coverage_regression_alert(&mut out, m, t);
    reproducibility_alert(&mut out, m, t);
    qa_gate_alert(&mut out, m);
    budget_alert(&mut out, m, t);
    pass_rate_alerts(&mut out, m, t);
    flakiness_alert(&mut out, m, t);
    ack_latency_alerts(&mut out, m, t);
    let mut out = out.0;
    out.sort_by(Alert::most_severe_first);
    out
}

/// The alerts raised so far, in the order the checks raise them.
#[derive(Default)]
struct Raised(Vec<Alert>);

impl Raised {
    fn push(&mut self, level: AlertLevel, key: &str, message: String) {
        self.0.push(Alert {
            level,
            key: key.to_string(),
            message,
            concern: None,
        })
    }
}

/// CRITICAL: the audit chain, unreadable records, failed agents, policy breaches.
fn critical_alerts(out: &mut Raised, m: &Metrics, facts: &Facts) {
    if facts.chain_ok == Some(false) {
        out.push(
            AlertLevel::Critical,
            "audit_chain",
            format!(
                "the audit trail failed verification{}",
                facts
                    .chain_finding
                    .as_ref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default()
            ),
        );
    }
    let corrupt = facts.corrupt_records + m.unreadable_timestamps;
    if corrupt > 0 {
        out.push(
            AlertLevel::Critical,
            "data_corruption",
            format!("{corrupt} audit record(s) cannot be read"),
        );
    }
    for agent in &m.agents_failed {
        out.push(
            AlertLevel::Critical,
            &format!("agent_halted:{agent}"),
            format!("agent {agent} has failed and stopped"),
        );
    }
    if !m.policy_breaches.is_empty() {
        out.push(
            AlertLevel::Critical,
            "policy_breach",
            format!(
                "{} change(s) of a protected branch outside Overlord: {}",
                m.policy_breaches.len(),
                m.policy_breaches.join("; ")
            ),
        );
    }
}

/// Coverage below its minimum (ALERT) or within the warning margin of it (WARN).
fn coverage_alert(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    if let Some(cov) = m.qa.latest_coverage {
        if cov < t.coverage_min {
            out.push(
                AlertLevel::Alert,
                "coverage",
                format!("coverage {} is below {}", pct(cov), pct(t.coverage_min)),
            );
        } else if cov < t.coverage_min + t.coverage_warn_margin {
            out.push(
                AlertLevel::Warn,
                "coverage",
                format!(
                    "coverage {} is within {} points of {}",
                    pct(cov),
                    t.coverage_warn_margin,
                    pct(t.coverage_min)
                ),
            );
        }
    }
}

/// Coverage fell by more than the allowed points between the last two runs that measured it.
fn coverage_regression_alert(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    if let (Some(prev), Some(cov)) = (m.qa.previous_coverage, m.qa.latest_coverage) {
        if prev - cov > t.regression_points {
            out.push(
                AlertLevel::Alert,
                "coverage_regression",
                format!(
                    "coverage fell from {} to {} (more than {} points)",
                    pct(prev),
                    pct(cov),
                    t.regression_points
                ),
            );
        }
    }
}

/// Reproducibility below its minimum (ALERT) or within the warning margin of it (WARN).
fn reproducibility_alert(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    if let Some(rep) = m.qa.latest_reproducibility {
        if rep < t.reproducibility_min {
            out.push(
                AlertLevel::Alert,
                "reproducibility",
                format!(
                    "reproducibility {} is below {}",
                    pct(rep),
                    pct(t.reproducibility_min)
                ),
            );
        } else if rep < t.reproducibility_min + t.reproducibility_warn_margin {
            out.push(
                AlertLevel::Warn,
                "reproducibility",
                format!(
                    "reproducibility {} is within {} points of {}",
                    pct(rep),
                    t.reproducibility_warn_margin,
                    pct(t.reproducibility_min)
                ),
            );
        }
    }
}

/// The newest QA run failed.
fn qa_gate_alert(out: &mut Raised, m: &Metrics) {
    if m.qa.latest_decision == Some(crate::protocol::model::QaDecision::Fail) {
        let run = m.qa.runs.last().map(|r| r.id.as_str()).unwrap_or("?");
        out.push(
            AlertLevel::Alert,
            "qa_gate_failed",
            if m.qa.latest_failed_gates.is_empty() {
                format!("QA run {run} failed")
            } else {
                format!(
                    "QA run {run} failed: {}",
                    m.qa.latest_failed_gates.join(", ")
                )
            },
        );
    }
}

/// Spend over the budget (ALERT) or past its warning fraction (WARN).
fn budget_alert(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    if t.budget_usd > 0.0 {
        let spent = m.spend.total.cost_usd();
        if spent > t.budget_usd {
            out.push(
                AlertLevel::Alert,
                "budget",
                format!(
                    "spent ${spent:.2} in the {} window, over the ${:.2} budget",
                    m.window, t.budget_usd
                ),
            );
        } else if spent >= t.budget_usd * t.budget_warn_fraction {
            out.push(
                AlertLevel::Warn,
                "budget",
                format!(
                    "spent ${spent:.2} in the {} window, {:.0}% of the ${:.2} budget",
                    m.window,
                    spent / t.budget_usd * 100.0,
                    t.budget_usd
                ),
            );
        }
    }
}

/// Build, task and merge success rates below their minimums.
fn pass_rate_alerts(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    for (key, what, ratio, min) in [
        (
            "build_pass_rate",
            "build pass rate",
            m.qa.build_pass_rate,
            t.build_pass_rate_min,
        ),
        (
            "task_pass_rate",
            "task pass rate",
            m.tasks.pass_rate,
            t.task_pass_rate_min,
        ),
        (
            "merge_success",
            "merge success",
            m.merges.success_rate,
            t.merge_success_min,
        ),
    ] {
        if let Some(r) = ratio.filter(|r| r.rate < min) {
            out.push(
                AlertLevel::Warn,
                key,
                format!(
                    "{what} {} ({}/{}) is below {}",
                    pct(r.rate * 100.0),
                    r.part,
                    r.whole,
                    pct(min * 100.0)
                ),
            );
        }
    }
}

/// More flaky tests than allowed.
fn flakiness_alert(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    if let Some(f) = m.qa.flakiness.filter(|f| f.rate > t.flakiness_max) {
        out.push(
            AlertLevel::Warn,
            "flakiness",
            format!(
                "{} of {} tests flaky ({}), above {}",
                f.part,
                f.whole,
                pct(f.rate * 100.0),
                pct(t.flakiness_max * 100.0)
            ),
        );
    }
}

/// Warning and critical concerns waiting too long to be acknowledged.
fn ack_latency_alerts(out: &mut Raised, m: &Metrics, t: &MetricsConfig) {
    if t.ack_latency_max_secs > 0 {
        for sev in [Severity::Warning, Severity::Critical] {
            if let Some(d) = m
                .concerns
                .get(&sev)
                .and_then(|c| c.acknowledged)
                .filter(|d| d.p90_secs > t.ack_latency_max_secs as f64)
            {
                out.push(
                    AlertLevel::Warn,
                    &format!("ack_latency:{sev}"),
                    format!(
                        "{sev} concerns wait {:.0} s (p90) to be acknowledged, over {} s",
                        d.p90_secs, t.ack_latency_max_secs
                    ),
                );
            }
        }
    }
}

/// What changed between two evaluations: alerts new or at another level, and keys gone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transitions {
    pub raised: Vec<Alert>,
    pub cleared: Vec<Alert>,
}

pub fn transitions(before: &[Alert], after: &[Alert]) -> Transitions {
    let old: BTreeMap<&str, &Alert> = before.iter().map(|a| (a.key.as_str(), a)).collect();
    let new: BTreeMap<&str, &Alert> = after.iter().map(|a| (a.key.as_str(), a)).collect();
    Transitions {
        raised: after
            .iter()
            .filter(|a| old.get(a.key.as_str()).is_none_or(|o| o.level != a.level))
            .cloned()
            .collect(),
        cleared: before
            .iter()
            .filter(|a| !new.contains_key(a.key.as_str()))
            .cloned()
            .collect(),
    }
}

impl Transitions {
    /// The events that record these changes (`metric_alert`, `metric_alert_cleared`), so the
    /// console, Discord and the concern queue see them through the one event stream.
    pub fn events(&self) -> Vec<EventKind> {
        self.cleared
            .iter()
            .map(|a| EventKind::MetricAlertCleared { key: a.key.clone() })
            .chain(self.raised.iter().map(|a| EventKind::MetricAlert {
                level: a.level,
                key: a.key.clone(),
                message: a.message.clone(),
                concern: a.concern,
            }))
            .collect()
    }
}
