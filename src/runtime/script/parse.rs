//! Reading a script: the TOML file as it is written, then the checks that need more than its
//! types (one action a step, paths inside the worktree, amounts and statuses in range), each
//! problem located as `file:line:column`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::format::{
    Action, Answers, ConcernStep, EmitStep, FailKind, FailStep, FileStep, HandoffStep, Script,
    ScriptError, Step, UsageStep, VariationStep,
};

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
    let place = Place { text, shown };
    let raw = read_toml(&place)?;
    let steps = raw
        .step
        .into_iter()
        .enumerate()
        .map(|(i, spanned)| parse_step(&place, i + 1, spanned))
        .collect::<Result<Vec<Step>, ScriptError>>()?;
    let answers = parse_answers(&place, raw.answers)?;
    Ok(Script {
        result: raw.result,
        model: raw.model.filter(|m| !m.trim().is_empty()),
        steps,
        answers,
    })
}

/// Where a script's problems are: its text (for line and column) and the name it is shown by.
struct Place<'a> {
    text: &'a str,
    shown: &'a str,
}

impl Place<'_> {
    /// A problem at `offset` in the text.
    fn at(&self, offset: usize, message: String) -> ScriptError {
        let (line, column) = crate::config::line_col(self.text, offset);
        ScriptError {
            file: self.shown.to_string(),
            line,
            column,
            message,
        }
    }

    /// A problem with no place in the file.
    fn nowhere(&self, message: String) -> ScriptError {
        ScriptError {
            file: self.shown.to_string(),
            line: 0,
            column: 0,
            message,
        }
    }
}

/// Where one step's problems are: its number (messages start `step <n>: `) and where it
/// starts.
struct StepPlace<'a> {
    place: &'a Place<'a>,
    number: usize,
    start: usize,
}

impl StepPlace<'_> {
    /// A problem of the step at `offset` (a table inside it).
    fn at(&self, offset: usize, message: impl fmt::Display) -> ScriptError {
        self.place
            .at(offset, format!("step {}: {message}", self.number))
    }

    /// A problem of the step as a whole.
    fn here(&self, message: impl fmt::Display) -> ScriptError {
        self.at(self.start, message)
    }
}

/// The file as TOML reads it; a syntax or type error points at its place when TOML knows it.
fn read_toml(place: &Place<'_>) -> Result<RawScript, ScriptError> {
    toml::from_str(place.text).map_err(|e| {
        let offset = e.span().map(|s| s.start);
        let message = e.message().trim().to_string();
        match offset {
            Some(o) => place.at(o, message),
            None => place.nowhere(message),
        }
    })
}

/// One `[[step]]`, checked: exactly one action, and `may_fail` only where it applies.
fn parse_step(
    place: &Place<'_>,
    number: usize,
    spanned: Spanned<RawStep>,
) -> Result<Step, ScriptError> {
    let step = StepPlace {
        place,
        number,
        start: spanned.span().start,
    };
    let mut raw = spanned.into_inner();
    let attempts = raw.attempt.take();
    let may_fail = raw.may_fail;
    let action = one_action(&step, step_actions(&step, raw)?)?;
    if may_fail.is_some() && !action.can_fail() {
        return Err(step.here(format!(
            "may_fail does not apply to `{}`; only write, append, run, commit, concern, handoff and variation steps can fail",
            action.key()
        )));
    }
    let (line, _) = crate::config::line_col(place.text, step.start);
    Ok(Step {
        number,
        line,
        attempts,
        may_fail: may_fail.unwrap_or(false),
        action,
    })
}

/// The actions a step names, each checked, in the order of [`ACTIONS`].
fn step_actions(step: &StepPlace<'_>, raw: RawStep) -> Result<Vec<Action>, ScriptError> {
    let mut actions: Vec<Action> = Vec::new();
    if let Some(s) = raw.say {
        actions.push(Action::Say(s));
    }
    for (file, append) in [(raw.write, false), (raw.append, true)] {
        if let Some(f) = file {
            actions.push(file_action(step, f, append)?);
        }
    }
    if let Some(command) = raw.run {
        actions.push(run_action(step, command)?);
    }
    if let Some(message) = raw.commit {
        actions.push(commit_action(step, message)?);
    }
    if let Some(c) = raw.concern {
        actions.push(concern_action(step, c)?);
    }
    if let Some(h) = raw.handoff {
        actions.push(handoff_action(step, h)?);
    }
    if let Some(v) = raw.variation {
        actions.push(variation_action(step, v)?);
    }
    if let Some(f) = raw.fail {
        actions.push(fail_action(step, f)?);
    }
    if let Some(u) = raw.usage {
        actions.push(usage_action(step, u)?);
    }
    if let Some(ms) = raw.sleep_ms {
        actions.push(Action::Sleep(ms));
    }
    if let Some(e) = raw.emit {
        actions.push(emit_action(step, e)?);
    }
    Ok(actions)
}

