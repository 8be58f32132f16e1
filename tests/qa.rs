//! The QA engine on real sample projects made by the tests: a Cargo crate (passing, failing,
//! ignored, flaky and lint-failing code; a test that aborts the runner), a Python project run
//! by pytest and coverage.py, and plain repositories for the bad inputs. The gates run the
//! real tools through the real binary (`overlord-tui qa --json`) or through a real Save.

use std::path::{Path, PathBuf};
use std::process::Output;

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::{GateOutcome, OperationOutcome, QaDecision};
use overlord::protocol::{Command, ReplyData};
use serde_json::Value;

use crate::common::{
    catches_signal, git, human, ok, stderr, stdout, tool_env, wait_until, Repo, PATIENCE,
};

/// Where the toolchains live, so that the sandboxed HOME does not hide them (rustup's
/// proxies and pyenv's shims find their homes through HOME by default).
struct Sample {
    repo: Repo,
    target: PathBuf,
}

impl Sample {
    fn new(files: &[(&str, &str)]) -> Sample {
        let repo = Repo::new();
        for (path, text) in files {
            repo.write(path, text);
        }
        git(repo.path(), repo.home.path(), &["add", "-A"]);
        git(
            repo.path(),
            repo.home.path(),
            &["commit", "-qm", "sample project"],
        );
        git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
        let target = repo.home.path().join("target");
        let s = Sample { repo, target };
        let o = s.cli(&["init"], &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        s
    }

    fn cli(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let env = tool_env(&self.target);
        let mut all: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra);
        self.repo.run_env(args, &all)
    }

    fn qa(&self, extra: &[(&str, &str)]) -> (Value, Output) {
        let o = self.cli(&["qa", "--json"], extra);
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
            panic!(
                "qa --json: {e}\nstdout: {}\nstderr: {}",
                stdout(&o),
                stderr(&o)
            )
        });
        (v, o)
    }

    fn config(&self, text: &str) {
        self.repo.write(".overlord/config.toml", text);
    }

    fn policy(&self, text: &str) {
        self.repo.write(".overlord/QA_POLICY.yaml", text);
    }
}

fn gate<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["gate"] == name)
        .unwrap_or_else(|| panic!("no gate {name} in {v:#}"))
}

fn outcome(v: &Value, name: &str) -> String {
    gate(v, name)["outcome"].as_str().unwrap().to_string()
}

const CRATE_TOML: &str = "[package]\nname = \"sample\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n";

const CRATE_LIB: &str = r#"pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn double_big(x: i32) -> i32 {
    if x > 100 {
        x * 2
    } else {
        x
    }
}

pub fn needless(x: i32) -> i32 {
    return x;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 2), 4);
    }

    #[test]
    fn adds_negative() {
        assert_eq!(add(-2, 1), -1);
        assert_eq!(needless(3), 3);
    }

    #[test]
    fn wrong_sum() {
        assert_eq!(add(2, 2), 5, "two and two");
    }

    /// Fails on every other run: the count of runs is kept in a file outside the worktree.
    #[test]
    fn flaky_by_file() {
        if let Ok(path) = std::env::var("SAMPLE_FLAKY_COUNTER") {
            let n: u32 = std::fs::read_to_string(&path)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            std::fs::write(&path, (n + 1).to_string()).unwrap();
            assert!(n.is_multiple_of(2), "odd run {n}");
        }
    }

    #[test]
    #[ignore]
    fn slow() {}
}
"#;

