//! The command bar's logic (the widget is drawn by the screen): completion of the word at the
//! cursor — command names and the ids the grammar takes in each position (agents, concerns,
//! approvals, checkpoints, phases, tasks) — the console's own commands (`/theme`), readline's
//! word deletion, and the history of submitted lines. Pure; the text grammar itself is
//! `protocol::grammar`, shared with the CLI and Discord.

use std::collections::VecDeque;

use crate::protocol::grammar::COMMANDS;
use crate::protocol::ids::{first_arg, ids, IdKind};
use crate::protocol::State;

/// Lines kept in the history.
pub const HISTORY: usize = 200;

/// Completions of the last word of `input`, as whole lines, in order. Empty when nothing fits.
pub fn complete(input: &str, state: &State) -> Vec<String> {
    let c = candidates_at(input, input.chars().count(), state);
    c.words
        .iter()
        .map(|w| replace_word(input, c.start, c.end, w).0)
        .collect()
}

/// The commands only the console knows (they change the console, not the project): name,
/// usage, summary.
pub const CONSOLE_COMMANDS: &[(&str, &str, &str)] = &[(
    "theme",
    "/theme [name] [--save]",
    "list the themes, or switch to one now (--save writes it to .overlord/config.toml)",
)];

/// A submitted line with its leading slashes made one (`//status`, `/status` and `status` are
/// the same command; `:` opens the bar already holding a `/`). Empty for a blank line.
pub fn normalize(line: &str) -> String {
    let body = line
        .trim()
        .trim_start_matches(|c: char| c == '/' || c.is_whitespace());
    if body.is_empty() {
        String::new()
    } else {
        format!("/{body}")
    }
}

/// The console-only command a line is, with its arguments (`None`: a command for the core).
pub fn console_command(line: &str) -> Option<(&'static str, Vec<String>)> {
    let line = normalize(line);
    let mut words = line.trim_start_matches('/').split_whitespace();
    let first = words.next()?.to_ascii_lowercase();
    let (name, _, _) = CONSOLE_COMMANDS.iter().find(|(n, _, _)| *n == first)?;
    Some((name, words.map(str::to_string).collect()))
}

/// The word under the cursor and what can replace it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidates {
    /// Where the word starts and ends, in characters.
    pub start: usize,
    pub end: usize,
    /// Whole words, in the order offered.
    pub words: Vec<String>,
}

/// What can replace the word at `cursor` (in characters) of `input`: a command name in the
/// first position, then what the grammar takes there — agents, concerns, approvals,
/// checkpoints, phases, tasks, command names after `/help`, theme names after `/theme`, the
/// answers to an agent's permission request after `/resolve C-n`.
/// The word may be anywhere on the line: what follows the cursor is kept.
pub fn candidates_at(input: &str, cursor: usize, state: &State) -> Candidates {
    let chars: Vec<char> = input.chars().collect();
    let cursor = cursor.min(chars.len());
    let start = chars[..cursor]
        .iter()
        .rposition(|c| *c == ' ')
        .map_or(0, |i| i + 1);
    let end = chars[cursor..]
        .iter()
        .position(|c| *c == ' ')
        .map_or(chars.len(), |i| cursor + i);
    let typed: String = chars[start..cursor].iter().collect();
    let before: String = chars[..start].iter().collect();
    let words_before: Vec<&str> = before.split_whitespace().collect();
    let command = words_before
        .first()
        .map(|w| w.trim_start_matches('/').to_ascii_lowercase());
    let lower = typed.trim_start_matches('/').to_ascii_lowercase();
    let fits = |c: &String| c.to_ascii_lowercase().starts_with(&lower);
    let offered: Vec<String> = match (command.as_deref(), words_before.len()) {
        (None, _) => COMMANDS
            .iter()
            .filter(|c| c.human)
            .map(|c| c.name)
            .chain(CONSOLE_COMMANDS.iter().map(|(n, _, _)| *n))
            .map(|n| format!("/{n}"))
            .filter(|c| c[1..].starts_with(&lower))
            .collect(),
        (Some("help"), 1) => COMMANDS
            .iter()
            .filter(|c| c.human)
            .map(|c| c.name.to_string())
            .filter(fits)
            .collect(),
        (Some("theme"), 1) => crate::tui::theme::BUILTIN
            .iter()
            .map(|(n, _)| n.to_string())
            .filter(fits)
            .collect(),
        (Some("theme"), 2) => vec!["--save".to_string()]
            .into_iter()
            .filter(|f| f.starts_with(&typed))
            .collect(),
        (Some("assign"), 2) => ids(IdKind::Concern, state)
            .into_iter()
            .filter(fits)
            .collect(),
        // An agent's permission request: the three answers the human may give.
        (Some("resolve"), 2) => permission_answers(words_before[1], state)
            .into_iter()
            .filter(fits)
            .collect(),
        (Some(c), 1) => first_arg(c)
            .map(|kind| ids(kind, state).into_iter().filter(fits).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Candidates {
        start,
        end,
        words: offered,
    }
}

/// The answers to concern `id` when it is an agent's permission request (none otherwise).
fn permission_answers(id: &str, state: &State) -> Vec<String> {
    use crate::protocol::permission::{Answer, CATEGORY};
    let asks = id
        .parse::<crate::protocol::model::ConcernId>()
        .ok()
        .and_then(|id| state.concerns.get(&id))
        .is_some_and(|c| c.category == CATEGORY);
    match asks {
        true => Answer::ALL.iter().map(|a| a.note().to_string()).collect(),
        false => Vec::new(),
    }
}

/// `input` with its characters `start..end` replaced by `word` and a space after it (unless
/// one follows already), and the cursor after that space.
pub fn replace_word(input: &str, start: usize, end: usize, word: &str) -> (String, usize) {
    let chars: Vec<char> = input.chars().collect();
    let (start, end) = (start.min(chars.len()), end.min(chars.len()));
    let mut out: String = chars[..start].iter().collect();
    out.push_str(word);
    let rest: String = chars[end..].iter().collect();
    if !rest.starts_with(' ') {
        out.push(' ');
    }
    let cursor = out.chars().count();
    out.push_str(&rest);
    let cursor = if rest.starts_with(' ') {
        cursor + 1
    } else {
        cursor
    };
    (out, cursor)
}

/// Readline's `ctrl-w`: the text with the word before `cursor` (and the spaces after it)
/// deleted — a word ends at a space, so `implementer-1` goes whole — and the new cursor.
pub fn delete_word_back(text: &str, cursor: usize) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let cursor = cursor.min(chars.len());
    let mut i = cursor;
    while i > 0 && chars[i - 1] == ' ' {
        i -= 1;
    }
    while i > 0 && chars[i - 1] != ' ' {
        i -= 1;
    }
    let out: String = chars[..i].iter().chain(chars[cursor..].iter()).collect();
    (out, i)
}

/// Readline's `alt-b`: the start of the word at or before `cursor` (a word is letters and
/// digits).
pub fn word_back(text: &str, cursor: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut i = cursor.min(chars.len());
    while i > 0 && !chars[i - 1].is_alphanumeric() {
        i -= 1;
    }
    while i > 0 && chars[i - 1].is_alphanumeric() {
        i -= 1;
    }
    i
}

/// Readline's `alt-f`: the end of the word at or after `cursor`.
pub fn word_forward(text: &str, cursor: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut i = cursor.min(chars.len());
    while i < chars.len() && !chars[i].is_alphanumeric() {
        i += 1;
    }
    while i < chars.len() && chars[i].is_alphanumeric() {
        i += 1;
    }
    i
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
