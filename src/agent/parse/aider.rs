//! aider 0.86.2 with `--message … --no-pretty --no-fancy-input` (stdout and stderr together):
//! plain text, read line by line. The ground truth of what changed is `git diff`; this parser
//! gives what aider says.
//!
//! | aider prints | events |
//! |--------------|--------|
//! | anything before the `Aider v…` banner that looks like an error (`Error`, `Exception`, `Max retries exceeded`, `Traceback`) | `Warning` (start-up complaints, such as the failed price-list download) |
//! | `Main model: <model> with <format> edit format` | `Started{session_id: None, model}` |
//! | header lines (`Weak model:`, `Git repo:`, `Repo-map:`, `Added … to the chat.`, `https://aider.chat/…`) | — |
//! | `Warning…` in the header | `Warning` |
//! | the model's answer (every line after the header, up to `Tokens:`) | `Text{delta: true}` per line, then the whole message as `Text{delta: false}` |
//! | `Tokens: 2.0k sent[, 1.2k cache write][, 3.4k cache hit], 26 received. Cost: $0.0052 message, $0.0052 session.` | `Usage` (the message's cost; the cost may be on the next line) |
//! | `Applied edit to <file>` | `ToolStarted{kind: Edit, name: "edit"}` and `ToolFinished{ok: true}` |
//! | `Did not apply edit to <file> (--dry-run)` | the same with `ok: false` |
//! | `Commit <hash> <message>` | `ToolStarted{kind: Commit, name: "commit"}` and `ToolFinished{ok: true}` |
//! | `litellm.…Error: …`, `The LLM did not conform to the edit format.`, `… SEARCH/REPLACE block… failed to match` | `Warning`, classified |
//!
//! After a message's `Tokens:` line, a line aider did not print itself starts another message
//! (aider sends follow-ups after failed edits). Token counts are aider's rounded figures
//! (`2.0k` is 2000); `sent` includes the cache hits. aider has no final event: the stream's
//! end decides (`finish`): exit 0 is `Finished{ok: true}` with the last message as
//! `result_text`, unless aider gave no answer and reported an error.

use super::{one_line, strip_eol, AgentParser};
use crate::agent::classify::{classify, retry_after_ms};
use crate::agent::event::{AgentError, AgentEvent, ErrorKind, ToolKind};
use crate::agent::usage::Usage;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the `Aider v…` banner.
    #[default]
    Preamble,
    /// The banner and the lines about the model, the repository and the files.
    Header,
    /// The model's answer.
    Message,
    /// After a message's `Tokens:` line.
    AfterMessage,
}

/// The parser of aider's text output.
#[derive(Debug, Default)]
pub struct AiderParser {
    phase: Phase,
    started: bool,
    /// The message being printed.
    pending: String,
    /// The last whole message.
    last_text: Option<String>,
    /// A `Tokens:` line whose `Cost:` line may follow.
    pending_usage: Option<(Usage, String)>,
    edits: u64,
    seen_output: bool,
    cancel_requested: bool,
    last_error: Option<AgentError>,
    closed: bool,
}

impl AiderParser {
    pub fn new() -> AiderParser {
        AiderParser::default()
    }

    /// Reads one line of output. See the module documentation for the mapping.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = strip_eol(line);
        let text = line.trim();
        let mut events = Vec::new();
        if !text.is_empty() {
            self.seen_output = true;
        }

        if let Some((mut usage, raw)) = self.pending_usage.take() {
            if let Some(cost) = text.strip_prefix("Cost:").and_then(message_cost) {
                usage.cost_usd = Some(cost);
                events.push(AgentEvent::Usage {
                    usage,
                    raw: format!("{raw}\n{line}"),
                });
                return events;
            }
            events.push(AgentEvent::Usage { usage, raw });
        }