#[test]
fn a_cargo_crate_measures_counts_lint_and_flaky_tests_and_asks_the_human() {
    let s = Sample::new(&[
        ("Cargo.toml", CRATE_TOML),
        ("src/lib.rs", CRATE_LIB),
        (".gitignore", "target/\n"),
    ]);
    let counter = s.repo.home.path().join("flaky-counter");
    let (v, o) = s.qa(&[("SAMPLE_FLAKY_COUNTER", counter.to_str().unwrap())]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(v["decision"], "require_human", "{v:#}");
    assert_eq!(v["project"], serde_json::json!(["cargo"]));
    // Every gate is printed with its threshold, measured value and outcome.
    for g in v["gates"].as_array().unwrap() {
        assert!(
            g.get("threshold").is_some() && g.get("measured").is_some(),
            "{g}"
        );
    }
    assert_eq!(outcome(&v, "build"), "pass");
    // libtest's own per-test lines: 3 passed on the first run, 1 failed, 1 ignored.
    let m = &v["metrics"];
    assert_eq!(m["tests_total"], 5, "{m}");
    assert_eq!(m["tests_passed"], 3);
    assert_eq!(m["tests_failed"], 1);
    assert_eq!(m["tests_skipped"], 1);
    assert_eq!(outcome(&v, "tests"), "fail");
    let why = gate(&v, "tests")["reason"].as_str().unwrap();
    assert!(why.contains("wrong_sum"), "{why}");
    // The flaky test passed, failed and passed again: quarantined, not counted as a failure.
    assert_eq!(v["flaky"].as_array().unwrap().len(), 1, "{v:#}");
    assert!(v["flaky"][0].as_str().unwrap().ends_with("flaky_by_file"));
    assert_eq!(outcome(&v, "reproducibility"), "fail");
    assert_eq!(m["reproducibility"], 80.0);
    // clippy's JSON: one `needless_return`, an error under -D warnings.
    assert_eq!(outcome(&v, "lint"), "fail");
    assert_eq!(m["lint_errors"], 1);
    assert!(gate(&v, "lint")["reason"]
        .as_str()
        .unwrap()
        .contains("needless_return"));
    // Coverage through cargo-llvm-cov when it is installed, else "not measured" — never pass.
    let cov = outcome(&v, "coverage");
    let has_llvm_cov = std::process::Command::new("cargo")
        .args(["llvm-cov", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_llvm_cov {
        assert!(m["coverage"].as_f64().unwrap() > 50.0, "{m}");
    } else {
        assert_eq!(cov, "not_measured");
        assert!(gate(&v, "coverage")["reason"]
            .as_str()
            .unwrap()
            .contains("cargo-llvm-cov"));
    }
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("gate failed: tests"), "{reasons}");

    // The run is stored: reports, and `qa show` re-checks it from the stored outputs.
    let run = v["run"].as_str().unwrap();
    let dir = s.repo.path().join(".overlord/qa").join(run);
    let detail = std::fs::read_to_string(dir.join("TEST_RESULTS_DETAIL.md")).unwrap();
    assert!(
        detail.contains("wrong_sum") && detail.contains("two and two"),
        "{detail}"
    );
    assert!(std::fs::read_to_string(dir.join("QA_REPORT.md"))
        .unwrap()
        .contains("require_human"));
    let shown = s.cli(&["qa", "show", run], &[]);
    assert!(
        shown.status.success(),
        "{}{}",
        stdout(&shown),
        stderr(&shown)
    );
    assert!(stdout(&shown).contains("cargo test --no-fail-fast"));
    // Tampering with the stored evidence is found.
    let log = dir.join("tests-1/output.log");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(
        &log,
        text.replace("wrong_sum ... FAILED", "wrong_sum ... ok"),
    )
    .unwrap();
    let shown = s.cli(&["qa", "show", run], &[]);
    assert_eq!(shown.status.code(), Some(1));
    assert!(
        stdout(&shown).contains("re-check FAILED"),
        "{}",
        stdout(&shown)
    );
    // The flaky tests raised a concern (the audit trail's concern mirror has it).
    let concerns =
        std::fs::read_to_string(s.repo.path().join(".overlord/audit/concerns.jsonl")).unwrap();
    assert!(
        concerns.contains("flaky_tests") && concerns.contains("flaky_by_file"),
        "{concerns}"
    );
}

#[test]
fn a_runner_that_crashes_mid_run_fails_and_keeps_the_partial_results() {
    let lib = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn a_first() {}\n    #[test]\n    fn b_second() {}\n    #[test]\n    fn c_aborts() {\n        std::process::abort();\n    }\n    #[test]\n    fn d_never_reached() {}\n}\n";
    let s = Sample::new(&[
        ("Cargo.toml", CRATE_TOML),
        ("src/lib.rs", lib),
        (".gitignore", "target/\n"),
    ]);
    s.config("[qa.build]\ncommand = \"off\"\n[qa.lint]\ncommand = \"off\"\n[qa.coverage]\ncommand = \"off\"\n[qa.tests]\ncommand = \"cargo test -- --test-threads=1\"\n");
    let (v, o) = s.qa(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(v["decision"], "fail", "{v:#}");
    assert_eq!(outcome(&v, "tests"), "fail");
    let t = gate(&v, "tests");
    assert!(t["errored"].as_bool().unwrap(), "{t}");
    assert!(
        t["reason"].as_str().unwrap().contains("stopped mid-run"),
        "{t}"
    );
    assert!(t["measured"].as_str().unwrap().contains("2 passed"), "{t}");
    assert_eq!(v["metrics"]["tests_passed"], 2);
    let run = v["run"].as_str().unwrap();
    let detail = std::fs::read_to_string(
        s.repo
            .path()
            .join(".overlord/qa")
            .join(run)
            .join("TEST_RESULTS_DETAIL.md"),
    )
    .unwrap();
    assert!(
        detail.contains("a_first") && detail.contains("b_second"),
        "{detail}"
    );
    // Switched-off gates are "not measured" with the reason, never "pass".
    assert_eq!(outcome(&v, "build"), "not_measured");
    assert!(gate(&v, "build")["reason"]
        .as_str()
        .unwrap()
        .contains("off"));
    // A fail is a concern to the PM, escalated to the human.
    let concerns =
        std::fs::read_to_string(s.repo.path().join(".overlord/audit/concerns.jsonl")).unwrap();
    assert!(concerns.contains("qa_gate"), "{concerns}");
    assert!(concerns.contains("concern_escalated"), "{concerns}");
}

const PY_LIB: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef big(x):\n    if x > 10:\n        return x * 2\n    return x\n";
const PY_TESTS: &str = "from sample import add, big, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n\n\ndef test_big():\n    assert big(20) == 40\n\n\ndef test_small():\n    assert big(2) == 2\n";

fn python_sample() -> Sample {
    for module in ["pytest", "coverage"] {
        let found = std::process::Command::new("python3")
            .args(["-m", module, "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "python3 -m {module} is required (.ci/run installs it: pip install pytest coverage ruff)");
    }
    Sample::new(&[
        (
            "pyproject.toml",
            "[project]\nname = \"sample\"\nversion = \"0.1.0\"\n",
        ),
        ("sample/__init__.py", PY_LIB),
        ("tests/test_sample.py", PY_TESTS),
        (".gitignore", "__pycache__/\n.coverage\n"),
    ])
}

/// `coverage report`'s own TOTAL percentage for a stored run.
fn coverage_tools_total(s: &Sample, run: &str) -> f64 {
    let data = s
        .repo
        .path()
        .join(".overlord/qa")
        .join(run)
        .join("coverage-1/.coverage");
    let o = std::process::Command::new("python3")
        .args(["-m", "coverage", "report", "--precision=2"])
        .arg(format!("--data-file={}", data.display()))
        .current_dir(s.repo.path().join(".overlord/integration"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let total = text
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or_else(|| panic!("no TOTAL in {text}"));
    total
        .split_whitespace()
        .last()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

#[test]
fn a_python_project_passes_with_coverage_matching_coverage_py() {
    let s = python_sample();
    let (v, o) = s.qa(&[]);
    let has_ruff = std::process::Command::new("ruff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert_eq!(v["project"], serde_json::json!(["python"]));
    assert_eq!(outcome(&v, "tests"), "pass", "{v:#}");
    assert_eq!(v["metrics"]["tests_total"], 4);
    assert_eq!(v["metrics"]["tests_passed"], 4);
    assert_eq!(outcome(&v, "coverage"), "pass", "{v:#}");
    let ours = v["metrics"]["coverage"].as_f64().unwrap();
    let theirs = coverage_tools_total(&s, v["run"].as_str().unwrap());
    assert!(
        (ours - theirs).abs() < 0.01,
        "ours {ours}, coverage.py {theirs}"
    );
    assert_eq!(outcome(&v, "reproducibility"), "pass");
    assert_eq!(v["metrics"]["reproducibility"], 100.0);
    if has_ruff {
        assert_eq!(outcome(&v, "lint"), "pass", "{v:#}");
        assert_eq!(v["decision"], "auto_merge", "{v:#}");
        assert_eq!(o.status.code(), Some(0));
    } else {
        assert_eq!(outcome(&v, "lint"), "not_measured");
        assert_eq!(v["decision"], "require_human");
    }
    // Promotion always asks the human, and applies the promotion policy's documents.
    let o = s.cli(&["qa", "--json", "--promotion"], &[]);
    let p: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(p["decision"], "require_human", "{p:#}");
    assert!(p["reasons"].to_string().contains("phase promotion"));
    assert_eq!(outcome(&p, "docs"), "fail");
    assert!(gate(&p, "docs")["reason"]
        .as_str()
        .unwrap()
        .contains("PROJECT_OVERVIEW.md"));
    assert_eq!(o.status.code(), Some(1));
    // Where Overlord commits its project documents (docs/), the default list holds.
    s.repo.write("docs/PROJECT_OVERVIEW.md", "# Overview\n");
    git(s.repo.path(), s.repo.home.path(), &["add", "docs"]);
    git(
        s.repo.path(),
        s.repo.home.path(),
        &["commit", "-qm", "the overview"],
    );
    let o = s.cli(&["qa", "--json", "--promotion"], &[]);
    let p: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(outcome(&p, "docs"), "pass", "{:#}", gate(&p, "docs"));
}

fn plan_json(tasks: &[&str]) -> String {
    let tasks: Vec<String> = tasks
        .iter()
        .map(|t| format!(r#"{{ "id": "{t}", "title": "Task {t}", "agent_role": "implementer", "dependencies": [] }}"#))
        .collect();
    format!(
        r#"{{ "todo_list_id": "qa-test", "title": "QA test", "phases": [ {{ "id": "p1", "name": "One", "tasks": [ {} ] }} ] }}"#,
        tasks.join(", ")
    )
}

#[test]
fn save_runs_the_gates_drift_asks_the_human_and_approval_publishes_that_tree() {
    let s = python_sample();
    let ruff = std::process::Command::new("ruff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut config = Config::default();
    if !ruff {
        config.qa.lint.command = "off".into();
    }
    s.policy("auto_merge_if:\n  all_tests_passed: true\n  coverage_min: 50\n  drift_max_percent: 2\nrequire_human_if:\n  gate_fail: true\ngates:\n  reproducibility_runs: 2\n  not_measured: ignore\n");
    let ws = s.repo.workspace();
    let mut core = Core::open(&ws, &config).unwrap();
    let plan = s.repo.home.path().join("plan.json");
    std::fs::write(&plan, plan_json(&["t1", "t2"])).unwrap();
    ok(&mut core, &format!("/import {}", plan.display()));
    let home = s.repo.home.path().to_path_buf();
    let commit_in = |task: &str, path: &str, text: Option<&str>, core: &mut Core| {
        let wt = core.open_task_worktree(task).unwrap().path;
        match text {
            Some(t) => std::fs::write(wt.join(path), t).unwrap(),
            None => std::fs::remove_file(wt.join(path)).unwrap(),
        }
        git(&wt, &home, &["add", "-A"]);
        git(&wt, &home, &["commit", "-qm", &format!("{task}: {path}")]);
        ok(core, &format!("/task {task} done"));
    };

    // Save 1: the gates pass; the checkpoint carries the run.
    commit_in("t1", "README.md", Some("sample\n"), &mut core);
    let r = core.execute(human(), Command::Save);
    assert!(r.ok, "{}", r.message);
    let first = core.state().qa_runs.last().unwrap().clone();
    assert_eq!(first.decision, QaDecision::AutoMerge, "{:?}", first.reasons);
    assert_eq!(core.state().checkpoints[0].qa_run, Some(first.id));

    // Save 2 drops half the tests: the test count drifts down 50%, beyond the 2% allowed.
    commit_in(
        "t2",
        "tests/test_sample.py",
        Some("from sample import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n"),
        &mut core,
    );
    let main_before = git(s.repo.path(), &home, &["rev-parse", "main"]);
    let r = core.execute(human(), Command::Save);
    assert!(!r.ok);
    let op = match &r.data {
        ReplyData::Operation(op) => op.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        op.outcome,
        Some(OperationOutcome::AwaitingApproval),
        "{}",
        r.message
    );
    let second = core.state().qa_runs.last().unwrap().clone();
    assert_eq!(second.decision, QaDecision::RequireHuman);
    let drift = second.gates.iter().find(|g| g.gate == "drift").unwrap();
    assert_eq!(drift.outcome, GateOutcome::Fail, "{drift:?}");
    assert!(
        drift.reason.as_deref().unwrap().contains("test count"),
        "{drift:?}"
    );
    assert_eq!(
        git(s.repo.path(), &home, &["rev-parse", "main"]),
        main_before
    );
    let approval = core
        .state()
        .approvals
        .values()
        .find(|a| a.subject == second.id.to_string())
        .expect("a merge approval")
        .id;

    // The human approves exactly that tree; the next Save publishes it without re-running.
    ok(&mut core, &format!("/approve {approval}"));
    let runs = core.state().qa_runs.len();
    let r = core.execute(human(), Command::Save);
    assert!(r.ok, "{}", r.message);
    assert_eq!(core.state().qa_runs.len(), runs, "no new run");
    let cp = core.state().checkpoints.last().unwrap().clone();
    assert_eq!(cp.qa_run, Some(second.id));
    assert!(
        cp.summary.contains("approved by the human"),
        "{}",
        cp.summary
    );
    // The checkpoint publishes the approved tree with its documents on top: they name the
    // approved run and the approval, and carry that run's report.
    assert_eq!(
        git(s.repo.path(), &home, &["rev-parse", "main^^{tree}"]).trim(),
        second.tree
    );
    let overview = git(
        s.repo.path(),
        &home,
        &["show", "main:docs/PROJECT_OVERVIEW.md"],
    );
    assert!(
        overview.contains(&format!("- this checkpoint's QA run: {} (", second.id))
            && overview.contains(&format!("published under the human's approval {approval}")),
        "{overview}"
    );
    let report = git(s.repo.path(), &home, &["show", "main:docs/QA_REPORT.md"]);
    assert!(report.contains(&second.id.to_string()), "{report}");
}

fn plain(config: &str, policy: Option<&str>) -> Sample {
    let s = Sample::new(&[("README.md", "plain\n")]);
    s.config(config);
    match policy {
        Some(p) => s.policy(p),
        None => {
            std::fs::remove_file(s.repo.path().join(".overlord/QA_POLICY.yaml")).unwrap();
        }
    }
    s
}

#[test]
fn bad_inputs_get_clear_verdicts_and_nothing_runs_on_a_malformed_policy() {
    // A malformed policy: the precise error, exit 2, and no run.
    let s = plain(
        "[qa.tests]\ncommand = \"touch ran.txt\"\nformat = \"exit\"\n",
        Some("auto_merge_if:\n  coverage_min: 120\n"),
    );
    let o = s.cli(&["qa"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(".overlord/QA_POLICY.yaml:2:"),
        "{}",
        stderr(&o)
    );
    assert!(!s.repo.path().join(".overlord/integration/ran.txt").exists());
    assert!(!s.repo.path().join(".overlord/qa").exists());
    let c = s.cli(&["qa", "check-policy"], &[]);
    assert_eq!(c.status.code(), Some(2));
    assert!(stderr(&c).contains("120"), "{}", stderr(&c));

    // A missing policy: the defaults, with a warning.
    let s = plain("[qa.tests]\ncommand = \"true\"\nformat = \"exit\"\n", None);
    let (v, o) = s.qa(&[]);
    assert!(stderr(&o).contains("warning"), "{}", stderr(&o));
    assert!(!v["warnings"].as_array().unwrap().is_empty());
    assert_eq!(gate(&v, "coverage")["threshold"], "≥ 80%");

    // A command that hangs: stopped at the timeout, and the decision is fail with the reason.
    let s = plain(
        "[qa.tests]\ncommand = \"sleep 30\"\nformat = \"exit\"\n",
        Some("gates:\n  timeout_secs: 1\n  not_measured: ignore\n"),
    );
    let started = std::time::Instant::now();
    let (v, _) = s.qa(&[]);
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(v["decision"], "fail", "{v:#}");
    assert!(gate(&v, "tests")["reason"]
        .as_str()
        .unwrap()
        .contains("timed out"));

    // A tool that is not installed: not measured, with the reason; never pass.
    let s = plain(
        "[qa.lint]\ncommand = \"no-such-linter-xyz --json\"\nformat = \"ruff\"\n",
        Some("gates:\n  not_measured: block\n"),
    );
    let (v, o) = s.qa(&[]);
    assert_eq!(outcome(&v, "lint"), "not_measured");
    assert!(gate(&v, "lint")["reason"]
        .as_str()
        .unwrap()
        .contains("command not found"));
    // The policy says what not measured does: here it blocks.
    assert_eq!(v["decision"], "fail");
    assert_eq!(o.status.code(), Some(1));
}

/// The decision table on evidence the parsers produced from real captured output.
#[test]
fn the_decision_follows_the_policy() {
    use overlord::protocol::model::Impact;
    use overlord::qa::evaluate::{evaluate, BuildMeasure, Evidence, Measure};
    use overlord::qa::parse;
    use overlord::qa::policy::{NotMeasured, Policy};

    let fixture = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/qa")
                .join(name),
        )
        .unwrap()
    };
    let junit = parse::junit(&fixture("pytest-junit.xml")).unwrap();
    let mut passing = junit.clone();
    passing
        .tests
        .retain(|t| t.outcome != overlord::qa::results::TestOutcome::Failed);
    let coverage = parse::cobertura(&fixture("coverage-py-cobertura.xml")).unwrap();
    let lint = parse::ruff_json("[]").unwrap();
    let evidence = |tests: &overlord::qa::results::TestReport| Evidence {
        build: Measure::Measured(BuildMeasure {
            passed: true,
            detail: "exit 0".into(),
        }),
        tests: vec![
            Measure::Measured(tests.clone()),
            Measure::Measured(tests.clone()),
        ],
        lint: Measure::Measured(lint.clone()),
        coverage: Measure::Measured(coverage.clone()),
        e2e: Measure::NotMeasured("none".into()),
        dependencies: Measure::NotMeasured("off".into()),
        docs: Vec::new(),
        open_critical: Vec::new(),
        impact: None,
        promotion: false,
        previous: None,
    };
    let policy = Policy::default();

    let ok = evaluate(&policy, &evidence(&passing));
    assert_eq!(ok.decision, QaDecision::AutoMerge, "{:?}", ok.reasons);

    // High impact asks the human even with every gate green.
    let mut e = evidence(&passing);
    e.impact = Some((Impact::High, "variation V-1".into()));
    let v = evaluate(&policy, &e);
    assert_eq!(v.decision, QaDecision::RequireHuman);
    assert!(v.reasons[0].contains("high impact"), "{:?}", v.reasons);

    // A failed gate: the human by default, a fail when the policy says gate_fail: false.
    let failing = evidence(&junit);
    assert_eq!(
        evaluate(&policy, &failing).decision,
        QaDecision::RequireHuman
    );
    let mut strict = policy.clone();
    strict.require_human_if.gate_fail = false;
    assert_eq!(evaluate(&strict, &failing).decision, QaDecision::Fail);

    // An open critical concern blocks auto-merge.
    let mut e = evidence(&passing);
    e.open_critical = vec!["C-4 (audit chain)".into()];
    let v = evaluate(&policy, &e);
    assert_eq!(v.decision, QaDecision::RequireHuman);
    assert!(
        v.reasons.iter().any(|r| r.contains("C-4")),
        "{:?}",
        v.reasons
    );

    // Not measured: what the policy says.
    let mut e = evidence(&passing);
    e.lint = Measure::NotMeasured("ruff is not installed".into());
    assert_eq!(evaluate(&policy, &e).decision, QaDecision::RequireHuman);
    let mut p = policy.clone();
    p.gates.not_measured = NotMeasured::Block;
    assert_eq!(evaluate(&p, &e).decision, QaDecision::Fail);
    p.gates.not_measured = NotMeasured::Ignore;
    assert_eq!(evaluate(&p, &e).decision, QaDecision::AutoMerge);

    // Promotion always asks the human, even when its policy says otherwise.
    let mut p = policy.clone();
    p.require_human_if.phase_promotion = false;
    p.promotion.e2e_tests_required = false;
    p.promotion.docs_required.clear();
    let mut e = evidence(&passing);
    e.promotion = true;
    let v = evaluate(&p, &e);
    assert_eq!(v.decision, QaDecision::RequireHuman);
    assert_eq!(v.reasons, vec!["phase promotion".to_string()]);
}

#[test]
fn ctrl_c_stops_the_running_gate_and_still_records_the_run() {
    let s = plain(
        "[qa.tests]\ncommand = \"sleep 60\"\nformat = \"exit\"\n",
        Some("gates:\n  not_measured: ignore\n"),
    );
    let mut cmd = crate::common::bin();
    cmd.args(["qa", "--json"]).current_dir(s.repo.path());
    crate::common::sandbox(&mut cmd, s.repo.home.path());
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let marker = s.repo.path().join(".overlord/qa/QA-1/tests-1/output.log");
    // Ctrl-C while the gate runs, once the run listens for it (a handler installed: SIGINT
    // is caught).
    wait_until("the gate to start", PATIENCE, || marker.exists());
    wait_until("the Ctrl-C handler", PATIENCE, || {
        catches_signal(child.id() as i32, 2)
    });
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let interrupted = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    // Its command sleeps 60 s: well before that, it was stopped.
    assert!(
        interrupted.elapsed().as_secs() < 30,
        "the gate was not stopped"
    );
    let v: Value =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    assert_eq!(v["decision"], "fail");
    assert!(
        gate(&v, "tests")["reason"]
            .as_str()
            .unwrap()
            .contains("cancelled"),
        "{v:#}"
    );
    assert!(stderr(&o).contains("cancelling"));
}

#[test]
fn the_gates_worktree_is_set_up_like_a_task_worktree() {
    // `npm ci` and friends: the configured set-up runs once in a fresh integration worktree;
    // what it makes survives the next checkout when git ignores it (as node_modules is).
    let s = Sample::new(&[("README.md", "plain\n"), (".gitignore", "setup-ran\n")]);
    s.config("[worktrees]\nsetup_command = \"echo once >> setup-ran\"\n\n[qa.tests]\ncommand = \"test \\\"$(cat setup-ran)\\\" = once\"\nformat = \"exit\"\n");
    s.policy("auto_merge_if:\n  all_tests_passed: true\ngates:\n  reproducibility_runs: 2\n  not_measured: ignore\n");
    let (v, o) = s.qa(&[]);
    assert_eq!(v["decision"], "auto_merge", "{v:#}\n{}", stderr(&o));
    let (v, _) = s.qa(&[]);
    assert_eq!(v["decision"], "auto_merge", "the set-up ran again: {v:#}");
}

#[test]
fn one_pipe_keeps_stdout_and_stderr_lines_in_the_order_written() {
    // cargo writes `Running …` to stderr before the tests write to stdout; libtest's names
    // and its check that every block finished depend on that order.
    use overlord::core::shell::{run_with, Options};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("output.log");
    let script =
        "i=0; while [ $i -lt 300 ]; do echo \"err $i\" >&2; echo \"out $i\"; i=$((i+1)); done";
    let ran = run_with(
        script,
        dir.path(),
        Options {
            log: Some(&log),
            one_pipe: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(ran.success());
    let expected: Vec<String> = (0..300)
        .flat_map(|i| [format!("err {i}"), format!("out {i}")])
        .collect();
    let got: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn test_durations_reach_the_reports_for_each_format() {
    let libtest_json = "     Running unittests src/lib.rs (target/debug/deps/shapes-8dbf0753c22d4c02)\n{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": 2 }\n{ \"type\": \"test\", \"event\": \"started\", \"name\": \"tests::adds\" }\n{ \"type\": \"test\", \"name\": \"tests::adds\", \"event\": \"ok\", \"exec_time\": 0.25 }\n{ \"type\": \"test\", \"name\": \"tests::big\", \"event\": \"ok\", \"exec_time\": 1.5 }\n{ \"type\": \"suite\", \"event\": \"ok\", \"passed\": 2, \"failed\": 0, \"ignored\": 0, \"measured\": 0, \"filtered_out\": 0, \"exec_time\": 1.75 }\n";
    let tap_text = "TAP version 13\nok 1 - adds\n  ---\n  duration_ms: 250\n  ...\nok 2 - big\n  ---\n  duration_ms: 1500\n  ...\n1..2\n# tests 2\n";
    let junit_xml = "<testsuites><testsuite name=\"s\" tests=\"2\"><testcase classname=\"m\" name=\"adds\" time=\"0.25\"/><testcase classname=\"m\" name=\"big\" time=\"1.5\"/></testsuite></testsuites>";
    for (format, file, text, command, report, big) in [
        (
            "libtest",
            "out.txt",
            libtest_json,
            "cat out.txt",
            None,
            "src/lib.rs::tests::big",
        ),
        ("tap", "out.tap", tap_text, "cat out.tap", None, "big"),
        // The runner removes a stale report before the command runs: the command writes it.
        (
            "junit",
            "fixture.xml",
            junit_xml,
            "cp fixture.xml junit.xml",
            Some("junit.xml"),
            "m::big",
        ),
    ] {
        let s = Sample::new(&[("README.md", "plain\n"), (file, text)]);
        let report = report
            .map(|r| format!("report = {r:?}\n"))
            .unwrap_or_default();
        s.config(&format!(
            "[qa.tests]\ncommand = {command:?}\nformat = {format:?}\n{report}"
        ));
        s.policy("gates:\n  reproducibility_runs: 1\n  not_measured: ignore\n");
        let (v, _) = s.qa(&[]);
        assert_eq!(outcome(&v, "tests"), "pass", "{format}: {v:#}");
        assert_eq!(v["metrics"]["test_duration_secs"], 1.75, "{format}: {v:#}");
        let dir = s
            .repo
            .path()
            .join(".overlord/qa")
            .join(v["run"].as_str().unwrap());
        let results = std::fs::read_to_string(dir.join("TEST_RESULTS.md")).unwrap();
        assert!(
            results.contains("| Duration (sum of tests) | 1.75s |"),
            "{format}: {results}"
        );
        assert!(
            results.contains(&format!("## Slowest tests\n\n- `{big}`: 1.500s\n")),
            "{format}: {results}"
        );
        let detail = std::fs::read_to_string(dir.join("TEST_RESULTS_DETAIL.md")).unwrap();
        assert!(
            detail.contains(&format!("| `{big}` | passed | 1.500s |")),
            "{format}: {detail}"
        );
        assert!(!detail.contains("| —"), "{format}: {detail}");
    }
}
