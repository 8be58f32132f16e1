//! The command bar's logic (the widget is drawn by the screen): completion of command names
//! and of the ids the grammar takes in each position (agents, concerns, approvals,
//! checkpoints, phases), and the history of submitted lines. Pure; the text grammar itself is
//! `protocol::grammar`, shared with the CLI and Discord.

use std::collections::VecDeque;

use crate::protocol::grammar::COMMANDS;
use crate::protocol::ids::{first_arg, ids};
use crate::protocol::State;

/// Lines kept in the history.
pub const HISTORY: usize = 200;

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
            let Some(kind) = first_arg(&words[0].to_ascii_lowercase()) else {
                return Vec::new();
            };
            let w = words[1];
            ids(kind, state)
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
