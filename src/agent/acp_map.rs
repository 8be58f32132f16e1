//! An ACP session's updates as Overlord's agent events ([`AcpEvents`]): `tool_call` /
//! `tool_call_update` become `tool_started` / `tool_finished` (the ACP kind kept as the tool's
//! name, its file locations repo-relative in the summary of an edit, as the telemetry reads
//! edits), streamed `agent_message_chunk`s become live text and then the whole message, thought
//! chunks and plans become reasoning, and the prompt's `stopReason` becomes the run's end.

use std::collections::HashMap;
use std::path::Path;

use agent_client_protocol::v1::schema::{
    ContentBlock, Plan, SessionUpdate, StopReason, ToolCall, ToolCallContent, ToolCallLocation,
    ToolCallUpdate,
};
use serde::Serialize;

use crate::agent::event::{AgentError, AgentEvent, ErrorKind, ToolKind};
use crate::agent::usage::Usage;

/// The snake_case name serde gives a protocol enum (`edit`, `in_progress`, `end_turn`).
pub fn wire_name(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "other".into())
}

/// How the client's warning about a refused file request starts.
pub const REFUSED: &str = "refused to ";
/// How the client's note of a permission decision starts.
pub const PERMISSION: &str = "permission ";

/// How the note of a request asked of the human goes on (after [`PERMISSION`]):
/// `permission asked [p1]: execute `rm -rf build/``.
pub const ASKED: &str = "asked ";

/// A request asked of the human, as the client's note names it: its id, the tool kind, and
/// what it asks (`` execute `rm -rf build/` ``, with `(files: …)` where it names files).
pub fn parse_asked(message: &str) -> Option<(String, String, String)> {
    let rest = message.strip_prefix(PERMISSION)?.strip_prefix(ASKED)?;
    let (id, rest) = rest.strip_prefix('[')?.split_once("]: ")?;
    let (kind, what) = rest.split_once(' ')?;
    Some((id.to_string(), kind.to_string(), what.to_string()))
}

/// The id of a request asked of the human that the client's note says has ended
/// (`permission allowed [p1]: …`, `permission rejected [p1]: …`), and whether it was allowed.
pub fn parse_decided(message: &str) -> Option<(String, bool)> {
    let rest = message.strip_prefix(PERMISSION)?;
    let (allowed, rest) = match rest.strip_prefix("allowed [") {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix("rejected [")?),
    };
    let (id, _) = rest.split_once("]: ")?;
    Some((id.to_string(), allowed))
}

/// Whether a warning of the ACP client is one the audit must keep (each written at once): a
/// permission decision or a refused file request.
pub fn audited(message: &str) -> bool {
    message.starts_with(REFUSED) || message.starts_with(PERMISSION)
}

/// Overlord's tool kind for an ACP tool kind.
pub fn tool_kind(acp: &str) -> ToolKind {
    match acp {
        "read" => ToolKind::Read,
        "edit" | "delete" | "move" => ToolKind::Edit,
        "search" => ToolKind::Search,
        "execute" => ToolKind::Shell,
        "fetch" => ToolKind::Web,
        _ => ToolKind::Other,
    }
}

/// The state of one session's updates: open tools and the message being streamed.
#[derive(Debug)]
pub struct AcpEvents {
    worktree: std::path::PathBuf,
    /// Tools started and not yet finished.
    open: HashMap<String, String>,
    /// The agent message streamed since the last tool or the end.
    message: String,
    /// Every message of the turn, for the run's result.
    said: String,
    /// The session's cost in USD as the agent last reported it (`usage_update`, cumulative).
    cost_usd: f64,
}

impl AcpEvents {
    pub fn new(worktree: &Path) -> AcpEvents {
        AcpEvents {
            worktree: worktree.to_path_buf(),
            open: HashMap::new(),
            message: String::new(),
            said: String::new(),
            cost_usd: 0.0,
        }
    }

