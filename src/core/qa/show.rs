//! Re-checking a stored run (`qa show`): `run.json` against the digest in the audit trail,
//! each attempt's stored output re-read, and the evidence re-evaluated.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::record::RunRecord;
use super::results::read_attempt;
use crate::core::engine::Core;
use crate::protocol::model::{QaRun, QaRunId};
use crate::qa::evaluate;

/// The stored record of a run, checked against the digest in the audit store, re-read from
/// its stored outputs and re-evaluated.
pub struct Shown {
    pub record: RunRecord,
    pub run: Option<QaRun>,
    /// Problems the re-check found (empty: the stored evidence reproduces the verdict).
    pub findings: Vec<String>,
    pub dir: PathBuf,
}

pub fn show(core: &Core, id: QaRunId) -> Result<Shown, String> {
    let dir = core.ws.dir.join("qa").join(id.to_string());
    let path = dir.join("run.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", core.ws.relative(&path)))?;
    let record: RunRecord = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} cannot be read: {e}", core.ws.relative(&path)))?;
    let run = core.state().qa_runs.iter().find(|r| r.id == id).cloned();
    let mut findings = Vec::new();
    match run.as_ref().and_then(|r| r.record_sha256.as_deref()) {
        Some(digest) if digest != hex::encode(Sha256::digest(&bytes)) => findings.push(format!(
            "run.json does not match the digest recorded in the audit trail ({}…)",
            &digest[..12.min(digest.len())]
        )),
        Some(_) => {}
        None => findings.push("the audit trail has no record of this run".into()),
    }
    // Re-read every attempt's stored output and compare with what the run recorded.
    let mut test_runs = 0;
    let worktree = core.ws.root.join(&record.worktree);
    for a in &record.attempts {
        let parsed = read_attempt(&dir, &worktree, a);
        let differs = match (a.gate.as_str(), parsed) {
            ("build", p) => p.build() != record.evidence.build,
            ("tests", p) => {
                test_runs += 1;
                record.evidence.tests.get(test_runs - 1) != Some(&p.tests())
            }
            ("lint", p) => p.lint() != record.evidence.lint,
            ("coverage", p) => p.coverage() != record.evidence.coverage,
            ("e2e", p) => p.tests() != record.evidence.e2e,
            _ => false,
        };
        if differs {
            findings.push(format!(
                "{} (attempt {}): its stored output no longer gives the recorded results",
                a.gate, a.attempt
            ));
        }
    }
    let again = evaluate::evaluate(&record.policy, &record.evidence);
    if again.decision != record.evaluation.decision || again.gates != record.evaluation.gates {
        findings.push(format!(
            "re-evaluating the stored evidence gives {} (recorded: {})",
            again.decision.as_str(),
            record.evaluation.decision.as_str()
        ));
    }
    if let Some(r) = &run {
        if r.decision != record.evaluation.decision {
            findings.push("the audit trail's decision differs from run.json".into());
        }
    }
    Ok(Shown {
        record,
        run,
        findings,
        dir,
    })
}
