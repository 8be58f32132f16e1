//! Gemini CLI 0.61.0: `gemini -p … --output-format stream-json` (one JSON event per line,
//! [`GeminiParser`]) and `--output-format json` (one JSON document at the end,
//! [`gemini_json`]).
//!
//! | Gemini event | events |
//! |--------------|--------|
//! | `init{session_id, model}` | `Started` |
//! | `message{role: "assistant", content, delta: true}` | `Text{delta: true}` |
//! | `message{role: "assistant", content}` (no `delta`) | `Text{delta: false}` |
//! | `message{role: "user"}` | — (the prompt, echoed) |
//! | `tool_use{tool_name, tool_id, parameters}` | `ToolStarted` |
//! | `tool_result{tool_id, status, output, error}` | `ToolFinished{ok: status == "success"}` |
//! | `error{severity, message}` | `Warning`, classified |
//! | `result{status, error, stats}` | `Usage`, then `Finished{ok: status == "success"}` |
//!
//! Gemini streams a message only as deltas and never sends it whole: when the next
//! non-message event (or the end of the stream) shows the message is over, the parser emits
//! the whole message as `Text{delta: false}` with an empty `raw`, and the last one is the
//! `result_text` of `Finished`. A shell command that exits non-zero is still a `tool_result`
//! with `status: "success"` (its exit code only reaches the model).
//!
//! Usage: `stats.input_tokens` (cached tokens included), `stats.cached`,
//! `stats.output_tokens`; the stream's stats have no reasoning count (`reasoning: 0`). Gemini
//! reports no dollars. Its counters are per run, not cumulative.
//!
//! Exit codes without a `result`: 41 auth, 42 input error, 53 turn limit, 55 untrusted folder;
//! they decide the error of the synthesized `Finished`. 173 (429 mod 256) comes after a rate
//! limit and after an exhausted quota alike, so it never decides: the error's text does (an
//! `error` event or the `result`'s error, classified with status 429); only a run that said
//! nothing at all and exited 173 is taken for a rate limit.

use std::collections::HashSet;

use serde_json::Value;

use super::{
    count_at, json_event, str_at, strip_eol, tool_summary, unknown_type, AgentParser, Run,
};
use crate::agent::classify::ApiErrorText;
use crate::agent::event::{AgentError, AgentEvent, ErrorKind, ToolKind};
use crate::agent::usage::Usage;

const CLI: &str = "gemini";

/// The parser of Gemini CLI's stream-json output.
#[derive(Debug, Default)]
pub struct GeminiParser {
    run: Run,
    session_id: Option<String>,
    /// The assistant message being streamed as deltas.
    pending: String,
    /// The last whole assistant message of the run.
    last_text: Option<String>,
    /// Tools whose `ToolStarted` was emitted.
    started: HashSet<String>,
}

impl GeminiParser {
    pub fn new() -> GeminiParser {
        GeminiParser::default()
    }

    /// The session id, once `init` was read.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Reads one line of output. See the module documentation for the mapping.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = strip_eol(line);
        let (value, kind) = match json_event(CLI, &mut self.run, line) {
            Ok(Some(found)) => found,
            Ok(None) => return Vec::new(),
            Err(warning) => return vec![warning],
        };
        let kind = kind.as_str();
        let event = &value;
        let raw = || line.to_string();
        if kind == "message" {
            if str_at(event, "role") != Some("assistant") {
                return Vec::new();
            }
            let text = str_at(event, "content").unwrap_or("");
            if event.get("delta").and_then(Value::as_bool) == Some(true) {
                if text.is_empty() {
                    return Vec::new();
                }
                self.pending.push_str(text);
                return vec![AgentEvent::Text {
                    text: text.to_string(),
                    delta: true,
                    raw: raw(),
                }];
            }
            // A whole message replaces whatever deltas came before it.
            self.pending.clear();
            self.last_text = Some(text.to_string());
            return vec![AgentEvent::Text {
                text: text.to_string(),
                delta: false,
                raw: raw(),
            }];
        }