/// A step does one thing.
fn one_action(step: &StepPlace<'_>, mut actions: Vec<Action>) -> Result<Action, ScriptError> {
    if actions.len() > 1 {
        let keys: Vec<&str> = actions.iter().map(Action::key).collect();
        return Err(step.here(format!(
            "a step does one thing, this one has {}; put each in its own [[step]]",
            keys.join(" and ")
        )));
    }
    actions
        .pop()
        .ok_or_else(|| step.here(format!("a step needs one of {ACTIONS}")))
}

/// `write` / `append`: the path stays inside the worktree.
fn file_action(
    step: &StepPlace<'_>,
    f: Spanned<FileStep>,
    append: bool,
) -> Result<Action, ScriptError> {
    let offset = f.span().start;
    let f = f.into_inner();
    check_relative_path(&f.path).map_err(|m| step.at(offset, m))?;
    Ok(if append {
        Action::Append(f)
    } else {
        Action::Write(f)
    })
}

fn run_action(step: &StepPlace<'_>, command: String) -> Result<Action, ScriptError> {
    if command.trim().is_empty() {
        return Err(step.here("`run` needs a command"));
    }
    Ok(Action::Run(command))
}

fn commit_action(step: &StepPlace<'_>, message: String) -> Result<Action, ScriptError> {
    if message.trim().is_empty() {
        return Err(step.here("`commit` needs a commit message"));
    }
    Ok(Action::Commit(message))
}

fn concern_action(step: &StepPlace<'_>, c: ConcernStep) -> Result<Action, ScriptError> {
    for (field, v) in [("category", &c.category), ("summary", &c.summary)] {
        if v.trim().is_empty() {
            return Err(step.here(format!("a concern needs a {field}")));
        }
    }
    Ok(Action::Concern(c))
}

fn handoff_action(step: &StepPlace<'_>, h: HandoffStep) -> Result<Action, ScriptError> {
    for (field, v) in [("purpose", &h.purpose), ("summary", &h.summary)] {
        if v.trim().is_empty() {
            return Err(step.here(format!("a handoff needs a {field}")));
        }
    }
    Ok(Action::Handoff(h))
}

fn variation_action(step: &StepPlace<'_>, v: VariationStep) -> Result<Action, ScriptError> {
    if v.title.trim().is_empty() {
        return Err(step.here("a variation needs a title"));
    }
    Ok(Action::Variation(v))
}

/// `fail`: `retry_after_ms` and `status` only with their kind, a real HTTP status, and a
/// `times` that fails at least once.
fn fail_action(step: &StepPlace<'_>, f: Spanned<FailStep>) -> Result<Action, ScriptError> {
    let offset = f.span().start;
    let f = f.into_inner();
    let bad = |m: &str| step.at(offset, m);
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
    Ok(Action::Fail(f))
}

/// `usage`: a cost of zero or more, cached input part of the input.
fn usage_action(step: &StepPlace<'_>, u: Spanned<UsageStep>) -> Result<Action, ScriptError> {
    let offset = u.span().start;
    let u = u.into_inner();
    if let Some(c) = u.cost_usd {
        if !c.is_finite() || c < 0.0 {
            return Err(step.at(
                offset,
                format!("cost_usd must be an amount of zero or more, not {c}"),
            ));
        }
    }
    if u.cached_input > u.input {
        return Err(step.at(
            offset,
            format!(
                "cached_input ({}) is part of input ({}) and cannot exceed it",
                u.cached_input, u.input
            ),
        ));
    }
    Ok(Action::Usage(u))
}

/// `emit`: a rate above zero.
fn emit_action(step: &StepPlace<'_>, e: Spanned<EmitStep>) -> Result<Action, ScriptError> {
    let offset = e.span().start;
    let e = e.into_inner();
    if let Some(r) = e.per_sec {
        if !r.is_finite() || r <= 0.0 {
            return Err(step.at(offset, format!("per_sec must be more than 0, not {r}")));
        }
    }
    Ok(Action::Emit(e))
}

/// `[answers]`: the keys in the file's order; `default` answers what no key matches.
fn parse_answers(
    place: &Place<'_>,
    answers: BTreeMap<Spanned<String>, String>,
) -> Result<Answers, ScriptError> {
    let mut entries: Vec<(usize, String, String)> = Vec::new();
    let mut default = None;
    for (key, answer) in answers {
        let offset = key.span().start;
        let key = key.into_inner();
        if key == "default" {
            default = Some(answer);
        } else if key.trim().is_empty() {
            return Err(place.at(
                offset,
                "[answers]: an empty key would match every question; use `default`".into(),
            ));
        } else {
            entries.push((offset, key, answer));
        }
    }
    entries.sort_by_key(|(offset, _, _)| *offset);
    Ok(Answers {
        entries: entries.into_iter().map(|(_, k, a)| (k, a)).collect(),
        default,
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
