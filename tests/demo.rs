//! `overlord-tui demo --headless`: the real binary makes the sample project, runs the scripted
//! swarm through the whole cycle (real agents' processes, worktrees, cargo, QA gates, git) and
//! prints the timeline, the audit verification and what Discord would have received. The test
//! reads that output, then checks the kept project itself: its audit trail with a separate
//! `audit verify --git`, its state, and its git history.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::*;

fn demo(dir: &Path, home: &Path) -> Output {
    let mut cmd = bin();
    cmd.args(["demo", "--headless", "--dir"])
        .arg(dir)
        .current_dir(home);
    sandbox(&mut cmd, home);
    for (k, v) in tool_env(&home.join("target")) {
        cmd.env(k, v);
    }
    // The local Discord sink, never a real server.
    for var in [
        "OVERLORD_DISCORD_TOKEN",
        "OVERLORD_DISCORD_WEBHOOK_URL",
        "OVERLORD_DEMO_DISCORD_CHANNEL",
        "OVERLORD_DISCORD_API_BASE",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("run overlord-tui demo")
}

/// The lines of one `== Title` section of the output.
fn section<'a>(out: &'a str, title: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| *l != format!("== {title}"))
        .skip(1)
        .take_while(|l| !l.starts_with("== "))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

fn in_dir(dir: &Path, home: &Path, args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.args(args).current_dir(dir);
    sandbox(&mut cmd, home);
    cmd.output().expect("run overlord-tui")
}

