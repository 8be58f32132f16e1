//! The figures as a readable table (`overlord-tui metrics`): one line per figure, "no data"
//! where there is nothing to compute it from.

use super::{Alert, Durations, Metrics, Ratio};

const NO_DATA: &str = "no data";

fn ratio(r: Option<Ratio>) -> String {
    r.map(|r| format!("{:.1}% ({}/{})", r.rate * 100.0, r.part, r.whole))
        .unwrap_or_else(|| NO_DATA.into())
}

fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.1}%"))
        .unwrap_or_else(|| NO_DATA.into())
}

/// `1h 02m 05s`, `3m 20s`, `4.5s`.
pub fn duration(secs: f64) -> String {
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else {
        format!("{m}m {s:02}s")
    }
}

fn durations(d: Option<Durations>) -> String {
    d.map(|d| {
        format!(
            "mean {}, p50 {}, p90 {} (n={})",
            duration(d.mean_secs),
            duration(d.p50_secs),
            duration(d.p90_secs),
            d.count
        )
    })
    .unwrap_or_else(|| NO_DATA.into())
}

fn usd(micros: u64) -> String {
    format!("${:.4}", micros as f64 / 1e6)
}

pub fn render_text(m: &Metrics, alerts: &[Alert]) -> String {
    let mut out = format!(
        "Metrics, window {} (since {} until {}), {} events\n",
        m.window,
        m.since.as_deref().unwrap_or("the beginning"),
        m.now,
        m.events
    );
    let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<30} {v}\n"));

    line("QA runs", m.qa.runs.len().to_string());
    line("coverage (latest)", pct(m.qa.latest_coverage));
    line("reproducibility (latest)", pct(m.qa.latest_reproducibility));
    line("build pass rate", ratio(m.qa.build_pass_rate));
    line("QA pass rate", ratio(m.qa.pass_rate));
    line("flakiness", ratio(m.qa.flakiness));
    line("QA cycle time", durations(m.qa.cycle));
    for r in &m.qa.runs {
        line(
            &format!("  {}", r.id),
            format!(
                "{}, coverage {}, reproducibility {}",
                r.decision.as_str(),
                pct(r.coverage),
                pct(r.reproducibility)
            ),
        );
    }
    for (sev, c) in &m.concerns {
        line(
            &format!("concerns {sev}"),
            format!("{} raised, {} open", c.raised, c.open),
        );
        line("  raised → acknowledged", durations(c.acknowledged));
        line("  raised → resolved", durations(c.resolved));
    }
    line(
        "merges",
        format!(
            "{} merged, {} conflicted; success {}",
            m.merges.merged,
            m.merges.conflicted,
            ratio(m.merges.success_rate)
        ),
    );
    line("task pass rate", ratio(m.tasks.pass_rate));
    line(
        "attempts per task",
        m.tasks
            .mean_attempts
            .map(|a| format!("{a:.2}"))
            .unwrap_or_else(|| NO_DATA.into()),
    );
    if m.tasks.by_role.is_empty() {
        line("time per task", NO_DATA.into());
    }
    for (role, t) in &m.tasks.by_role {
        line(
            &format!("time per task, {role}"),
            format!(
                "{} over {} task(s)",
                t.mean_secs_per_task
                    .map(duration)
                    .unwrap_or_else(|| NO_DATA.into()),
                t.tasks
            ),
        );
    }
    line(
        "spend",
        format!(
            "{} tokens, {}",
            m.spend.total.tokens,
            usd(m.spend.total.cost_micros)
        ),
    );
    line(
        "spend per task (mean)",
        match (
            m.spend.mean_tokens_per_task,
            m.spend.mean_cost_micros_per_task,
        ) {
            (Some(t), Some(c)) => format!("{t:.0} tokens, ${:.4}", c / 1e6),
            _ => NO_DATA.into(),
        },
    );
    for (role, s) in &m.spend.by_role {
        line(
            &format!("  role {role}"),
            format!("{} tokens, {}", s.tokens, usd(s.cost_micros)),
        );
    }
    for (adapter, s) in &m.spend.by_adapter {
        line(
            &format!("  adapter {adapter}"),
            format!("{} tokens, {}", s.tokens, usd(s.cost_micros)),
        );
    }
    for (k, v) in run_lines(m) {
        line(&k, v);
    }
    let u = &m.utilisation.total;
    line(
        "agent utilisation",
        match u.utilisation {
            Some(r) => format!(
                "{:.1}% running (running {}, waiting {}, paused {}, idle {})",
                r * 100.0,
                duration(u.running_secs),
                duration(u.waiting_secs),
                duration(u.paused_secs),
                duration(u.idle_secs)
            ),
            None => NO_DATA.into(),
        },
    );
    if m.clock_skew_events + m.skewed_intervals + m.unreadable_timestamps > 0 {
        line(
            "clock skew",
            format!(
                "{} event(s) stamped before their predecessor, {} interval(s) dropped, {} unreadable timestamp(s)",
                m.clock_skew_events, m.skewed_intervals, m.unreadable_timestamps
            ),
        );
    }
    if alerts.is_empty() {
        out.push_str("Alerts: none\n");
    } else {
        out.push_str("Alerts:\n");
        for a in alerts {
            out.push_str(&format!("  {} {}: {}\n", a.level, a.key, a.message));
        }
    }
    out
}

/// The `runs <adapter> <model>` lines: agent runs by adapter and model.
fn run_lines(m: &Metrics) -> Vec<(String, String)> {
    m.runs
        .iter()
        .map(|r| {
            (
                format!(
                    "  runs {} {}",
                    r.adapter,
                    r.model.as_deref().unwrap_or("(model not reported)")
                ),
                format!(
                    "{} runs ({} failed), {} tool calls ({} failed), {}, {}",
                    r.runs,
                    r.failed_runs,
                    r.tool_calls,
                    r.failed_tool_calls,
                    if r.tokens_unknown {
                        "tokens unknown".to_string()
                    } else {
                        format!(
                            "{} in ({} cached) / {} out ({} reasoning)",
                            r.tokens.input,
                            r.tokens.cached_input,
                            r.tokens.output,
                            r.tokens.reasoning
                        )
                    },
                    match r.cost_source {
                        crate::protocol::model::CostSource::None => "cost unknown".to_string(),
                        s => format!("{} {}", usd(r.cost_micros), s.as_str()),
                    }
                ),
            )
        })
        .collect()
}
