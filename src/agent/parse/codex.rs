//! `codex exec --json` (codex-cli 0.169.0): one JSON event per line.
//!
//! | Codex event | events |
//! |-------------|--------|
//! | `thread.started{thread_id}` | `Started{session_id: thread_id}` |
//! | `turn.started` | — (a new turn: the previous one's end is forgotten) |
//! | `item.started` of a tool item | `ToolStarted` |
//! | `item.completed` of a tool item | `ToolStarted` (if not seen yet), `ToolFinished` |
//! | `item.completed` `agent_message{text}` | `Text{delta: false}` |
//! | `item.completed` `reasoning{text}` | `Reasoning` |
//! | `item.completed` `error{message}` | `Warning` (a non-fatal error item) |
//! | `item.updated`, `todo_list` items | — |
//! | `error{message}` | `Warning`, classified (`Reconnecting... 429` is not terminal) |
//! | `turn.completed{usage}` | `Usage` (delta, see below), `Finished{ok: true}` |
//! | `turn.failed{error{message}}` | `Finished{ok: false}` with the API's message |
//!
//! Tool items: `command_execution` (kind shell; summary: the command, without the `bash -lc`
//! wrapper; ok when `completed` with exit code 0), `file_change` (edit; `update README.md,
//! add src/x.rs`), `mcp_tool_call` (mcp; named `server.tool`), `web_search` (web).
//!
//! `turn.completed.usage` is cumulative over a resumed thread: the parser turns it into a
//! delta with a [`UsageTracker`]; give the thread's tracker to a resumed run with
//! [`CodexParser::with_usage_tracker`] and keep [`CodexParser::usage_tracker`] for the next.
//! Codex reports no dollars (`cost_usd: None`). `input_tokens` already includes
//! `cached_input_tokens`; `cache_write_input_tokens` is not kept apart.
//!
//! `codex exec` sends no text deltas and, when cancelled by SIGINT, no final event (exit 1).

use std::collections::HashSet;

use serde_json::Value;

use super::{
    compact_json, count_at, json_event, no_exit_meaning, one_line, str_at, strip_eol, unknown_type,
    AgentParser, Run,
};
use crate::agent::classify::{classify, ApiErrorText};
use crate::agent::event::{AgentError, AgentEvent, ToolKind};
use crate::agent::usage::{Usage, UsageTracker};

const CLI: &str = "codex";

/// The parser of `codex exec --json`.
#[derive(Debug, Default)]
pub struct CodexParser {
    run: Run,
    usage: UsageTracker,
    thread_id: Option<String>,
    /// Tool items whose `ToolStarted` was emitted.
    started: HashSet<String>,
    /// The last whole agent message of the turn.
    last_message: Option<String>,
}

impl CodexParser {
    /// A parser for a new thread.
    pub fn new() -> CodexParser {
        CodexParser::default()
    }

    /// A parser for a resumed thread, continuing its usage totals.
    pub fn with_usage_tracker(usage: UsageTracker) -> CodexParser {
        CodexParser {
            usage,
            ..CodexParser::default()
        }
    }

    /// The thread's usage totals so far (to keep for the next resumed run).
    pub fn usage_tracker(&self) -> &UsageTracker {
        &self.usage
    }

