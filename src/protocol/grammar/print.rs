//! `print`: a `Command` back to a line that parses to the same command. Free text is written
//! as typed when it reads back the same, quoted otherwise; each command family writes its
//! own words and flags.

use std::fmt;

use super::tokens::looks_like_concern;
use crate::protocol::command::{Command, Target};

/// Free text as the last argument: as typed when it reads back the same, quoted otherwise.
fn text_arg(text: &str, has_flags: bool) -> String {
    let plain = !text.is_empty()
        && text.trim() == text
        && !text.chars().any(char::is_control)
        && !text
            .split_whitespace()
            .any(|w| w.starts_with('"') || (has_flags && w.starts_with("--")));
    if plain {
        text.to_string()
    } else {
        quote(text)
    }
}

/// A single word: as is when it is one plain word, quoted otherwise.
fn word_arg(word: &str) -> String {
    let plain = !word.is_empty()
        && !word.starts_with('"')
        && !word.starts_with("--")
        && !word.chars().any(|c| c.is_whitespace() || c.is_control());
    if plain {
        word.to_string()
    } else {
        quote(word)
    }
}

pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The line being printed: each argument is added after a space.
struct Line(String);

impl Line {
    fn push(&mut self, s: String) {
        self.0.push(' ');
        self.0.push_str(&s);
    }
}

/// Prints a command in the grammar; `parse(&print(c)) == Ok(c)` for every valid command.
pub fn print(command: &Command) -> String {
    let mut line = Line(format!("/{}", command.name()));
    match command {
        Command::Malformed { line, .. } => return line.clone(),
        Command::Status | Command::Save | Command::Integrate => {}
        Command::Help { command } => {
            if let Some(c) = command {
                line.push(c.clone());
            }
        }
        Command::RegisterAgent { .. }
        | Command::Clarify { .. }
        | Command::Answer { .. }
        | Command::Assign { .. }
        | Command::Pause { .. }
        | Command::Resume { .. } => agents(command, &mut line),
        Command::RaiseConcern(_)
        | Command::Ack { .. }
        | Command::Resolve { .. }
        | Command::LinkMessage { .. } => concerns(command, &mut line),
        Command::ApproveTickets { tickets } => {
            line.push("tickets".to_string());
            for t in tickets {
                line.push(t.clone());
            }
        }
        Command::Approve { .. }
        | Command::Defer { .. }
        | Command::Reject { .. }
        | Command::RequestApproval { .. } => approvals(command, &mut line),
        Command::RecordHandoff(_) | Command::ProposeVariation(_) => variations(command, &mut line),
        Command::ImportPlan { .. }
        | Command::FileTickets { .. }
        | Command::NewPlan { .. }
        | Command::SetTaskStatus { .. }
        | Command::Promote { .. } => plan(command, &mut line),
        Command::Rollback { .. } => rollback(command, &mut line),
        Command::AdoptMain | Command::RestoreMain => line.push("main".to_string()),
    }
    line.0
}

/// `/agent`, `/clarify`, `/answer`, `/assign`, `/pause`, `/resume`.
fn agents(command: &Command, line: &mut Line) {
    match command {
        Command::Clarify { agent, message } => {
            line.push(agent.clone());
            line.push(text_arg(message, false));
        }
        Command::Answer {
            clarification,
            text,
        } => {
            line.push(clarification.to_string());
            line.push(text_arg(text, false));
        }
        Command::Assign {
            agent,
            concern,
            text,
        } => {
            line.push(agent.clone());
            match concern {
                Some(c) => {
                    line.push(c.to_string());
                    if !text.is_empty() {
                        line.push(text_arg(text, false));
                    }
                }
                None => {
                    let first = text.split_whitespace().next().unwrap_or("");
                    if looks_like_concern(first) {
                        line.push(quote(text));
                    } else {
                        line.push(text_arg(text, false));
                    }
                }
            }
        }
        Command::Pause { target } | Command::Resume { target } => line.push(match target {
            Target::All => "all".to_string(),
            Target::Agent(a) => a.clone(),
        }),
        Command::RegisterAgent {
            id,
            role,
            adapter,
            task,
        } => {
            line.push(id.clone());
            line.push(format!("--role {role}"));
            if let Some(a) = adapter {
                line.push(format!("--adapter {a}"));
            }
            if let Some(t) = task {
                line.push(format!("--task {t}"));
            }
        }
        // The other families print the other commands.
        _ => {}
    }
}

