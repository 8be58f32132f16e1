//! `claude -p --output-format stream-json --verbose` (Claude Code 2.1.329): one JSON message
//! per line, also in the stream-json *input* mode where one process runs several turns.
//!
//! | Claude message | events |
//! |----------------|--------|
//! | `system/init{session_id, model}` | `Started` (once per run: again after a `result`, or when the session changes) |
//! | `system/api_retry{attempt, max_retries, retry_delay_ms, error_status, error}` | `Warning`, classified (a 429 with `retry_delay_ms` as the wait) |
//! | other `system` subtypes (`status`, `compact_boundary`, …) | — |
//! | `assistant` content `text` | `Text{delta: false}` |
//! | `assistant` content `tool_use{id, name, input}` | `ToolStarted` (kind from the tool's name) |
//! | `assistant` content `thinking` | `Reasoning` |
//! | `assistant` with `is_api_error_message` or `error` | `Warning`, classified (not text: the CLI made it up) |
//! | `user` content `tool_result{tool_use_id, content, is_error}` | `ToolFinished` |
//! | `user` text `[Request interrupted by user…]` | — (remembered: the run was interrupted) |
//! | `stream_event` `content_block_delta` `text_delta` | `Text{delta: true}` |
//! | other `stream_event`s, `control_response`, `control_request`, `keep_alive`, `rate_limit_event` | — |
//! | `result` | `Usage`, then `Finished` |
//!
//! **`result`**: `ok` is `!is_error` (never `subtype`: an API 400 is `subtype: "success"`,
//! `is_error: true`). A failed run's error is classified from `result` (or `errors`),
//! `api_error_status`, `error`/`api_error_type` and `terminal_reason`; a `terminal_reason`
//! starting with `aborted` (the interrupt request of the input mode) or an interrupted run is
//! [`ErrorKind::Interrupted`].
//!
//! **Usage** comes only from `result` (usage on `assistant` lines is a snapshot taken when the
//! message started, and one message can span several lines). `total_cost_usd` and `modelUsage`
//! are cumulative over a resumed session; `model_usage_since_last_result` is this run's own:
//! the `Usage` event is `model_usage_since_last_result` summed over models when present, else
//! the delta of `modelUsage` and `total_cost_usd` through the session's [`UsageTracker`]
//! (given with [`ClaudeParser::with_usage_tracker`]), else the result's `usage` with the cost
//! delta. Claude's `input_tokens` leave out cache reads and writes; `input` adds them back.
//!
//! SIGINT: Claude prints `[Request interrupted by user]`, no `result`, and exits 0: `finish`
//! turns that into `Finished{ok: false}` with [`ErrorKind::Interrupted`].

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{
    count_at, json_event, str_at, strip_eol, tool_summary, unknown_type, usd_at, AgentParser, Run,
};
use crate::agent::classify::classify;
use crate::agent::event::{AgentError, AgentEvent, ErrorKind, ToolKind};
use crate::agent::usage::{Usage, UsageTracker};

const CLI: &str = "claude";

/// The parser of Claude Code's stream-json output.
#[derive(Debug, Default)]
pub struct ClaudeParser {
    run: Run,
    usage: UsageTracker,
    session_id: Option<String>,
    /// `Started` was emitted for the current run.
    in_run: bool,
    /// Tool uses whose `ToolStarted` was emitted.
    started: HashSet<String>,
    /// Text blocks already emitted, by message id (a message can be repeated across lines).
    texts: HashSet<(String, String)>,
    /// The last whole text of the run.
    last_text: Option<String>,
}

impl ClaudeParser {
    /// A parser for a new session.
    pub fn new() -> ClaudeParser {
        ClaudeParser::default()
    }

    /// A parser for a resumed session, continuing its cumulative totals.
    pub fn with_usage_tracker(usage: UsageTracker) -> ClaudeParser {
        ClaudeParser {
            usage,
            ..ClaudeParser::default()
        }
    }

    /// The session's cumulative totals so far (to keep for the next resumed run).
    pub fn usage_tracker(&self) -> &UsageTracker {
        &self.usage
    }

