//! The headless CLI, driven as a user would: the real binary in a real repository.

use rusqlite::Connection;
use serde_json::Value;

use crate::common::*;

fn init(repo: &Repo) {
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_done_when_flow() {
    let repo = Repo::new();
    init(&repo);
    let o = repo.run(&[
        "concern",
        "raise",
        "--from",
        "implementer",
        "--severity",
        "warning",
        "--category",
        "design_gap",
        "Function signature for risk_model unclear",
        "--details",
        "args?",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("C-1 raised"), "{}", stdout(&o));
    let o = repo.run(&["cmd", "/ack C-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&["cmd", "/resolve C-1 fixed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&["status", "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["state"]["concerns"]["C-1"]["status"], "resolved");
    assert_eq!(v["state"]["concerns"]["C-1"]["resolution"], "fixed");
    assert_eq!(v["report"]["open_concerns"]["warning"], 0);
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("audit trail OK"));

    // Edit one row as someone with the sqlite3 tool would.
    let db = Connection::open(repo.db()).unwrap();
    let seq: i64 = db
        .query_row(
            "SELECT seq FROM records WHERE body LIKE '%\"fixed\"%' AND topic = 'concern'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE records SET body = replace(body, '\"fixed\"', '\"fine\"') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("first bad record: {seq}")),
        "{}",
        stderr(&o)
    );
    let o = repo.run(&["audit", "verify", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["findings"][0]["seq"], seq);
}

#[test]
fn init_sets_up_and_refuses_outside_a_repository() {
    let repo = Repo::new();
    let o = repo.run(&["init"]);
    assert!(o.status.success());
    for f in [
        "overlord.db",
        "config.toml",
        "QA_POLICY.yaml",
        "audit/commands.jsonl",
    ] {
        assert!(repo.path().join(".overlord").join(f).exists(), "{f}");
    }
    let exclude = std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap();
    assert_eq!(exclude.matches("/.overlord/").count(), 1);
    let o = repo.run(&["init"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("already set up"), "{}", stdout(&o));
    let exclude = std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap();
    assert_eq!(
        exclude.matches("/.overlord/").count(),
        1,
        "init twice adds nothing"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(repo.path().join(".overlord"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    let plain = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.arg("init").current_dir(plain.path());
    sandbox(&mut cmd, plain.path());
    cmd.env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap());
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not inside a git repository"),
        "{}",
        stderr(&o)
    );
    assert!(!plain.path().join(".overlord").exists(), "nothing written");

    let bare = tempfile::tempdir().unwrap();
    git2::Repository::init_bare(bare.path()).unwrap();
    let o = repo.run(&["--repo", bare.path().to_str().unwrap(), "init"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bare repository"), "{}", stderr(&o));

    let o = repo.run(&["--repo", "/nonexistent/place", "status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"));
}

#[test]
fn commands_before_init_say_what_to_do() {
    let repo = Repo::new();
    let o = repo.run(&["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("run `overlord-tui init`"),
        "{}",
        stderr(&o)
    );
    assert!(!repo.path().join(".overlord").exists());
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2_with_a_suggestion() {
    let repo = Repo::new();
    init(&repo);
    let o = repo.run(&["cmd", "/reslove C-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "error: unknown command /reslove — did you mean /resolve?"
    );
    let o = repo.run(&["cmd", "/ack"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("usage: /ack <concern>"));
    let o = repo.run(&["cmd", "/reslove C-1", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["suggestion"], "/resolve");
    let o = repo.run(&[
        "concern",
        "raise",
        "--from",
        "implementer",
        "--severity",
        "urgent",
        "--category",
        "x",
        "s",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown severity 'urgent'"),
        "{}",
        stderr(&o)
    );
    let o = repo.run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = repo.run(&["concern", "raise", "--from", "implementer"]);
    assert_eq!(o.status.code(), Some(2));
    // No subcommand is the console; without a terminal it says so, with the usage.
    let o = repo.run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs a terminal"), "{}", stderr(&o));
    assert!(stderr(&o).contains("Usage"), "{}", stderr(&o));
    let o = repo.run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    // The three lines of the grammar that did not parse are refusals in the trail (a command
    // record and its answer each); the command line's own usage errors are not commands.
    let o = repo.run(&["audit", "summary", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["records"], 6, "{v}");
    assert_eq!(v["commands_rejected"], 3, "{v}");
}

#[test]
fn rejected_commands_exit_1_and_are_audited() {
    let repo = Repo::new();
    init(&repo);
    let o = repo.run(&["cmd", "/ack C-4", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "unknown_id");
    assert_eq!(v["events"], serde_json::json!([]));
    let o = repo.run(&["audit", "summary", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["commands_rejected"], 1);
    assert_eq!(v["by_topic"]["command"], 1);
    assert!(repo.run(&["audit", "verify"]).status.success());

    // A line that does not parse is a usage error (exit 2) and a refusal in the trail, the
    // line kept as it was typed.
    let o = repo.run(&["cmd", "/nonsense now"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nonsense"), "{}", stderr(&o));
    let o = repo.run(&["audit", "summary", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["commands_rejected"], 2);
    let commands =
        std::fs::read_to_string(repo.path().join(".overlord/audit/commands.jsonl")).unwrap();
    assert!(
        commands.contains("\"line\":\"/nonsense now\""),
        "{commands}"
    );
    let responses =
        std::fs::read_to_string(repo.path().join(".overlord/audit/responses.jsonl")).unwrap();
    assert!(responses.contains("\"usage\""), "{responses}");
    assert!(repo.run(&["audit", "verify"]).status.success());
}

#[test]
fn plans_handoffs_and_agents_through_the_cli() {
    let repo = Repo::new();
    init(&repo);
    repo.write("docs/plan.json", PLAN);
    // A relative path is taken from the current directory, like any CLI.
    let mut cmd = bin();
    cmd.args(["plan", "import", "plan.json"])
        .current_dir(repo.path().join("docs"));
    sandbox(&mut cmd, repo.home.path());
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 phases, 3 tasks"), "{}", stdout(&o));
    let o = repo.run(&["plan", "show"]);
    assert!(
        stdout(&o).contains("t2_indicators") && stdout(&o).contains("after t1_data"),
        "{}",
        stdout(&o)
    );
    let o = repo.run(&["plan", "show", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["phases"][0]["tasks"][1]["dependencies"][0], "t1_data");

    repo.write(
        "bad.json",
        r#"{"tasks":[{"id":"a","title":"A","agent_role":"coder","dependencies":["a2"]}]}"#,
    );
    let o = repo.run(&["plan", "import", "bad.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("task 'a' depends on unknown task 'a2'"),
        "{}",
        stderr(&o)
    );

    let o = repo.run_env(
        &[
            "handoff",
            "--from",
            "tester",
            "--to",
            "human",
            "--purpose",
            "Validate Testing Completion",
            "--summary",
            "All tests passed. Coverage 86%.",
            "--input",
            "tests/TEST_RESULTS.md",
            "--input",
            "tests/TEST_RESULTS_DETAIL.md",
            "--output",
            "docs/PROJECT_DETAIL.md",
            "--status",
            "awaiting_approval",
            "--json",
        ],
        &[("OVERLORD_AGENT", "tester-1"), ("OVERLORD_ROLE", "tester")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["data"]["type"], "handoff");
    assert_eq!(
        v["data"]["value"]["inputs"][1],
        "tests/TEST_RESULTS_DETAIL.md"
    );
    assert_eq!(v["data"]["value"]["agent"], "tester-1");
    let handoffs =
        std::fs::read_to_string(repo.path().join(".overlord/audit/handoffs.jsonl")).unwrap();
    assert_eq!(handoffs.lines().count(), 1);
    assert!(handoffs.contains("Validate Testing Completion"));

    // An agent cannot approve its own plan.
    let o = repo.run_env(
        &["cmd", "/approve plan"],
        &[("OVERLORD_AGENT", "pm-1"), ("OVERLORD_ROLE", "pm")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("only a human may take it"),
        "{}",
        stderr(&o)
    );
    let o = repo.run(&["cmd", "/approve plan"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&["status"]);
    assert!(stdout(&o).contains("Phase: phase-1"), "{}", stdout(&o));
}

#[test]
fn audit_summary_and_export() {
    let repo = Repo::new();
    init(&repo);
    repo.run(&["cmd", "/raise --severity info --category note hello"]);
    repo.run(&["cmd", "/ack C-1"]);
    let o = repo.run(&["audit", "summary"]);
    assert!(stdout(&o).contains("concern_raised"), "{}", stdout(&o));
    let out = repo.path().join("export.jsonl");
    let o = repo.run(&["audit", "export", "--output", out.to_str().unwrap()]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 6);
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["seq"], i as u64 + 1);
    }
    let o = repo.run(&["audit", "export"]);
    assert_eq!(stdout(&o), text);
}

#[test]
fn a_bad_config_file_warns_with_its_location_and_defaults_apply() {
    let repo = Repo::new();
    init(&repo);
    repo.write(
        ".overlord/config.toml",
        "[core]\nsnapshot_every = 10\npoll_msec = 5\n",
    );
    let o = repo.run(&["cmd", "/status"]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(".overlord/config.toml:3:1") && err.contains("poll_msec"),
        "{err}"
    );
}

#[test]
fn a_reader_that_stops_early_gets_a_quiet_exit_not_a_panic() {
    let repo = Repo::new();
    assert!(repo.run(&["init"]).status.success());
    for _ in 0..20 {
        let mut cmd = bin();
        cmd.args(["cmd", "/help"]).current_dir(repo.path());
        sandbox(&mut cmd, repo.home.path());
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // like `| head -0`
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(o.status.success(), "{:?}: {err}", o.status);
    }
}

/// Agents write concern summaries, plan titles and file names; an escape sequence in any of
/// them prints visibly in the text output (OSC 52 would write the user's clipboard, OSC 0
/// retitle the terminal, a CSI move the cursor) and stays exact in `--json`.
#[test]
fn escape_sequences_from_agents_print_visibly() {
    const CLIPBOARD: &str = "\u{1b}]52;c;ZXZpbA==\u{7}";
    const TITLE: &str = "\u{1b}]0;pwned\u{7}";
    let inert = |o: &std::process::Output| {
        for bytes in [&o.stdout, &o.stderr] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
                "a raw escape reached the terminal: {text:?}"
            );
        }
    };
    let repo = Repo::new();
    init(&repo);
    let summary = format!("build broke{CLIPBOARD} \u{9b}2J");
    let o = repo.run(&[
        "concern",
        "raise",
        "--from",
        "tester",
        "--severity",
        "warning",
        "--category",
        "design_gap",
        &summary,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    inert(&o);
    let o = repo.run(&["status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    inert(&o);
    assert!(
        stdout(&o).contains("build broke␛]52;c;ZXZpbA==␇"),
        "{}",
        stdout(&o)
    );
    let o = repo.run(&["cmd", "/status"]);
    inert(&o);
    let o = repo.run(&["status", "--json"]);
    inert(&o);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"]["concerns"]["C-1"]["summary"], summary.as_str());

    repo.write(
        "plan.json",
        // JSON spells the escape `\u001b`; the title holds the real ESC.
        &PLAN.replace("Backtester loop", "Backtester\\u001b]0;pwned\\u0007 loop"),
    );
    let o = repo.run(&["plan", "import", "plan.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&["plan", "show"]);
    inert(&o);
    assert!(
        stdout(&o).contains("Backtester␛]0;pwned␇ loop"),
        "{}",
        stdout(&o)
    );

    let name = format!("notes{TITLE}.md");
    repo.write(&name, "hello\n");
    git(
        repo.path(),
        repo.home.path(),
        &["commit", "-q", "--allow-empty", "-m", "base"],
    );
    let before = git(repo.path(), repo.home.path(), &["rev-parse", "HEAD"]);
    let before = before.trim();
    git(repo.path(), repo.home.path(), &["add", "--", &name]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "notes"]);
    let o = repo.run(&["diff", before, "HEAD", "--stat"]);
    assert!(o.status.success(), "{}", stderr(&o));
    inert(&o);
    assert!(stdout(&o).contains("notes␛]0;pwned␇.md"), "{}", stdout(&o));
    let o = repo.run(&["diff", before, "HEAD"]);
    inert(&o);
}

/// Under `--json` every outcome is a JSON document on stdout: usage errors of the command
/// line and failures before the command runs (no repository, no store) too.
#[test]
fn json_is_always_json() {
    let repo = Repo::new();
    let doc = |o: &std::process::Output| -> Value {
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} / {}", stdout(o), stderr(o)))
    };
    // Not initialized.
    let o = repo.run(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = doc(&o);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "failed");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("init"),
        "{v}"
    );
    init(&repo);
    // A usage error of the command line itself.
    let o = repo.run(&["status", "--json", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    let v = doc(&o);
    assert_eq!(v["error"]["code"], "usage");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--bogus"),
        "{v}"
    );
    // A command that prints its own document prints exactly one.
    let o = repo.run(&["cmd", "/ack C-9", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(doc(&o)["error"]["code"], "unknown_id");
    // Without --json, nothing on stdout for a failure.
    let plain = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(["status"]).current_dir(plain.path());
    sandbox(&mut cmd, repo.home.path());
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
}
