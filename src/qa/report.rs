//! The Markdown a QA run leaves behind: `QA_REPORT.md` (gates, thresholds against measured
//! values, the decision and the drift), `TEST_RESULTS.md` (the summary) and
//! `TEST_RESULTS_DETAIL.md` (every test: name, outcome, duration, failure message).

use super::evaluate::{Evaluation, Evidence, Measure};
use super::results::{TestOutcome, TestReport};
use crate::protocol::model::GateOutcome;

/// What the reports say about the run besides the evaluation.
pub struct Header<'a> {
    pub run: &'a str,
    pub commit: &'a str,
    pub tree: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub policy_file: &'a str,
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn outcome_mark(o: GateOutcome) -> &'static str {
    match o {
        GateOutcome::Pass => "✅ pass",
        GateOutcome::Fail => "❌ fail",
        GateOutcome::NotMeasured => "⚠️ not measured",
        GateOutcome::Reported => "ℹ️ reported",
    }
}

pub fn qa_report(h: &Header<'_>, ev: &Evaluation, evidence: &Evidence) -> String {
    let mut s = String::new();
    s.push_str(&format!("# QA report — {}\n\n", h.run));
    s.push_str(&format!(
        "- Commit: `{}` (tree `{}`)\n- Started: {}\n- Finished: {}\n- Policy: `{}`{}\n\n",
        h.commit,
        h.tree,
        h.started_at,
        h.finished_at,
        h.policy_file,
        if evidence.promotion {
            " (phase promotion)"
        } else {
            ""
        }
    ));
    s.push_str(&format!("## Decision: `{}`\n\n", ev.decision.as_str()));
    for r in &ev.reasons {
        s.push_str(&format!("- {}\n", r));
    }
    s.push_str(
        "\n## Gates\n\n| Gate | Threshold | Measured | Outcome | Note |\n|---|---|---|---|---|\n",
    );
    for g in &ev.gates {
        let mut note = g.reason.clone().unwrap_or_default();
        if !g.required && g.outcome != GateOutcome::Reported {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str("does not count in the decision");
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            g.gate,
            cell(g.threshold.as_deref().unwrap_or("—")),
            cell(g.measured.as_deref().unwrap_or("—")),
            outcome_mark(g.outcome),
            cell(&note)
        ));
    }
    s.push_str("\n## Drift since the last checkpoint\n\n");
    match &evidence.previous {
        None => s.push_str("No earlier checkpoint with a QA run.\n"),
        Some((cp, _)) if ev.drift.is_empty() => s.push_str(&format!(
            "No metric was measured by both this run and {cp}.\n"
        )),
        Some((cp, _)) => {
            s.push_str(&format!(
                "Against {cp}.\n\n| Metric | Before | Now | Change | Regression |\n|---|---|---|---|---|\n"
            ));
            for d in &ev.drift {
                s.push_str(&format!(
                    "| {} | {:.2} | {:.2} | {:+.2} | {} |\n",
                    d.metric,
                    d.before,
                    d.now,
                    d.change,
                    if d.regression { "yes" } else { "no" }
                ));
            }
        }
    }
    s.push_str("\n## Quarantined (flaky) tests\n\n");
    if ev.flaky.is_empty() {
        s.push_str("None: every test had the same outcome in every run.\n");
    } else {
        s.push_str("Their outcome differed between the repeated runs; they do not count in the tests gate.\n\n");
        for f in &ev.flaky {
            let outcomes: Vec<&str> = evidence
                .tests
                .iter()
                .map(|m| {
                    m.value()
                        .and_then(|r| r.tests.iter().find(|t| &t.name == f))
                        .map_or("absent", |t| t.outcome.as_str())
                })
                .collect();
            s.push_str(&format!("- `{}`: {}\n", f, outcomes.join(" → ")));
        }
    }
    s
}

fn first(evidence: &Evidence) -> Option<&TestReport> {
    evidence.tests.first().and_then(|m| m.value())
}