    /// The events one `session/update` gives.
    pub fn update(&mut self, update: SessionUpdate) -> Vec<AgentEvent> {
        match update {
            SessionUpdate::AgentMessageChunk(chunk) => match chunk.content {
                ContentBlock::Text(t) if !t.text.is_empty() => {
                    self.message.push_str(&t.text);
                    vec![AgentEvent::Text {
                        text: t.text,
                        delta: true,
                        raw: String::new(),
                    }]
                }
                _ => Vec::new(),
            },
            SessionUpdate::AgentThoughtChunk(chunk) => match chunk.content {
                ContentBlock::Text(t) if !t.text.is_empty() => vec![AgentEvent::Reasoning {
                    text: t.text,
                    raw: String::new(),
                }],
                _ => Vec::new(),
            },
            SessionUpdate::Plan(plan) => vec![AgentEvent::Reasoning {
                text: plan_text(&plan),
                raw: String::new(),
            }],
            SessionUpdate::ToolCall(call) => {
                let mut out = self.close_message();
                out.extend(self.tool_call(call));
                out
            }
            SessionUpdate::ToolCallUpdate(update) => {
                let mut out = self.close_message();
                out.extend(self.tool_update(update));
                out
            }
            SessionUpdate::UsageUpdate(u) => match u.cost {
                // Cumulative for the session: the run's events carry what it added.
                Some(c) if c.currency.eq_ignore_ascii_case("USD") && c.amount >= self.cost_usd => {
                    let delta = c.amount - self.cost_usd;
                    self.cost_usd = c.amount;
                    vec![AgentEvent::Usage {
                        usage: Usage {
                            cost_usd: Some(delta),
                            ..Usage::default()
                        },
                        raw: String::new(),
                    }]
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The tokens the turn's answer reports in its `_meta` (Gemini CLI:
    /// `_meta.quota.token_count {input_tokens, output_tokens}`, the turn's model calls added
    /// up): a usage event, or none when the agent says nothing (then the run's tokens stay
    /// unknown, never 0).
    pub fn prompt_answered(
        &mut self,
        meta: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Vec<AgentEvent> {
        let Some(count) = meta
            .and_then(|m| m.get("quota"))
            .and_then(|q| q.get("token_count"))
        else {
            return Vec::new();
        };
        let n = |k: &str| count.get(k).and_then(serde_json::Value::as_u64);
        match (n("input_tokens"), n("output_tokens")) {
            (None, None) => Vec::new(),
            (input, output) => vec![AgentEvent::Usage {
                usage: Usage {
                    input: input.unwrap_or(0),
                    output: output.unwrap_or(0),
                    ..Usage::default()
                },
                raw: String::new(),
            }],
        }
    }

    /// The whole message streamed so far, as one text event (none when nothing was said).
    fn close_message(&mut self) -> Vec<AgentEvent> {
        if self.message.trim().is_empty() {
            self.message.clear();
            return Vec::new();
        }
        let text = std::mem::take(&mut self.message);
        if !self.said.is_empty() {
            self.said.push('\n');
        }
        self.said.push_str(&text);
        vec![AgentEvent::Text {
            text,
            delta: false,
            raw: String::new(),
        }]
    }

    fn tool_call(&mut self, call: ToolCall) -> Vec<AgentEvent> {
        let id = call.tool_call_id.0.to_string();
        let kind = wire_name(&call.kind);
        let status = wire_name(&call.status);
        let mut out = vec![self.started(&id, &kind, &call.title, &call.locations)];
        if status == "completed" || status == "failed" {
            out.extend(self.finished(&id, status == "completed", &call.content));
        }
        out
    }

    fn tool_update(&mut self, update: ToolCallUpdate) -> Vec<AgentEvent> {
        let id = update.tool_call_id.0.to_string();
        let f = update.fields;
        let mut out = Vec::new();
        if !self.open.contains_key(&id) {
            // An update of a tool the agent never announced: started now.
            let kind = f
                .kind
                .as_ref()
                .map(wire_name)
                .unwrap_or_else(|| "other".into());
            let title = f.title.clone().unwrap_or_else(|| id.clone());
            let locations = f.locations.clone().unwrap_or_default();
            out.push(self.started(&id, &kind, &title, &locations));
        }
        let status = f.status.as_ref().map(wire_name).unwrap_or_default();
        if status == "completed" || status == "failed" {
            out.extend(self.finished(&id, status == "completed", &f.content.unwrap_or_default()));
        }
        out
    }

    fn started(
        &mut self,
        id: &str,
        kind: &str,
        title: &str,
        locations: &[ToolCallLocation],
    ) -> AgentEvent {
        self.open.insert(id.to_string(), kind.to_string());
        let files: Vec<String> = locations.iter().map(|l| self.relative(&l.path)).collect();
        let tool = tool_kind(kind);
        let summary = if tool == ToolKind::Edit && !files.is_empty() {
            files.join(", ")
        } else if files.is_empty() {
            title.to_string()
        } else {
            format!("{title} ({})", files.join(", "))
        };
        AgentEvent::ToolStarted {
            id: id.to_string(),
            kind: tool,
            name: kind.to_string(),
            summary,
            raw: String::new(),
        }
    }

    fn finished(&mut self, id: &str, ok: bool, content: &[ToolCallContent]) -> Vec<AgentEvent> {
        if self.open.remove(id).is_none() {
            return Vec::new();
        }
        let output: Vec<String> = content
            .iter()
            .filter_map(|c| match c {
                ToolCallContent::Content(c) => match &c.content {
                    ContentBlock::Text(t) => Some(t.text.clone()),
                    _ => None,
                },
                ToolCallContent::Diff(d) => Some(format!(
                    "{} {}",
                    if d.old_text.is_none() {
                        "created"
                    } else {
                        "changed"
                    },
                    self.relative(&d.path)
                )),
                _ => None,
            })
            .collect();
        vec![AgentEvent::ToolFinished {
            id: id.to_string(),
            ok,
            output: output.join("\n"),
            raw: String::new(),
        }]
    }

    /// A path of the agent's relative to the worktree (outside it: as given).
    fn relative(&self, path: &Path) -> String {
        let mut lexical = std::path::PathBuf::new();
        for c in path.components() {
            match c {
                std::path::Component::ParentDir => {
                    lexical.pop();
                }
                std::path::Component::CurDir => {}
                other => lexical.push(other),
            }
        }
        match lexical.strip_prefix(&self.worktree) {
            Ok(p) => p.display().to_string(),
            Err(_) => lexical.display().to_string(),
        }
    }

    /// The events that end the turn: the message still open, tools left open (not finished:
    /// the agent did not say), then the verdict of `stop_reason`.
    pub fn stop(&mut self, stop_reason: StopReason) -> Vec<AgentEvent> {
        let mut out = self.close_message();
        let reason = wire_name(&stop_reason);
        let result = (!self.said.is_empty()).then(|| self.said.clone());
        let error = match reason.as_str() {
            "end_turn" => None,
            "cancelled" => Some(AgentError::new(
                ErrorKind::Interrupted,
                "the agent stopped its turn on Overlord's cancel",
            )),
            "max_tokens" => Some(AgentError::new(
                ErrorKind::Other,
                "the agent stopped: it reached its maximum number of tokens",
            )),
            "max_turn_requests" => Some(AgentError::new(
                ErrorKind::Other,
                "the agent stopped: it reached its maximum number of model requests in a turn",
            )),
            "refusal" => Some(AgentError::new(
                ErrorKind::Other,
                "the agent refused the task",
            )),
            other => Some(AgentError::new(
                ErrorKind::Other,
                format!("the agent stopped its turn: {other}"),
            )),
        };
        out.push(AgentEvent::Finished {
            ok: error.is_none(),
            result_text: if error.is_none() { result } else { None },
            error,
            raw: String::new(),
        });
        out
    }
}

fn plan_text(plan: &Plan) -> String {
    let mut text = String::from("plan:");
    for e in &plan.entries {
        let mark = match wire_name(&e.status).as_str() {
            "completed" => "[x]",
            "in_progress" => "[~]",
            _ => "[ ]",
        };
        text.push_str(&format!("\n{mark} {}", e.content));
    }
    text
}
