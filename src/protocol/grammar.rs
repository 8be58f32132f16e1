//! The slash grammar shared by the command bar, the CLI (`overlord-tui cmd`), Discord's
//! `/overlord line:` and agents: `parse` turns a line into a `Command`, `print` turns a
//! `Command` back into a line that parses to the same command.
//!
//! Words are separated by white space. A word that starts with `"` is a quoted string with
//! the escapes `\\ \" \n \r \t \u{…}`. Commands that take flags accept `--name value` (or
//! `--name=value`) anywhere; a lone `--` ends the flags. A trailing free-text argument takes
//! the rest of the line as typed, or exactly one quoted string.

use std::collections::BTreeMap;
use std::fmt;

use super::command::{Command, ConcernDraft, HandoffDraft, Target, VariationDraft};
use super::model::{ConcernId, Role};
use super::report::HelpEntry;
use super::suggest;

/// One command of the grammar, for parsing, help text and completion.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    /// A governor's command (shown in `/help` and mirrored as a Discord slash command);
    /// the others are the calls agents and scripts make.
    pub human: bool,
    pub flags: &'static [&'static str],
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "status", usage: "/status", summary: "show phase, agents, tasks, open concerns, approvals and the last checkpoint", human: true, flags: &[] },
    CommandSpec { name: "help", usage: "/help [command]", summary: "list the commands, or explain one", human: true, flags: &[] },
    CommandSpec { name: "clarify", usage: "/clarify <agent> <message>", summary: "ask an agent to explain something; its answer is logged and shown", human: true, flags: &[] },
    CommandSpec { name: "assign", usage: "/assign <agent> [<concern>] <text>", summary: "redirect an agent's work, or assign a concern to it", human: true, flags: &[] },
    CommandSpec { name: "ack", usage: "/ack <concern>", summary: "acknowledge a concern", human: true, flags: &[] },
    CommandSpec { name: "resolve", usage: "/resolve <concern> [note]", summary: "mark a concern resolved", human: true, flags: &[] },
    CommandSpec { name: "approve", usage: "/approve <target> [--conditions <text>] [note]", summary: "approve a pending plan, design spec, test plan, variation or promotion", human: true, flags: &["conditions"] },
    CommandSpec { name: "defer", usage: "/defer <target> [note]", summary: "defer a decision and ask for more data", human: true, flags: &[] },
    CommandSpec { name: "reject", usage: "/reject <target> <reason>", summary: "reject a pending approval and send it back with the reason", human: true, flags: &[] },
    CommandSpec { name: "promote", usage: "/promote <phase>", summary: "promote a finished phase (merge and tag)", human: true, flags: &[] },
    CommandSpec { name: "pause", usage: "/pause <agent|all>", summary: "suspend one agent, or all of them and stop dispatch (kill switch)", human: true, flags: &[] },
    CommandSpec { name: "resume", usage: "/resume <agent|all>", summary: "resume one agent, or all of them and dispatch", human: true, flags: &[] },
    CommandSpec { name: "save", usage: "/save", summary: "integrate everything that passed QA into a tagged checkpoint", human: true, flags: &[] },
    CommandSpec { name: "rollback", usage: "/rollback <checkpoint|undo> [--branch <name>] [reason]", summary: "restore an earlier checkpoint as a new commit on main (history kept), or on a new branch; `undo` reverses the last rollback", human: true, flags: &["branch"] },
    CommandSpec { name: "raise", usage: "/raise --severity <info|warning|critical> --category <category> [--from <role>] [--to <role>] [--task <task>] [--details <text>] <summary>", summary: "raise a concern up the chain", human: false, flags: &["severity", "category", "from", "to", "task", "details"] },
    CommandSpec { name: "handoff", usage: "/handoff --from <role> --to <role> --purpose <text> [--input <file>]… [--output <file>]… [--impact <low|medium|high>] [--status <status>] [--task <task>] <summary>", summary: "record a hand-off between roles", human: false, flags: &["from", "to", "purpose", "input", "output", "impact", "status", "task"] },
    CommandSpec { name: "propose", usage: "/propose --impact <low|medium|high> [--from <role>] [--rationale <text>] [--affects <module>]… <title>", summary: "propose a variation; high impact goes to the human", human: false, flags: &["impact", "from", "rationale", "affects"] },
    CommandSpec { name: "request", usage: "/request <plan|design_spec|test_plan> <subject> [--from <role>] <summary>", summary: "ask the human to approve an artifact", human: false, flags: &["from"] },
    CommandSpec { name: "answer", usage: "/answer <clarification> <text>", summary: "answer a clarification question", human: false, flags: &[] },
    CommandSpec { name: "import", usage: "/import <plan.json>", summary: "import a plan (seed 003 TodoList JSON)", human: false, flags: &[] },
    CommandSpec { name: "agent", usage: "/agent <id> --role <role> [--adapter <adapter>] [--task <task>]", summary: "register an agent", human: false, flags: &["role", "adapter", "task"] },
    CommandSpec { name: "task", usage: "/task <task> <status> [note]", summary: "set a task's status (todo, in_progress, blocked, needs_review, done, failed)", human: false, flags: &[] },
    CommandSpec { name: "link", usage: "/link <concern> <message id>", summary: "record the Discord message that shows a concern (the Discord bridge)", human: false, flags: &[] },
];

pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The help entries for `/help`, or for one command.
pub fn help_entries(command: Option<&str>) -> Vec<HelpEntry> {
    COMMANDS
        .iter()
        .filter(|c| match command {
            Some(name) => c.name == name,
            None => true,
        })
        .map(|c| HelpEntry {
            command: format!("/{}", c.name),
            usage: c.usage.to_string(),
            summary: c.summary.to_string(),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub suggestion: Option<String>,
    pub usage: Option<&'static str>,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            suggestion: None,
            usage: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " — did you mean {s}?")?;
        }
        if let Some(u) = self.usage {
            write!(f, " (usage: {u})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    start: usize,
    end: usize,
    quoted: bool,
}

fn tokenize(line: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut value = String::new();
            let mut closed = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = Some(i + 1);
                        break;
                    }
                    '\\' => {
                        let Some((_, e)) = chars.next() else { break };
                        match e {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            'r' => value.push('\r'),
                            't' => value.push('\t'),
                            'u' => {
                                if chars.next().map(|(_, c)| c) != Some('{') {
                                    return Err(ParseError::new("bad escape: expected \\u{hex}"));
                                }
                                let mut hex = String::new();
                                loop {
                                    match chars.next() {
                                        Some((_, '}')) => break,
                                        Some((_, h)) if h.is_ascii_hexdigit() && hex.len() < 6 => {
                                            hex.push(h)
                                        }
                                        _ => {
                                            return Err(ParseError::new(
                                                "bad escape: expected \\u{hex}",
                                            ))
                                        }
                                    }
                                }
                                let ch = u32::from_str_radix(&hex, 16)
                                    .ok()
                                    .and_then(char::from_u32)
                                    .ok_or_else(|| {
                                        ParseError::new(format!(
                                            "bad escape: \\u{{{hex}}} is not a character"
                                        ))
                                    })?;
                                value.push(ch);
                            }
                            other => {
                                return Err(ParseError::new(format!(
                                    "bad escape \\{other} in quoted text (use \\\\ for a backslash)"
                                )))
                            }
                        }
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = closed else {
                return Err(ParseError::new("unterminated quoted text (missing \")"));
            };
            if let Some(&(_, next)) = chars.peek() {
                if !next.is_whitespace() {
                    return Err(ParseError::new(
                        "a closing quote must be followed by a space",
                    ));
                }
            }
            tokens.push(Token {
                value,
                start,
                end,
                quoted: true,
            });
        } else {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            tokens.push(Token {
                value: line[start..end].to_string(),
                start,
                end,
                quoted: false,
            });
        }
    }
    Ok(tokens)
}

/// The arguments of one command after the flags were taken out.
struct Args<'a> {
    line: &'a str,
    spec: &'static CommandSpec,
    words: Vec<Token>,
    next: usize,
    /// Spans of flag tokens that were taken out, so text around them is joined, not sliced.
    holes: Vec<(usize, usize)>,
    flags: BTreeMap<&'static str, Vec<String>>,
}

