//! `parse`: a line of the grammar to a `Command`. The command's name picks its family; each
//! family reads its commands' words and flags.

use super::args::Args;
use super::error::ParseError;
use super::spec::{spec, COMMANDS};
use super::tokens::{looks_like_concern, tokenize};
use crate::protocol::command::{Command, ConcernDraft, HandoffDraft, Target, VariationDraft};
use crate::protocol::model::{ConcernId, Role};
use crate::protocol::suggest;

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
        "integrate" => Command::Integrate,
        "help" => help(&mut a)?,
        "agent" | "clarify" | "answer" | "assign" | "pause" | "resume" => agents(&mut a)?,
        "raise" | "ack" | "resolve" | "link" => concerns(&mut a)?,
        "approve" | "defer" | "reject" | "request" => approvals(&mut a)?,
        "handoff" | "propose" => variations(&mut a)?,
        "import" | "task" | "promote" | "ticket" | "plan" => plan(&mut a)?,
        "rollback" => rollback(&mut a)?,
        "adopt" | "restore" => protected_ref(&mut a)?,
        other => return Err(unknown(other)),
    };
    a.end()?;
    Ok(command)
}

fn unknown(name: &str) -> ParseError {
    ParseError::new(format!("unknown command /{name}"))
}

/// `/help [command]`: the command to explain must be one.
fn help(a: &mut Args) -> Result<Command, ParseError> {
    let command = match a.peek().map(|t| t.value.clone()) {
        None => None,
        Some(w) => {
            a.next += 1;
            let n = w.strip_prefix('/').unwrap_or(&w).to_ascii_lowercase();
            if spec(&n).is_none() {
                return Err(ParseError {
                    message: format!("no command /{} to explain", n.escape_debug()),
                    suggestion: suggest(&n, COMMANDS.iter().map(|c| c.name))
                        .map(|s| format!("/{s}")),
                    usage: Some(a.spec.usage),
                });
            }
            Some(n)
        }
    };
    Ok(Command::Help { command })
}

/// `/agent`, `/clarify`, `/answer`, `/assign`, `/pause`, `/resume`.
fn agents(a: &mut Args) -> Result<Command, ParseError> {
    Ok(match a.spec.name {
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
        "pause" | "resume" => {
            let who = a.ident("agent|all")?;
            let target = if who.eq_ignore_ascii_case("all") {
                Target::All
            } else {
                Target::Agent(who)
            };
            if a.spec.name == "pause" {
                Command::Pause { target }
            } else {
                Command::Resume { target }
            }
        }
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
        other => return Err(unknown(other)),
    })
}

/// `/raise`, `/ack`, `/resolve`, `/link`.
fn concerns(a: &mut Args) -> Result<Command, ParseError> {
    Ok(match a.spec.name {
        "ack" => Command::Ack {
            concern: a.parsed("concern")?,
        },
        "resolve" => Command::Resolve {
            concern: a.parsed("concern")?,
            note: a.rest(),
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
        "link" => Command::LinkMessage {
            concern: a.parsed("concern")?,
            message: a.ident("message id")?,
        },
        other => return Err(unknown(other)),
    })
}

/// `/approve`, `/defer`, `/reject`, `/request`.
fn approvals(a: &mut Args) -> Result<Command, ParseError> {
    Ok(match a.spec.name {
        "approve" => {
            let target = a.ident("target")?;
            if target.eq_ignore_ascii_case("tickets") {
                return approve_tickets(a);
            }
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
        other => return Err(unknown(other)),
    })
}

/// `/approve tickets <ids|all>`: one or more ticket ids (words, or one quoted list split
/// on spaces and commas, as a Discord option gives them), or `all` alone.
fn approve_tickets(a: &mut Args) -> Result<Command, ParseError> {
    if a.flag("conditions").is_some() {
        return Err(a.err(
            "/approve tickets takes no --conditions (put them in the tickets' acceptance criteria)",
        ));
    }
    let mut tickets = Vec::new();
    while a.peek().is_some() {
        let word = a.word("ticket")?;
        for id in word.split(|c: char| c.is_whitespace() || c == ',') {
            if id.is_empty() {
                continue;
            }
            if !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/'))
            {
                return Err(a.err(format!(
                    "'{}' is not a valid ticket id (letters, digits and . _ - : / only)",
                    id.escape_debug()
                )));
            }
            tickets.push(id.to_string());
        }
    }
    if tickets.is_empty() {
        return Err(
            a.err("/approve tickets needs ticket ids or `all` (an empty batch approves nothing)")
        );
    }
    let all = tickets.iter().any(|t| t.eq_ignore_ascii_case("all"));
    if all && tickets.len() > 1 {
        return Err(a.err("/approve tickets takes ticket ids or `all`, not both"));
    }
    if all {
        tickets = vec!["all".to_string()];
    }
    Ok(Command::ApproveTickets { tickets })
}

/// `/handoff`, `/propose`.
fn variations(a: &mut Args) -> Result<Command, ParseError> {
    Ok(match a.spec.name {
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
        other => return Err(unknown(other)),
    })
}

/// `/import`, `/task`, `/promote`.
fn plan(a: &mut Args) -> Result<Command, ParseError> {
    Ok(match a.spec.name {
        "promote" => Command::Promote {
            phase: a.ident("phase")?,
        },
        "import" => Command::ImportPlan {
            path: a.word("plan.json")?,
        },
        "plan" => Command::NewPlan {
            goal: a.text("goal")?,
        },
        "ticket" => Command::FileTickets {
            path: a.word("tickets.json")?,
        },
        "task" => Command::SetTaskStatus {
            task: a.ident("task")?,
            status: a.parsed("status")?,
            note: a.rest(),
        },
        other => return Err(unknown(other)),
    })
}

/// `/rollback <checkpoint|undo> [--branch <name>] [reason]`.
fn rollback(a: &mut Args) -> Result<Command, ParseError> {
    Ok(Command::Rollback {
        checkpoint: a.ident("checkpoint")?,
        branch: a.flag_ident("branch")?,
        reason: a.rest(),
    })
}

/// `/adopt main`, `/restore main`: the protected ref to decide about (only `main` for now).
fn protected_ref(a: &mut Args) -> Result<Command, ParseError> {
    let what = a.word("main")?;
    if what != "main" {
        return Err(a.err(format!(
            "/{} decides about the protected main branch: write `/{} main` (not {})",
            a.spec.name,
            a.spec.name,
            what.escape_debug()
        )));
    }
    Ok(if a.spec.name == "adopt" {
        Command::AdoptMain
    } else {
        Command::RestoreMain
    })
}