pub fn test_results(h: &Header<'_>, ev: &Evaluation, evidence: &Evidence) -> String {
    let mut s = format!("# Test results — {}\n\n", h.run);
    s.push_str(&format!("Commit `{}`, {}.\n\n", h.commit, h.finished_at));
    match evidence.tests.first() {
        None => s.push_str("No test command ran.\n"),
        Some(Measure::NotMeasured(why)) => s.push_str(&format!("Not measured: {why}\n")),
        Some(m) => {
            if let Measure::Errored(why, _) = m {
                s.push_str(&format!("**The run did not complete:** {why}\n\n"));
            }
            if let Some(r) = m.value() {
                let m = &ev.metrics;
                s.push_str("| | |\n|---|---|\n");
                s.push_str(&format!("| Tests | {} |\n", r.tests.len()));
                if let Some(n) = r.announced {
                    s.push_str(&format!("| Announced by the runner | {n} |\n"));
                }
                s.push_str(&format!("| Passed | {} |\n", r.count(TestOutcome::Passed)));
                s.push_str(&format!("| Failed | {} |\n", r.count(TestOutcome::Failed)));
                s.push_str(&format!(
                    "| Skipped | {} |\n",
                    r.count(TestOutcome::Skipped)
                ));
                if let Some(p) = m.pass_rate {
                    s.push_str(&format!("| Pass rate | {p:.1}% |\n"));
                }
                if let Some(d) = m.test_duration_secs {
                    s.push_str(&format!("| Duration (sum of tests) | {d:.2}s |\n"));
                }
                if let Some(c) = m.coverage {
                    s.push_str(&format!("| Line coverage | {c:.1}% |\n"));
                }
                if let Some(x) = m.reproducibility {
                    s.push_str(&format!(
                        "| Reproducibility | {x:.1}% over {} runs |\n",
                        evidence.tests.len()
                    ));
                }
                s.push_str(&format!(
                    "| Complete | {} |\n",
                    if r.complete {
                        "yes"
                    } else {
                        "no (stopped mid-run)"
                    }
                ));
                let failed: Vec<&str> = r
                    .tests
                    .iter()
                    .filter(|t| t.outcome == TestOutcome::Failed)
                    .map(|t| t.name.as_str())
                    .collect();
                if !failed.is_empty() {
                    s.push_str("\n## Failed\n\n");
                    for f in failed {
                        let q = if ev.flaky.iter().any(|x| x == f) {
                            " (flaky, quarantined)"
                        } else {
                            ""
                        };
                        s.push_str(&format!("- `{f}`{q}\n"));
                    }
                }
                slowest(&mut s, r);
            }
        }
    }
    s.push_str("\nPer-test detail: TEST_RESULTS_DETAIL.md.\n");
    s
}

/// How many of the slowest tests `TEST_RESULTS.md` names.
pub const SLOWEST: usize = 5;

/// The slowest tests, when the runner reported durations.
fn slowest(s: &mut String, r: &TestReport) {
    let mut timed: Vec<(&str, f64)> = r
        .tests
        .iter()
        .filter_map(|t| t.duration.map(|d| (t.name.as_str(), d)))
        .collect();
    if timed.is_empty() {
        return;
    }
    timed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    s.push_str("\n## Slowest tests\n\n");
    for (name, d) in timed.into_iter().take(SLOWEST) {
        s.push_str(&format!("- `{name}`: {d:.3}s\n"));
    }
}

pub fn test_results_detail(h: &Header<'_>, ev: &Evaluation, evidence: &Evidence) -> String {
    let mut s = format!("# Test results in detail — {}\n\n", h.run);
    let Some(r) = first(evidence) else {
        s.push_str("No per-test results.\n");
        return s;
    };
    s.push_str("| Test | Outcome | Duration | Message |\n|---|---|---|---|\n");
    for t in &r.tests {
        let flaky = ev.flaky.contains(&t.name);
        let outcome = if flaky {
            format!("{} (flaky)", t.outcome.as_str())
        } else {
            t.outcome.as_str().to_string()
        };
        let msg = t
            .message
            .as_deref()
            .map(|m| {
                let one: String = m
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ⏎ ");
                match one.char_indices().nth(300) {
                    Some((cut, _)) => format!("{}…", &one[..cut]),
                    None => one,
                }
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            cell(&t.name),
            outcome,
            t.duration
                .map(|d| format!("{d:.3}s"))
                .unwrap_or_else(|| "—".into()),
            cell(&msg)
        ));
    }
    let with_messages: Vec<_> = r
        .tests
        .iter()
        .filter(|t| t.outcome == TestOutcome::Failed && t.message.is_some())
        .collect();
    if !with_messages.is_empty() {
        s.push_str("\n## Failure output\n");
        for t in with_messages {
            s.push_str(&format!(
                "\n### `{}`\n\n```text\n{}\n```\n",
                t.name,
                t.message.as_deref().unwrap_or("").trim_end()
            ));
        }
    }
    s
}
