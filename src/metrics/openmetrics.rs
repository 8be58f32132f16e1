//! The figures in the OpenMetrics text format (for Prometheus and Grafana): one family per
//! figure, `# TYPE`, `# UNIT` where it has one, `# HELP`, samples labelled with the window
//! (and severity, role, adapter, task, agent), `# EOF` at the end. A figure with no data has
//! no sample; a family with no sample is left out entirely.

use std::collections::BTreeMap;

use super::{
    Alert, ConcernFigures, Durations, MergeFigures, Metrics, QaFigures, Ratio, SpendFigures,
    TaskFigures, Utilisation,
};
use crate::protocol::model::Severity;

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A number as OpenMetrics writes it (the figures are always finite).
fn number(x: f64) -> String {
    format!("{x}")
}

struct Family {
    name: &'static str,
    kind: &'static str,
    unit: Option<&'static str>,
    help: &'static str,
    samples: Vec<String>,
}

struct Writer {
    window: String,
    families: Vec<Family>,
}

impl Writer {
    fn labels(&self, extra: &[(&str, &str)]) -> String {
        let mut parts = vec![format!("window=\"{}\"", escape_label(&self.window))];
        for (k, v) in extra {
            parts.push(format!("{k}=\"{}\"", escape_label(v)));
        }
        format!("{{{}}}", parts.join(","))
    }

