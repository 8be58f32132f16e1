//! The text grammar: every command prints to a line that parses back to it; arbitrary input
//! never panics; mistakes get one clear message with a suggestion where one fits.

use overlord::protocol::grammar::{self, COMMANDS};
use overlord::protocol::model::{
    ApprovalKind, ClarificationId, ConcernId, Impact, Role, Severity, TaskStatus,
};
use overlord::protocol::{
    parse, print, Command, ConcernDraft, HandoffDraft, Target, VariationDraft,
};
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._:/@-]{0,14}"
        .prop_filter("'all' is reserved", |s| !s.eq_ignore_ascii_case("all"))
}

/// Any text at all: unicode, control characters, quotes, leading dashes, blanks.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ a-z\"\\\\-]{0,12}",
        "(--?[a-z]+ ?){1,3}",
        "\\PC{0,20}",
        Just(String::new()),
        Just("C-3 then".to_string()),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(vec![Severity::Info, Severity::Warning, Severity::Critical])
}

fn impact() -> impl Strategy<Value = Impact> {
    prop::sample::select(vec![Impact::Low, Impact::Medium, Impact::High])
}

fn command() -> impl Strategy<Value = Command> {
    let names: Vec<String> = COMMANDS.iter().map(|c| c.name.to_string()).collect();
    prop_oneof![
        Just(Command::Status),
        Just(Command::Save),
        Just(Command::Integrate),
        Just(Command::AdoptMain),
        Just(Command::RestoreMain),
        prop::option::of(prop::sample::select(names)).prop_map(|command| Command::Help { command }),
        (ident(), text()).prop_map(|(agent, message)| Command::Clarify { agent, message }),
        (1u64..500, text()).prop_map(|(n, text)| Command::Answer {
            clarification: ClarificationId(n),
            text
        }),
        (
            ident(),
            prop::option::of((1u64..500).prop_map(ConcernId)),
            text()
        )
            .prop_map(|(agent, concern, text)| Command::Assign {
                agent,
                concern,
                text
            }),
        (1u64..10_000).prop_map(|n| Command::Ack {
            concern: ConcernId(n)
        }),
        (1u64..10_000, prop::option::of(text())).prop_map(|(n, note)| Command::Resolve {
            concern: ConcernId(n),
            note
        }),
        (ident(), prop::option::of(text()), prop::option::of(text())).prop_map(
            |(target, conditions, note)| Command::Approve {
                target,
                conditions,
                note
            }
        ),
        (ident(), prop::option::of(text()))
            .prop_map(|(target, note)| Command::Defer { target, note }),
        (ident(), text()).prop_map(|(target, reason)| Command::Reject { target, reason }),
        ident().prop_map(|phase| Command::Promote { phase }),
        prop::option::of(ident()).prop_map(|a| Command::Pause {
            target: a.map(Target::Agent).unwrap_or(Target::All)
        }),
        prop::option::of(ident()).prop_map(|a| Command::Resume {
            target: a.map(Target::Agent).unwrap_or(Target::All)
        }),
        (ident(), prop::option::of(ident()), prop::option::of(text())).prop_map(
            |(checkpoint, branch, reason)| Command::Rollback {
                checkpoint,
                branch,
                reason
            }
        ),
        (
            prop::option::of(role()),
            prop::option::of(role()),
            severity(),
            text(),
            text(),
            prop::option::of(text()),
            prop::option::of(ident())
        )
            .prop_map(|(from, to, severity, category, summary, details, task)| {
                Command::RaiseConcern(ConcernDraft {
                    from,
                    to,
                    severity,
                    category,
                    summary,
                    details,
                    task,
                })
            }),
        (
            role(),
            role(),
            text(),
            text(),
            prop::collection::vec(text(), 0..3),
            prop::collection::vec(text(), 0..3),
            prop::option::of(impact()),
            prop::option::of(text()),
            prop::option::of(ident())
        )
            .prop_map(
                |(from, to, purpose, summary, inputs, outputs, impact, status, task)| {
                    Command::RecordHandoff(HandoffDraft {
                        from,
                        to,
                        purpose,
                        summary,
                        inputs,
                        outputs,
                        impact,
                        status,
                        task,
                    })
                }
            ),
        (
            prop::option::of(role()),
            impact(),
            text(),
            prop::option::of(text()),
            prop::collection::vec(text(), 0..3)
        )
            .prop_map(|(from, impact, title, rationale, affects)| {
                Command::ProposeVariation(VariationDraft {
                    from,
                    impact,
                    title,
                    rationale,
                    affects,
                })
            }),
        (
            prop::sample::select(ApprovalKind::ALL.to_vec()),
            text(),
            prop::option::of(role()),
            text()
        )
            .prop_map(|(kind, subject, from, summary)| Command::RequestApproval {
                kind,
                subject,
                from,
                summary
            }),
        text().prop_map(|path| Command::ImportPlan { path }),
        (
            ident(),
            role(),
            prop::option::of(ident()),
            prop::option::of(ident())
        )
            .prop_map(|(id, role, adapter, task)| Command::RegisterAgent {
                id,
                role,
                adapter,
                task
            }),
        (
            ident(),
            prop::sample::select(TaskStatus::ALL.to_vec()),
            prop::option::of(text())
        )
            .prop_map(|(task, status, note)| Command::SetTaskStatus { task, status, note }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn every_command_round_trips(cmd in command()) {
        let line = print(&cmd);
        let back = parse(&line);
        prop_assert_eq!(back.as_ref().ok(), Some(&cmd), "line {:?} gave {:?}", line, back);
    }

    #[test]
    fn arbitrary_input_never_panics_and_reparses(line in any::<String>()) {
        if let Ok(cmd) = parse(&line) {
            let again = parse(&print(&cmd));
            prop_assert_eq!(again.ok(), Some(cmd));
        }
    }

    #[test]
    fn slash_prefixed_garbage_never_panics(
        name in prop::sample::select(COMMANDS.iter().map(|c| c.name).collect::<Vec<_>>()),
        rest in "[ -~\\t\"\\\\]{0,40}",
    ) {
        let line = format!("/{name} {rest}");
        if let Ok(cmd) = parse(&line) {
            prop_assert_eq!(parse(&print(&cmd)).ok(), Some(cmd));
        }
    }
}

#[test]
fn typical_lines_parse_as_a_person_types_them() {
    assert_eq!(
        parse("/clarify designer what does  risk_model expect?").unwrap(),
        Command::Clarify {
            agent: "designer".into(),
            message: "what does  risk_model expect?".into()
        }
    );
    assert_eq!(
        parse("/ack 12").unwrap(),
        Command::Ack {
            concern: ConcernId(12)
        }
    );
    assert_eq!(
        parse("  /ACK c-12  ").unwrap(),
        Command::Ack {
            concern: ConcernId(12)
        }
    );
    assert_eq!(
        parse("status").unwrap(),
        Command::Status,
        "the slash is optional"
    );
    assert_eq!(
        parse("/assign designer C-3 please update the spec").unwrap(),
        Command::Assign {
            agent: "designer".into(),
            concern: Some(ConcernId(3)),
            text: "please update the spec".into()
        }
    );
    assert_eq!(
        parse("/pause ALL").unwrap(),
        Command::Pause {
            target: Target::All
        }
    );
    assert_eq!(
        parse(r#"/approve V-2 --conditions "benchmark parity first" looks good"#).unwrap(),
        Command::Approve {
            target: "V-2".into(),
            conditions: Some("benchmark parity first".into()),
            note: Some("looks good".into())
        }
    );
    assert_eq!(
        parse("/raise --severity critical --category data --details \"3 of 14 fail\" Regression after loader change").unwrap(),
        Command::RaiseConcern(ConcernDraft {
            from: None,
            to: None,
            severity: Severity::Critical,
            category: "data".into(),
            summary: "Regression after loader change".into(),
            details: Some("3 of 14 fail".into()),
            task: None,
        })
    );
    // Text keeps what was typed, quotes included, when it is not one quoted string.
    assert_eq!(
        parse(r#"/reject design the "cache" section is wrong"#).unwrap(),
        Command::Reject {
            target: "design".into(),
            reason: r#"the "cache" section is wrong"#.into()
        }
    );
    // Commands without flags take `--words` as text.
    assert_eq!(
        parse("/clarify dev what does --verbose do").unwrap(),
        Command::Clarify {
            agent: "dev".into(),
            message: "what does --verbose do".into()
        }
    );
}

fn error(line: &str) -> String {
    parse(line).expect_err(line).to_string()
}

#[test]
fn mistakes_get_one_clear_message() {
    assert_eq!(
        error("/reslove C-1"),
        "unknown command /reslove — did you mean /resolve?"
    );
    assert_eq!(
        error("/stauts"),
        "unknown command /stauts — did you mean /status?"
    );
    assert!(error("/frobnicate").starts_with("unknown command /frobnicate"));
    assert_eq!(error(""), "empty command (try /help)");
    assert_eq!(error("   "), "empty command (try /help)");
    let e = error("/ack");
    assert!(
        e.contains("/ack is missing <concern>") && e.contains("usage: /ack <concern>"),
        "{e}"
    );
    let e = error("/ack C-1 C-2");
    assert!(e.contains("unexpected argument 'C-2'"), "{e}");
    let e = error("/ack banana");
    assert!(e.contains("'banana' is not a concern id"), "{e}");
    let e = error("/ack C-0");
    assert!(e.contains("not a valid concern id"), "{e}");
    let e = error("/clarify designer");
    assert!(e.contains("missing <message>"), "{e}");
    let e = error("/reject plan");
    assert!(e.contains("missing <reason>"), "{e}");
    let e = error("/raise --severity urgent --category x boom");
    assert!(e.contains("unknown severity 'urgent'"), "{e}");
    let e = error("/raise --severty info --category x boom");
    assert!(
        e.contains("unknown option --severty") && e.contains("did you mean --severity?"),
        "{e}"
    );
    let e = error("/raise --category x boom");
    assert!(e.contains("needs --severity"), "{e}");
    let e = error("/raise --severity info --severity warning --category x boom");
    assert!(e.contains("--severity given twice"), "{e}");
    let e = error("/raise --severity info --category");
    assert!(e.contains("--category needs a value"), "{e}");
    let e = error("/handoff --from implementer --to desinger --purpose p s");
    assert!(
        e.contains("unknown role 'desinger'") && e.contains("designer"),
        "{e}"
    );
    let e = error("/clarify \"unterminated");
    assert!(e.contains("unterminated quoted text"), "{e}");
    let e = error("/clarify dev \"a\"b");
    assert!(e.contains("closing quote"), "{e}");
    let e = error("/pause dev;rm");
    assert!(e.contains("is not a valid agent"), "{e}");
    let e = error("/help reslove");
    assert!(e.contains("did you mean /resolve?"), "{e}");
    let e = error("/task t1 finished");
    assert!(e.contains("unknown task status 'finished'"), "{e}");
    let e = error("/adopt foo");
    assert!(
        e.contains("decides about the protected main branch: write `/adopt main`")
            && e.contains("usage: /adopt main"),
        "{e}"
    );
    let e = error("/restore");
    assert!(e.contains("/restore is missing <main>"), "{e}");
    let e = error("/restore main now");
    assert!(e.contains("unexpected argument 'now'"), "{e}");
    assert_eq!(parse("/adopt main"), Ok(Command::AdoptMain));
    assert_eq!(parse("/RESTORE main"), Ok(Command::RestoreMain));
}

#[test]
fn help_covers_every_command() {
    let all = grammar::help_entries(None);
    assert_eq!(all.len(), COMMANDS.len());
    for spec in COMMANDS {
        assert!(
            spec.usage.starts_with(&format!("/{}", spec.name)),
            "{}",
            spec.usage
        );
        assert!(parse(&format!("/help {}", spec.name)).is_ok());
    }
    // Every human command of the product is in the grammar.
    for name in [
        "status", "help", "clarify", "assign", "ack", "resolve", "approve", "reject", "promote",
        "pause", "resume", "save", "rollback", "adopt", "restore",
    ] {
        let spec = grammar::spec(name).unwrap_or_else(|| panic!("/{name} missing"));
        assert!(spec.human, "/{name} should be a human command");
    }
}