        if text.starts_with("Aider v") && self.phase == Phase::Preamble {
            self.phase = Phase::Header;
            return events;
        }
        if let Some(rest) = text.strip_prefix("Main model:") {
            let model = rest.split(" with ").next().unwrap_or("").trim();
            self.phase = Phase::Header;
            if !self.started {
                self.started = true;
                events.push(AgentEvent::Started {
                    session_id: None,
                    model: (!model.is_empty()).then(|| model.to_string()),
                    raw: line.to_string(),
                });
            }
            return events;
        }
        if let Some(rest) = text.strip_prefix("Tokens:") {
            events.extend(self.end_message());
            self.phase = Phase::AfterMessage;
            let (tokens, cost) = match rest.find("Cost:") {
                Some(at) => (&rest[..at], message_cost(&rest[at + "Cost:".len()..])),
                None => (rest, None),
            };
            let mut usage = tokens_usage(tokens);
            match cost {
                Some(cost) => {
                    usage.cost_usd = Some(cost);
                    events.push(AgentEvent::Usage {
                        usage,
                        raw: line.to_string(),
                    });
                }
                None => self.pending_usage = Some((usage, line.to_string())),
            }
            return events;
        }
        if let Some(path) = text.strip_prefix("Applied edit to ") {
            events.extend(self.end_message());
            self.phase = Phase::AfterMessage;
            events.extend(self.edit(path, true, line));
            return events;
        }
        if let Some(rest) = text.strip_prefix("Did not apply edit to ") {
            events.extend(self.end_message());
            self.phase = Phase::AfterMessage;
            let path = rest.trim_end_matches("(--dry-run)").trim();
            events.extend(self.edit(path, false, line));
            return events;
        }
        if self.phase != Phase::Message {
            if let Some(commit) = commit_line(text) {
                events.extend(self.tool(
                    format!("commit-{}", commit.0),
                    ToolKind::Commit,
                    "commit",
                    format!("{} {}", commit.0, commit.1),
                    true,
                    line,
                ));
                return events;
            }
        }
        if self.phase != Phase::Message || text.starts_with("litellm.") {
            if let Some(warning) = self.error_line(text, line) {
                events.push(warning);
                return events;
            }
        }

        match self.phase {
            Phase::Preamble => {
                let lower = text.to_lowercase();
                if ["error", "exception", "traceback", "max retries exceeded"]
                    .iter()
                    .any(|w| lower.contains(w))
                {
                    events.push(AgentEvent::Warning {
                        message: one_line(text),
                        error: None,
                        raw: line.to_string(),
                    });
                }
            }
            Phase::Header | Phase::AfterMessage => {
                if text.is_empty() || is_aider_info(text, self.phase) {
                    if text.starts_with("Warning") {
                        events.push(AgentEvent::Warning {
                            message: one_line(text),
                            error: None,
                            raw: line.to_string(),
                        });
                    }
                    return events;
                }
                if !self.started {
                    self.started = true;
                    events.push(AgentEvent::Started {
                        session_id: None,
                        model: None,
                        raw: String::new(),
                    });
                }
                self.phase = Phase::Message;
                events.push(self.message_line(line));
            }
            Phase::Message => events.push(self.message_line(line)),
        }
        events
    }

    fn message_line(&mut self, line: &str) -> AgentEvent {
        self.pending.push_str(line);
        self.pending.push('\n');
        AgentEvent::Text {
            text: format!("{line}\n"),
            delta: true,
            raw: line.to_string(),
        }
    }

    /// The whole message, once it is over.
    fn end_message(&mut self) -> Vec<AgentEvent> {
        let text = std::mem::take(&mut self.pending);
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Vec::new();
        }
        self.last_text = Some(text.to_string());
        vec![AgentEvent::Text {
            text: text.to_string(),
            delta: false,
            raw: String::new(),
        }]
    }

    fn edit(&mut self, path: &str, ok: bool, line: &str) -> Vec<AgentEvent> {
        self.edits += 1;
        let id = format!("edit-{}", self.edits);
        self.tool(
            id,
            ToolKind::Edit,
            "edit",
            path.trim().to_string(),
            ok,
            line,
        )
    }

    fn tool(
        &mut self,
        id: String,
        kind: ToolKind,
        name: &str,
        summary: String,
        ok: bool,
        line: &str,
    ) -> Vec<AgentEvent> {
        vec![
            AgentEvent::ToolStarted {
                id: id.clone(),
                kind,
                name: name.to_string(),
                summary,
                raw: line.to_string(),
            },
            AgentEvent::ToolFinished {
                id,
                ok,
                output: line.trim().to_string(),
                raw: line.to_string(),
            },
        ]
    }

    /// A warning for the errors aider reports (model API errors through litellm, edits it
    /// could not apply).
    fn error_line(&mut self, text: &str, line: &str) -> Option<AgentEvent> {
        if text.starts_with("Retrying in ") {
            let kind = match self.last_error.as_ref().map(|e| e.kind) {
                Some(ErrorKind::RateLimited { .. }) => ErrorKind::RateLimited {
                    retry_after_ms: retry_after_ms(text),
                },
                Some(kind) => kind,
                None => return None,
            };
            return Some(AgentEvent::Warning {
                message: text.to_string(),
                error: Some(kind),
                raw: line.to_string(),
            });
        }
        let api_error = text.starts_with("litellm.") && text.contains("Error");
        let edit_error = text.starts_with("The LLM did not conform to the edit format")
            || (text.contains("SEARCH/REPLACE block") && text.contains("failed to match"));
        if !api_error && !edit_error {
            return None;
        }
        let kind = if api_error {
            classify(text, None, None)
        } else {
            ErrorKind::Other
        };
        let message = one_line(text);
        if api_error {
            self.last_error = Some(AgentError::new(kind, message.clone()));
        }
        Some(AgentEvent::Warning {
            message,
            error: Some(kind),
            raw: line.to_string(),
        })
    }

    /// The stream ended. See [`AgentParser::finish`]: aider has no final event, so this always
    /// gives the run's `Finished` (once).
    pub fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        if self.closed {
            return Vec::new();
        }
        self.closed = true;
        let mut events = Vec::new();
        if let Some((usage, raw)) = self.pending_usage.take() {
            events.push(AgentEvent::Usage { usage, raw });
        }
        events.extend(self.end_message());
        let exit_text = match exit {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_string(),
        };
        let error = if self.cancel_requested {
            Some(AgentError::new(
                ErrorKind::Interrupted,
                format!("aider was interrupted by our cancel request ({exit_text})"),
            ))
        } else if exit == Some(0) {
            match (&self.last_text, &self.last_error) {
                (None, Some(last)) => Some(AgentError {
                    kind: last.kind,
                    message: format!("aider gave no answer after an error: {}", last.message),
                    code: None,
                }),
                _ => None,
            }
        } else if let Some(last) = &self.last_error {
            Some(AgentError {
                kind: last.kind,
                message: format!("aider ended ({exit_text}) after an error: {}", last.message),
                code: None,
            })
        } else if !self.seen_output {
            Some(AgentError::new(
                ErrorKind::Crashed { exit_code: exit },
                format!("aider printed nothing and ended ({exit_text})"),
            ))
        } else {
            Some(AgentError::new(
                ErrorKind::Crashed { exit_code: exit },
                format!("aider ended with {exit_text}: it crashed or was killed"),
            ))
        };
        events.push(AgentEvent::Finished {
            ok: error.is_none(),
            result_text: if error.is_none() {
                self.last_text.clone()
            } else {
                None
            },
            error,
            raw: String::new(),
        });
        events
    }

    /// We sent aider a cancel signal (SIGTERM: SIGINT does not stop it during a model call).
    pub fn cancel_requested(&mut self) {
        self.cancel_requested = true;
    }
}