#[test]
fn the_headless_demo_runs_the_whole_cycle_and_its_audit_verifies() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo-project");
    let o = demo(&dir, home.path());
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(
        o.status.success(),
        "demo failed:\n{out}\n--- stderr ---\n{err}"
    );
    assert!(
        out.contains("demo: the whole cycle completed and the audit trail verifies"),
        "{out}"
    );

    // The timeline: two Saves, then a rollback to the first.
    let timeline = section(&out, "Timeline");
    assert_eq!(timeline.len(), 3, "{timeline:#?}");
    let name = |l: &str| l.split_whitespace().next().unwrap().to_string();
    let kind = |l: &str| l.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(
        timeline.iter().map(|l| kind(l)).collect::<Vec<_>>(),
        ["save", "save", "rollback"],
        "{timeline:#?}"
    );
    let (first, second, back) = (name(timeline[0]), name(timeline[1]), name(timeline[2]));
    assert!(
        timeline[2].contains(&format!("restores {first}")),
        "{timeline:#?}"
    );
    assert!(timeline[0].contains("auto_merge"), "{timeline:#?}");

    // The audit verification, as printed.
    let verified = section(&out, "audit verify --git").join("\n");
    assert!(
        verified.contains("git agrees: 3 checkpoint(s)"),
        "{verified}"
    );
    assert!(verified.contains("audit trail OK"), "{verified}");

    // What Discord would have received: the concern's embed, climbing to the human and
    // resolved; both Saves and the rollback.
    let discord = section(&out, "Discord (what would have been posted)");
    let has = |f: &dyn Fn(&str) -> bool| discord.iter().any(|l| f(l));
    assert!(
        has(&|l| l.starts_with("discord: [embed] C-1 · warning · spec_ambiguity")),
        "{discord:#?}"
    );
    assert!(
        has(&|l| l.contains("[embed] C-1")
            && l.contains("escalated to: designer → pm → human")
            && l.contains("resolved by cli:demo")),
        "{discord:#?}"
    );
    assert!(
        has(&|l| l.starts_with(&format!("discord: ✅ {first} saved"))),
        "{discord:#?}"
    );
    assert!(
        has(&|l| l.starts_with(&format!("discord: ✅ {second} saved"))),
        "{discord:#?}"
    );
    assert!(
        has(&|l| l.starts_with(&format!("discord: ↩️ {back} rolled back to {first}"))),
        "{discord:#?}"
    );
    assert!(
        has(&|l| l.contains("design_spec") && l.contains("approved by cli:demo")),
        "{discord:#?}"
    );
    // The day's digest: its summary on #system-health, the report on the integration branch.
    assert!(
        has(&|l| l.starts_with("discord: 📊 Daily digest ")
            && l.contains("3 checkpoints (2 saved, 1 rolled back)")),
        "{discord:#?}"
    );

    // The kept project: its trail verifies on its own…
    let o = in_dir(&dir, home.path(), &["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("audit trail OK"), "{}", stdout(&o));

    // …its state holds the story…
    let o = in_dir(&dir, home.path(), &["status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let s = &v["state"];
    let concerns: Vec<&Value> = s["concerns"].as_object().unwrap().values().collect();
    let c = concerns
        .iter()
        .find(|c| c["category"] == "spec_ambiguity")
        .expect("the implementer's concern");
    assert!(
        c["raised_by"].as_str().unwrap().starts_with("implementer-"),
        "{c:#}"
    );
    assert_eq!(
        c["escalations"],
        serde_json::json!(["designer", "project_manager", "human"])
    );
    assert!(
        !concerns.iter().any(|c| c["category"] == "merge_conflict"),
        "every finished branch merged cleanly: {concerns:#?}"
    );
    let tasks: Vec<&Value> = s["plan"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["tasks"].as_array().unwrap())
        .collect();
    assert_eq!(s["plan"]["phases"].as_array().unwrap().len(), 2);
    let fix = tasks
        .iter()
        .find(|t| t["parent_id"] == "tests")
        .expect("a branch todo for the failing test");
    assert_eq!(fix["role"], "debugger");
    assert_eq!(fix["branch_reason"], "implementation_bug");
    assert!(
        fix["debug_instructions"]
            .as_str()
            .unwrap()
            .contains("median_of_even_length_averages_the_middle_pair"),
        "{fix:#}"
    );
    assert!(tasks.iter().all(|t| t["status"] == "done"), "{tasks:#?}");
    let parallel: Vec<&str> = s["agents"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|a| a.starts_with("implementer-"))
        .collect();
    assert_eq!(parallel.len(), 2, "two implementers: {parallel:?}");

    // …and git has the work: the fix and the tests in the first checkpoint, the second change
    // in the second, and main back at the first one's tree.
    let median = git(
        dir.as_path(),
        home.path(),
        &["show", &format!("{first}:src/median.rs")],
    );
    assert!(
        median.contains("(sorted[mid - 1] + sorted[mid]) / 2.0"),
        "{median}"
    );
    git(
        dir.as_path(),
        home.path(),
        &["show", &format!("{first}:tests/stats.rs")],
    );
    git(
        dir.as_path(),
        home.path(),
        &["show", &format!("{second}:src/mode.rs")],
    );
    let tree = |r: &str| {
        git(
            dir.as_path(),
            home.path(),
            &["rev-parse", &format!("{r}^{{tree}}")],
        )
    };
    assert_eq!(tree("main"), tree(&first));
    assert_ne!(tree(&second), tree(&first));
    let reports = git(
        dir.as_path(),
        home.path(),
        &[
            "log",
            "-1",
            "--format=%s",
            "--all",
            "--grep=^reports: daily digest",
        ],
    );
    assert!(reports.starts_with("reports: daily digest "), "{reports}");

    // The documents tell the truth (issue 20 §8). The first checkpoint's name its own QA run
    // and carry its report…
    let show = |what: &str| git(dir.as_path(), home.path(), &["show", what]);
    let qa_first = s["checkpoints"][0]["qa_run"].as_str().expect("a QA run");
    let overview = show(&format!("{first}:docs/PROJECT_OVERVIEW.md"));
    assert!(!overview.contains("no QA run yet"), "{overview}");
    assert!(
        overview.contains(&format!("- this checkpoint's QA run: {qa_first} (")),
        "{overview}"
    );
    let report = show(&format!("{first}:docs/QA_REPORT.md"));
    assert!(report.contains(qa_first), "{report}");
    show(&format!("{first}:docs/TEST_RESULTS.md"));
    // …and the digest's, written after the rollback, do not call the rolled-back work
    // delivered, nor the project complete with nothing promoted.
    let digest = git(
        dir.as_path(),
        home.path(),
        &[
            "log",
            "-1",
            "--format=%H",
            "--all",
            "--grep=^reports: daily digest",
        ],
    );
    let overview = show(&format!("{}:docs/PROJECT_OVERVIEW.md", digest.trim()));
    let delivered = overview
        .split("## Deliverables completed")
        .nth(1)
        .and_then(|d| d.split("\n## ").next())
        .expect("a deliverables section");
    let second_tasks: Vec<&str> = s["checkpoints"][1]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(!second_tasks.is_empty());
    for t in second_tasks {
        let lines: Vec<&str> = delivered
            .lines()
            .filter(|l| l.starts_with(&format!("- {t}: ")))
            .collect();
        assert!(
            !lines.is_empty()
                && lines
                    .iter()
                    .all(|l| l.contains(&format!("taken out of main by {back}"))),
            "{t} is listed as delivered: {overview}"
        );
    }
    assert!(!overview.contains("all phases complete"), "{overview}");
}

#[test]
fn the_demo_refuses_a_directory_that_is_not_empty_and_touches_nothing() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("mine");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "my notes\n").unwrap();
    let o = demo(&dir, home.path());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("is not empty") && err.contains("nothing in it was touched"),
        "{err}"
    );
    let entries: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "my notes\n"
    );
}

/// `--pace` takes seconds from 0 to 600; anything else is refused before anything is made.
#[test]
fn the_demo_refuses_a_pace_that_is_not_a_number_of_seconds() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("never-made");
    for pace in ["-1", "soon", "601", "NaN"] {
        let mut cmd = bin();
        cmd.args(["demo", "--headless", "--pace", pace, "--dir"])
            .arg(&dir)
            .current_dir(home.path());
        sandbox(&mut cmd, home.path());
        let o = cmd.output().expect("run overlord-tui demo");
        assert_eq!(o.status.code(), Some(2), "{pace}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "'{pace}' is not a number of seconds from 0 to 600"
            )),
            "{}",
            stderr(&o)
        );
        assert!(!dir.exists(), "{pace}: nothing is made");
    }
}
