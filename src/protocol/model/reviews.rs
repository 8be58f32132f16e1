//! Code reviews (seed 002's reviewer loop): a Reviewer agent's verdict on a finished task's
//! diff, with structured findings (file, line, severity, text), and the review file the
//! reviewer writes, read with every problem named.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::Timestamp;

/// What the reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The task may be integrated.
    Approve,
    /// The task goes back to its worker with the findings.
    RequestChanges,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::RequestChanges => "request_changes",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding of a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The file, relative to the repository.
    pub file: String,
    /// The line in the task's version of the file, when the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// `blocker`, `major`, `minor` or `nit`.
    pub severity: String,
    pub text: String,
}

/// A review of one round of a task, as recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub task: String,
    /// 1 for the first review of the task.
    pub round: u32,
    pub reviewer: String,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub summary: Option<String>,
    pub at: Timestamp,
}

impl Review {
    /// The findings as lines for a task's history or the worker's feedback:
    /// `a.rs:12 [major] the error is swallowed`.
    pub fn finding_lines(&self) -> Vec<String> {
        self.findings
            .iter()
            .map(|f| match f.line {
                Some(l) => format!("{}:{l} [{}] {}", f.file, f.severity, f.text),
                None => format!("{} [{}] {}", f.file, f.severity, f.text),
            })
            .collect()
    }
}

/// The review file as the reviewer writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewFile {
    pub verdict: Verdict,
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// The severities a finding may have.
pub const SEVERITIES: [&str; 4] = ["blocker", "major", "minor", "nit"];

impl ReviewFile {
    /// Reads a review file: JSON of this shape, every finding with a known severity, a
    /// file and a text; `request_changes` with at least one finding.
    pub fn parse(text: &str) -> Result<ReviewFile, String> {
        let file: ReviewFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "the review file is not valid ({e}); expected {{\"verdict\": \"approve\"|\"request_changes\", \"findings\": [{{\"file\", \"line\", \"severity\", \"text\"}}], \"summary\"}}"
            )
        })?;
        for (i, f) in file.findings.iter().enumerate() {
            let n = i + 1;
            if !SEVERITIES.contains(&f.severity.as_str()) {
                return Err(format!(
                    "finding {n}: severity '{}' is not one of {}",
                    f.severity,
                    SEVERITIES.join(", ")
                ));
            }
            if f.file.trim().is_empty() || f.text.trim().is_empty() {
                return Err(format!("finding {n}: file and text may not be empty"));
            }
            if f.file.starts_with('/') || f.file.split('/').any(|c| c == "..") {
                return Err(format!(
                    "finding {n}: file '{}' is not a path inside the repository",
                    f.file
                ));
            }
        }
        if file.verdict == Verdict::RequestChanges && file.findings.is_empty() {
            return Err("request_changes needs at least one finding saying what to change".into());
        }
        Ok(file)
    }
}