    /// The session id, once `system/init` was read.
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
        match kind {
            "system" => self.system(&value, line),
            "assistant" => self.assistant(&value, line),
            "user" => self.user(&value, line),
            "stream_event" => {
                let delta = value
                    .get("event")
                    .filter(|e| str_at(e, "type") == Some("content_block_delta"))
                    .and_then(|e| e.get("delta"))
                    .filter(|d| str_at(d, "type") == Some("text_delta"))
                    .and_then(|d| str_at(d, "text"));
                match delta {
                    Some(text) if !text.is_empty() => vec![AgentEvent::Text {
                        text: text.to_string(),
                        delta: true,
                        raw: line.to_string(),
                    }],
                    _ => Vec::new(),
                }
            }
            "result" => self.result(&value, line),
            "control_response"
            | "control_request"
            | "control_cancel_request"
            | "keep_alive"
            | "rate_limit_event" => Vec::new(),
            other => vec![unknown_type(CLI, other, line)],
        }
    }

    fn system(&mut self, event: &Value, line: &str) -> Vec<AgentEvent> {
        match str_at(event, "subtype") {
            Some("init") => {
                let session = str_at(event, "session_id").map(str::to_string);
                let new_session = session.is_some() && session != self.session_id;
                if session.is_some() {
                    self.session_id = session.clone();
                }
                if self.in_run && !new_session {
                    return Vec::new();
                }
                self.start_run();
                vec![AgentEvent::Started {
                    session_id: session,
                    model: str_at(event, "model").map(str::to_string),
                    raw: line.to_string(),
                }]
            }
            Some("api_retry") => {
                let status = event
                    .get("error_status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok());
                let error = str_at(event, "error").unwrap_or("unknown");
                let delay = event.get("retry_delay_ms").and_then(Value::as_u64);
                let mut kind = classify(error, status, None);
                if let ErrorKind::RateLimited { retry_after_ms } = &mut kind {
                    *retry_after_ms = retry_after_ms.or(delay);
                }
                let attempt = count_at(event, "attempt");
                let max = count_at(event, "max_retries");
                let mut message = format!("API retry {attempt}/{max}: {error}");
                if let Some(status) = status {
                    message.push_str(&format!(" (HTTP {status})"));
                }
                if let Some(delay) = delay {
                    message.push_str(&format!(", next try in {delay} ms"));
                }
                self.run.last_error =
                    Some(AgentError::new(kind, message.clone()).with_code(Some(error.to_string())));
                vec![AgentEvent::Warning {
                    message,
                    error: Some(kind),
                    raw: line.to_string(),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn start_run(&mut self) {
        self.run.start();
        self.in_run = true;
        self.last_text = None;
        self.texts.clear();
    }

    fn assistant(&mut self, event: &Value, line: &str) -> Vec<AgentEvent> {
        let raw = || line.to_string();
        let Some(message) = event.get("message") else {
            return vec![super::unreadable(
                "claude `assistant` message without a message".to_string(),
                line,
            )];
        };
        let message_id = str_at(message, "id").unwrap_or("").to_string();
        let blocks: &[Value] = message
            .get("content")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);

        let api_error = event.get("is_api_error_message").and_then(Value::as_bool) == Some(true)
            || event.get("error").and_then(Value::as_str).is_some();
        if api_error {
            let text: Vec<&str> = blocks.iter().filter_map(|b| str_at(b, "text")).collect();
            let text = if text.is_empty() {
                "Claude Code reported an API error".to_string()
            } else {
                text.join("\n")
            };
            let status = event
                .get("api_error_status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            let code = error_code(event);
            let kind = classify(&text, status, code.as_deref());
            self.run.last_error = Some(AgentError::new(kind, text.clone()).with_code(code));
            return vec![AgentEvent::Warning {
                message: text,
                error: Some(kind),
                raw: raw(),
            }];
        }

        let mut events = Vec::new();
        for block in blocks {
            match str_at(block, "type") {
                Some("text") => {
                    let text = str_at(block, "text").unwrap_or("");
                    if text.is_empty() || !self.texts.insert((message_id.clone(), text.to_string()))
                    {
                        continue;
                    }
                    self.last_text = Some(text.to_string());
                    events.push(AgentEvent::Text {
                        text: text.to_string(),
                        delta: false,
                        raw: raw(),
                    });
                }
                Some("tool_use") => {
                    let id = str_at(block, "id").unwrap_or("").to_string();
                    if !self.started.insert(id.clone()) {
                        continue;
                    }
                    let name = str_at(block, "name").unwrap_or("").to_string();
                    let summary = block.get("input").map(tool_summary).unwrap_or_default();
                    events.push(AgentEvent::ToolStarted {
                        id,
                        kind: tool_kind(&name),
                        name,
                        summary,
                        raw: raw(),
                    });
                }
                Some("thinking") => {
                    let text = str_at(block, "thinking").unwrap_or("");
                    if !text.is_empty() {
                        events.push(AgentEvent::Reasoning {
                            text: text.to_string(),
                            raw: raw(),
                        });
                    }
                }
                _ => {}
            }
        }
        events
    }

    fn user(&mut self, event: &Value, line: &str) -> Vec<AgentEvent> {
        let content = event.get("message").and_then(|m| m.get("content"));
        let mut events = Vec::new();
        match content {
            Some(Value::String(text)) => self.note_interrupt(text),
            Some(Value::Array(blocks)) => {
                for block in blocks {
                    match str_at(block, "type") {
                        Some("tool_result") => {
                            let id = str_at(block, "tool_use_id").unwrap_or("").to_string();
                            if self.started.insert(id.clone()) {
                                events.push(AgentEvent::ToolStarted {
                                    id: id.clone(),
                                    kind: ToolKind::Other,
                                    name: String::new(),
                                    summary: String::new(),
                                    raw: line.to_string(),
                                });
                            }
                            let ok = block.get("is_error").and_then(Value::as_bool) != Some(true);
                            events.push(AgentEvent::ToolFinished {
                                id,
                                ok,
                                output: block.get("content").map(result_text).unwrap_or_default(),
                                raw: line.to_string(),
                            });
                        }
                        Some("text") => self.note_interrupt(str_at(block, "text").unwrap_or("")),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        events
    }

    fn note_interrupt(&mut self, text: &str) {
        let text = text.trim();
        if text.starts_with("[Request interrupted by user") {
            self.run.interrupted = Some(text.to_string());
        }
    }

    fn result(&mut self, event: &Value, line: &str) -> Vec<AgentEvent> {
        let usage = self.result_usage(event);
        let subtype = str_at(event, "subtype").unwrap_or("");
        let is_error = event
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(subtype != "success");
        let result = str_at(event, "result").filter(|r| !r.trim().is_empty());
        let finished = if is_error {
            let terminal = str_at(event, "terminal_reason").unwrap_or("");
            let errors: Vec<&str> = event
                .get("errors")
                .and_then(Value::as_array)
                .map(|e| e.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let interrupted = terminal.starts_with("aborted") || self.run.interrupted.is_some();
            let message = match (result, errors.is_empty()) {
                (Some(r), _) => r.to_string(),
                (None, false) => errors.join("; "),
                (None, true) if interrupted => format!(
                    "claude was interrupted: the turn was aborted ({})",
                    self.run
                        .interrupted
                        .clone()
                        .unwrap_or_else(|| format!("terminal_reason {terminal}"))
                ),
                (None, true) => {
                    format!("claude ended the run with `{subtype}` (terminal_reason `{terminal}`)")
                }
            };
            let status = event
                .get("api_error_status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            let code = error_code(event).or_else(|| {
                Some(terminal.to_string()).filter(|t| !t.is_empty() && t != "completed")
            });
            let kind = if interrupted {
                ErrorKind::Interrupted
            } else {
                let hay = format!("{} {terminal}", code.as_deref().unwrap_or(""));
                classify(&message, status, Some(&hay))
            };
            AgentEvent::Finished {
                ok: false,
                result_text: None,
                error: Some(AgentError {
                    kind,
                    message,
                    code,
                }),
                raw: line.to_string(),
            }
        } else {
            AgentEvent::Finished {
                ok: true,
                result_text: result
                    .map(str::to_string)
                    .or_else(|| self.last_text.clone()),
                error: None,
                raw: line.to_string(),
            }
        };
        self.run.end(!is_error);
        self.in_run = false;
        vec![
            AgentEvent::Usage {
                usage,
                raw: line.to_string(),
            },
            finished,
        ]
    }

    /// This run's usage from a `result` (see the module documentation).
    fn result_usage(&mut self, result: &Value) -> Usage {
        let model_usage = result.get("modelUsage").and_then(Value::as_object);
        let baseline = self.usage.baseline();
        let mut cumulative = model_usage.map_or(baseline, sum_model_usage);
        cumulative.cost_usd = usd_at(result, "total_cost_usd").or(if model_usage.is_some() {
            cumulative.cost_usd
        } else {
            None
        });
        let tracked = self.usage.observe(&cumulative);
        if let Some(since) = result
            .get("model_usage_since_last_result")
            .and_then(Value::as_object)
        {
            return sum_model_usage(since);
        }
        if model_usage.is_some() {
            return tracked;
        }
        match result.get("usage").filter(|u| u.is_object()) {
            Some(usage) => {
                let cache_read = count_at(usage, "cache_read_input_tokens");
                Usage {
                    input: count_at(usage, "input_tokens")
                        .saturating_add(cache_read)
                        .saturating_add(count_at(usage, "cache_creation_input_tokens")),
                    cached_input: cache_read,
                    output: count_at(usage, "output_tokens"),
                    reasoning: usage
                        .get("output_tokens_details")
                        .map_or(0, |d| count_at(d, "thinking_tokens")),
                    cost_usd: tracked.cost_usd,
                }
            }
            None => tracked,
        }
    }

    /// The stream ended. See [`AgentParser::finish`].
    pub fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        self.run
            .end_of_stream(CLI, "result", exit, super::no_exit_meaning)
    }

    /// We sent claude a cancel signal or an interrupt request. See
    /// [`AgentParser::cancel_requested`].
    pub fn cancel_requested(&mut self) {
        self.run.cancel_requested = true;
    }
}

impl AgentParser for ClaudeParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        ClaudeParser::line(self, line)
    }
    fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        ClaudeParser::finish(self, exit)
    }
    fn cancel_requested(&mut self) {
        ClaudeParser::cancel_requested(self)
    }
    fn usage_tracker(&self) -> Option<crate::agent::UsageTracker> {
        Some(*ClaudeParser::usage_tracker(self))
    }
}

/// `modelUsage`-shaped totals (`{model: {inputTokens, cacheReadInputTokens, …, costUSD}}`)
/// summed over models.
fn sum_model_usage(models: &Map<String, Value>) -> Usage {
    let mut total = Usage {
        cost_usd: Some(0.0),
        ..Usage::default()
    };
    for m in models.values() {
        let cache_read = count_at(m, "cacheReadInputTokens");
        total = total.add(&Usage {
            input: count_at(m, "inputTokens")
                .saturating_add(cache_read)
                .saturating_add(count_at(m, "cacheCreationInputTokens")),
            cached_input: cache_read,
            output: count_at(m, "outputTokens"),
            reasoning: count_at(m, "thinkingTokens"),
            cost_usd: usd_at(m, "costUSD"),
        });
    }
    total
}

/// The error's type or code: `error` (`billing_error`, `rate_limit`; not `unknown`), else
/// `api_error_type`.
fn error_code(event: &Value) -> Option<String> {
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && *s != "unknown")
            .map(str::to_string)
    };
    text("error").or_else(|| text("api_error_type"))
}

/// A tool result's content: a string, or the text of its blocks.
fn result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match str_at(b, "text") {
                Some(t) => t.to_string(),
                None => format!("[{}]", str_at(b, "type").unwrap_or("content")),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The family of one of Claude Code's tools.
fn tool_kind(name: &str) -> ToolKind {
    match name {
        "Bash" | "BashOutput" | "KillShell" | "KillBash" | "Monitor" => ToolKind::Shell,
        "Edit" | "MultiEdit" | "Write" | "NotebookEdit" => ToolKind::Edit,
        "Read" | "LS" | "NotebookRead" => ToolKind::Read,
        "Grep" | "Glob" | "ToolSearch" => ToolKind::Search,
        "WebFetch" | "WebSearch" => ToolKind::Web,
        n if n.starts_with("mcp__") => ToolKind::Mcp,
        _ => ToolKind::Other,
    }
}
