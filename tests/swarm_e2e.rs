//! The whole workflow headless, with the real binary: `overlord-tui run` owns the store and
//! runs scripted agents (`overlord-tui script-agent`, real child processes in real
//! worktrees); the test is the human, through `overlord-tui cmd`, `plan import`, `save` and
//! `audit verify --git`, like a person at a terminal.
//!
//! plan import → plan approval → the designer's spec → the human approves it → two
//! implementers in parallel worktrees (one raises a concern through the CLI: it climbs to
//! the human, who acknowledges and resolves it) → the tester's plan and tests → a failing test
//! → a branch todo for the debugger → the fix → the test plan approved → Save: the QA
//! gates (pytest, coverage.py) pass and a checkpoint is tagged → the project documents are on
//! main → the audit trail and the repository agree.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

struct Run {
    repo: Repo,
    target: PathBuf,
    child: Option<Child>,
    log: PathBuf,
}

impl Run {
    fn env(&self) -> Vec<(String, String)> {
        tool_env(&self.target)
    }

    fn cli(&self, args: &[&str]) -> Output {
        let env = self.env();
        let all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.repo.run_env(args, &all)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cli(args);
        assert!(
            o.status.success(),
            "overlord-tui {args:?}: {}{}\n--- run log ---\n{}",
            stdout(&o),
            stderr(&o),
            self.run_log()
        );
        stdout(&o)
    }

    fn cmd(&self, line: &str) -> String {
        self.ok(&["cmd", line])
    }

    fn run_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn state(&self) -> Value {
        let text = self.ok(&["status", "--json"]);
        let v: Value = serde_json::from_str(&text).unwrap();
        v["state"].clone()
    }

