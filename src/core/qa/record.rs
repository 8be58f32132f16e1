//! What is kept of a run under `.overlord/qa/QA-<n>/` so that it can be reconstructed and
//! re-checked: each attempt, the whole record (`run.json`), and the environment it ran in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::detect::{Format, Planned};
use crate::protocol::model::{QaRun, QaRunId};
use crate::qa::evaluate::{Evaluation, Evidence};
use crate::qa::policy::Policy;

/// One run of one gate's command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub gate: String,
    pub attempt: u32,
    pub command: String,
    pub format: Format,
    /// The attempt's directory, relative to the run's: output and reports.
    pub dir: String,
    /// The report file, relative to the run's directory, when the format reads one.
    pub report: Option<String>,
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    /// `timed out` or `cancelled`.
    pub stopped: Option<String>,
    pub duration_secs: f64,
}

/// What is kept of a run so that it can be reconstructed and re-checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub version: u32,
    pub id: QaRunId,
    pub commit: String,
    pub tree: String,
    pub worktree: String,
    pub started_at: String,
    pub finished_at: String,
    pub promotion: bool,
    pub policy_file: String,
    pub policy: Policy,
    pub project: Vec<String>,
    /// Tool versions found by the probes.
    pub tools: BTreeMap<String, String>,
    /// The environment the commands ran in (secrets redacted).
    pub environment: BTreeMap<String, String>,
    pub planned: Vec<Planned>,
    /// A Node project's dependency install, Overlord's own step before the gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<super::node::InstallStep>,
    pub attempts: Vec<Attempt>,
    pub evidence: Evidence,
    pub evaluation: Evaluation,
}

/// A finished run: the record for the audit store and where its files are.
pub struct QaOutput {
    pub run: QaRun,
    pub record: RunRecord,
    pub dir: PathBuf,
}

pub(super) fn redacted_env() -> BTreeMap<String, String> {
    std::env::vars()
        .map(|(k, v)| {
            let u = k.to_ascii_uppercase();
            let secret = [
                "TOKEN",
                "SECRET",
                "PASSWORD",
                "PASSWD",
                "KEY",
                "CREDENTIAL",
                "AUTH",
            ]
            .iter()
            .any(|s| u.contains(s));
            (k, if secret { "<redacted>".to_string() } else { v })
        })
        .collect()
}

pub(super) fn dir_name(gate: &str, attempt: u32) -> String {
    format!("{gate}-{attempt}")
}
