//! Overlord's own line format, spoken by the scripted adapter (`overlord-tui script-agent`)
//! and accepted from any command run through the generic `command` adapter: one JSON object
//! per line, an [`AgentEvent`] as serde writes it without its `raw` field
//! (`{"type":"text","text":"…","delta":false}`, `{"type":"finished","ok":true,…}`).
//!
//! For the generic adapter a line that is not such an object is plain text from the agent
//! (a whole message), so any program that prints text works; the run's verdict is then its
//! exit code.

use serde_json::Value;

use super::{excerpt, strip_eol, AgentParser, Run};
use crate::agent::event::{AgentError, AgentEvent, ErrorKind};

/// Parses Overlord's native JSON lines; other lines are text (`lenient`) or warnings.
#[derive(Debug)]
pub struct NativeParser {
    cli: String,
    /// Lines that are not native events are the agent's text (the generic command adapter).
    lenient: bool,
    run: Run,
    last_text: Option<String>,
}

impl NativeParser {
    /// `cli` names the program in messages; `lenient` reads non-JSON lines as text.
    pub fn new(cli: &str, lenient: bool) -> NativeParser {
        NativeParser {
            cli: cli.to_string(),
            lenient,
            run: Run::default(),
            last_text: None,
        }
    }

    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = strip_eol(line);
        if line.trim().is_empty() {
            return Vec::new();
        }
        self.run.seen_output = true;
        let parsed = serde_json::from_str::<Value>(line)
            .ok()
            .filter(|v| v.get("type").and_then(Value::as_str).is_some())
            .and_then(|mut v| {
                v.as_object_mut()?
                    .insert("raw".into(), Value::String(line.to_string()));
                serde_json::from_value::<AgentEvent>(v).ok()
            });
        let event = match parsed {
            Some(e) => e,
            None if self.lenient => AgentEvent::Text {
                text: line.to_string(),
                delta: false,
                raw: line.to_string(),
            },
            None => {
                return vec![AgentEvent::Warning {
                    message: format!(
                        "{} printed a line that is not an Overlord event: {}",
                        self.cli,
                        excerpt(line)
                    ),
                    error: None,
                    raw: line.to_string(),
                }]
            }
        };
        match &event {
            AgentEvent::Started { .. } => self.run.start(),
            AgentEvent::Text {
                text, delta: false, ..
            } => self.last_text = Some(text.clone()),
            AgentEvent::Warning {
                message,
                error: Some(kind),
                ..
            } => self.run.last_error = Some(AgentError::new(*kind, message.clone())),
            AgentEvent::Finished { ok, .. } => self.run.end(*ok),
            _ => {}
        }
        vec![event]
    }

    pub fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        if self.lenient
            && self.run.finished.is_none()
            && !self.run.closed
            && !self.run.cancel_requested
        {
            if exit == Some(0) {
                self.run.closed = true;
                self.run.end(true);
                return vec![AgentEvent::Finished {
                    ok: true,
                    result_text: self.last_text.clone(),
                    error: None,
                    raw: String::new(),
                }];
            }
            if let Some(code) = exit {
                self.run.closed = true;
                self.run.end(false);
                let mut message = format!("{} exited with code {code}", self.cli);
                if let Some(t) = &self.last_text {
                    message.push_str(&format!(": {}", excerpt(t)));
                }
                return vec![AgentEvent::Finished {
                    ok: false,
                    result_text: None,
                    error: Some(AgentError::new(
                        ErrorKind::Crashed {
                            exit_code: Some(code),
                        },
                        message,
                    )),
                    raw: String::new(),
                }];
            }
        }
        let cli = self.cli.clone();
        self.run
            .end_of_stream(&cli, "finished event", exit, super::no_exit_meaning)
    }

    pub fn cancel_requested(&mut self) {
        self.run.cancel_requested = true;
    }
}

impl AgentParser for NativeParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        NativeParser::line(self, line)
    }
    fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        NativeParser::finish(self, exit)
    }
    fn cancel_requested(&mut self) {
        NativeParser::cancel_requested(self)
    }
}

/// One event as a native line (what the scripted agent prints).
pub fn native_line(event: &AgentEvent) -> String {
    let mut v = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("raw");
    }
    v.to_string()
}
