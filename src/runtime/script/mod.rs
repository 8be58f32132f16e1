//! The scripted agent (`overlord-tui script-agent`): replays a deterministic TOML script as if
//! it were an AI coding agent, for the demo and the tests. It prints Overlord's native event
//! lines ([`native_line`]) on stdout, one per line, flushed after each, and talks back to
//! Overlord the way a real agent does: through the `overlord-tui` CLI (`concern raise`,
//! `handoff`, `variation propose`), run as child processes in the agent's worktree with the
//! environment the adapter gave it.
//!
//! The script is found in the script folder (`--dir`, relative to `$OVERLORD_REPO`, else to
//! the current directory): `<task>.toml`, then `<role>.toml`, then `default.toml`. The format
//! is documented in `docs/adapters.md` ("Scripted adapter"); every problem in a script is
//! reported as `file:line:column: message`.
//!
//! A run prints `started`, then the events of each step, then `finished` (ok, with the result
//! text) and exits 0. A step that fails prints a `warning` with the classified error kind and
//! a `finished` with `ok: false` and that error, and exits 1. A script that cannot be found or
//! read, or that is not valid, gives a `finished` error and exit code 2 before any step runs.
//! With `--resume <session>` the prompt is a question: the script's `[answers]` answer it and
//! no step runs.
//!
//! Signals keep their default behaviour (SIGINT and SIGTERM end the process at once): the
//! runner owns cancellation and stops the whole process group.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command as Proc, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::agent::classify::{classify, http_status, retry_after_ms};
use crate::agent::event::{AgentError, AgentEvent, ErrorKind, ToolKind};
use crate::agent::parse::native_line;
use crate::agent::usage::Usage;
use crate::protocol::model::{Impact, Role, Severity};

/// Exit code of a run that finished ok.
pub const EXIT_OK: u8 = 0;
/// Exit code of a run a step failed (a `fail` step, a failing command, a refused concern).
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a run that could not start: no script, a bad script, a bad environment.
pub const EXIT_SCRIPT: u8 = 2;

/// Lines of a command's output kept in its `tool_finished`.
const TAIL_LINES: usize = 20;
/// Characters of a command's output kept in its `tool_finished`.
const TAIL_CHARS: usize = 4000;
/// Bytes of a command's output read into memory (the rest scrolls away).
const KEEP_BYTES: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// The agent's environment

/// What the adapter told the agent through its environment (`OVERLORD_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEnv {
    /// `OVERLORD_AGENT`: the agent's id (`implementer-1`).
    pub agent: Option<String>,
    /// `OVERLORD_TASK`: the task it works on.
    pub task: Option<String>,
    /// `OVERLORD_ROLE`.
    pub role: Option<Role>,
    /// `OVERLORD_ATTEMPT`: the 1-based run number of this task (1 when unset).
    pub attempt: u32,
    /// `OVERLORD_REPO`: the repository root.
    pub repo: Option<PathBuf>,
}

impl Default for AgentEnv {
    fn default() -> AgentEnv {
        AgentEnv {
            agent: None,
            task: None,
            role: None,
            attempt: 1,
            repo: None,
        }
    }
}