impl<'a> Args<'a> {
    fn new(
        line: &'a str,
        spec: &'static CommandSpec,
        tokens: Vec<Token>,
    ) -> Result<Self, ParseError> {
        let mut words = Vec::new();
        let mut holes = Vec::new();
        let mut flags: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let mut iter = tokens.into_iter();
        let mut flags_done = spec.flags.is_empty();
        while let Some(tok) = iter.next() {
            if flags_done || tok.quoted || !tok.value.starts_with("--") {
                words.push(tok);
                continue;
            }
            if tok.value == "--" {
                flags_done = true;
                holes.push((tok.start, tok.end));
                continue;
            }
            let body = &tok.value[2..];
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(&known) = spec.flags.iter().find(|f| **f == name) else {
                return Err(ParseError {
                    message: format!("unknown option --{name} for /{}", spec.name),
                    suggestion: suggest(name, spec.flags.iter().copied()).map(|s| format!("--{s}")),
                    usage: Some(spec.usage),
                });
            };
            let mut end = tok.end;
            let value = match inline {
                Some(v) => v,
                None => match iter.next() {
                    Some(v) if v.quoted || !v.value.starts_with("--") => {
                        end = v.end;
                        v.value
                    }
                    _ => {
                        return Err(ParseError {
                            message: format!("--{name} needs a value"),
                            suggestion: None,
                            usage: Some(spec.usage),
                        })
                    }
                },
            };
            holes.push((tok.start, end));
            let repeatable = matches!(known, "input" | "output" | "affects");
            let entry = flags.entry(known).or_default();
            if !entry.is_empty() && !repeatable {
                return Err(ParseError {
                    message: format!("--{name} given twice"),
                    suggestion: None,
                    usage: Some(spec.usage),
                });
            }
            entry.push(value);
        }
        Ok(Args {
            line,
            spec,
            words,
            next: 0,
            holes,
            flags,
        })
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            suggestion: None,
            usage: Some(self.spec.usage),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.words.get(self.next)
    }

    /// The next word, required.
    fn word(&mut self, what: &str) -> Result<String, ParseError> {
        let Some(tok) = self.words.get(self.next) else {
            return Err(self.err(format!("/{} is missing <{what}>", self.spec.name)));
        };
        self.next += 1;
        Ok(tok.value.clone())
    }

    /// The next word as an identifier (agent, phase, task, checkpoint, target).
    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        let value = self.word(what)?;
        if !is_ident(&value) {
            return Err(self.err(format!(
                "'{}' is not a valid {what} (letters, digits and . _ - : / @ only)",
                value.escape_debug()
            )));
        }
        Ok(value)
    }

    fn parsed<T: std::str::FromStr<Err = String>>(&mut self, what: &str) -> Result<T, ParseError> {
        let value = self.word(what)?;
        value.parse().map_err(|e: String| self.err(e))
    }

    /// The rest of the words as free text; `None` when there are none.
    fn rest(&mut self) -> Option<String> {
        let words = &self.words[self.next.min(self.words.len())..];
        self.next = self.words.len();
        let (first, last) = (words.first()?, words.last()?);
        if words.len() == 1 && first.quoted {
            return Some(first.value.clone());
        }
        let (from, to) = (first.start, last.end);
        if self.holes.iter().any(|&(s, e)| s < to && e > from) {
            // Flags sat between the words: join them with single spaces.
            Some(
                words
                    .iter()
                    .map(|w| w.value.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        } else {
            Some(self.line[from..to].to_string())
        }
    }

    fn text(&mut self, what: &str) -> Result<String, ParseError> {
        self.rest()
            .ok_or_else(|| self.err(format!("/{} is missing <{what}>", self.spec.name)))
    }

    fn end(&self) -> Result<(), ParseError> {
        match self.words.get(self.next) {
            None => Ok(()),
            Some(tok) => Err(self.err(format!(
                "unexpected argument '{}' for /{}",
                tok.value.escape_debug(),
                self.spec.name
            ))),
        }
    }

    fn flag(&mut self, name: &str) -> Option<String> {
        self.flags.remove(name).and_then(|mut v| v.pop())
    }

    fn flag_list(&mut self, name: &str) -> Vec<String> {
        self.flags.remove(name).unwrap_or_default()
    }

    fn required_flag(&mut self, name: &str) -> Result<String, ParseError> {
        self.flag(name)
            .ok_or_else(|| self.err(format!("/{} needs --{name}", self.spec.name)))
    }

    fn flag_parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, ParseError> {
        match self.flag(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e: String| self.err(e)),
        }
    }

    fn flag_ident(&mut self, name: &str) -> Result<Option<String>, ParseError> {
        match self.flag(name) {
            Some(v) if !is_ident(&v) => Err(self.err(format!(
                "'{}' is not a valid --{name} (letters, digits and . _ - : / @ only)",
                v.escape_debug()
            ))),
            other => Ok(other),
        }
    }
}