    /// The thread id, once `thread.started` was read.
    pub fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_deref()
    }

    /// Reads one line of output. See the module documentation for the mapping.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = strip_eol(line);
        let (event, kind) = match json_event(CLI, &mut self.run, line) {
            Ok(Some(found)) => found,
            Ok(None) => return Vec::new(),
            Err(warning) => return vec![warning],
        };
        let kind = kind.as_str();
        let raw = || line.to_string();
        match kind {
            "thread.started" => {
                self.run.start();
                let id = event.get("thread_id").and_then(Value::as_str);
                self.thread_id = id.map(str::to_string);
                vec![AgentEvent::Started {
                    session_id: id.map(str::to_string),
                    model: None,
                    raw: raw(),
                }]
            }
            "turn.started" => {
                self.run.start();
                self.last_message = None;
                Vec::new()
            }
            "item.started" | "item.updated" | "item.completed" => {
                let Some(item) = event.get("item").filter(|i| i.is_object()) else {
                    return vec![super::unreadable(
                        format!("codex `{kind}` without an item"),
                        line,
                    )];
                };
                self.item(kind, item, line)
            }
            "turn.completed" => {
                let usage = event.get("usage").map_or_else(Usage::default, |u| Usage {
                    input: count_at(u, "input_tokens"),
                    cached_input: count_at(u, "cached_input_tokens"),
                    output: count_at(u, "output_tokens"),
                    reasoning: count_at(u, "reasoning_output_tokens"),
                    cost_usd: None,
                });
                let delta = self.usage.observe(&usage);
                self.run.end(true);
                vec![
                    AgentEvent::Usage {
                        usage: delta,
                        raw: raw(),
                    },
                    AgentEvent::Finished {
                        ok: true,
                        result_text: self.last_message.clone(),
                        error: None,
                        raw: raw(),
                    },
                ]
            }
            "turn.failed" => {
                let message = event
                    .get("error")
                    .and_then(|e| str_at(e, "message"))
                    .unwrap_or("codex reported that the turn failed, without a message");
                let api = ApiErrorText::read(message);
                self.run.end(false);
                vec![AgentEvent::Finished {
                    ok: false,
                    result_text: None,
                    error: Some(AgentError {
                        kind: api.kind(),
                        message: api.message,
                        code: api.code,
                    }),
                    raw: raw(),
                }]
            }
            "error" => {
                let message = event
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("codex reported an error without a message");
                let api = ApiErrorText::read(message);
                let kind = api.kind();
                self.run.last_error = Some(AgentError {
                    kind,
                    message: api.message.clone(),
                    code: api.code,
                });
                vec![AgentEvent::Warning {
                    message: api.message,
                    error: Some(kind),
                    raw: raw(),
                }]
            }
            other => vec![unknown_type(CLI, other, line)],
        }
    }

    fn item(&mut self, phase: &str, item: &Value, line: &str) -> Vec<AgentEvent> {
        let id = str_at(item, "id").unwrap_or("").to_string();
        let item_type = str_at(item, "type").unwrap_or("");
        let raw = || line.to_string();
        let completed = phase == "item.completed";
        match item_type {
            "command_execution" | "file_change" | "mcp_tool_call" | "web_search" => {
                let mut events = Vec::new();
                if phase == "item.updated" {
                    return events;
                }
                if self.started.insert(id.clone()) {
                    let (kind, name, summary) = tool_start(item_type, item);
                    events.push(AgentEvent::ToolStarted {
                        id: id.clone(),
                        kind,
                        name,
                        summary,
                        raw: raw(),
                    });
                }
                if completed {
                    let (ok, output) = tool_end(item_type, item);
                    events.push(AgentEvent::ToolFinished {
                        id,
                        ok,
                        output,
                        raw: raw(),
                    });
                }
                events
            }
            "agent_message" if completed => {
                let text = str_at(item, "text").unwrap_or("").to_string();
                self.last_message = Some(text.clone());
                vec![AgentEvent::Text {
                    text,
                    delta: false,
                    raw: raw(),
                }]
            }
            "reasoning" if completed => {
                let text = str_at(item, "text").unwrap_or("").to_string();
                vec![AgentEvent::Reasoning { text, raw: raw() }]
            }
            "error" if completed => {
                let message = str_at(item, "message").unwrap_or("").to_string();
                let kind = classify(&message, None, None);
                vec![AgentEvent::Warning {
                    message,
                    error: Some(kind),
                    raw: raw(),
                }]
            }
            "agent_message" | "reasoning" | "error" | "todo_list" => Vec::new(),
            other if completed => vec![super::unreadable(
                format!("codex item of unknown type `{}`", one_line(other)),
                line,
            )],
            _ => Vec::new(),
        }
    }

    /// The stream ended. See [`AgentParser::finish`].
    pub fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        self.run
            .end_of_stream(CLI, "turn.completed or turn.failed", exit, no_exit_meaning)
    }

    /// We sent codex a cancel signal. See [`AgentParser::cancel_requested`].
    pub fn cancel_requested(&mut self) {
        self.run.cancel_requested = true;
    }
}

