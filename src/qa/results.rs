//! What the parsers read out of the tools' own output: per-test outcomes, coverage and lint
//! findings. Plain data (serde), kept in each QA run's record so a run can be re-checked.

use serde::{Deserialize, Serialize};

/// A parser could not read its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format}: {message}")]
pub struct ParseError {
    /// The format that was expected (`junit`, `libtest`, `lcov`, ...).
    pub format: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(format: &'static str, message: impl Into<String>) -> ParseError {
        ParseError {
            format,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    Passed,
    Failed,
    Skipped,
}

impl TestOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            TestOutcome::Passed => "passed",
            TestOutcome::Failed => "failed",
            TestOutcome::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Unique within a report: suite or binary, then the test's path (`tests/all::save::works`,
    /// `tests.test_math.test_add`).
    pub name: String,
    pub outcome: TestOutcome,
    /// Seconds, when the format reports it.
    pub duration: Option<f64>,
    /// The failure's message and output (trimmed to a few KiB), for failed tests; the reason,
    /// when the format gives one, for skipped tests; for a test that passed on a retry
    /// (nextest's flaky tests), a note saying so with the earlier failure.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TestReport {
    pub tests: Vec<TestCase>,
    /// False when the runner stopped before its own summary (a crash mid-run): the tests
    /// listed are the ones that reported before it stopped.
    pub complete: bool,
    /// How many tests the runner announced it would run, when it says so.
    pub announced: Option<u64>,
}

impl TestReport {
    pub fn count(&self, outcome: TestOutcome) -> usize {
        self.tests.iter().filter(|t| t.outcome == outcome).count()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FileCoverage {
    pub path: String,
    pub lines_covered: u64,
    pub lines_total: u64,
    /// The uncovered line ranges (`[first, last]`, consecutive instrumented lines merged),
    /// for the coverage analyst; not kept in the audit trail.
    #[serde(default, skip_serializing)]
    pub uncovered: Vec<[u64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Coverage {
    pub lines_covered: u64,
    pub lines_total: u64,
    pub files: Vec<FileCoverage>,
}

impl Coverage {
    /// Line coverage in percent; `None` when there are no lines at all.
    pub fn percent(&self) -> Option<f64> {
        (self.lines_total > 0).then(|| self.lines_covered as f64 * 100.0 / self.lines_total as f64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LintLevel {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LintFinding {
    pub level: LintLevel,
    /// The rule (`clippy::needless_return`, `no-unused-vars`, `F401`), when there is one.
    pub code: Option<String>,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub column: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LintReport {
    pub findings: Vec<LintFinding>,
}

impl LintReport {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == LintLevel::Error)
            .count()
    }
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == LintLevel::Warning)
            .count()
    }
}

/// What a build's own messages say (cargo's `--message-format=json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BuildReport {
    /// `build-finished.success`, when the build got that far.
    pub success: Option<bool>,
    pub errors: Vec<LintFinding>,
    pub warnings: u64,
}