    fn family(
        &mut self,
        name: &'static str,
        kind: &'static str,
        unit: Option<&'static str>,
        help: &'static str,
    ) -> &mut Family {
        self.families.push(Family {
            name,
            kind,
            unit,
            help,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("just pushed")
    }

    fn gauge(
        &mut self,
        name: &'static str,
        unit: Option<&'static str>,
        help: &'static str,
        values: Vec<(Vec<(&str, &str)>, f64)>,
    ) {
        let lines: Vec<String> = values
            .into_iter()
            .map(|(l, v)| format!("{name}{} {}", self.labels(&l), number(v)))
            .collect();
        self.family(name, "gauge", unit, help).samples = lines;
    }

    fn summary(
        &mut self,
        name: &'static str,
        help: &'static str,
        values: Vec<(Vec<(&str, &str)>, Durations)>,
    ) {
        let mut lines = Vec::new();
        for (l, d) in values {
            for (q, v) in [("0.5", d.p50_secs), ("0.9", d.p90_secs)] {
                let mut with_q = l.clone();
                with_q.push(("quantile", q));
                lines.push(format!("{name}{} {}", self.labels(&with_q), number(v)));
            }
            lines.push(format!(
                "{name}_sum{} {}",
                self.labels(&l),
                number(d.sum_secs)
            ));
            lines.push(format!("{name}_count{} {}", self.labels(&l), d.count));
        }
        self.family(name, "summary", Some("seconds"), help).samples = lines;
    }

    /// The families that have samples, each with its metadata, then `# EOF`.
    fn exposition(&self) -> String {
        let mut out = String::new();
        for f in self.families.iter().filter(|f| !f.samples.is_empty()) {
            out.push_str(&format!("# TYPE {} {}\n", f.name, f.kind));
            if let Some(u) = f.unit {
                out.push_str(&format!("# UNIT {} {u}\n", f.name));
            }
            out.push_str(&format!("# HELP {} {}\n", f.name, f.help));
            for s in &f.samples {
                out.push_str(s);
                out.push('\n');
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

fn ratio(r: Option<Ratio>) -> Vec<(Vec<(&'static str, &'static str)>, f64)> {
    r.map(|r| vec![(vec![], r.rate)]).unwrap_or_default()
}

fn opt(x: Option<f64>) -> Vec<(Vec<(&'static str, &'static str)>, f64)> {
    x.map(|x| vec![(vec![], x)]).unwrap_or_default()
}

/// The figures (and the alerts they raised) as an OpenMetrics exposition, ending in `# EOF`.
pub fn render(m: &Metrics, alerts: &[Alert]) -> String {
    let mut w = Writer {
        window: m.window.as_str().to_string(),
        families: Vec::new(),
    };
    qa_families(&mut w, &m.qa);
    concern_families(&mut w, &m.concerns);
    merge_families(&mut w, &m.merges);
    task_families(&mut w, &m.tasks);
    spend_families(&mut w, &m.spend);
    agent_families(&mut w, &m.utilisation);
    alert_family(&mut w, alerts);
    w.exposition()
}

/// QA runs: coverage and reproducibility (newest and per run), pass ratios, flakiness, cycle.
fn qa_families(w: &mut Writer, qa: &QaFigures) {
    w.gauge(
        "overlord_qa_runs",
        None,
        "QA runs recorded in the window.",
        vec![(vec![], qa.runs.len() as f64)],
    );
    w.gauge(
        "overlord_qa_coverage_percent",
        Some("percent"),
        "Test coverage of the newest QA run that measured it.",
        opt(qa.latest_coverage),
    );
    w.gauge(
        "overlord_qa_reproducibility_percent",
        Some("percent"),
        "Reproducibility of the newest QA run that measured it.",
        opt(qa.latest_reproducibility),
    );
    w.gauge(
        "overlord_qa_run_coverage_percent",
        Some("percent"),
        "Test coverage per QA run in the window.",
        qa.runs
            .iter()
            .filter_map(|r| r.coverage.map(|c| (vec![("run", r.id.as_str())], c)))
            .collect(),
    );
    w.gauge(
        "overlord_qa_run_reproducibility_percent",
        Some("percent"),
        "Reproducibility per QA run in the window.",
        qa.runs
            .iter()
            .filter_map(|r| r.reproducibility.map(|c| (vec![("run", r.id.as_str())], c)))
            .collect(),
    );
    w.gauge(
        "overlord_qa_build_pass_ratio",
        Some("ratio"),
        "QA runs whose build passed, of those that measured the build.",
        ratio(qa.build_pass_rate),
    );
    w.gauge(
        "overlord_qa_pass_ratio",
        Some("ratio"),
        "QA runs whose decision was not fail.",
        ratio(qa.pass_rate),
    );
    w.gauge(
        "overlord_qa_flakiness_ratio",
        Some("ratio"),
        "Flaky tests, of the tests run.",
        ratio(qa.flakiness),
    );
    w.summary(
        "overlord_qa_cycle_seconds",
        "QA cycle time: qa_started to qa_run_recorded.",
        qa.cycle.map(|d| vec![(vec![], d)]).unwrap_or_default(),
    );
}

/// Concerns open and the latency to acknowledge and to resolve them, by severity.
fn concern_families(w: &mut Writer, concerns: &BTreeMap<Severity, ConcernFigures>) {
    w.gauge(
        "overlord_concerns_open",
        None,
        "Concerns open now, by severity.",
        concerns
            .iter()
            .map(|(s, c)| (vec![("severity", s.as_str())], c.open as f64))
            .collect(),
    );
    w.summary(
        "overlord_concern_ack_latency_seconds",
        "Concern raised to first acknowledged or assigned, by severity.",
        concerns
            .iter()
            .filter_map(|(s, c)| c.acknowledged.map(|d| (vec![("severity", s.as_str())], d)))
            .collect(),
    );
    w.summary(
        "overlord_concern_resolve_latency_seconds",
        "Concern raised to resolved, by severity.",
        concerns
            .iter()
            .filter_map(|(s, c)| c.resolved.map(|d| (vec![("severity", s.as_str())], d)))
            .collect(),
    );
}

/// Task branches merged and conflicted.
fn merge_families(w: &mut Writer, merges: &MergeFigures) {
    w.gauge(
        "overlord_merges",
        None,
        "Task branches merged or conflicted in the window.",
        vec![
            (vec![("outcome", "merged")], merges.merged as f64),
            (vec![("outcome", "conflicted")], merges.conflicted as f64),
        ],
    );
    w.gauge(
        "overlord_merge_success_ratio",
        Some("ratio"),
        "Task branches merged, of merged and conflicted.",
        ratio(merges.success_rate),
    );
}

/// Finished tasks: pass ratio, attempts, running time by role.
fn task_families(w: &mut Writer, tasks: &TaskFigures) {
    w.gauge(
        "overlord_task_pass_ratio",
        Some("ratio"),
        "Finished tasks that were done, of done and failed.",
        ratio(tasks.pass_rate),
    );
    w.gauge(
        "overlord_task_attempts_mean",
        None,
        "Mean attempts per finished task.",
        opt(tasks.mean_attempts),
    );
    w.gauge(
        "overlord_task_time_seconds",
        Some("seconds"),
        "Mean agent running time per task, by role.",
        tasks
            .by_role
            .iter()
            .filter_map(|(r, t)| {
                t.mean_secs_per_task
                    .map(|s| (vec![("role", r.as_str())], s))
            })
            .collect(),
    );
}

/// Tokens and USD: in all, by role, by adapter and by task.
fn spend_families(w: &mut Writer, spend: &SpendFigures) {
    w.gauge(
        "overlord_tokens",
        None,
        "Tokens spent in the window.",
        vec![(vec![], spend.total.tokens as f64)],
    );
    w.gauge(
        "overlord_cost_usd",
        Some("usd"),
        "USD spent in the window.",
        vec![(vec![], spend.total.cost_usd())],
    );
    w.gauge(
        "overlord_role_tokens",
        None,
        "Tokens spent in the window, by role.",
        spend
            .by_role
            .iter()
            .map(|(r, s)| (vec![("role", r.as_str())], s.tokens as f64))
            .collect(),
    );
    w.gauge(
        "overlord_role_cost_usd",
        Some("usd"),
        "USD spent in the window, by role.",
        spend
            .by_role
            .iter()
            .map(|(r, s)| (vec![("role", r.as_str())], s.cost_usd()))
            .collect(),
    );
    w.gauge(
        "overlord_adapter_tokens",
        None,
        "Tokens spent in the window, by adapter.",
        spend
            .by_adapter
            .iter()
            .map(|(a, s)| (vec![("adapter", a.as_str())], s.tokens as f64))
            .collect(),
    );
    w.gauge(
        "overlord_adapter_cost_usd",
        Some("usd"),
        "USD spent in the window, by adapter.",
        spend
            .by_adapter
            .iter()
            .map(|(a, s)| (vec![("adapter", a.as_str())], s.cost_usd()))
            .collect(),
    );
    w.gauge(
        "overlord_task_tokens",
        None,
        "Tokens spent in the window, by task.",
        spend
            .by_task
            .iter()
            .map(|(t, s)| (vec![("task", t.as_str())], s.tokens as f64))
            .collect(),
    );
    w.gauge(
        "overlord_task_cost_usd",
        Some("usd"),
        "USD spent in the window, by task.",
        spend
            .by_task
            .iter()
            .map(|(t, s)| (vec![("task", t.as_str())], s.cost_usd()))
            .collect(),
    );
    w.gauge(
        "overlord_task_mean_cost_usd",
        Some("usd"),
        "Mean USD per task with attributed spend.",
        opt(spend.mean_cost_micros_per_task.map(|c| c / 1e6)),
    );
}

/// Agent time by state, and the utilisation.
fn agent_families(w: &mut Writer, u: &Utilisation) {
    let mut agent_time = Vec::new();
    for (agent, t) in &u.by_agent {
        for (state, secs) in [
            ("running", t.running_secs),
            ("waiting", t.waiting_secs),
            ("paused", t.paused_secs),
            ("idle", t.idle_secs),
        ] {
            agent_time.push((vec![("agent", agent.as_str()), ("state", state)], secs));
        }
    }
    w.gauge(
        "overlord_agent_state_seconds",
        Some("seconds"),
        "Time agents spent in each state in the window.",
        agent_time,
    );
    w.gauge(
        "overlord_agent_utilisation_ratio",
        Some("ratio"),
        "Agent time spent running, of all agent time observed.",
        opt(u.total.utilisation),
    );
}

/// One sample per alert raised.
fn alert_family(w: &mut Writer, alerts: &[Alert]) {
    w.gauge(
        "overlord_alert",
        None,
        "Alerts raised by the figures (1 per alert), by level and key.",
        alerts
            .iter()
            .map(|a| {
                (
                    vec![("level", a.level.as_str()), ("key", a.key.as_str())],
                    1.0,
                )
            })
            .collect(),
    );
}
