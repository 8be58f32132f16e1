//! The command bar's logic (the widget is drawn by the screen): completion of command names
//! and of the ids the grammar takes in each position (agents, concerns, approvals,
//! checkpoints, phases), and the history of submitted lines. Pure; the text grammar itself is
//! `protocol::grammar`, shared with the CLI and Discord.

use std::collections::VecDeque;

use crate::protocol::grammar::COMMANDS;
use crate::protocol::State;

/// Lines kept in the history.
pub const HISTORY: usize = 200;

/// What a word at some position of a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Agent,
    Concern,
    /// An approval, a variation, or a shorthand target (`plan`, …).
    Target,
    Checkpoint,
    Phase,
    Task,
    Free,
}

/// The kind of the first argument of each command that takes an id.
fn first_arg(command: &str) -> Kind {
    match command {
        "clarify" | "assign" | "pause" | "resume" => Kind::Agent,
        "ack" | "resolve" => Kind::Concern,
        "approve" | "defer" | "reject" => Kind::Target,
        "rollback" => Kind::Checkpoint,
        "promote" => Kind::Phase,
        "task" => Kind::Task,
        _ => Kind::Free,
    }
}

fn candidates(kind: Kind, state: &State) -> Vec<String> {
    match kind {
        Kind::Agent => {
            let mut v: Vec<String> = state.agents.keys().cloned().collect();
            v.push("all".into());
            v
        }
        Kind::Concern => state.open_concerns().map(|c| c.id.to_string()).collect(),
        Kind::Target => {
            let mut v: Vec<String> = state
                .pending_approvals()
                .map(|a| a.id.to_string())
                .collect();
            v.extend(
                state
                    .variations
                    .values()
                    .filter(|v| v.decision.is_none())
                    .map(|v| v.id.to_string()),
            );
            v
        }
        Kind::Checkpoint => {
            let mut v: Vec<String> = state
                .checkpoints
                .iter()
                .rev()
                .map(|c| c.name.trim_start_matches("checkpoint/").to_string())
                .collect();
            v.push("undo".into());
            v
        }
        Kind::Phase => state
            .plan
            .as_ref()
            .map(|p| p.phases.iter().map(|p| p.id.clone()).collect())
            .unwrap_or_default(),
        Kind::Task => state
            .plan
            .as_ref()
            .map(|p| p.tasks().map(|t| t.id.clone()).collect())
            .unwrap_or_default(),
        Kind::Free => Vec::new(),
    }
}

/// Completions of the last word of `input`, as whole lines, in order. Empty when nothing fits.
pub fn complete(input: &str, state: &State) -> Vec<String> {
    let slash = input.starts_with('/');
    let body = input.trim_start_matches('/');
    let words: Vec<&str> = body.split(' ').collect();
    let prefix_of = |upto: usize| -> String {
        let mut p = if slash {
            "/".to_string()
        } else {
            String::new()
        };
        p.push_str(&words[..upto].join(" "));
        if upto > 0 {
            p.push(' ');
        }
        p
    };
    match words.len() {
        1 => {
            let w = words[0].to_ascii_lowercase();
            COMMANDS
                .iter()
                .filter(|c| c.human && c.name.starts_with(&w))
                .map(|c| format!("/{} ", c.name))
                .collect()
        }
        2 => {
            let kind = first_arg(&words[0].to_ascii_lowercase());
            let w = words[1];
            candidates(kind, state)
                .into_iter()
                .filter(|c| c.to_ascii_lowercase().starts_with(&w.to_ascii_lowercase()))
                .map(|c| format!("{}{c} ", prefix_of(1)))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Submitted lines, newest last, with a cursor for up/down.
#[derive(Debug, Clone, Default)]
pub struct History {
    lines: VecDeque<String>,
    /// Position while browsing (`None`: not browsing).
    cursor: Option<usize>,
}

impl History {
    pub fn push(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        if self.lines.back().map(String::as_str) != Some(line) {
            if self.lines.len() == HISTORY {
                self.lines.pop_front();
            }
            self.lines.push_back(line.to_string());
        }
        self.cursor = None;
    }

    /// The previous (older) line.
    pub fn up(&mut self) -> Option<&str> {
        if self.lines.is_empty() {
            return None;
        }
        let i = match self.cursor {
            None => self.lines.len() - 1,
            Some(0) => 0,
            Some(i) => i - 1,
        };
        self.cursor = Some(i);
        self.lines.get(i).map(String::as_str)
    }

    /// The next (newer) line; `None` past the newest (back to an empty line).
    pub fn down(&mut self) -> Option<&str> {
        match self.cursor {
            None => None,
            Some(i) if i + 1 >= self.lines.len() => {
                self.cursor = None;
                None
            }
            Some(i) => {
                self.cursor = Some(i + 1);
                self.lines.get(i + 1).map(String::as_str)
            }
        }
    }
}