/// Identifiers: agents, phases, tasks, checkpoints, approval targets.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-:/@".contains(c))
}

/// Parses one line of the grammar. The leading `/` may be left out.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let tokens = tokenize(line)?;
    let Some(first) = tokens.first() else {
        return Err(ParseError::new("empty command (try /help)"));
    };
    if first.quoted {
        return Err(ParseError::new(
            "a command starts with its name, like /status",
        ));
    }
    let name = first
        .value
        .strip_prefix('/')
        .unwrap_or(&first.value)
        .to_ascii_lowercase();
    let Some(spec) = spec(&name) else {
        return Err(ParseError {
            message: format!("unknown command /{}", name.escape_debug()),
            suggestion: suggest(&name, COMMANDS.iter().map(|c| c.name)).map(|s| format!("/{s}")),
            usage: None,
        });
    };
    let mut a = Args::new(line, spec, tokens.into_iter().skip(1).collect())?;
    let command = match spec.name {
        "status" => Command::Status,
        "save" => Command::Save,
        "help" => {
            let command = match a.peek().map(|t| t.value.clone()) {
                None => None,
                Some(w) => {
                    a.next += 1;
                    let n = w.strip_prefix('/').unwrap_or(&w).to_ascii_lowercase();
                    if self::spec(&n).is_none() {
                        return Err(ParseError {
                            message: format!("no command /{} to explain", n.escape_debug()),
                            suggestion: suggest(&n, COMMANDS.iter().map(|c| c.name))
                                .map(|s| format!("/{s}")),
                            usage: Some(spec.usage),
                        });
                    }
                    Some(n)
                }
            };
            Command::Help { command }
        }
        "clarify" => Command::Clarify {
            agent: a.ident("agent")?,
            message: a.text("message")?,
        },
        "answer" => Command::Answer {
            clarification: a.parsed("clarification")?,
            text: a.text("text")?,
        },
        "assign" => {
            let agent = a.ident("agent")?;
            let concern = match a.peek() {
                Some(t) if !t.quoted && looks_like_concern(&t.value) => {
                    let c = t.value.parse::<ConcernId>().map_err(|e| a.err(e))?;
                    a.next += 1;
                    Some(c)
                }
                _ => None,
            };
            let text = match concern {
                Some(_) => a.rest().unwrap_or_default(),
                None => a.text("text")?,
            };
            Command::Assign {
                agent,
                concern,
                text,
            }
        }
        "ack" => Command::Ack {
            concern: a.parsed("concern")?,
        },
        "resolve" => Command::Resolve {
            concern: a.parsed("concern")?,
            note: a.rest(),
        },
        "approve" => {
            let target = a.ident("target")?;
            let conditions = a.flag("conditions");
            Command::Approve {
                target,
                conditions,
                note: a.rest(),
            }
        }
        "defer" => Command::Defer {
            target: a.ident("target")?,
            note: a.rest(),
        },
        "reject" => Command::Reject {
            target: a.ident("target")?,
            reason: a.text("reason")?,
        },
        "promote" => Command::Promote {
            phase: a.ident("phase")?,
        },
        "pause" | "resume" => {
            let who = a.ident("agent|all")?;
            let target = if who.eq_ignore_ascii_case("all") {
                Target::All
            } else {
                Target::Agent(who)
            };
            if spec.name == "pause" {
                Command::Pause { target }
            } else {
                Command::Resume { target }
            }
        }
        "rollback" => Command::Rollback {
            checkpoint: a.ident("checkpoint")?,
            branch: a.flag_ident("branch")?,
            reason: a.rest(),
        },
        "raise" => {
            let severity = a
                .flag_parsed("severity")?
                .ok_or_else(|| a.err("/raise needs --severity"))?;
            let category = a.required_flag("category")?;
            Command::RaiseConcern(ConcernDraft {
                from: a.flag_parsed("from")?,
                to: a.flag_parsed("to")?,
                severity,
                category,
                details: a.flag("details"),
                task: a.flag_ident("task")?,
                summary: a.text("summary")?,
            })
        }
        "handoff" => {
            let from: Role = a
                .flag_parsed("from")?
                .ok_or_else(|| a.err("/handoff needs --from"))?;
            let to: Role = a
                .flag_parsed("to")?
                .ok_or_else(|| a.err("/handoff needs --to"))?;
            Command::RecordHandoff(HandoffDraft {
                from,
                to,
                purpose: a.required_flag("purpose")?,
                inputs: a.flag_list("input"),
                outputs: a.flag_list("output"),
                impact: a.flag_parsed("impact")?,
                status: a.flag("status"),
                task: a.flag_ident("task")?,
                summary: a.text("summary")?,
            })
        }
        "propose" => {
            let impact = a
                .flag_parsed("impact")?
                .ok_or_else(|| a.err("/propose needs --impact"))?;
            Command::ProposeVariation(VariationDraft {
                from: a.flag_parsed("from")?,
                impact,
                rationale: a.flag("rationale"),
                affects: a.flag_list("affects"),
                title: a.text("title")?,
            })
        }
        "request" => {
            let kind = a.parsed("kind")?;
            let subject = a.word("subject")?;
            Command::RequestApproval {
                kind,
                subject,
                from: a.flag_parsed("from")?,
                summary: a.text("summary")?,
            }
        }
        "import" => Command::ImportPlan {
            path: a.word("plan.json")?,
        },
        "agent" => {
            let id = a.ident("id")?;
            let role = a
                .flag_parsed("role")?
                .ok_or_else(|| a.err("/agent needs --role"))?;
            Command::RegisterAgent {
                id,
                role,
                adapter: a.flag_ident("adapter")?,
                task: a.flag_ident("task")?,
            }
        }
        "task" => Command::SetTaskStatus {
            task: a.ident("task")?,
            status: a.parsed("status")?,
            note: a.rest(),
        },
        "link" => Command::LinkMessage {
            concern: a.parsed("concern")?,
            message: a.ident("message id")?,
        },
        other => return Err(ParseError::new(format!("unknown command /{other}"))),
    };
    a.end()?;
    Ok(command)
}