impl AgentEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<AgentEnv, String> {
        AgentEnv::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`; an empty variable counts as unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<AgentEnv, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let role = match var("OVERLORD_ROLE") {
            Some(r) => Some(
                r.parse::<Role>()
                    .map_err(|e| format!("OVERLORD_ROLE: {e}"))?,
            ),
            None => None,
        };
        let attempt = match var("OVERLORD_ATTEMPT") {
            Some(a) => match a.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(format!(
                        "OVERLORD_ATTEMPT must be a run number from 1 up, not '{a}'"
                    ))
                }
            },
            None => 1,
        };
        Ok(AgentEnv {
            agent: var("OVERLORD_AGENT"),
            task: var("OVERLORD_TASK"),
            role,
            attempt,
            repo: var("OVERLORD_REPO").map(PathBuf::from),
        })
    }

    /// The session id of a first run: `script-<task>-<attempt>`.
    pub fn session_id(&self) -> String {
        format!(
            "script-{}-{}",
            self.task.as_deref().unwrap_or("none"),
            self.attempt
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The script

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
    fn can_fail(&self) -> bool {
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

/// The file as TOML reads it, before the checks that need more than its types.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    result: Option<String>,
    model: Option<String>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    #[serde(default)]
    answers: BTreeMap<Spanned<String>, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default, deserialize_with = "attempts")]
    attempt: Option<Vec<u32>>,
    may_fail: Option<bool>,
    say: Option<String>,
    write: Option<Spanned<FileStep>>,
    append: Option<Spanned<FileStep>>,
    run: Option<String>,
    commit: Option<String>,
    concern: Option<ConcernStep>,
    handoff: Option<HandoffStep>,
    variation: Option<VariationStep>,
    fail: Option<Spanned<FailStep>>,
    usage: Option<Spanned<UsageStep>>,
    sleep_ms: Option<u64>,
    emit: Option<Spanned<EmitStep>>,
}

/// The step keys, for messages.
const ACTIONS: &str =
    "say, write, append, run, commit, concern, handoff, variation, fail, usage, sleep_ms or emit";

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

/// `attempt = 2` or `attempt = [2, 3]`: attempt numbers from 1 up.
fn attempts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u32>>, D::Error> {
    #[derive(Clone, Copy)]
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<u32>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an attempt number from 1 up, or a list of them (attempt = [2, 3])")
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Vec<u32>, E> {
            match u32::try_from(n) {
                Ok(n) if n >= 1 => Ok(vec![n]),
                _ => Err(E::custom(format!(
                    "attempt numbers start at 1 (the first run), not {n}"
                ))),
            }
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Vec<u32>, E> {
            self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u32>, A::Error> {
            let mut out = Vec::new();
            while let Some(n) = seq.next_element::<i64>()? {
                out.extend(self.visit_i64::<A::Error>(n)?);
            }
            if out.is_empty() {
                return Err(serde::de::Error::custom(
                    "an empty attempt list never runs the step; list the attempts it runs on",
                ));
            }
            Ok(out)
        }
    }
    d.deserialize_any(V).map(Some)
}

/// Parses and checks a script; `shown` names it in the messages.
pub fn parse_script(text: &str, shown: &str) -> Result<Script, ScriptError> {
    let at = |offset: usize, message: String| {
        let (line, column) = crate::config::line_col(text, offset);
        ScriptError {
            file: shown.to_string(),
            line,
            column,
            message,
        }
    };
    let raw: RawScript = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start);
        let message = e.message().trim().to_string();
        match offset {
            Some(o) => at(o, message),
            None => ScriptError {
                file: shown.to_string(),
                line: 0,
                column: 0,
                message,
            },
        }
    })?;

    let mut steps = Vec::new();
    for (i, spanned) in raw.step.into_iter().enumerate() {
        let number = i + 1;
        let start = spanned.span().start;
        let raw = spanned.into_inner();
        let here = |message: String| at(start, format!("step {number}: {message}"));
        let mut actions: Vec<Action> = Vec::new();
        if let Some(s) = raw.say {
            actions.push(Action::Say(s));
        }
        for (file, append) in [(raw.write, false), (raw.append, true)] {
            if let Some(f) = file {
                let offset = f.span().start;
                let f = f.into_inner();
                check_relative_path(&f.path)
                    .map_err(|m| at(offset, format!("step {number}: {m}")))?;
                actions.push(if append {
                    Action::Append(f)
                } else {
                    Action::Write(f)
                });
            }
        }
        if let Some(command) = raw.run {
            if command.trim().is_empty() {
                return Err(here("`run` needs a command".into()));
            }
            actions.push(Action::Run(command));
        }
        if let Some(message) = raw.commit {
            if message.trim().is_empty() {
                return Err(here("`commit` needs a commit message".into()));
            }
            actions.push(Action::Commit(message));
        }
        if let Some(c) = raw.concern {
            for (field, v) in [("category", &c.category), ("summary", &c.summary)] {
                if v.trim().is_empty() {
                    return Err(here(format!("a concern needs a {field}")));
                }
            }
            actions.push(Action::Concern(c));
        }
        if let Some(h) = raw.handoff {
            for (field, v) in [("purpose", &h.purpose), ("summary", &h.summary)] {
                if v.trim().is_empty() {
                    return Err(here(format!("a handoff needs a {field}")));
                }
            }
            actions.push(Action::Handoff(h));
        }
        if let Some(v) = raw.variation {
            if v.title.trim().is_empty() {
                return Err(here("a variation needs a title".into()));
            }
            actions.push(Action::Variation(v));
        }
        if let Some(f) = raw.fail {
            let offset = f.span().start;
            let f = f.into_inner();
            let bad = |m: &str| at(offset, format!("step {number}: {m}"));
            if f.retry_after_ms.is_some() && f.kind != FailKind::RateLimited {
                return Err(bad("retry_after_ms only goes with kind = \"rate_limited\""));
            }
            if f.status.is_some() && f.kind != FailKind::Api {
                return Err(bad("status only goes with kind = \"api\""));
            }
            if let Some(s) = f.status {
                if !(100..=599).contains(&s) {
                    return Err(bad(&format!("status {s} is not an HTTP status")));
                }
            }
            if f.times == Some(0) {
                return Err(bad(
                    "times = 0 never fails; leave the step out, or say how many attempts fail",
                ));
            }
            actions.push(Action::Fail(f));
        }
        if let Some(u) = raw.usage {
            let offset = u.span().start;
            let u = u.into_inner();
            if let Some(c) = u.cost_usd {
                if !c.is_finite() || c < 0.0 {
                    return Err(at(
                        offset,
                        format!(
                            "step {number}: cost_usd must be an amount of zero or more, not {c}"
                        ),
                    ));
                }
            }
            if u.cached_input > u.input {
                return Err(at(
                    offset,
                    format!(
                        "step {number}: cached_input ({}) is part of input ({}) and cannot exceed it",
                        u.cached_input, u.input
                    ),
                ));
            }
            actions.push(Action::Usage(u));
        }
        if let Some(ms) = raw.sleep_ms {
            actions.push(Action::Sleep(ms));
        }
        if let Some(e) = raw.emit {
            let offset = e.span().start;
            let e = e.into_inner();
            if let Some(r) = e.per_sec {
                if !r.is_finite() || r <= 0.0 {
                    return Err(at(
                        offset,
                        format!("step {number}: per_sec must be more than 0, not {r}"),
                    ));
                }
            }
            actions.push(Action::Emit(e));
        }
        if actions.len() > 1 {
            let keys: Vec<&str> = actions.iter().map(Action::key).collect();
            return Err(here(format!(
                "a step does one thing, this one has {}; put each in its own [[step]]",
                keys.join(" and ")
            )));
        }
        let Some(action) = actions.pop() else {
            return Err(here(format!("a step needs one of {ACTIONS}")));
        };
        if raw.may_fail.is_some() && !action.can_fail() {
            return Err(here(format!(
                "may_fail does not apply to `{}`; only write, append, run, commit, concern, handoff and variation steps can fail",
                action.key()
            )));
        }
        let (line, _) = crate::config::line_col(text, start);
        steps.push(Step {
            number,
            line,
            attempts: raw.attempt,
            may_fail: raw.may_fail.unwrap_or(false),
            action,
        });
    }

    let mut entries: Vec<(usize, String, String)> = Vec::new();
    let mut default = None;
    for (key, answer) in raw.answers {
        let offset = key.span().start;
        let key = key.into_inner();
        if key == "default" {
            default = Some(answer);
        } else if key.trim().is_empty() {
            return Err(at(
                offset,
                "[answers]: an empty key would match every question; use `default`".into(),
            ));
        } else {
            entries.push((offset, key, answer));
        }
    }
    entries.sort_by_key(|(offset, _, _)| *offset);
    Ok(Script {
        result: raw.result,
        model: raw.model.filter(|m| !m.trim().is_empty()),
        steps,
        answers: Answers {
            entries: entries.into_iter().map(|(_, k, a)| (k, a)).collect(),
            default,
        },
    })
}

/// A path a script may write: relative, inside the worktree, not into `.git`.
pub fn check_relative_path(path: &str) -> Result<PathBuf, String> {
    if path.trim().is_empty() {
        return Err("the path is empty".into());
    }
    if path.contains('\0') {
        return Err(format!("the path {path:?} contains a NUL character"));
    }
    let p = Path::new(path);
    let mut normal = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => normal.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "the path `{path}` uses `..`; paths stay inside the agent's worktree"
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "the path `{path}` is absolute; paths are relative to the agent's worktree"
                ))
            }
        }
    }
    if normal.is_empty() {
        return Err(format!("the path `{path}` names no file"));
    }
    if normal[0] == ".git" {
        return Err(format!(
            "the path `{path}` is inside .git; scripts change the work tree, not the repository's internals"
        ));
    }
    Ok(normal.iter().collect())
}

/// Finds the script of this agent in `dir`: `<task>.toml`, then `<role>.toml`, then
/// `default.toml`. `dir` is relative to `$OVERLORD_REPO` when set, else to `cwd`.
pub fn find_script(dir: &Path, env: &AgentEnv, cwd: &Path) -> Result<PathBuf, String> {
    let base = env.repo.as_deref().unwrap_or(cwd);
    let folder = base.join(dir);
    let mut names = Vec::new();
    if let Some(task) = env.task.as_deref().filter(|t| is_file_name(t)) {
        names.push(format!("{task}.toml"));
    }
    if let Some(role) = env.role {
        names.push(format!("{}.toml", role.as_str()));
    }
    names.push("default.toml".into());
    if !folder.is_dir() {
        return Err(format!(
            "the script folder {} does not exist (looked for {})",
            folder.display(),
            names.join(", ")
        ));
    }
    for name in &names {
        let candidate = folder.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no script for this agent in {}: looked for {}",
        folder.display(),
        names.join(", ")
    ))
}

/// A task id usable as a file name (no separators, not hidden, not `..`).
fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 200
}

/// Reads and parses a script file; `shown` names it in messages.
pub fn load_script(path: &Path, shown: &str) -> Result<Script, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
        file: shown.to_string(),
        line: 0,
        column: 0,
        message: format!("cannot be read: {e}"),
    })?;
    parse_script(&text, shown)
}

// ---------------------------------------------------------------------------------------------
// Running a script

/// One invocation of `overlord-tui script-agent`.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// `--dir`: the script folder.
    pub dir: PathBuf,
    /// `--resume <session>`: answer the prompt as a clarification instead of running.
    pub resume: Option<String>,
    pub prompt: String,
    /// The agent's worktree (the current directory).
    pub cwd: PathBuf,
    /// The `overlord-tui` to run for concerns, hand-offs and variations.
    pub overlord: PathBuf,
}

/// Why the run stops before its end.
enum Stop {
    /// A step failed: report it and exit with `code`.
    Failed(AgentError, u8),
    /// Stdout is gone (the runner went away): nothing more can be said.
    Gone,
}

struct Emitter<'a> {
    out: &'a mut dyn Write,
}

impl Emitter<'_> {
    fn emit(&mut self, event: AgentEvent) -> Result<(), Stop> {
        let mut line = native_line(&event);
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|_| Stop::Gone)
    }
}

/// Runs the scripted agent with the process environment; returns the exit code.
pub fn run_from_env(opts: &ScriptRun, out: &mut dyn Write) -> u8 {
    match AgentEnv::from_env() {
        Ok(env) => run(opts, &env, out),
        Err(e) => {
            let mut em = Emitter { out };
            let result = em
                .emit(started(opts.resume.clone(), None))
                .and_then(|()| finish_failed(&mut em, AgentError::new(ErrorKind::Other, e), false));
            match result {
                Ok(()) => EXIT_SCRIPT,
                Err(_) => EXIT_FAILED,
            }
        }
    }
}

/// Runs the scripted agent; returns the exit code.
pub fn run(opts: &ScriptRun, env: &AgentEnv, out: &mut dyn Write) -> u8 {
    let mut em = Emitter { out };
    let session = opts.resume.clone().unwrap_or_else(|| env.session_id());
    let script = find_script(&opts.dir, env, &opts.cwd).and_then(|path| {
        let shown = opts
            .dir
            .join(path.file_name().unwrap_or_default())
            .display()
            .to_string();
        load_script(&path, &shown)
            .map(|s| (s, shown))
            .map_err(|e| e.to_string())
    });
    let (script, shown) = match script {
        Ok(s) => s,
        Err(message) => {
            let r = em.emit(started(Some(session), None)).and_then(|()| {
                finish_failed(&mut em, AgentError::new(ErrorKind::Other, message), false)
            });
            return match r {
                Ok(()) => EXIT_SCRIPT,
                Err(_) => EXIT_FAILED,
            };
        }
    };
    let outcome = em
        .emit(started(Some(session), script.model.clone()))
        .and_then(|()| {
            if opts.resume.is_some() {
                answer(&mut em, &script, &shown, &opts.prompt)
            } else {
                let mut exec = Exec {
                    opts,
                    env,
                    em: &mut em,
                    last_say: None,
                };
                exec.steps(&script)
            }
        });
    match outcome {
        Ok(()) => EXIT_OK,
        Err(Stop::Gone) => EXIT_FAILED,
        Err(Stop::Failed(error, code)) => {
            match finish_failed(&mut em, error, code == EXIT_FAILED) {
                Ok(()) => code,
                Err(_) => EXIT_FAILED,
            }
        }
    }
}

fn started(session_id: Option<String>, model: Option<String>) -> AgentEvent {
    AgentEvent::Started {
        session_id,
        model,
        raw: String::new(),
    }
}

/// `warning` (for a failed step) and `finished` with the error.
fn finish_failed(em: &mut Emitter<'_>, error: AgentError, warn: bool) -> Result<(), Stop> {
    if warn {
        em.emit(AgentEvent::Warning {
            message: error.message.clone(),
            error: Some(error.kind),
            raw: String::new(),
        })?;
    }
    em.emit(AgentEvent::Finished {
        ok: false,
        result_text: None,
        error: Some(error),
        raw: String::new(),
    })
}

/// A clarification: the answer as text and as the result.
fn answer(em: &mut Emitter<'_>, script: &Script, shown: &str, question: &str) -> Result<(), Stop> {
    let Some(answer) = script.answers.answer(question) else {
        return Err(Stop::Failed(
            AgentError::new(
                ErrorKind::Other,
                format!(
                    "{shown} has no answer for this question: no key of [answers] is in it and there is no `default`"
                ),
            ),
            EXIT_SCRIPT,
        ));
    };
    em.emit(AgentEvent::Text {
        text: answer.to_string(),
        delta: false,
        raw: String::new(),
    })?;
    em.emit(AgentEvent::Finished {
        ok: true,
        result_text: Some(answer.to_string()),
        error: None,
        raw: String::new(),
    })
}

struct Exec<'a, 'b> {
    opts: &'a ScriptRun,
    env: &'a AgentEnv,
    em: &'a mut Emitter<'b>,
    last_say: Option<String>,
}

/// What a tool step did: its output, or why it failed.
type ToolResult = Result<String, String>;

impl Exec<'_, '_> {
    fn steps(&mut self, script: &Script) -> Result<(), Stop> {
        for step in &script.steps {
            if step.runs_on(self.env.attempt) {
                self.step(step)?;
            }
        }
        let result = script.result.clone().or_else(|| self.last_say.clone());
        self.em.emit(AgentEvent::Finished {
            ok: true,
            result_text: result,
            error: None,
            raw: String::new(),
        })
    }

    fn step(&mut self, step: &Step) -> Result<(), Stop> {
        let id = format!("step-{}", step.number);
        match &step.action {
            Action::Say(text) => {
                self.last_say = Some(text.clone());
                self.text(text.clone())
            }
            Action::Write(f) => self.tool(step, &id, ToolKind::Edit, "write", &f.path, |x| {
                x.write_file(f, false)
            }),
            Action::Append(f) => self.tool(step, &id, ToolKind::Edit, "append", &f.path, |x| {
                x.write_file(f, true)
            }),
            Action::Run(command) => self.tool(step, &id, ToolKind::Shell, "sh", command, |x| {
                x.shell(command)
            }),
            Action::Commit(message) => {
                self.tool(step, &id, ToolKind::Commit, "git commit", message, |x| {
                    x.commit(message)
                })
            }
            Action::Concern(c) => self.tool(
                step,
                &id,
                ToolKind::Other,
                "overlord-tui concern raise",
                &c.summary,
                |x| x.overlord("concern raise", &x.concern_args(c)),
            ),
            Action::Handoff(h) => self.tool(
                step,
                &id,
                ToolKind::Other,
                "overlord-tui handoff",
                &format!("to {}: {}", h.to, h.purpose),
                |x| x.overlord("handoff", &x.handoff_args(h)),
            ),
            Action::Variation(v) => self.tool(
                step,
                &id,
                ToolKind::Other,
                "overlord-tui variation propose",
                &v.title,
                |x| x.overlord("variation propose", &variation_args(v)),
            ),
            Action::Fail(f) => {
                if f.fails_on(self.env.attempt) {
                    Err(Stop::Failed(f.error(), EXIT_FAILED))
                } else {
                    Ok(())
                }
            }
            Action::Usage(u) => self.em.emit(AgentEvent::Usage {
                usage: Usage {
                    input: u.input,
                    cached_input: u.cached_input,
                    output: u.output,
                    reasoning: u.reasoning,
                    cost_usd: u.cost_usd,
                },
                raw: String::new(),
            }),
            Action::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                Ok(())
            }
            Action::Emit(e) => {
                let start = Instant::now();
                for i in 0..e.count {
                    if let Some(rate) = e.per_sec {
                        let due = start + Duration::from_secs_f64(i as f64 / rate);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                    }
                    self.text(format!("{} {}/{}", e.text, i + 1, e.count))?;
                }
                Ok(())
            }
        }
    }

    fn text(&mut self, text: String) -> Result<(), Stop> {
        self.em.emit(AgentEvent::Text {
            text,
            delta: false,
            raw: String::new(),
        })
    }

    /// `tool_started`, the work, `tool_finished`; a failure fails the run unless `may_fail`.
    fn tool(
        &mut self,
        step: &Step,
        id: &str,
        kind: ToolKind,
        name: &str,
        summary: &str,
        work: impl FnOnce(&mut Self) -> ToolResult,
    ) -> Result<(), Stop> {
        self.em.emit(AgentEvent::ToolStarted {
            id: id.to_string(),
            kind,
            name: name.to_string(),
            summary: one_line(summary),
            raw: String::new(),
        })?;
        let result = work(self);
        let (ok, output) = match &result {
            Ok(o) => (true, o.clone()),
            Err(e) => (false, e.clone()),
        };
        self.em.emit(AgentEvent::ToolFinished {
            id: id.to_string(),
            ok,
            output,
            raw: String::new(),
        })?;
        match result {
            Ok(_) => Ok(()),
            Err(_) if step.may_fail => Ok(()),
            Err(e) => {
                let message = format!(
                    "step {} ({}, line {}): {e}",
                    step.number,
                    step.action.key(),
                    step.line
                );
                let kind = classify(&e, None, None);
                Err(Stop::Failed(AgentError::new(kind, message), EXIT_FAILED))
            }
        }
    }

    fn write_file(&mut self, f: &FileStep, append: bool) -> ToolResult {
        let rel = check_relative_path(&f.path)?;
        let root = self
            .opts
            .cwd
            .canonicalize()
            .map_err(|e| format!("the worktree {}: {e}", self.opts.cwd.display()))?;
        let target = root.join(&rel);
        let escapes = || {
            format!(
                "{} leads outside the worktree (through a symbolic link)",
                f.path
            )
        };
        // A symbolic link on the way must not lead outside the worktree: check the folders
        // that exist before creating the missing ones, and the file itself.
        if let Some(parent) = target.parent() {
            let mut existing = parent;
            while !existing.exists() {
                match existing.parent() {
                    Some(p) => existing = p,
                    None => break,
                }
            }
            if !inside(&root, existing) {
                return Err(escapes());
            }
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", f.path))?;
            if !inside(&root, parent) {
                return Err(escapes());
            }
        }
        let is_link = std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && !inside(&root, &target) {
            return Err(escapes());
        }
        let result = if append {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&target)
                .and_then(|mut file| file.write_all(f.content.as_bytes()))
        } else {
            std::fs::write(&target, &f.content)
        };
        result.map_err(|e| format!("{}: {e}", f.path))?;
        Ok(format!(
            "{} {} bytes to {}",
            if append { "appended" } else { "wrote" },
            f.content.len(),
            f.path
        ))
    }

    /// `sh -c` in the worktree, stdout and stderr in one pipe; the output's tail.
    fn shell(&mut self, command: &str) -> ToolResult {
        let mut cmd = Proc::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(&self.opts.cwd)
            .stdin(Stdio::null());
        let (status, output) = run_merged(cmd).map_err(|e| format!("cannot run sh: {e}"))?;
        let tail = tail(&output);
        if status.success() {
            Ok(tail)
        } else {
            let how = match status.code() {
                Some(c) => format!("exited with code {c}"),
                None => "was killed by a signal".to_string(),
            };
            Err(if tail.is_empty() {
                format!("`{}` {how}", one_line(command))
            } else {
                format!("`{}` {how}:\n{tail}", one_line(command))
            })
        }
    }

    /// `git add -A && git commit` in the worktree; nothing to commit is fine.
    fn commit(&mut self, message: &str) -> ToolResult {
        let cwd = &self.opts.cwd;
        git(cwd, &["add", "-A"])?;
        let staged = Proc::new("git")
            .args(["diff", "--cached", "--quiet"])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        match staged.code() {
            Some(0) => return Ok("nothing to commit".into()),
            Some(1) => {}
            _ => return Err("git diff --cached failed".into()),
        }
        // An agent commits as the user git is configured for; with no identity configured,
        // as its role (the identity Overlord's own commits use).
        let mut identity: Vec<String> = Vec::new();
        if !has_identity(cwd) {
            if let Ok(sig) = crate::git::signature(self.env.role) {
                identity.push(format!("user.name={}", sig.name().unwrap_or("Overlord")));
                identity.push(format!(
                    "user.email={}",
                    sig.email().unwrap_or("overlord@overlord.local")
                ));
            }
        }
        let mut args: Vec<&str> = Vec::new();
        for kv in &identity {
            args.extend(["-c", kv.as_str()]);
        }
        args.extend(["commit", "-q", "-m", message]);
        git(cwd, &args)?;
        let head = git(cwd, &["rev-parse", "--short", "HEAD"])?;
        Ok(format!("committed {}: {}", head.trim(), one_line(message)))
    }

    fn task(&self, explicit: &Option<String>) -> Option<String> {
        explicit.clone().or_else(|| self.env.task.clone())
    }

    fn concern_args(&self, c: &ConcernStep) -> Vec<String> {
        let mut a = vec![
            "concern".to_string(),
            "raise".into(),
            format!("--severity={}", c.severity.as_str()),
            format!("--category={}", c.category),
        ];
        if let Some(to) = c.to {
            a.push(format!("--to={}", to.as_str()));
        }
        if let Some(t) = self.task(&c.task) {
            a.push(format!("--task={t}"));
        }
        if let Some(d) = &c.details {
            a.push(format!("--details={d}"));
        }
        a.extend(["--".into(), c.summary.clone()]);
        a
    }

    fn handoff_args(&self, h: &HandoffStep) -> Vec<String> {
        let mut a = vec![
            "handoff".to_string(),
            format!("--to={}", h.to.as_str()),
            format!("--purpose={}", h.purpose),
            format!("--summary={}", h.summary),
        ];
        a.extend(h.inputs.iter().map(|i| format!("--input={i}")));
        a.extend(h.outputs.iter().map(|o| format!("--output={o}")));
        if let Some(i) = h.impact {
            a.push(format!("--impact={}", i.as_str()));
        }
        if let Some(s) = &h.status {
            a.push(format!("--status={s}"));
        }
        if let Some(t) = self.task(&h.task) {
            a.push(format!("--task={t}"));
        }
        a
    }

    /// Runs this overlord-tui with `args` in the worktree, with the agent's environment.
    fn overlord(&mut self, name: &str, args: &[String]) -> ToolResult {
        let out = Proc::new(&self.opts.overlord)
            .args(args)
            .current_dir(&self.opts.cwd)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.opts.overlord.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if out.status.success() {
            Ok(stdout)
        } else {
            let how = match out.status.code() {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".into(),
            };
            let said = if stderr.is_empty() { stdout } else { stderr };
            Err(format!(
                "overlord-tui {name} failed ({how}): {}",
                tail(&said)
            ))
        }
    }
}

/// Whether `path` (which must exist) resolves to a place inside `root` (itself resolved).
fn inside(root: &Path, path: &Path) -> bool {
    path.canonicalize().is_ok_and(|real| real.starts_with(root))
}

fn variation_args(v: &VariationStep) -> Vec<String> {
    let mut a = vec![
        "variation".to_string(),
        "propose".into(),
        format!("--impact={}", v.impact.as_str()),
        format!("--title={}", v.title),
    ];
    if let Some(r) = &v.rationale {
        a.push(format!("--rationale={r}"));
    }
    a.extend(v.affects.iter().map(|f| format!("--affects={f}")));
    a
}

/// Whether git has a committer identity configured for `cwd` (or in the environment).
fn has_identity(cwd: &Path) -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    let configured = |key: &str| {
        Proc::new("git")
            .args(["config", "--get", key])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
    };
    (set("GIT_AUTHOR_NAME") || configured("user.name"))
        && (set("GIT_AUTHOR_EMAIL") || set("EMAIL") || configured("user.email"))
        && (set("GIT_COMMITTER_NAME") || configured("user.name"))
        && (set("GIT_COMMITTER_EMAIL") || set("EMAIL") || configured("user.email"))
}

/// Runs git in `cwd`; its stdout, or its stderr as the error.
fn git(cwd: &Path, args: &[&str]) -> Result<String, String> {
    let out = Proc::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let shown: Vec<&str> = args
            .iter()
            .copied()
            .skip_while(|a| *a == "-c" || a.contains('='))
            .take(1)
            .collect();
        Err(format!(
            "git {} failed: {}",
            shown.join(" "),
            tail(String::from_utf8_lossy(&out.stderr).trim())
        ))
    }
}

/// Runs `cmd` with stdout and stderr on one pipe (so their lines stay in order); keeps the
/// last [`KEEP_BYTES`] of the output.
fn run_merged(mut cmd: Proc) -> std::io::Result<(std::process::ExitStatus, String)> {
    let (mut reader, writer) = std::io::pipe()?;
    cmd.stdout(writer.try_clone()?).stderr(writer);
    let mut child = cmd.spawn()?;
    // The pipe's write ends live in `cmd` until it is dropped: drop it, or the read below
    // would never see the end of the output.
    drop(cmd);
    let mut kept: VecDeque<u8> = VecDeque::new();
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend(&buf[..n]);
                while kept.len() > KEEP_BYTES {
                    kept.pop_front();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let status = child.wait()?;
    let bytes: Vec<u8> = kept.into_iter().collect();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The last lines of an output, at most [`TAIL_LINES`] lines and [`TAIL_CHARS`] characters.
fn tail(output: &str) -> String {
    let trimmed = output.trim_end();
    let lines: Vec<&str> = trimmed.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    let text = lines[from..].join("\n");
    let count = text.chars().count();
    if count > TAIL_CHARS {
        let skip = count - TAIL_CHARS;
        let cut: String = text.chars().skip(skip).collect();
        format!("…{cut}")
    } else if from > 0 {
        format!("…\n{text}")
    } else {
        text
    }
}

/// The first line of a text, for a tool's summary.
fn one_line(text: &str) -> String {
    let mut lines = text.trim().lines();
    let first = lines.next().unwrap_or("").trim();
    let short: String = first.chars().take(200).collect();
    if short.len() < first.len() || lines.next().is_some() {
        format!("{short}…")
    } else {
        short
    }
}