/// `/raise`, `/ack`, `/resolve`, `/link`.
fn concerns(command: &Command, line: &mut Line) {
    match command {
        Command::Ack { concern } => line.push(concern.to_string()),
        Command::Resolve { concern, note } => {
            line.push(concern.to_string());
            if let Some(n) = note {
                line.push(text_arg(n, false));
            }
        }
        Command::RaiseConcern(c) => {
            line.push(format!("--severity {}", c.severity));
            line.push(format!("--category {}", word_arg(&c.category)));
            if let Some(r) = c.from {
                line.push(format!("--from {r}"));
            }
            if let Some(r) = c.to {
                line.push(format!("--to {r}"));
            }
            if let Some(t) = &c.task {
                line.push(format!("--task {t}"));
            }
            if let Some(d) = &c.details {
                line.push(format!("--details {}", word_arg(d)));
            }
            line.push(text_arg(&c.summary, true));
        }
        Command::LinkMessage { concern, message } => {
            line.push(concern.to_string());
            line.push(message.clone());
        }
        // The other families print the other commands.
        _ => {}
    }
}

/// `/approve`, `/defer`, `/reject`, `/request`.
fn approvals(command: &Command, line: &mut Line) {
    match command {
        Command::Approve {
            target,
            conditions,
            note,
        } => {
            line.push(target.clone());
            if let Some(c) = conditions {
                line.push(format!("--conditions {}", word_arg(c)));
            }
            if let Some(n) = note {
                line.push(text_arg(n, true));
            }
        }
        Command::Defer { target, note } => {
            line.push(target.clone());
            if let Some(n) = note {
                line.push(text_arg(n, false));
            }
        }
        Command::Reject { target, reason } => {
            line.push(target.clone());
            line.push(text_arg(reason, false));
        }
        Command::RequestApproval {
            kind,
            subject,
            from,
            summary,
        } => {
            line.push(kind.to_string());
            line.push(word_arg(subject));
            if let Some(r) = from {
                line.push(format!("--from {r}"));
            }
            line.push(text_arg(summary, true));
        }
        // The other families print the other commands.
        _ => {}
    }
}

/// `/handoff`, `/propose`.
fn variations(command: &Command, line: &mut Line) {
    match command {
        Command::RecordHandoff(h) => {
            line.push(format!("--from {} --to {}", h.from, h.to));
            line.push(format!("--purpose {}", word_arg(&h.purpose)));
            for i in &h.inputs {
                line.push(format!("--input {}", word_arg(i)));
            }
            for o in &h.outputs {
                line.push(format!("--output {}", word_arg(o)));
            }
            if let Some(i) = h.impact {
                line.push(format!("--impact {i}"));
            }
            if let Some(s) = &h.status {
                line.push(format!("--status {}", word_arg(s)));
            }
            if let Some(t) = &h.task {
                line.push(format!("--task {t}"));
            }
            line.push(text_arg(&h.summary, true));
        }
        Command::ProposeVariation(v) => {
            line.push(format!("--impact {}", v.impact));
            if let Some(r) = v.from {
                line.push(format!("--from {r}"));
            }
            if let Some(r) = &v.rationale {
                line.push(format!("--rationale {}", word_arg(r)));
            }
            for m in &v.affects {
                line.push(format!("--affects {}", word_arg(m)));
            }
            line.push(text_arg(&v.title, true));
        }
        // The other families print the other commands.
        _ => {}
    }
}

/// `/import`, `/task`, `/promote`.
fn plan(command: &Command, line: &mut Line) {
    match command {
        Command::Promote { phase } => line.push(phase.clone()),
        Command::ImportPlan { path } | Command::FileTickets { path } => line.push(word_arg(path)),
        Command::NewPlan { goal } => line.push(text_arg(goal, false)),
        Command::SetTaskStatus { task, status, note } => {
            line.push(task.clone());
            line.push(status.to_string());
            if let Some(n) = note {
                line.push(text_arg(n, false));
            }
        }
        // The other families print the other commands.
        _ => {}
    }
}

/// `/rollback <checkpoint|undo> [--branch <name>] [reason]`.
fn rollback(command: &Command, line: &mut Line) {
    if let Command::Rollback {
        checkpoint,
        branch,
        reason,
    } = command
    {
        line.push(checkpoint.clone());
        if let Some(b) = branch {
            line.push(format!("--branch {b}"));
        }
        if let Some(r) = reason {
            line.push(text_arg(r, true));
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print(self))
    }
}