fn looks_like_concern(word: &str) -> bool {
    (word.starts_with("C-") || word.starts_with("c-")) && word.parse::<ConcernId>().is_ok()
}

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

/// Prints a command in the grammar; `parse(&print(c)) == Ok(c)` for every valid command.
pub fn print(command: &Command) -> String {
    let mut out = format!("/{}", command.name());
    let mut push = |s: String| {
        out.push(' ');
        out.push_str(&s);
    };
    match command {
        Command::Status | Command::Save => {}
        Command::Help { command } => {
            if let Some(c) = command {
                push(c.clone());
            }
        }
        Command::Clarify { agent, message } => {
            push(agent.clone());
            push(text_arg(message, false));
        }
        Command::Answer {
            clarification,
            text,
        } => {
            push(clarification.to_string());
            push(text_arg(text, false));
        }
        Command::Assign {
            agent,
            concern,
            text,
        } => {
            push(agent.clone());
            match concern {
                Some(c) => {
                    push(c.to_string());
                    if !text.is_empty() {
                        push(text_arg(text, false));
                    }
                }
                None => {
                    let first = text.split_whitespace().next().unwrap_or("");
                    if looks_like_concern(first) {
                        push(quote(text));
                    } else {
                        push(text_arg(text, false));
                    }
                }
            }
        }
        Command::Ack { concern } => push(concern.to_string()),
        Command::Resolve { concern, note } => {
            push(concern.to_string());
            if let Some(n) = note {
                push(text_arg(n, false));
            }
        }
        Command::Approve {
            target,
            conditions,
            note,
        } => {
            push(target.clone());
            if let Some(c) = conditions {
                push(format!("--conditions {}", word_arg(c)));
            }
            if let Some(n) = note {
                push(text_arg(n, true));
            }
        }
        Command::Defer { target, note } => {
            push(target.clone());
            if let Some(n) = note {
                push(text_arg(n, false));
            }
        }
        Command::Reject { target, reason } => {
            push(target.clone());
            push(text_arg(reason, false));
        }
        Command::Promote { phase } => push(phase.clone()),
        Command::Pause { target } | Command::Resume { target } => push(match target {
            Target::All => "all".to_string(),
            Target::Agent(a) => a.clone(),
        }),
        Command::Rollback {
            checkpoint,
            branch,
            reason,
        } => {
            push(checkpoint.clone());
            if let Some(b) = branch {
                push(format!("--branch {b}"));
            }
            if let Some(r) = reason {
                push(text_arg(r, true));
            }
        }
        Command::RaiseConcern(c) => {
            push(format!("--severity {}", c.severity));
            push(format!("--category {}", word_arg(&c.category)));
            if let Some(r) = c.from {
                push(format!("--from {r}"));
            }
            if let Some(r) = c.to {
                push(format!("--to {r}"));
            }
            if let Some(t) = &c.task {
                push(format!("--task {t}"));
            }
            if let Some(d) = &c.details {
                push(format!("--details {}", word_arg(d)));
            }
            push(text_arg(&c.summary, true));
        }
        Command::RecordHandoff(h) => {
            push(format!("--from {} --to {}", h.from, h.to));
            push(format!("--purpose {}", word_arg(&h.purpose)));
            for i in &h.inputs {
                push(format!("--input {}", word_arg(i)));
            }
            for o in &h.outputs {
                push(format!("--output {}", word_arg(o)));
            }
            if let Some(i) = h.impact {
                push(format!("--impact {i}"));
            }
            if let Some(s) = &h.status {
                push(format!("--status {}", word_arg(s)));
            }
            if let Some(t) = &h.task {
                push(format!("--task {t}"));
            }
            push(text_arg(&h.summary, true));
        }
        Command::ProposeVariation(v) => {
            push(format!("--impact {}", v.impact));
            if let Some(r) = v.from {
                push(format!("--from {r}"));
            }
            if let Some(r) = &v.rationale {
                push(format!("--rationale {}", word_arg(r)));
            }
            for m in &v.affects {
                push(format!("--affects {}", word_arg(m)));
            }
            push(text_arg(&v.title, true));
        }
        Command::RequestApproval {
            kind,
            subject,
            from,
            summary,
        } => {
            push(kind.to_string());
            push(word_arg(subject));
            if let Some(r) = from {
                push(format!("--from {r}"));
            }
            push(text_arg(summary, true));
        }
        Command::ImportPlan { path } => push(word_arg(path)),
        Command::RegisterAgent {
            id,
            role,
            adapter,
            task,
        } => {
            push(id.clone());
            push(format!("--role {role}"));
            if let Some(a) = adapter {
                push(format!("--adapter {a}"));
            }
            if let Some(t) = task {
                push(format!("--task {t}"));
            }
        }
        Command::SetTaskStatus { task, status, note } => {
            push(task.clone());
            push(status.to_string());
            if let Some(n) = note {
                push(text_arg(n, false));
            }
        }
        Command::LinkMessage { concern, message } => {
            push(concern.to_string());
            push(message.clone());
        }
    }
    out
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print(self))
    }
}
