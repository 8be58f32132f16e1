//! Discord's slash commands, as data: one for every human command of the grammar (a parity
//! test holds them together), with typed options and autocomplete of ids, plus
//! `/overlord line:<text>` that takes the console's own text grammar. An interaction's options
//! become a grammar line, and the line becomes the same `Command` the console sends — so the
//! audit trail records the same line whichever front end sent it.

use crate::protocol::grammar::{self, quote, COMMANDS};
use crate::protocol::ids::{ids, IdKind};
use crate::protocol::{parse, Command, ParseError, State};

/// The command that takes a whole grammar line.
pub const LINE_COMMAND: &str = "overlord";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A word in the line, in `order`.
    Word,
    /// `--name value`.
    Flag(&'static str),
    /// The free text at the end of the line.
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashOption {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Where the value goes in the grammar line, and in which order (Discord wants required
    /// options first; the grammar may not).
    pub place: Place,
    pub order: u8,
    pub autocomplete: Option<IdKind>,
    /// Fixed choices (Discord shows them as a menu).
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    pub name: &'static str,
    /// At most 100 characters (Discord's limit).
    pub description: String,
    pub options: Vec<SlashOption>,
}

fn opt(
    name: &'static str,
    description: &'static str,
    required: bool,
    place: Place,
    order: u8,
) -> SlashOption {
    SlashOption {
        name,
        description,
        required,
        place,
        order,
        autocomplete: None,
        choices: Vec::new(),
    }
}

fn ids_of(mut o: SlashOption, kind: IdKind) -> SlashOption {
    o.autocomplete = Some(kind);
    o
}

/// The options of a human command, or `None` for a command this table does not know (the
/// parity test fails then).
fn options(name: &str) -> Option<Vec<SlashOption>> {
    use Place::*;
    Some(match name {
        "status" | "save" => Vec::new(),
        "help" => {
            let mut o = opt("command", "explain one command", false, Word, 0);
            o.choices = COMMANDS
                .iter()
                .filter(|c| c.human)
                .map(|c| c.name.to_string())
                .collect();
            vec![o]
        }
        "clarify" => vec![
            ids_of(
                opt("agent", "the agent to ask", true, Word, 0),
                IdKind::Agent,
            ),
            opt("message", "what to explain", true, Rest, 1),
        ],
        "assign" => vec![
            ids_of(
                opt("agent", "the agent to redirect", true, Word, 0),
                IdKind::Agent,
            ),
            opt("text", "the new instructions", true, Rest, 2),
            ids_of(
                opt(
                    "concern",
                    "assign this concern to the agent",
                    false,
                    Word,
                    1,
                ),
                IdKind::Concern,
            ),
        ],
        "ack" => vec![ids_of(
            opt("concern", "the concern", true, Word, 0),
            IdKind::Concern,
        )],
        "resolve" => vec![
            ids_of(
                opt("concern", "the concern", true, Word, 0),
                IdKind::Concern,
            ),
            opt("note", "how it was resolved", false, Rest, 1),
        ],
        "approve" => vec![
            ids_of(
                opt(
                    "target",
                    "the pending approval or variation, or tickets (a batch)",
                    true,
                    Word,
                    0,
                ),
                IdKind::Target,
            ),
            opt(
                "conditions",
                "conditions of the approval",
                false,
                Flag("conditions"),
                1,
            ),
            opt(
                "note",
                "a note for the record; with target tickets: the ticket ids, or all",
                false,
                Rest,
                2,
            ),
        ],
        "defer" => vec![
            ids_of(
                opt("target", "the pending approval or variation", true, Word, 0),
                IdKind::Target,
            ),
            opt("note", "what data is missing", false, Rest, 1),
        ],
        "reject" => vec![
            ids_of(
                opt("target", "the pending approval or variation", true, Word, 0),
                IdKind::Target,
            ),
            opt(
                "reason",
                "why: the author regenerates with it",
                true,
                Rest,
                1,
            ),
        ],
        "plan" => vec![opt("goal", "what the plan must deliver", true, Rest, 0)],
        "promote" => vec![ids_of(
            opt("phase", "the finished phase", true, Word, 0),
            IdKind::Phase,
        )],
        "pause" => vec![ids_of(
            opt(
                "target",
                "an agent, or all (the kill switch)",
                true,
                Word,
                0,
            ),
            IdKind::AgentOrAll,
        )],
        "resume" => vec![ids_of(
            opt("target", "an agent, or all", true, Word, 0),
            IdKind::AgentOrAll,
        )],
        "rollback" => vec![
            ids_of(
                opt(
                    "checkpoint",
                    "the checkpoint to restore, or undo",
                    true,
                    Word,
                    0,
                ),
                IdKind::Checkpoint,
            ),
            opt(
                "branch",
                "restore on this new branch instead of main",
                false,
                Flag("branch"),
                1,
            ),
            opt("reason", "why, for the record", false, Rest, 2),
        ],
        "adopt" | "restore" => {
            let mut o = opt(
                "ref",
                "the protected ref moved outside Overlord",
                true,
                Word,
                0,
            );
            o.choices = vec!["main".to_string()];
            vec![o]
        }
        _ => return None,
    })
}

/// Cuts to Discord's 100-character description limit.
fn description(text: &str) -> String {
    if text.chars().count() <= 100 {
        return text.to_string();
    }
    let mut s: String = text.chars().take(99).collect();
    s.push('…');
    s
}

/// Every slash command the bot registers: the human commands of the grammar in their order,
/// then `/overlord`.
pub fn commands() -> Vec<SlashCommand> {
    let mut out: Vec<SlashCommand> = COMMANDS
        .iter()
        .filter(|c| c.human)
        .filter_map(|c| {
            Some(SlashCommand {
                name: c.name,
                description: description(c.summary),
                options: options(c.name)?,
            })
        })
        .collect();
    out.push(SlashCommand {
        name: LINE_COMMAND,
        description: "any command in the console's text grammar, e.g. /ack C-3".into(),
        options: vec![opt(
            "line",
            "the command line, e.g. /resolve C-3 fixed in the spec",
            true,
            Place::Rest,
            0,
        )],
    });
    out
}

pub fn command(name: &str) -> Option<SlashCommand> {
    commands().into_iter().find(|c| c.name == name)
}

/// The human commands with no slash command (empty: the parity test checks it).
pub fn missing() -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter(|c| c.human && options(c.name).is_none())
        .map(|c| c.name)
        .collect()
}

/// A word of the line: as is when plain, quoted otherwise.
fn word(value: &str) -> String {
    if !value.is_empty()
        && !value.starts_with('"')
        && !value.starts_with("--")
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        value.to_string()
    } else {
        quote(value)
    }
}