        let mut events = self.flush_text();
        match kind {
            "init" => {
                self.run.start();
                self.last_text = None;
                let session = str_at(event, "session_id").map(str::to_string);
                self.session_id = session.clone().or(self.session_id.take());
                events.push(AgentEvent::Started {
                    session_id: session,
                    model: str_at(event, "model").map(str::to_string),
                    raw: raw(),
                });
            }
            "tool_use" => {
                let id = str_at(event, "tool_id").unwrap_or("").to_string();
                if self.started.insert(id.clone()) {
                    let name = str_at(event, "tool_name").unwrap_or("").to_string();
                    events.push(AgentEvent::ToolStarted {
                        id,
                        kind: tool_kind(&name),
                        summary: event
                            .get("parameters")
                            .map(tool_summary)
                            .unwrap_or_default(),
                        name,
                        raw: raw(),
                    });
                }
            }
            "tool_result" => {
                let id = str_at(event, "tool_id").unwrap_or("").to_string();
                if self.started.insert(id.clone()) {
                    events.push(AgentEvent::ToolStarted {
                        id: id.clone(),
                        kind: ToolKind::Other,
                        name: String::new(),
                        summary: String::new(),
                        raw: raw(),
                    });
                }
                let ok = str_at(event, "status") == Some("success");
                let output = match str_at(event, "output") {
                    Some(o) if !o.is_empty() || ok => o.to_string(),
                    _ => event
                        .get("error")
                        .and_then(|e| str_at(e, "message"))
                        .unwrap_or("")
                        .to_string(),
                };
                events.push(AgentEvent::ToolFinished {
                    id,
                    ok,
                    output,
                    raw: raw(),
                });
            }
            "error" => {
                let message = str_at(event, "message").unwrap_or("gemini reported an error");
                let api = ApiErrorText::read(message);
                let kind = api.kind();
                self.run.last_error = Some(AgentError {
                    kind,
                    message: api.message.clone(),
                    code: api.code,
                });
                events.push(AgentEvent::Warning {
                    message: api.message,
                    error: Some(kind),
                    raw: raw(),
                });
            }
            "result" => {
                let usage = event.get("stats").map_or_else(Usage::default, stream_usage);
                let ok = str_at(event, "status") == Some("success");
                let error = (!ok).then(|| result_error(event.get("error"), &self.run));
                self.run.end(ok);
                events.push(AgentEvent::Usage { usage, raw: raw() });
                events.push(AgentEvent::Finished {
                    ok,
                    result_text: if ok { self.last_text.clone() } else { None },
                    error,
                    raw: raw(),
                });
            }
            other => events.push(unknown_type(CLI, other, line)),
        }
        events
    }

    /// The whole text of a message streamed as deltas, once it is over.
    fn flush_text(&mut self) -> Vec<AgentEvent> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let text = std::mem::take(&mut self.pending);
        self.last_text = Some(text.clone());
        vec![AgentEvent::Text {
            text,
            delta: false,
            raw: String::new(),
        }]
    }

    /// The stream ended. See [`AgentParser::finish`].
    pub fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        if self.run.closed {
            return Vec::new();
        }
        let mut events = self.flush_text();
        // An error the CLI printed says more than its exit code 173 does.
        let meaning = if self.run.last_error.is_some() {
            exit_meaning_but_429
        } else {
            exit_meaning
        };
        events.extend(self.run.end_of_stream(CLI, "result", exit, meaning));
        events
    }

    /// We sent gemini a cancel signal. See [`AgentParser::cancel_requested`].
    pub fn cancel_requested(&mut self) {
        self.run.cancel_requested = true;
    }
}

impl AgentParser for GeminiParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        GeminiParser::line(self, line)
    }
    fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        GeminiParser::finish(self, exit)
    }
    fn cancel_requested(&mut self) {
        GeminiParser::cancel_requested(self)
    }
}

/// What Gemini CLI's documented exit codes mean.
fn exit_meaning(code: i32) -> Option<(ErrorKind, &'static str)> {
    match code {
        41 => Some((ErrorKind::Auth, "authentication failed")),
        42 => Some((ErrorKind::Other, "input error")),
        53 => Some((ErrorKind::Other, "turn limit reached")),
        55 => Some((
            ErrorKind::Other,
            "untrusted folder (headless mode needs --skip-trust)",
        )),
        173 => Some((
            ErrorKind::RateLimited {
                retry_after_ms: None,
            },
            "HTTP 429 (a rate limit or a quota) with no message saying which",
        )),
        _ => None,
    }
}

/// [`exit_meaning`] without 173, for a run whose own error text decides.
fn exit_meaning_but_429(code: i32) -> Option<(ErrorKind, &'static str)> {
    (code != 173).then(|| exit_meaning(code)).flatten()
}

