//! Line-oriented streaming parsers of each agent CLI's structured output, all giving
//! [`AgentEvent`]s:
//!
//! | CLI | output | parser |
//! |-----|--------|--------|
//! | Codex | `codex exec --json` (JSONL) | [`CodexParser`] |
//! | Claude Code | `claude -p --output-format stream-json --verbose` (JSONL) | [`ClaudeParser`] |
//! | Gemini CLI | `gemini -p --output-format stream-json` (JSONL); `--output-format json` | [`GeminiParser`]; [`gemini_json`] |
//! | aider | `aider --message … --no-pretty` (text) | [`AiderParser`] |
//!
//! A parser is fed one line of the CLI's stdout at a time ([`AgentParser::line`], with or
//! without its line ending) and keeps what it needs across lines (ids, text being streamed,
//! usage baselines). When the stream ends, [`AgentParser::finish`] gets the exit code (`None`
//! when a signal killed the process) and closes a run the CLI left open. An adapter that sent
//! the CLI a cancel signal says so first ([`AgentParser::cancel_requested`]): a CLI cancelled
//! by a signal often prints no final event, and without that word the parser cannot tell a
//! cancelled run from a crashed one.
//!
//! **Nothing panics, whatever the input.** A line of a JSON CLI that is not JSON, a JSON value
//! that is not an object with a string `type`, and an event type the parser does not know all
//! become a [`AgentEvent::Warning`] with `error: None`, a message saying what was wrong with a
//! short excerpt of the line, and the whole line in `raw`; parsing goes on with the next line.
//! Known event types that carry nothing for the normalized stream (Codex `turn.started`,
//! Claude `system/status` and most `stream_event`s) give no event. Blank lines are skipped.
//! Lines of any size are read as they are (`serde_json` refuses nesting deeper than 128).
//! aider prints text, so none of its lines is malformed: a line is part of the model's answer,
//! a line aider prints about itself (parsed or skipped), or a start-up complaint (a warning);
//! see [`AiderParser`].

mod aider;
mod claude;
mod codex;
mod gemini;
mod native;

pub use aider::AiderParser;
pub use claude::ClaudeParser;
pub use codex::CodexParser;
pub use gemini::{gemini_json, GeminiParser};
pub use native::{native_line, NativeParser};

use serde_json::Value;

use super::classify::cut;
use super::event::{AgentError, AgentEvent, ErrorKind};

/// What every CLI's parser does; each parser also has these as inherent methods.
pub trait AgentParser {
    /// Reads one line of the CLI's stdout and returns the events it gives (often none).
    fn line(&mut self, line: &str) -> Vec<AgentEvent>;
    /// The stream ended and the process exited with `exit` (`None`: killed by a signal).
    /// Closes a run left open with a [`AgentEvent::Finished`] saying why (interrupted,
    /// crashed, the CLI's exit code meaning); returns nothing more when the run already ended.
    /// Calling it again returns nothing.
    fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent>;
    /// The adapter sent the CLI a cancel signal (SIGINT, SIGTERM or SIGKILL, or Claude's
    /// interrupt request): an end of stream without a final event now means "interrupted",
    /// not "crashed".
    fn cancel_requested(&mut self);
    /// The session's cumulative usage seen so far, for the CLIs that report totals (Codex,
    /// Claude Code): hand it to the parser of the session's next run.
    fn usage_tracker(&self) -> Option<crate::agent::UsageTracker> {
        None
    }
}

/// How much of a line a warning quotes.
const EXCERPT: usize = 160;

/// The line without its line ending.
pub(crate) fn strip_eol(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// A short quote of a line for a warning message.
pub(crate) fn excerpt(line: &str) -> String {
    let short = cut(line, EXCERPT);
    if short.len() < line.len() {
        format!("{short}… ({} bytes)", line.len())
    } else {
        short.to_string()
    }
}

/// A warning about a line the parser could not read.
pub(crate) fn unreadable(message: String, raw: &str) -> AgentEvent {
    AgentEvent::Warning {
        message,
        error: None,
        raw: raw.to_string(),
    }
}

/// Reads one JSONL line (its line end already stripped) as an object with a string `type`:
/// `Ok(None)` for a blank line, `Ok(Some((event, type)))`, or the warning to emit for a line
/// that is not JSON, not an object, or has no type. Any line that is not blank counts as
/// output (`Run::seen_output`).
pub(crate) fn json_event(
    cli: &str,
    run: &mut Run,
    line: &str,
) -> Result<Option<(Value, String)>, AgentEvent> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    run.seen_output = true;
    let value = serde_json::from_str::<Value>(line).map_err(|e| {
        unreadable(
            format!(
                "{cli} printed a line that is not JSON ({e}): {}",
                excerpt(line)
            ),
            line,
        )
    })?;
    let Some(object) = value.as_object() else {
        return Err(unreadable(
            format!(
                "{cli} printed JSON that is not an object: {}",
                excerpt(line)
            ),
            line,
        ));
    };
    match object.get("type").and_then(Value::as_str) {
        Some(kind) => {
            let kind = kind.to_string();
            Ok(Some((value, kind)))
        }
        None => Err(unreadable(
            format!("{cli} printed an event without a type: {}", excerpt(line)),
            line,
        )),
    }
}

/// A warning for an event type this parser does not know.
pub(crate) fn unknown_type(cli: &str, kind: &str, line: &str) -> AgentEvent {
    unreadable(
        format!(
            "{cli} printed an event of unknown type `{}`",
            cut(kind, EXCERPT)
        ),
        line,
    )
}