/// The grammar line for a slash command and its options (`(name, value)` as Discord sent
/// them). `/overlord` gives its line as typed (with the leading `/` added when missing).
pub fn to_line(name: &str, values: &[(String, String)]) -> Result<String, String> {
    let get = |n: &str| values.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim());
    if name == LINE_COMMAND {
        let line = get("line").unwrap_or("");
        if line.is_empty() {
            return Err("/overlord needs a line, e.g. /status".into());
        }
        return Ok(if line.starts_with('/') {
            line.to_string()
        } else {
            format!("/{line}")
        });
    }
    let spec = command(name).ok_or_else(|| format!("unknown command /{name}"))?;
    let mut options: Vec<&SlashOption> = spec.options.iter().collect();
    options.sort_by_key(|o| o.order);
    let mut line = format!("/{name}");
    for o in options {
        let value = match get(o.name) {
            Some(v) if !v.is_empty() => v,
            _ if o.required => return Err(format!("/{name} needs {}", o.name)),
            _ => continue,
        };
        line.push(' ');
        match o.place {
            Place::Word => line.push_str(&word(value)),
            Place::Flag(flag) => {
                line.push_str(&format!("--{flag} {}", quote(value)));
            }
            // One quoted string: the grammar takes it whole, whatever it contains.
            Place::Rest => line.push_str(&quote(value)),
        }
    }
    Ok(line)
}

/// The command a slash command stands for, parsed by the grammar from its line.
pub fn to_command(name: &str, values: &[(String, String)]) -> Result<(String, Command), String> {
    let line = to_line(name, values)?;
    let command = parse(&line).map_err(|e: ParseError| e.to_string())?;
    Ok((line, command))
}

/// Autocomplete: up to 25 ids of `kind` matching what was typed (by prefix first, then
/// anywhere), each with a label a person can read (`C-3 · warning · Is the feature plural?`).
pub fn autocomplete(kind: IdKind, typed: &str, state: &State) -> Vec<(String, String)> {
    let typed = typed.trim().to_lowercase();
    let all = ids(kind, state);
    let mut hits: Vec<&String> = all
        .iter()
        .filter(|v| v.to_lowercase().starts_with(&typed))
        .collect();
    hits.extend(
        all.iter()
            .filter(|v| !v.to_lowercase().starts_with(&typed) && v.to_lowercase().contains(&typed)),
    );
    hits.into_iter()
        .take(25)
        .map(|v| (label(kind, v, state), v.clone()))
        .collect()
}

fn label(kind: IdKind, id: &str, state: &State) -> String {
    let text = match kind {
        IdKind::Concern => state
            .open_concerns()
            .find(|c| c.id.to_string() == id)
            .map(|c| format!("{id} · {} · {}", c.severity, c.summary)),
        IdKind::Agent | IdKind::AgentOrAll => state.agents.get(id).map(|a| {
            format!(
                "{id} · {} · {}",
                a.role,
                a.task.as_deref().unwrap_or("idle")
            )
        }),
        IdKind::Target => state
            .pending_approvals()
            .find(|a| a.id.to_string() == id)
            .map(|a| format!("{id} · {} · {}", a.kind, a.subject)),
        _ => None,
    }
    .unwrap_or_else(|| id.to_string());
    // Discord: a choice's name is 1–100 characters, with no control characters.
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    description(&clean)
}

/// The help line of the grammar for a command (for refusals that explain usage).
pub fn usage(name: &str) -> Option<&'static str> {
    grammar::spec(name).map(|s| s.usage)
}
