//! Tickets (seed 002 §5.1, issue 24 §1): the seed's JSON filed as is, the parser's round trip,
//! clear errors for bad input (malformed JSON, unknown type, duplicate id, empty batch),
//! deduplication against open tickets, the `ready-for-robot` queue and the human's batch
//! approval (`/approve tickets <ids|all>`, the same line from the console and Discord),
//! through the core and the real `overlord-tui ticket` binary.

use overlord::core::tickets::{normalize, parse_tickets, TicketDraft};
use overlord::protocol::model::{TicketKind, TicketPriority, TicketStatus};
use overlord::protocol::{parse, Command};
use proptest::prelude::*;

use crate::common::*;

/// Seed 002 §5.1's example, exactly.
const SEED: &str = r#"{
  "id": "ENG-1042",
  "type": "bug",
  "priority": "high",
  "context": {
    "repo": "frontend-monorepo",
    "filepaths": ["src/components/Header.tsx"],
    "error_logs": "Traceback (most recent call last)..."
  },
  "acceptance_criteria": ["Unit tests pass", "No new React warnings in console"]
}"#;

#[test]
fn the_seed_ticket_is_read_as_written() {
    let drafts = parse_tickets(SEED, "seed.json").unwrap();
    assert_eq!(drafts.len(), 1);
    let d = &drafts[0];
    assert_eq!(d.id.as_deref(), Some("ENG-1042"));
    assert_eq!(d.kind, "bug");
    assert_eq!(d.context.filepaths, ["src/components/Header.tsx"]);
    assert_eq!(d.acceptance_criteria.len(), 2);
    // An array and {"tickets": [...]} hold several.
    let many = format!("[{SEED}, {}]", SEED.replace("ENG-1042", "ENG-1043"));
    assert_eq!(parse_tickets(&many, "m").unwrap().len(), 2);
    let wrapped = format!("{{\"tickets\": {many}}}");
    assert_eq!(parse_tickets(&wrapped, "w").unwrap().len(), 2);
}

