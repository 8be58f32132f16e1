//! The Markdown reports of a run (`QA_REPORT.md`, `TEST_RESULTS.md`,
//! `TEST_RESULTS_DETAIL.md`), and the one-line summary of its gates.

use std::path::Path;

use super::context::QaContext;
use super::record::RunRecord;
use crate::protocol::model::{GateOutcome, QaRun};
use crate::qa::report;

/// Files the run writes itself, so a policy that requires them is satisfied by the run.
pub const OWN_REPORTS: [&str; 3] = ["QA_REPORT.md", "TEST_RESULTS.md", "TEST_RESULTS_DETAIL.md"];

pub(super) fn write_reports(
    ctx: &QaContext,
    run_dir: &Path,
    rec: &RunRecord,
) -> Result<(), String> {
    let id = rec.id.to_string();
    let h = report::Header {
        run: &id,
        commit: &rec.commit,
        tree: &rec.tree,
        started_at: &rec.started_at,
        finished_at: &rec.finished_at,
        policy_file: &rec.policy_file,
    };
    let files = [
        (
            "QA_REPORT.md",
            report::qa_report(&h, &rec.evaluation, &rec.evidence),
        ),
        (
            "TEST_RESULTS.md",
            report::test_results(&h, &rec.evaluation, &rec.evidence),
        ),
        (
            "TEST_RESULTS_DETAIL.md",
            report::test_results_detail(&h, &rec.evaluation, &rec.evidence),
        ),
    ];
    for (name, mut text) in files {
        if let (Some(i), "QA_REPORT.md") = (&rec.install, name) {
            text.push_str(&format!(
                "\n## Dependencies\n\nInstalled before the gates: {}\n",
                i.line()
            ));
        }
        for dir in [run_dir, ctx.overlord_dir.as_path()] {
            std::fs::write(dir.join(name), &text)
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))?;
        }
    }
    Ok(())
}

/// A one-line summary of a run's gates (for checkpoint tags and replies).
pub fn summary(run: &QaRun) -> String {
    let gates = run
        .gates
        .iter()
        .filter(|g| g.outcome != GateOutcome::Reported || g.measured.is_some())
        .map(|g| {
            let mut s = format!("{}: {}", g.gate, g.outcome.as_str());
            if let Some(m) = &g.measured {
                s.push_str(&format!(" ({m})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!("{} — {gates}", run.decision.as_str())
}