/// The error of a `result` (or a json document) that is not a success.
fn result_error(error: Option<&Value>, run: &Run) -> AgentError {
    match error {
        Some(e) => {
            let message = str_at(e, "message")
                .or_else(|| e.as_str())
                .unwrap_or("gemini reported an error without a message");
            let mut api = ApiErrorText::read(message);
            if api.code.is_none() {
                api.code = str_at(e, "type").map(str::to_string);
            }
            let exit = e
                .get("code")
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok());
            let kind = match exit.and_then(exit_meaning_but_429) {
                Some((kind, _)) => kind,
                None if exit == Some(173) => api.kind_with_status(api.status.or(Some(429))),
                None => api.kind(),
            };
            AgentError {
                kind,
                message: api.message,
                code: api.code,
            }
        }
        None => match &run.last_error {
            Some(last) => last.clone(),
            None => AgentError::new(ErrorKind::Other, "gemini reported that the run failed"),
        },
    }
}

/// Usage from a stream-json `result.stats`.
fn stream_usage(stats: &Value) -> Usage {
    let cached = count_at(stats, "cached");
    let input = match stats.get("input_tokens") {
        Some(_) => count_at(stats, "input_tokens"),
        None => count_at(stats, "input").saturating_add(cached),
    };
    Usage {
        input,
        cached_input: cached,
        output: count_at(stats, "output_tokens"),
        reasoning: 0,
        cost_usd: None,
    }
}

/// Reads the single JSON document of `gemini -p … --output-format json`: `Started` (its
/// `session_id`), the `response` as one whole `Text`, `Usage` summed over `stats.models`
/// (`tokens.prompt` with cached ones included, `tokens.cached`, `tokens.candidates +
/// tokens.thoughts`, `tokens.thoughts`), then `Finished` (an `error{type, message, code}`
/// makes it a failure, `code` being the exit code). Text that is not such a document gives
/// one warning and a failed `Finished`. Every event's `raw` is the whole document.
pub fn gemini_json(document: &str) -> Vec<AgentEvent> {
    let raw = || document.to_string();
    let value = match serde_json::from_str::<Value>(document) {
        Ok(v) if v.is_object() => v,
        Ok(_) | Err(_) => {
            return vec![
                super::unreadable(
                    format!(
                    "gemini --output-format json printed something that is not a JSON object: {}",
                    super::excerpt(document)
                ),
                    document,
                ),
                AgentEvent::Finished {
                    ok: false,
                    result_text: None,
                    error: Some(AgentError::new(
                        ErrorKind::Other,
                        "gemini's json output could not be read",
                    )),
                    raw: raw(),
                },
            ]
        }
    };
    let mut events = vec![AgentEvent::Started {
        session_id: str_at(&value, "session_id").map(str::to_string),
        model: value
            .get("stats")
            .and_then(|s| s.get("models"))
            .and_then(Value::as_object)
            .filter(|m| m.len() == 1)
            .and_then(|m| m.keys().next().cloned()),
        raw: raw(),
    }];
    let response = str_at(&value, "response").map(str::to_string);
    if let Some(text) = response.as_ref().filter(|t| !t.is_empty()) {
        events.push(AgentEvent::Text {
            text: text.clone(),
            delta: false,
            raw: raw(),
        });
    }
    if let Some(models) = value
        .get("stats")
        .and_then(|s| s.get("models"))
        .and_then(Value::as_object)
    {
        let mut usage = Usage::default();
        for model in models.values() {
            let Some(tokens) = model.get("tokens") else {
                continue;
            };
            let thoughts = count_at(tokens, "thoughts");
            usage = usage.add(&Usage {
                input: count_at(tokens, "prompt"),
                cached_input: count_at(tokens, "cached"),
                output: count_at(tokens, "candidates").saturating_add(thoughts),
                reasoning: thoughts,
                cost_usd: None,
            });
        }
        events.push(AgentEvent::Usage { usage, raw: raw() });
    }
    let error = value
        .get("error")
        .filter(|e| !e.is_null())
        .map(|e| result_error(Some(e), &Run::default()));
    events.push(AgentEvent::Finished {
        ok: error.is_none(),
        result_text: if error.is_none() { response } else { None },
        error,
        raw: raw(),
    });
    events
}

/// The family of one of Gemini CLI's tools.
fn tool_kind(name: &str) -> ToolKind {
    match name {
        "run_shell_command" => ToolKind::Shell,
        "replace" | "write_file" | "edit" | "smart_edit" => ToolKind::Edit,
        "read_file" | "read_many_files" | "list_directory" => ToolKind::Read,
        "glob" | "search_file_content" | "grep" => ToolKind::Search,
        "web_fetch" | "google_web_search" => ToolKind::Web,
        _ => ToolKind::Other,
    }
}