    fn wait(&self, what: &str, secs: u64, f: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.state();
            if f(&s) {
                return s;
            }
            if Instant::now() > until {
                panic!(
                    "timed out waiting for {what}\n--- run log ---\n{}\n--- tasks ---\n{:#}",
                    self.run_log(),
                    tasks(&s)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
            }
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn tasks(s: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(phases) = s["plan"]["phases"].as_array() {
        for p in phases {
            for t in p["tasks"].as_array().unwrap() {
                out.insert(
                    t["id"].as_str().unwrap().to_string(),
                    serde_json::json!([t["status"], t["owner"], t["commentary"]]),
                );
            }
        }
    }
    Value::Object(out)
}

fn task<'a>(s: &'a Value, id: &str) -> Option<&'a Value> {
    s["plan"]["phases"]
        .as_array()?
        .iter()
        .flat_map(|p| p["tasks"].as_array().unwrap().iter())
        .find(|t| t["id"] == id)
}

fn status_of(s: &Value, id: &str) -> String {
    task(s, id)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn pending(s: &Value, kind: &str, subject: &str) -> Option<String> {
    s["approvals"].as_object()?.values().find_map(|a| {
        (a["kind"] == kind && a["subject"] == subject && a["decision"].is_null())
            .then(|| a["id"].as_str().unwrap().to_string())
    })
}

const PLAN: &str = r#"{
  "todo_list_id": "arith-1",
  "title": "Arithmetic library",
  "phases": [
    { "id": "phase-1", "name": "Core functions", "tasks": [
      { "id": "design", "title": "Design spec", "agent_role": "designer",
        "expected_artifacts": ["design/DESIGN_SPEC.md"] },
      { "id": "impl-arith", "title": "add and sub", "agent_role": "implementer",
        "dependencies": ["design"], "expected_artifacts": ["sample/arith.py"] },
      { "id": "impl-big", "title": "big", "agent_role": "implementer",
        "dependencies": ["design"], "expected_artifacts": ["sample/big.py"] },
      { "id": "tests", "title": "Test plan and tests", "agent_role": "tester",
        "dependencies": ["impl-arith", "impl-big"],
        "expected_artifacts": ["tests/TEST_PLAN.md", "tests/test_sample.py"] }
    ]}
  ]
}"#;

const DESIGN: &str = r##"
[[step]]
say = "Designing the arithmetic module"

[[step]]
write = { path = "design/DESIGN_SPEC.md", content = "# Design spec\n\n- `sample.arith.add(a, b)` and `sample.arith.sub(a, b)`\n- `sample.big.big(x)` doubles numbers above 10\n" }

[[step]]
commit = "design: the spec"
"##;

/// Both implementers log when they start and end (to prove they overlap); each waits (up to
/// 20 s) for the other's start, so they do however slowly the machine starts them.
fn implementer(task: &str, file: &str, content: &str, concern: bool) -> String {
    let mut s = format!(
        r#"
[[step]]
run = "log=\"$HOME/e2e-order.log\"; echo start {task} $(date +%s%N) >> \"$log\"; n=0; while [ $(grep -c '^start' \"$log\") -lt 2 ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); done; sleep 1.5"
"#
    );
    if concern {
        s.push_str(
            r#"
[[step]]
concern = { severity = "warning", category = "spec_ambiguity", summary = "Should sub() saturate at zero?", details = "The spec does not say." }
"#,
        );
    }
    s.push_str(&format!(
        r#"
[[step]]
write = {{ path = "{file}", content = "{content}" }}

[[step]]
run = "echo end {task} $(date +%s%N) >> \"$HOME/e2e-order.log\""

[[step]]
commit = "feat: {task}"
"#
    ));
    s
}

const TESTER: &str = r##"
[[step]]
write = { path = "tests/TEST_PLAN.md", content = "# Test plan\n\nUnit tests of add, sub and big; coverage above 50%.\n" }

[[step]]
write = { path = "tests/test_sample.py", content = "from sample.arith import add, sub\nfrom sample.big import big\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n\n\ndef test_big():\n    assert big(20) == 40\n    assert big(2) == 2\n" }

[[step]]
commit = "test: the test plan and the unit tests"
"##;

const FIX: &str = r##"
[[step]]
say = "sub() added instead of subtracting"

[[step]]
write = { path = "sample/arith.py", content = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n" }

[[step]]
commit = "fix: sub subtracts"
"##;

fn start() -> Run {
    for module in ["pytest", "coverage"] {
        let found = Proc::new("python3")
            .args(["-m", module, "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "python3 -m {module} is required (.ci/run installs it: pip install pytest coverage ruff)"
        );
    }
    let repo = Repo::new();
    repo.write("README.md", "# arith\n");
    repo.write("sample/__init__.py", "");
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"sample\"\nversion = \"0.1.0\"\n",
    );
    repo.write(".gitignore", "__pycache__/\n.coverage\n.pytest_cache/\n");
    git(repo.path(), repo.home.path(), &["add", "-A"]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    let target = repo.home.path().join("target");
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ruff = Proc::new("ruff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    repo.write(
        ".overlord/config.toml",
        &format!(
            r#"
[core]
poll_ms = 50

[agents]
# The agents run in the kernel sandbox; the test's home is their scratch (the order log).
sandbox_extra_write = ["~/"]
concurrency = 4
backoff_secs = 0
escalate_after_secs = 2
flush_ms = 200
cancel_grace_secs = 2
# pytest finds no test before the tester writes them (exit 5): that is not a failure.
acceptance_command = "python3 -m pytest -q -p no:cacheprovider || [ $? -eq 5 ]"

[roles.pm]
adapter = "scripted"
[roles.designer]
adapter = "scripted"
[roles.implementer]
adapter = "scripted"
[roles.tester]
adapter = "scripted"
[roles.debugger]
adapter = "scripted"
[roles.reviewer]
adapter = "scripted"

[adapters.scripted]
script_dir = ".overlord/scripts"

[qa.lint]
command = "{}"
"#,
            if ruff { "" } else { "off" }
        ),
    );
    repo.write(
        ".overlord/QA_POLICY.yaml",
        "auto_merge_if:\n  all_tests_passed: true\n  coverage_min: 50\nrequire_human_if:\n  gate_fail: true\ngates:\n  reproducibility_runs: 2\n  not_measured: ignore\n",
    );
    repo.write(".overlord/scripts/design.toml", DESIGN);
    repo.write(
        ".overlord/scripts/impl-arith.toml",
        &implementer(
            "impl-arith",
            "sample/arith.py",
            // The bug the tester's test finds.
            "def add(a, b):\\n    return a + b\\n\\n\\ndef sub(a, b):\\n    return a + b\\n",
            true,
        ),
    );
    repo.write(
        ".overlord/scripts/impl-big.toml",
        &implementer(
            "impl-big",
            "sample/big.py",
            "def big(x):\\n    if x > 10:\\n        return x * 2\\n    return x\\n",
            false,
        ),
    );
    repo.write(".overlord/scripts/tests.toml", TESTER);
    repo.write(".overlord/scripts/tests-fix-1.toml", FIX);
    repo.write("plan.json", PLAN);
    git(repo.path(), repo.home.path(), &["add", "plan.json"]);
    git(
        repo.path(),
        repo.home.path(),
        &["commit", "-qm", "the plan"],
    );

    let log = repo.home.path().join("run.log");
    let child = spawn_run(&repo, &log, &tool_env(&target));
    let run = Run {
        repo,
        target,
        child: Some(child),
        log,
    };
    // Ready when it answers on its socket.
    let until = Instant::now() + Duration::from_secs(30);
    while !run.repo.path().join(".overlord/overlord.sock").exists() {
        assert!(
            Instant::now() < until,
            "run never listened: {}",
            run.run_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run
}

fn order_overlap(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let at = |what: &str, task: &str| -> Option<u128> {
        text.lines()
            .find(|l| l.starts_with(&format!("{what} {task} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    match (
        at("start", "impl-arith"),
        at("end", "impl-arith"),
        at("start", "impl-big"),
        at("end", "impl-big"),
    ) {
        (Some(s1), Some(e1), Some(s2), Some(e2)) => s1 < e2 && s2 < e1,
        _ => false,
    }
}

#[test]
fn the_whole_workflow_runs_headless_with_scripted_agents() {
    let run = start();
    run.ok(&["plan", "import", "plan.json"]);
    let s = run.state();
    assert_eq!(
        s["agents"].as_object().unwrap().len(),
        0,
        "nothing runs before the plan's approval"
    );
    let plan_approval = pending(&s, "plan", "arith-1").expect("the plan awaits approval");
    run.cmd(&format!("/approve {plan_approval} go ahead"));

    // The designer's spec waits for the human.
    // The supervisor asks for the approval, then marks the task (two commands): wait for both.
    let s = run.wait("the design spec's review", 60, |s| {
        pending(s, "design_spec", "design").is_some() && status_of(s, "design") == "needs_review"
    });
    assert_eq!(
        status_of(&s, "impl-arith"),
        "todo",
        "implementation waits for the review"
    );
    let a = pending(&s, "design_spec", "design").unwrap();
    run.cmd(&format!("/approve {a} clear enough"));

    // Two implementers in parallel worktrees; one raises a concern through the CLI.
    let s = run.wait("the implementer's concern", 60, |s| {
        s["concerns"]
            .as_object()
            .is_some_and(|c| c.values().any(|c| c["category"] == "spec_ambiguity"))
    });
    let concern = s["concerns"]
        .as_object()
        .unwrap()
        .values()
        .find(|c| c["category"] == "spec_ambiguity")
        .unwrap()
        .clone();
    let cid = concern["id"].as_str().unwrap().to_string();
    assert_eq!(concern["raised_by"], "implementer-1");
    assert_eq!(concern["from"], "implementer");
    assert_eq!(concern["to"], "designer");
    assert_eq!(concern["task"], "impl-arith");
    // Nobody acknowledges it: it climbs to the PM, then to the human.
    let s = run.wait("the concern reaching the human", 30, |s| {
        s["concerns"][&cid]["to"] == "human"
    });
    assert_eq!(
        s["concerns"][&cid]["escalations"],
        serde_json::json!(["designer", "project_manager", "human"])
    );
    run.cmd(&format!("/ack {cid}"));
    run.cmd(&format!("/resolve {cid} no saturation: plain subtraction"));

    // The tester's test fails on the implementer's bug: a branch todo goes to the debugger.
    let s = run.wait("the branch todo", 90, |s| task(s, "tests-fix-1").is_some());
    let fix = task(&s, "tests-fix-1").unwrap();
    assert_eq!(fix["parent_id"], "tests");
    assert_eq!(fix["role"], "debugger");
    assert_eq!(fix["branch_reason"], "implementation_bug");
    assert!(
        fix["debug_instructions"]
            .as_str()
            .unwrap()
            .contains("test_sub"),
        "{fix:#}"
    );
    assert!(
        order_overlap(&run.repo.home.path().join("e2e-order.log")),
        "the implementers ran in parallel: {}",
        std::fs::read_to_string(run.repo.home.path().join("e2e-order.log")).unwrap()
    );

    // The fix passes the acceptance check; the test plan waits for the human's validation.
    let s = run.wait("the test plan's review", 90, |s| {
        pending(s, "test_plan", "tests").is_some()
    });
    assert_eq!(status_of(&s, "tests-fix-1"), "done");
    let a = pending(&s, "test_plan", "tests").unwrap();
    run.cmd(&format!("/approve {a}"));
    run.wait("every task done", 30, |s| {
        ["design", "impl-arith", "impl-big", "tests"]
            .iter()
            .all(|t| status_of(s, t) == "done")
    });

    // Save: the QA gates run on the integration and a checkpoint is tagged.
    let out = run.ok(&["save", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{v:#}");
    let s = run.state();
    let cp = s["checkpoints"].as_array().unwrap().last().unwrap().clone();
    let qa = s["qa_runs"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(qa["decision"], "auto_merge", "{qa:#}");
    assert_eq!(cp["qa_run"], qa["id"]);
    let home = run.repo.home.path();
    let arith = git(run.repo.path(), home, &["show", "main:sample/arith.py"]);
    assert!(
        arith.contains("return a - b"),
        "the fix is on main: {arith}"
    );
    let overview = git(
        run.repo.path(),
        home,
        &["show", "main:docs/PROJECT_OVERVIEW.md"],
    );
    assert!(overview.contains("✅ Approved by Human"), "{overview}");
    assert!(overview.contains("Deliverables completed"), "{overview}");
    let detail = git(
        run.repo.path(),
        home,
        &["show", "main:docs/PROJECT_DETAIL.md"],
    );
    assert!(detail.contains("tests-fix-1"), "{detail}");
    assert!(detail.contains("implementation_bug"), "{detail}");
    git(
        run.repo.path(),
        home,
        &["show", "main:docs/PROJECT_VARIATIONS.md"],
    );

    // Every transition is a hand-off.
    let purposes: Vec<String> = s["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["purpose"].as_str().unwrap().to_string())
        .collect();
    for p in [
        "project initiation: arith-1",
        "review design_spec",
        "design_spec approved",
        "task complete",
        "branch todo",
        "branch todo fixed",
        "review test_plan",
        "test_plan approved",
    ] {
        assert!(
            purposes.iter().any(|x| x == p),
            "no '{p}' hand-off in {purposes:?}"
        );
    }

    // The trail and the repository agree.
    let o = run.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}
