//! Acceptance criteria per task (seed 003): a TodoList criterion with a `command` is kept as a
//! check the supervisor runs (with what it `expect`s), bad criteria are refused at import
//! naming the task, and a high-impact variation approved with conditions makes them
//! acceptance criteria of the tasks it is tied to. The runs themselves: `supervisor::
//! acceptance_per_task`.

use overlord::core::plan::{conditions_as_criteria, parse_todo_list};
use overlord::protocol::model::{AcceptanceCheck, Expect, TaskStatus};
use proptest::prelude::*;

use crate::common::*;

fn one_task(criteria: &str) -> String {
    format!(
        r#"{{"todo_list_id": "p", "tasks": [{{"id": "a", "title": "A", "agent_role": "implementer",
           "acceptance_criteria": {criteria}}}]}}"#
    )
}

fn checks_of(criteria: &str) -> Vec<AcceptanceCheck> {
    let plan = parse_todo_list(&one_task(criteria), "plan.json", "now").unwrap();
    plan.task("a").unwrap().acceptance_checks.clone()
}

fn refused(criteria: &str) -> String {
    parse_todo_list(&one_task(criteria), "plan.json", "now")
        .expect_err("should be refused")
        .to_string()
}

#[test]
fn a_criterion_with_a_command_is_kept_with_what_it_expects() {
    let checks = checks_of(
        r#"["reads well",
            {"description": "unit tests", "command": "cargo test"},
            {"command": "./check.sh", "expect": 3},
            {"description": "exit code as text", "command": "x", "expected": "exit 2"},
            {"description": "output", "command": "y", "expect": "all green"},
            {"description": "no command: read by the reviewer"}]"#,
    );
    assert_eq!(
        checks,
        vec![
            AcceptanceCheck {
                description: "unit tests".into(),
                command: "cargo test".into(),
                expect: None
            },
            AcceptanceCheck {
                description: "./check.sh".into(),
                command: "./check.sh".into(),
                expect: Some(Expect::Exit(3))
            },
            AcceptanceCheck {
                description: "exit code as text".into(),
                command: "x".into(),
                expect: Some(Expect::Exit(2))
            },
            AcceptanceCheck {
                description: "output".into(),
                command: "y".into(),
                expect: Some(Expect::Contains("all green".into()))
            },
        ]
    );
    let plan = parse_todo_list(&one_task(r#"["a", {"command": "false"}]"#), "p", "now").unwrap();
    assert_eq!(
        plan.task("a").unwrap().acceptance_criteria,
        vec!["a".to_string(), "`false`".to_string()],
        "the text list for the prompt keeps every criterion"
    );
}

#[test]
fn an_empty_command_or_an_unusable_expect_is_refused_naming_the_task_and_criterion() {
    let msg = refused(r#"["fine", {"description": "tests", "command": "   "}]"#);
    assert!(
        msg.contains("task 'a'")
            && msg.contains("acceptance criterion 2")
            && msg.contains("command is empty"),
        "{msg}"
    );
    let msg = refused(r#"[{"command": "true", "expect": true}]"#);
    assert!(
        msg.contains("acceptance criterion 1") && msg.contains("neither an exit code nor text"),
        "{msg}"
    );
    let msg = refused(r#"[{"command": "true", "expect": 1.5}]"#);
    assert!(msg.contains("not an exit code"), "{msg}");
}

#[test]
fn expect_decides_what_passes() {
    let exit0 = None;
    assert!(Expect::passes(exit0, Some(0), ""));
    assert!(!Expect::passes(exit0, Some(1), ""));
    assert!(
        !Expect::passes(exit0, None, ""),
        "stopped or killed never passes"
    );
    let three = Expect::Exit(3);
    assert!(Expect::passes(Some(&three), Some(3), ""));
    assert!(!Expect::passes(Some(&three), Some(0), ""));
    let text = Expect::Contains("ok: 5".into());
    assert!(Expect::passes(
        Some(&text),
        Some(0),
        "tests\nok: 5 passed\n"
    ));
    assert!(!Expect::passes(Some(&text), Some(0), "ok: 4"));
    assert!(
        !Expect::passes(Some(&text), Some(1), "ok: 5"),
        "the text counts only from a command that succeeded"
    );
}

#[test]
fn conditions_become_criteria_and_backticked_commands_become_checks() {
    let (criteria, checks) = conditions_as_criteria(
        "keep the public API;`make check`\n docs build: `make docs; test -f out/index.html`. ; ",
    );
    assert_eq!(
        criteria,
        vec![
            "keep the public API",
            "`make check`",
            "docs build: `make docs; test -f out/index.html`"
        ]
    );
    assert_eq!(
        checks,
        vec![
            AcceptanceCheck {
                description: "make check".into(),
                command: "make check".into(),
                expect: None
            },
            AcceptanceCheck {
                description: "docs build".into(),
                command: "make docs; test -f out/index.html".into(),
                expect: None
            },
        ],
        "a `;` inside backticks belongs to the command"
    );
    let (criteria, checks) = conditions_as_criteria("mention `foo` in the docs");
    assert_eq!(criteria.len(), 1);
    assert!(
        checks.is_empty(),
        "a quoted word inside prose is not a command"
    );
    assert_eq!(conditions_as_criteria("  ;\n "), (vec![], vec![]));
}

/// A generated criterion: text, or an object with optional description, command and expect.
#[derive(Debug, Clone)]
enum Gen {
    Text(String),
    Object {
        description: Option<String>,
        command: Option<String>,
        expect: Option<GenExpect>,
    },
}

#[derive(Debug, Clone)]
enum GenExpect {
    Code(i32),
    ExitText(i32),
    Text(String),
}

fn gen_criterion() -> impl Strategy<Value = Gen> {
    let text = "[a-zA-Z0-9 ./_-]{0,20}";
    // A command is never blank (blank ones are refused: tested above).
    let command = "[a-z][a-z0-9 ./_-]{0,20}";
    let expect = prop_oneof![
        (-5i32..300).prop_map(GenExpect::Code),
        (0i32..256).prop_map(GenExpect::ExitText),
        "[a-z][a-z ]{0,10}".prop_map(GenExpect::Text),
    ];
    prop_oneof![
        text.prop_map(Gen::Text),
        (
            proptest::option::of(text),
            proptest::option::of(command),
            proptest::option::of(expect)
        )
            .prop_map(|(description, command, expect)| Gen::Object {
                description,
                command,
                expect
            }),
    ]
}

fn to_json(c: &Gen) -> serde_json::Value {
    match c {
        Gen::Text(t) => serde_json::Value::String(t.clone()),
        Gen::Object {
            description,
            command,
            expect,
        } => {
            let mut o = serde_json::Map::new();
            if let Some(d) = description {
                o.insert("description".into(), d.clone().into());
            }
            if let Some(c) = command {
                o.insert("command".into(), c.clone().into());
            }
            if let Some(e) = expect {
                o.insert(
                    "expect".into(),
                    match e {
                        GenExpect::Code(n) => (*n).into(),
                        GenExpect::ExitText(n) => format!("exit {n}").into(),
                        GenExpect::Text(t) => t.clone().into(),
                    },
                );
            }
            serde_json::Value::Object(o)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every criterion reaches the prompt's list; exactly those with a command become checks,
    /// in order, with their command and what they expect; the task survives a JSON round
    /// trip (the state's snapshot) unchanged.
    #[test]
    fn criteria_parse_to_a_known_count_of_checks(criteria in proptest::collection::vec(gen_criterion(), 0..8)) {
        let list: Vec<serde_json::Value> = criteria.iter().map(to_json).collect();
        let text = one_task(&serde_json::to_string(&list).unwrap());
        let plan = parse_todo_list(&text, "plan.json", "now").unwrap();
        let task = plan.task("a").unwrap();
        prop_assert_eq!(task.acceptance_criteria.len(), criteria.len());
        let expected: Vec<(String, Option<Expect>)> = criteria
            .iter()
            .filter_map(|c| match c {
                Gen::Object { command: Some(cmd), expect, .. } => Some((
                    cmd.clone(),
                    match expect {
                        None => None,
                        Some(GenExpect::Code(n) | GenExpect::ExitText(n)) => Some(Expect::Exit(*n)),
                        Some(GenExpect::Text(t)) => Some(Expect::Contains(t.clone())),
                    },
                )),
                _ => None,
            })
            .collect();
        let got: Vec<(String, Option<Expect>)> = task
            .acceptance_checks
            .iter()
            .map(|c| (c.command.clone(), c.expect.clone()))
            .collect();
        prop_assert_eq!(got, expected);
        for c in &task.acceptance_checks {
            prop_assert!(!c.description.trim().is_empty(), "a blank description falls back to the command");
        }
        let json = serde_json::to_string(task).unwrap();
        let back: overlord::protocol::model::Task = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, task);
    }
}

#[test]
fn a_snapshot_task_without_checks_still_loads() {
    let plan = parse_todo_list(&one_task(r#"["text only"]"#), "p", "now").unwrap();
    let json = serde_json::to_string(plan.task("a").unwrap()).unwrap();
    assert!(
        !json.contains("acceptance_checks"),
        "an empty list is not written, so older readers see the shape they know: {json}"
    );
    let back: overlord::protocol::model::Task = serde_json::from_str(&json).unwrap();
    assert!(back.acceptance_checks.is_empty());
}

const TWO: &str = r#"{"todo_list_id": "p", "tasks": [
  {"id": "a", "title": "A", "agent_role": "implementer", "acceptance_criteria": ["it works"]},
  {"id": "b", "title": "B", "agent_role": "implementer"}]}"#;

#[test]
fn approving_a_variation_with_conditions_makes_them_criteria_of_its_tasks() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", TWO);
    ok(&mut core, "/import plan.json");
    let r = run_as(
        &mut core,
        agent("implementer-1"),
        "/propose --impact high --affects a --affects src/engine.rs Switch the engine",
    );
    assert!(r.ok, "{}", r.message);
    let r = ok(
        &mut core,
        "/approve V-1 --conditions \"keep the old API; `./bench.sh --parity`\" trial only",
    );
    assert!(
        r.message
            .contains("its conditions are acceptance criteria of a (1 with a command)"),
        "{}",
        r.message
    );
    let check = |core: &overlord::core::Core| {
        let s = core.state();
        let a = s.plan.as_ref().unwrap().task("a").unwrap().clone();
        assert_eq!(
            a.acceptance_criteria,
            vec!["it works", "keep the old API", "`./bench.sh --parity`"]
        );
        assert_eq!(a.acceptance_checks.len(), 1);
        assert_eq!(a.acceptance_checks[0].command, "./bench.sh --parity");
        assert!(a
            .commentary
            .iter()
            .any(|c| c.contains("conditions of variation V-1")));
        let b = s.plan.as_ref().unwrap().task("b").unwrap();
        assert!(b.acceptance_checks.is_empty(), "b is not tied to V-1");
        assert_eq!(a.status, TaskStatus::Todo);
    };
    check(&core);
    // The same state after a restart (replayed from the audit trail).
    drop(core);
    check(&repo.reopen());
}

#[test]
fn conditions_on_finished_work_reopen_it_and_without_a_task_stay_on_the_variation() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", TWO);
    ok(&mut core, "/import plan.json");
    ok(
        &mut core,
        "/agent implementer-1 --role implementer --task b",
    );
    ok(&mut core, "/task b done");
    // No --affects: the variation is tied to the task its proposer works on.
    let r = run_as(
        &mut core,
        agent("implementer-1"),
        "/propose --impact high Cache the results",
    );
    assert!(r.ok, "{}", r.message);
    let r = ok(
        &mut core,
        "/approve V-1 --conditions \"`test -f cache.md`\"",
    );
    assert!(
        r.message.contains("reopened to meet them: b"),
        "{}",
        r.message
    );
    let b = core
        .state()
        .plan
        .as_ref()
        .unwrap()
        .task("b")
        .unwrap()
        .clone();
    assert_eq!(b.status, TaskStatus::Todo, "finished work runs again");
    assert_eq!(b.acceptance_checks[0].command, "test -f cache.md");

    // A variation that names no task: the conditions are recorded on it, and it says so.
    let r = run_as(
        &mut core,
        agent("designer-9"),
        "/propose --impact high --affects docs/ Rewrite the docs",
    );
    assert!(r.ok, "{}", r.message);
    let r = ok(&mut core, "/approve V-2 --conditions \"`make docs`\"");
    assert!(
        r.message.contains("names no task of the plan"),
        "{}",
        r.message
    );
    let v = &core.state().variations[&"V-2".parse().unwrap()];
    assert_eq!(v.conditions.as_deref(), Some("`make docs`"));
    // A plain approval (a note, no conditions) adds nothing.
    let r = run_as(
        &mut core,
        agent("implementer-1"),
        "/propose --impact high --affects a Another change",
    );
    assert!(r.ok, "{}", r.message);
    ok(&mut core, "/approve V-3 `make lint` would be nice");
    let a = core
        .state()
        .plan
        .as_ref()
        .unwrap()
        .task("a")
        .unwrap()
        .clone();
    assert!(a.acceptance_checks.is_empty() && a.acceptance_criteria.len() == 1);
}