#[test]
fn bad_ticket_files_get_errors_that_name_the_problem() {
    let e = parse_tickets("{\"id\": \"X-1\", \"type\": ", "t.json").unwrap_err();
    assert!(e.contains("t.json") && e.contains("not valid JSON"), "{e}");
    let e = parse_tickets(&SEED.replace("\"bug\"", "\"epic\""), "t.json").unwrap_err();
    assert!(
        e.contains("ticket 'ENG-1042'") && e.contains("unknown ticket type 'epic'"),
        "{e}"
    );
    let e = parse_tickets(&SEED.replace("\"high\"", "\"urgent\""), "t.json").unwrap_err();
    assert!(e.contains("unknown ticket priority 'urgent'"), "{e}");
    let e = parse_tickets("[]", "t.json").unwrap_err();
    assert!(e.contains("the batch is empty"), "{e}");
    let e = parse_tickets(&SEED.replace("\"repo\"", "\"repository\""), "t.json").unwrap_err();
    assert!(e.contains("repository"), "{e}");
    let e = parse_tickets(
        r#"{"id": "X-1", "type": "chore", "title": "t", "acceptance_criteria": [{"command": " "}]}"#,
        "t.json",
    )
    .unwrap_err();
    assert!(
        e.contains("acceptance criterion 1") && e.contains("empty"),
        "{e}"
    );
    let e = parse_tickets(r#"{"id": "a b", "type": "chore", "title": "t"}"#, "t.json").unwrap_err();
    assert!(e.contains("invalid id"), "{e}");
}

fn draft() -> impl Strategy<Value = TicketDraft> {
    (
        proptest::option::of("[A-Z]{2,4}-[0-9]{1,5}"),
        prop::sample::select(TicketKind::ALL.to_vec()),
        prop::sample::select(TicketPriority::ALL.to_vec()),
        "[a-zA-Z][a-zA-Z0-9 ,.'\"\\\\/-]{0,40}",
        proptest::collection::vec("[a-z/._]{1,20}", 0..3),
        proptest::option::of("[ -~\n]{1,60}"),
        proptest::collection::vec("[ -~]{1,30}", 0..3),
    )
        .prop_map(|(id, kind, priority, title, files, logs, criteria)| {
            let mut d = TicketDraft::new(kind, priority, title);
            d.id = id;
            d.context.filepaths = files;
            d.context.error_logs = logs;
            d.acceptance_criteria = criteria.into_iter().map(serde_json::Value::from).collect();
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Tickets written as seed 002 JSON read back as the same tickets, as many as written.
    #[test]
    fn tickets_written_as_json_read_back_the_same(drafts in proptest::collection::vec(draft(), 1..6)) {
        let text = serde_json::to_string_pretty(&drafts).unwrap();
        let back = parse_tickets(&text, "p.json").unwrap();
        prop_assert_eq!(back.len(), drafts.len());
        prop_assert_eq!(back, drafts);
    }
}

#[test]
fn normalized_titles_ignore_case_numbers_and_punctuation() {
    assert_eq!(
        normalize("Fix NPE at line 42!"),
        normalize("fix npe at   line 7")
    );
    assert_ne!(normalize("fix npe"), normalize("fix oom"));
}

#[test]
fn the_batch_approval_parses_from_the_console_and_from_discord_alike() {
    assert_eq!(
        parse("/approve tickets ENG-1 ENG-2").unwrap(),
        Command::ApproveTickets {
            tickets: vec!["ENG-1".into(), "ENG-2".into()]
        }
    );
    assert_eq!(
        parse("/approve tickets ALL").unwrap(),
        Command::ApproveTickets {
            tickets: vec!["all".into()]
        }
    );
    for bad in [
        "/approve tickets",
        "/approve tickets all ENG-1",
        "/approve tickets ENG-1 --conditions x",
    ] {
        assert!(parse(bad).is_err(), "{bad} should not parse");
    }
    // The printed line parses back to the same command (the audit trail keeps it).
    let c = parse("/approve tickets ENG-1,ENG-2").unwrap();
    assert_eq!(parse(&overlord::protocol::print(&c)).unwrap(), c);
    #[cfg(feature = "discord")]
    {
        // Discord's /approve: target `tickets`, the ids in the note option.
        let (line, command) = overlord::discord::slash::to_command(
            "approve",
            &[
                ("target".into(), "tickets".into()),
                ("note".into(), "ENG-1 ENG-2".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            command,
            Command::ApproveTickets {
                tickets: vec!["ENG-1".into(), "ENG-2".into()]
            },
            "{line}"
        );
    }
}

const TWO: &str = r#"[
  {"id": "ENG-1", "type": "bug", "priority": "low", "title": "Crash on save (line 12)"},
  {"id": "ENG-2", "type": "feature", "priority": "critical", "title": "Dark mode",
   "acceptance_criteria": [{"description": "themes load", "command": "test -f theme.css", "expect": 0}]}
]"#;

#[test]
fn filed_tickets_wait_in_the_queue_and_a_batch_approval_makes_them_plan_tasks() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("t.json", TWO);
    let r = ok(&mut core, "/ticket t.json");
    assert!(r.message.contains("filed 2 tickets"), "{}", r.message);
    // The same id again is refused, naming it; nothing is filed.
    let e = rejected(&mut core, "/ticket t.json");
    assert!(e.contains("ticket ENG-1 is already filed"), "{e}");
    // The same bug under another id (another line number) is a duplicate: skipped, named.
    repo.write(
        "dup.json",
        r#"[{"id": "ENG-3", "type": "bug", "title": "crash on SAVE (line 99)"},
            {"id": "ENG-4", "type": "chore", "title": "bump deps"}]"#,
    );
    let r = ok(&mut core, "/ticket dup.json");
    assert!(
        r.message.contains("filed 1 ticket") && r.message.contains("ENG-3 duplicates ENG-1"),
        "{}",
        r.message
    );
    assert!(!core.state().tickets.contains_key("ENG-3"));
    // Twice in one file.
    repo.write(
        "twice.json",
        r#"[{"id": "X-1", "type": "chore", "title": "a"}, {"id": "X-1", "type": "chore", "title": "b"}]"#,
    );
    let e = rejected(&mut core, "/ticket twice.json");
    assert!(e.contains("X-1 appears twice"), "{e}");
    repo.write("empty.json", "[]");
    let e = rejected(&mut core, "/ticket empty.json");
    assert!(e.contains("empty"), "{e}");

    // Unknown ids are named; agents may not approve.
    let e = rejected(&mut core, "/approve tickets ENG-9");
    assert!(e.contains("unknown ticket 'ENG-9'"), "{e}");
    let agent = overlord::protocol::Origin::Agent {
        agent: "impl-1".into(),
        role: Some(overlord::protocol::model::Role::Implementer),
    };
    let e = rejected_as(&mut core, agent, "/approve tickets all");
    assert!(e.contains("only a human"), "{e}");

    ok(&mut core, "/approve tickets ENG-1 ENG-2");
    let s = core.state().clone();
    let phase = s.plan.as_ref().unwrap().phase("tickets").unwrap();
    let ids: Vec<&str> = phase.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["ENG-2", "ENG-1"], "most urgent first");
    assert_eq!(
        phase.tasks[0].acceptance_checks[0].command,
        "test -f theme.css"
    );
    assert!(s.approved_tasks.contains("ENG-1") && s.approved_tasks.contains("ENG-2"));
    assert_eq!(s.tickets["ENG-1"].status, TicketStatus::Approved);
    assert_eq!(s.tickets["ENG-4"].status, TicketStatus::ReadyForRobot);
    let e = rejected(&mut core, "/approve tickets ENG-1");
    assert!(e.contains("already approved"), "{e}");
    // The state is rebuilt from the audit trail alike.
    drop(core);
    let again = repo.reopen();
    assert_eq!(again.state().tickets, s.tickets);
    assert_eq!(again.state().plan, s.plan);
}

#[test]
fn the_ticket_cli_files_from_a_file_or_stdin_and_lists_the_queue() {
    let repo = Repo::new();
    let out = repo.run(&["init"]);
    assert!(out.status.success(), "{out:?}");
    repo.write("seed.json", SEED);
    let out = repo.run(&["ticket", "add", "seed.json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("ENG-1042"), "{out:?}");

    // Standard input.
    let mut cmd = bin();
    cmd.args(["ticket", "add", "-"]).current_dir(repo.path());
    sandbox(&mut cmd, repo.home.path());
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"type": "chore", "priority": "low", "title": "update serde"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("T-2"),
        "{out:?}"
    );

    // A malformed file: exit 1, the reason on stderr.
    repo.write("bad.json", "{\"type\": \"epic\", \"title\": \"x\"}");
    let out = repo.run(&["ticket", "add", "bad.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown ticket type 'epic'"),
        "{out:?}"
    );

    let out = repo.run(&["ticket", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tickets = v["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets[0]["id"], "ENG-1042", "high before low");
    assert_eq!(tickets[0]["status"], "ready_for_robot");
    assert!(
        tickets[1]["source"].as_str().unwrap().starts_with("cli:"),
        "{v}"
    );

    let out = repo.run(&["cmd", "/approve tickets all"]);
    assert!(out.status.success(), "{out:?}");
    let out = repo.run(&["ticket", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 ready-for-robot"), "{text}");
    assert!(text.contains("approved, task todo"), "{text}");
}