pub(crate) fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A token counter: a non-negative integer (a float is floored; anything else is 0).
pub(crate) fn count_at(value: &Value, key: &str) -> u64 {
    match value.get(key) {
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f.min(u64::MAX as f64) as u64)
            })
            .unwrap_or(0),
        None => 0,
    }
}

/// A money amount: a finite non-negative number.
pub(crate) fn usd_at(value: &Value, key: &str) -> Option<f64> {
    value
        .get(key)
        .and_then(Value::as_f64)
        .filter(|f| f.is_finite() && *f >= 0.0)
}

/// A tool's input as one short line: compact JSON, cut.
pub(crate) fn compact_json(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => one_line(s),
        Value::Object(o) if o.is_empty() => String::new(),
        other => one_line(&other.to_string()),
    }
}

/// The first line of `text`, cut to a summary's length.
pub(crate) fn one_line(text: &str) -> String {
    const SUMMARY: usize = 200;
    let first = text.lines().next().unwrap_or("").trim();
    let short = cut(first, SUMMARY);
    if short.len() < first.len() || text.trim().lines().nth(1).is_some() {
        format!("{short}…")
    } else {
        short.to_string()
    }
}

/// The state of the current run that every parser keeps, and the end-of-stream rules.
#[derive(Debug, Default)]
pub(crate) struct Run {
    /// Any line was read.
    pub seen_output: bool,
    /// `Some(ok)` once the current run's `Finished` was emitted.
    pub finished: Option<bool>,
    /// The adapter sent a cancel signal.
    pub cancel_requested: bool,
    /// The CLI itself said the user interrupted the run (Claude's `[Request interrupted by
    /// user]`).
    pub interrupted: Option<String>,
    /// The last error the CLI reported without ending the run.
    pub last_error: Option<AgentError>,
    /// `finish` was called.
    pub closed: bool,
}

impl Run {
    /// A new run starts (a new turn in the same process): forget the previous run's end.
    pub fn start(&mut self) {
        self.finished = None;
        self.interrupted = None;
        self.last_error = None;
    }

    /// Records that the run ended (the caller emits the `Finished`).
    pub fn end(&mut self, ok: bool) {
        self.finished = Some(ok);
    }

    /// The end-of-stream rules shared by the JSON CLIs. `cli` names the CLI in messages;
    /// `final_events` names the events that should have ended the run; `exit_meaning` gives
    /// the CLI's documented exit codes.
    pub fn end_of_stream(
        &mut self,
        cli: &str,
        final_events: &str,
        exit: Option<i32>,
        exit_meaning: fn(i32) -> Option<(ErrorKind, &'static str)>,
    ) -> Vec<AgentEvent> {
        if self.closed {
            return Vec::new();
        }
        self.closed = true;
        let exit_text = match exit {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_string(),
        };
        if let Some(ok) = self.finished {
            if ok && exit != Some(0) && !self.cancel_requested {
                return vec![AgentEvent::Warning {
                    message: format!("{cli} reported success, then ended with {exit_text}"),
                    error: None,
                    raw: String::new(),
                }];
            }
            return Vec::new();
        }
        let error = if self.cancel_requested || self.interrupted.is_some() {
            let why = match &self.interrupted {
                Some(said) => format!("{cli} was interrupted ({said})"),
                None => format!("{cli} was interrupted by our cancel request"),
            };
            AgentError::new(
                ErrorKind::Interrupted,
                format!("{why} and ended without a final event ({exit_text})"),
            )
        } else if let Some((kind, meaning)) = exit.and_then(exit_meaning) {
            AgentError::new(
                kind,
                format!("{cli} ended without a final event with {exit_text}: {meaning}"),
            )
        } else if let Some(last) = &self.last_error {
            AgentError {
                kind: last.kind,
                message: format!(
                    "{cli} ended without a final event ({exit_text}) after an error: {}",
                    last.message
                ),
                code: last.code.clone(),
            }
        } else if !self.seen_output {
            AgentError::new(
                ErrorKind::Crashed { exit_code: exit },
                format!("{cli} printed nothing and ended ({exit_text})"),
            )
        } else {
            AgentError::new(
                ErrorKind::Crashed { exit_code: exit },
                format!(
                    "{cli} ended without a final event (no {final_events}; {exit_text}): it crashed or was killed"
                ),
            )
        };
        self.finished = Some(false);
        vec![AgentEvent::Finished {
            ok: false,
            result_text: None,
            error: Some(error),
            raw: String::new(),
        }]
    }
}

/// No documented exit codes.
pub(crate) fn no_exit_meaning(_: i32) -> Option<(ErrorKind, &'static str)> {
    None
}

/// A tool call's summary: the first of its usual arguments that is there (the command, the
/// file, the pattern, the URL, the query), else its arguments as compact JSON.
pub(crate) fn tool_summary(input: &Value) -> String {
    const KEYS: [&str; 12] = [
        "command",
        "file_path",
        "absolute_path",
        "notebook_path",
        "path",
        "dir_path",
        "pattern",
        "url",
        "query",
        "description",
        "prompt",
        "paths",
    ];
    for key in KEYS {
        match input.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => return one_line(s),
            Some(Value::Array(items)) if !items.is_empty() => {
                let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                if !parts.is_empty() {
                    return one_line(&parts.join(", "));
                }
            }
            _ => {}
        }
    }
    compact_json(input)
}
