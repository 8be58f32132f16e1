//! The permission table (docs/governance.md), tested for every command × every origin: what
//! agents may do inside the guard rails, what only the human decides, and that a refusal is an
//! audited, rejected command.

use overlord::core::decide::permissions::check;
use overlord::protocol::model::Role;
use overlord::protocol::{parse, Origin};

use crate::common::*;

fn origins() -> [(&'static str, Origin); 7] {
    [
        (
            "console",
            Origin::Console {
                user: "alice".into(),
            },
        ),
        ("cli", human()),
        (
            "discord",
            Origin::Discord {
                user_id: "42".into(),
                name: "rev".into(),
                roles: vec!["1".into()],
            },
        ),
        (
            "pm",
            Origin::Agent {
                agent: "pm-1".into(),
                role: Some(Role::ProjectManager),
            },
        ),
        (
            "agent",
            Origin::Agent {
                agent: "impl-1".into(),
                role: Some(Role::Implementer),
            },
        ),
        (
            "unroled",
            Origin::Agent {
                agent: "impl-1".into(),
                role: None,
            },
        ),
        ("system", Origin::System),
    ]
}

/// Every command of the grammar, and per origin (console, cli, discord, pm, agent, agent
/// without a role, system) whether the table lets it through: `Y` yes, `n` no.
const TABLE: &[(&str, &str)] = &[
    ("/status", "YYYYYYY"),
    ("/help", "YYYYYYY"),
    (
        "/raise --severity warning --category design_gap x",
        "YYYYYYY",
    ),
    (
        "/handoff --from implementer --to tester --purpose p done",
        "YYYYYYY",
    ),
    ("/propose --impact high a new title", "YYYYYYY"),
    ("/request design_spec spec.md please look", "YYYYYYY"),
    ("/answer Q-1 yes", "YYYYYYY"),
    ("/promote phase-1", "YYYYYYY"),
    ("/pause all", "YYYYYYY"),
    ("/pause impl-2", "YYYYnnY"),
    ("/resume all", "YYYnnnY"),
    ("/resume impl-2", "YYYnnnY"),
    ("/clarify impl-2 which one?", "YYYYnnY"),
    ("/assign impl-2 do this", "YYYYnnY"),
    // C-1 is addressed to the implementers, C-2 to the human.
    ("/ack C-1", "YYYnYYY"),
    ("/resolve C-1 done", "YYYnYYY"),
    ("/ack C-2", "YYYnnnY"),
    ("/resolve C-2 done", "YYYnnnY"),
    ("/import plan.json", "YYYnnnY"),
    // impl-1 works on t1_data.
    ("/task t1_data done", "YYYnYYY"),
    ("/task t3_entry done", "YYYnnnY"),
    ("/agent evil --role project_manager", "YYYnnnY"),
    ("/approve A-1", "YYYnnnn"),
    ("/approve tickets all", "YYYnnnn"),
    // Filed tickets wait in the ready-for-robot queue for the human's batch approval.
    ("/ticket tickets.json", "YYYYYYY"),
    ("/plan a greeter", "YYYnnnY"),
    ("/defer A-1", "YYYnnnn"),
    ("/reject A-1 no", "YYYnnnn"),
    ("/save", "YYYnnnn"),
    ("/integrate", "YYYnnnY"),
    ("/rollback undo", "YYYnnnn"),
    ("/adopt main", "YYYnnnn"),
    ("/restore main", "YYYnnnn"),
];

#[test]
fn the_permission_table_for_every_command_and_origin() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", PLAN);
    ok(&mut core, "/import plan.json");
    ok(&mut core, "/agent impl-1 --role implementer --task t1_data");
    ok(&mut core, "/agent impl-2 --role implementer");
    ok(
        &mut core,
        "/raise --from designer --to implementer --severity warning --category design_gap c1",
    );
    ok(
        &mut core,
        "/raise --from designer --to human --severity warning --category design_gap c2",
    );
    let state = core.state().clone();
    let names = overlord::protocol::grammar::COMMANDS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>();
    // Every command of the grammar is in the table (`/link` is the bridge's own).
    for name in &names {
        if *name == "link" {
            continue;
        }
        assert!(
            TABLE
                .iter()
                .any(|(line, _)| line.split(' ').next() == Some(&format!("/{name}"))),
            "/{name} is missing from the table"
        );
    }
    let mut wrong = Vec::new();
    for (line, row) in TABLE {
        let command = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        for ((who, origin), want) in origins().iter().zip(row.chars()) {
            let got = check(&state, origin, &command);
            if got.is_ok() != (want == 'Y') {
                wrong.push(format!("{line} by {who}: want {want}, got {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A refusal is a rejected command in the audit trail, with its reason, and changes nothing.
#[test]
fn an_agent_that_oversteps_is_refused_and_audited() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", PLAN);
    ok(&mut core, "/import plan.json");
    ok(&mut core, "/pause all");
    let before = core.state().clone();
    let agent = Origin::Agent {
        agent: "impl-1".into(),
        role: Some(Role::Implementer),
    };
    for (line, why) in [
        ("/resume all", "the human lifts the kill switch"),
        ("/import plan.json", "replace the plan that is running"),
        ("/task t3_entry todo", "only report on its own task"),
        ("/agent evil --role project_manager", "register agents"),
    ] {
        let msg = rejected_as(&mut core, agent.clone(), line);
        assert!(msg.contains(why), "{line}: {msg}");
    }
    assert_eq!(core.state().dispatch_halted, before.dispatch_halted);
    assert_eq!(core.state().plan, before.plan);
    assert!(!core.state().agents.contains_key("evil"));
    let o = repo.run(&["audit", "summary", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["commands_rejected"], 4, "{v}");
    let responses =
        std::fs::read_to_string(repo.path().join(".overlord/audit/responses.jsonl")).unwrap();
    assert_eq!(responses.matches("\"unauthorized\"").count(), 4);
}

/// A blank `OVERLORD_AGENT` is not the human: set at all, the speaker is an agent.
#[test]
fn a_blank_agent_variable_does_not_make_the_human() {
    let repo = Repo::new();
    assert!(repo.run(&["init"]).status.success());
    assert!(repo.run(&["cmd", "/pause all"]).status.success());
    for blank in ["", " ", "\t"] {
        let o = repo.run_env(&["cmd", "/resume all"], &[("OVERLORD_AGENT", blank)]);
        assert_eq!(o.status.code(), Some(1), "{blank:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("agent:unnamed-agent may not resume"),
            "{}",
            stderr(&o)
        );
    }
    let commands =
        std::fs::read_to_string(repo.path().join(".overlord/audit/commands.jsonl")).unwrap();
    assert!(commands.contains("unnamed-agent"), "{commands}");
}

/// Seed 000 §15: a critical concern about an integrity problem stops the swarm at once,
/// whoever raised it — an agent included — and only the human lifts it.
#[test]
fn a_critical_integrity_concern_from_an_agent_trips_the_kill_switch() {
    let repo = Repo::new();
    let mut core = repo.core();
    ok(&mut core, "/agent impl-1 --role implementer");
    let impl1 = Origin::Agent {
        agent: "impl-1".into(),
        role: Some(Role::Implementer),
    };
    // Not every concern: a warning in the category, or a critical one in another, does not.
    for line in [
        "/raise --severity warning --category audit_integrity the chain looks odd",
        "/raise --severity critical --category design_gap the spec is wrong",
    ] {
        let r = run_as(&mut core, impl1.clone(), line);
        assert!(r.ok, "{line}: {}", r.message);
        assert!(!core.state().dispatch_halted, "{line}");
    }
    let r = run_as(
        &mut core,
        impl1.clone(),
        "/raise --severity critical --category audit_integrity audit records 40..52 are missing",
    );
    assert!(r.ok, "{}", r.message);
    assert!(r.message.contains("kill switch on"), "{}", r.message);
    let state = core.state().clone();
    assert!(state.dispatch_halted);
    assert!(state.agents["impl-1"].paused);
    // In the audit: the concern (concerns.jsonl) and the halt, with why and from whom.
    let concerns =
        std::fs::read_to_string(repo.path().join(".overlord/audit/concerns.jsonl")).unwrap();
    assert!(
        concerns.contains("audit records 40..52 are missing"),
        "{concerns}"
    );
    let o = repo.run(&["audit", "export"]);
    assert!(
        stdout(&o).contains("critical concern C-3 (audit_integrity) from agent:impl-1"),
        "{}",
        stdout(&o)
    );
    // The agent may not lift it; the human does.
    let refused = run_as(&mut core, impl1, "/resume all");
    assert!(!refused.ok);
    ok(&mut core, "/resume all");
    assert!(!core.state().dispatch_halted);
    // Configured empty: never.
    let mut config = overlord::config::Config::default();
    config.core.kill_switch_concerns.clear();
    let mut quiet = overlord::core::Core::open(&repo.workspace(), &config).unwrap();
    let r = run_as(
        &mut quiet,
        human(),
        "/raise --severity critical --category data_corruption rows unreadable",
    );
    assert!(r.ok && !r.message.contains("kill switch"), "{}", r.message);
    assert!(!quiet.state().dispatch_halted);
}

/// Overlord's own Save is refused in `manual` mode and accepted in `auto` (the QA policy then
/// decides); an agent's is refused in both.
#[test]
fn overlord_saves_by_itself_only_in_auto_mode() {
    let repo = Repo::new();
    for (mode, system_ok) in [
        (overlord::config::SaveMode::Manual, false),
        (overlord::config::SaveMode::Auto, true),
    ] {
        let mut config = overlord::config::Config::default();
        config.git.save = mode;
        let mut core = overlord::core::Core::open(&repo.workspace(), &config).unwrap();
        let r = core.execute(Origin::System, overlord::protocol::Command::Save);
        if system_ok {
            assert!(
                r.ok || !r.message.contains("only a human"),
                "{mode:?}: {}",
                r.message
            );
        } else {
            assert!(
                !r.ok && r.message.contains("only a human"),
                "{mode:?}: {}",
                r.message
            );
        }
        let agent = Origin::Agent {
            agent: "impl-1".into(),
            role: Some(Role::Implementer),
        };
        let r = core.execute(agent, overlord::protocol::Command::Save);
        assert!(!r.ok && r.message.contains("only a human"), "{}", r.message);
        drop(core);
    }
}