impl AgentParser for AiderParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        AiderParser::line(self, line)
    }
    fn finish(&mut self, exit: Option<i32>) -> Vec<AgentEvent> {
        AiderParser::finish(self, exit)
    }
    fn cancel_requested(&mut self) {
        AiderParser::cancel_requested(self)
    }
}

/// Lines aider prints about itself in the header or between messages.
fn is_aider_info(text: &str, phase: Phase) -> bool {
    const ANY: [&str; 6] = [
        "https://aider.chat/",
        "Use /help",
        "You can use /undo",
        "No changes made to git tracked files",
        "Committing ",
        "Warning",
    ];
    const HEADER: [&str; 10] = [
        "Weak model:",
        "Editor model:",
        "Model:",
        "Git repo:",
        "Repo-map:",
        "Cur working dir:",
        "Restored previous conversation history",
        "Analytics",
        "Note:",
        "You can skip",
    ];
    if ANY.iter().any(|p| text.starts_with(p)) {
        return true;
    }
    if text.starts_with("Added ")
        && (text.contains(" to the chat") || text.contains("to .gitignore"))
    {
        return true;
    }
    phase == Phase::Header && HEADER.iter().any(|p| text.starts_with(p))
}

/// `(hash, message)` from `Commit 1a2b3c4 the message`.
fn commit_line(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("Commit ")?;
    let (hash, message) = rest.split_once(' ').unwrap_or((rest, ""));
    let hex = (7..=40).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit());
    hex.then_some((hash, message.trim()))
}

/// The counts of a `Tokens:` line: `2.0k sent, 1.2k cache write, 3.4k cache hit, 26 received.`
fn tokens_usage(tokens: &str) -> Usage {
    let mut usage = Usage::default();
    for part in tokens.split(", ") {
        let part = part.trim().trim_end_matches('.');
        let Some((number, label)) = part.split_once(' ') else {
            continue;
        };
        let Some(n) = token_count(number) else {
            continue;
        };
        match label.trim() {
            "sent" => usage.input = n,
            "cache hit" => usage.cached_input = n,
            "received" => usage.output = n,
            _ => {}
        }
    }
    usage
}

/// `26`, `2,400`, `2.0k`, `12k`, `1.5M`.
fn token_count(text: &str) -> Option<u64> {
    let text = text.trim().replace(',', "");
    let (number, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1_000.0),
        'm' | 'M' => (&text[..text.len() - 1], 1_000_000.0),
        _ => (text.as_str(), 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * scale).round().min(u64::MAX as f64) as u64)
}

/// The message's cost from ` $0.0052 message, $0.0052 session.` (older aider: `request`).
fn message_cost(cost: &str) -> Option<f64> {
    let first = cost.trim().strip_prefix('$')?;
    let number = first.split_whitespace().next()?;
    number
        .trim_end_matches(',')
        .replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|c| c.is_finite() && *c >= 0.0)
}