impl AgentParser for CodexParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        CodexParser::line(self, line)
    }
    fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        CodexParser::finish(self, exit)
    }
    fn cancel_requested(&mut self) {
        CodexParser::cancel_requested(self)
    }
    fn usage_tracker(&self) -> Option<crate::agent::UsageTracker> {
        Some(*CodexParser::usage_tracker(self))
    }
}

fn tool_start(item_type: &str, item: &Value) -> (ToolKind, String, String) {
    match item_type {
        "command_execution" => (
            ToolKind::Shell,
            item_type.to_string(),
            one_line(&unwrap_shell(str_at(item, "command").unwrap_or(""))),
        ),
        "file_change" => (ToolKind::Edit, item_type.to_string(), changes(item)),
        "mcp_tool_call" => {
            let server = str_at(item, "server").unwrap_or("");
            let tool = str_at(item, "tool").unwrap_or("");
            let name = if server.is_empty() {
                tool.to_string()
            } else {
                format!("{server}.{tool}")
            };
            let args = item.get("arguments").map(compact_json).unwrap_or_default();
            (ToolKind::Mcp, name, args)
        }
        _ => (
            ToolKind::Web,
            item_type.to_string(),
            one_line(str_at(item, "query").unwrap_or("")),
        ),
    }
}

fn tool_end(item_type: &str, item: &Value) -> (bool, String) {
    let completed = str_at(item, "status") == Some("completed");
    match item_type {
        "command_execution" => {
            let exit = item.get("exit_code").and_then(Value::as_i64);
            let output = str_at(item, "aggregated_output").unwrap_or("").to_string();
            (completed && exit.is_none_or(|c| c == 0), output)
        }
        "file_change" => (completed, changes(item)),
        "mcp_tool_call" => {
            let error = item
                .get("error")
                .and_then(|e| str_at(e, "message").or_else(|| e.as_str()));
            match error {
                Some(message) => (false, message.to_string()),
                None => {
                    let output = match item.get("result") {
                        Some(result) => mcp_result_text(result),
                        None => String::new(),
                    };
                    (completed, output)
                }
            }
        }
        _ => (completed || item.get("status").is_none(), String::new()),
    }
}

/// `update README.md, add src/new.rs` from a `file_change` item.
fn changes(item: &Value) -> String {
    item.get("changes")
        .and_then(Value::as_array)
        .map(|changes| {
            changes
                .iter()
                .map(|c| {
                    let kind = str_at(c, "kind").unwrap_or("change");
                    let path = str_at(c, "path").unwrap_or("?");
                    format!("{kind} {path}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The text of an MCP result (`{content: [{type: "text", text}]}`), else its JSON.
fn mcp_result_text(result: &Value) -> String {
    let texts: Vec<&str> = result
        .get("content")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(|b| str_at(b, "text")).collect())
        .unwrap_or_default();
    if texts.is_empty() {
        result.to_string()
    } else {
        texts.join("\n")
    }
}

/// `echo hi` from `/bin/bash -lc 'echo hi'` (Codex runs every command through a login shell);
/// any other command as it is.
fn unwrap_shell(command: &str) -> String {
    for shell in ["/bin/bash", "bash", "/bin/zsh", "zsh", "/bin/sh", "sh"] {
        let Some(rest) = command
            .strip_prefix(shell)
            .and_then(|r| r.strip_prefix(" -lc "))
        else {
            continue;
        };
        let rest = rest.trim();
        if let Some(inner) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            return inner.replace("'\\''", "'");
        }
        if let Some(inner) = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            return inner.to_string();
        }
        return rest.to_string();
    }
    command.to_string()
}
