//! The script's format: a parsed, checked script (its steps and what each does, its answers
//! to clarifications), the problems a script can have, and the exit codes of a run.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::agent::classify::{http_status, retry_after_ms};
use crate::agent::event::{AgentError, ErrorKind};
use crate::protocol::model::{Impact, Role, Severity};

/// Exit code of a run that finished ok.
pub const EXIT_OK: u8 = 0;
/// Exit code of a run a step failed (a `fail` step, a failing command, a refused concern).
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a run that could not start: no script, a bad script, a bad environment.
pub const EXIT_SCRIPT: u8 = 2;

/// A parsed, checked script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The final answer; `None`: the last `say` that ran.
    pub result: Option<String>,
    /// The model named in `started` (`None`: none).
    pub model: Option<String>,
    pub steps: Vec<Step>,
    pub answers: Answers,
}

/// One `[[step]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based position among the script's steps (tool ids are `step-<n>`).
    pub number: usize,
    /// Where the step starts in the file (1-based line).
    pub line: usize,
    /// Runs only on these attempts (`None`: on every attempt).
    pub attempts: Option<Vec<u32>>,
    /// A failure of this step is shown but does not fail the run.
    pub may_fail: bool,
    pub action: Action,
}

impl Step {
    /// Whether the step runs on this attempt.
    pub fn runs_on(&self, attempt: u32) -> bool {
        self.attempts.as_ref().is_none_or(|a| a.contains(&attempt))
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Say(String),
    Write(FileStep),
    Append(FileStep),
    Run(String),
    Commit(String),
    Concern(ConcernStep),
    Handoff(HandoffStep),
    Variation(VariationStep),
    Fail(FailStep),
    Usage(UsageStep),
    Sleep(u64),
    Emit(EmitStep),
}

impl Action {
    /// The step's key in the script.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Say(_) => "say",
            Action::Write(_) => "write",
            Action::Append(_) => "append",
            Action::Run(_) => "run",
            Action::Commit(_) => "commit",
            Action::Concern(_) => "concern",
            Action::Handoff(_) => "handoff",
            Action::Variation(_) => "variation",
            Action::Fail(_) => "fail",
            Action::Usage(_) => "usage",
            Action::Sleep(_) => "sleep_ms",
            Action::Emit(_) => "emit",
        }
    }

    /// Whether the step can fail for a reason outside the script (and so take `may_fail`).
    pub(super) fn can_fail(&self) -> bool {
        matches!(
            self,
            Action::Write(_)
                | Action::Append(_)
                | Action::Run(_)
                | Action::Commit(_)
                | Action::Concern(_)
                | Action::Handoff(_)
                | Action::Variation(_)
        )
    }
}

/// `write` / `append`: a file relative to the agent's worktree.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStep {
    pub path: String,
    pub content: String,
}

/// `concern`: `overlord-tui concern raise`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernStep {
    #[serde(deserialize_with = "parsed")]
    pub severity: Severity,
    pub category: String,
    pub summary: String,
    pub details: Option<String>,
    /// Default: the next role up the chain.
    #[serde(default, deserialize_with = "parsed_opt")]
    pub to: Option<Role>,
    /// Default: `$OVERLORD_TASK`.
    pub task: Option<String>,
}

/// `handoff`: `overlord-tui handoff`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffStep {
    #[serde(deserialize_with = "parsed")]
    pub to: Role,
    pub purpose: String,
    pub summary: String,
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub outputs: Vec<String>,
    #[serde(default, deserialize_with = "parsed_opt")]
    pub impact: Option<Impact>,
    pub status: Option<String>,
    /// Default: `$OVERLORD_TASK`.
    pub task: Option<String>,
}

/// `variation`: `overlord-tui variation propose`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariationStep {
    #[serde(deserialize_with = "parsed")]
    pub impact: Impact,
    pub title: String,
    pub rationale: Option<String>,
    #[serde(default)]
    pub affects: Vec<String>,
}

/// The failures a `fail` step can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailKind {
    RateLimited,
    Quota,
    Auth,
    Api,
    Crash,
}

impl FailKind {
    fn as_str(self) -> &'static str {
        match self {
            FailKind::RateLimited => "rate_limited",
            FailKind::Quota => "quota",
            FailKind::Auth => "auth",
            FailKind::Api => "api",
            FailKind::Crash => "crash",
        }
    }
}

/// `fail`: fails the run while `OVERLORD_ATTEMPT <= times`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailStep {
    /// `None`: on every attempt.
    pub times: Option<u32>,
    pub kind: FailKind,
    pub message: Option<String>,
    /// `rate_limited` only (default: read from the message, e.g. `retry after 2s`).
    pub retry_after_ms: Option<u64>,
    /// `api` only: the HTTP status (default: read from the message, e.g. `503 …`).
    pub status: Option<u16>,
}

impl FailStep {
    /// The error this step fails with.
    pub fn error(&self) -> AgentError {
        let message = self
            .message
            .clone()
            .unwrap_or_else(|| format!("scripted {} failure", self.kind.as_str()));
        let kind = match self.kind {
            FailKind::RateLimited => ErrorKind::RateLimited {
                retry_after_ms: self.retry_after_ms.or_else(|| retry_after_ms(&message)),
            },
            FailKind::Quota => ErrorKind::Quota,
            FailKind::Auth => ErrorKind::Auth,
            FailKind::Api => ErrorKind::Api {
                status: self.status.or_else(|| http_status(&message)),
            },
            FailKind::Crash => ErrorKind::Crashed {
                exit_code: Some(i32::from(EXIT_FAILED)),
            },
        };
        AgentError::new(kind, message)
    }

    /// Whether the step fails on this attempt.
    pub fn fails_on(&self, attempt: u32) -> bool {
        self.times.is_none_or(|t| attempt <= t)
    }
}

/// `usage`: a usage event (a delta, like every adapter's).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageStep {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default)]
    pub cached_input: u64,
    #[serde(default)]
    pub reasoning: u64,
    pub cost_usd: Option<f64>,
}

/// `emit`: `count` text events, `per_sec` of them a second (default: as fast as possible).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitStep {
    pub count: u64,
    pub per_sec: Option<f64>,
    #[serde(default = "default_tick")]
    pub text: String,
}

fn default_tick() -> String {
    "tick".into()
}

/// `[answers]`: the answers to clarification questions, in the file's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answers {
    /// `(key, answer)`: the first key found in the question (case-insensitive) answers.
    pub entries: Vec<(String, String)>,
    /// The answer when no key matches.
    pub default: Option<String>,
}

impl Answers {
    /// The answer to `question`: the first key (in the file's order) the question contains,
    /// ignoring case, else the default.
    pub fn answer(&self, question: &str) -> Option<&str> {
        let q = question.to_lowercase();
        self.entries
            .iter()
            .find(|(key, _)| q.contains(&key.to_lowercase()))
            .map(|(_, a)| a.as_str())
            .or(self.default.as_deref())
    }
}

/// A problem with a script, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The script as shown to the user (`scripts/implementer.toml`).
    pub file: String,
    /// 1-based; 0 when the problem has no place in the file (it cannot be read).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ScriptError {}

/// A value given as text and read with its `FromStr` (roles, severities, impacts), so the
/// message of a bad one names the accepted values and points at it.
fn parsed<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn parsed_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    parsed(d).map(Some)
}
