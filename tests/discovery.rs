//! The discovery analysts (issue 24 §2): the coverage analyst on real coverage reports (the
//! llvm-cov and coverage.py fixtures of the QA tests) names the real uncovered ranges; the log
//! miner clusters recurring errors by normalized message and top frame with their counts;
//! `overlord-tui discover` files them as tickets, deduplicated on the next run.

use std::path::Path;

use overlord::core::discovery::{coverage, logs};

use crate::common::*;

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/qa")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn the_coverage_analyst_names_the_uncovered_ranges_of_a_real_llvm_cov_report() {
    let report = coverage::read_report(&fixture("llvm-cov.lcov")).unwrap();
    let drafts = coverage::tickets(&report, 80.0, "llvm-cov.lcov", Path::new("/project"));
    let geo = drafts
        .iter()
        .find(|d| d.title.as_deref() == Some("write tests for src/geo.rs"))
        .expect("src/geo.rs is at 30%");
    // llvm-cov's DA lines for src/geo.rs: 6-8 hit, 10-15 and 17 not.
    assert!(
        geo.evidence.contains(&"uncovered lines: 10-17".to_string()),
        "{:?}",
        geo.evidence
    );
    assert!(
        geo.evidence[0].contains("3 of 10 lines covered (30.0%)"),
        "{:?}",
        geo.evidence
    );
    assert_eq!(geo.context.filepaths, ["src/geo.rs"]);
    assert_eq!(geo.kind, "chore");
    // Nothing at or above the threshold is drafted.
    for f in &report.files {
        let pct = f.lines_covered as f64 * 100.0 / f.lines_total as f64;
        let drafted = drafts.iter().any(|d| {
            d.evidence_key.as_deref()
                == Some(&format!(
                    "coverage:{}",
                    f.path.trim_start_matches("/project/")
                ))
        });
        assert_eq!(drafted, pct < 80.0, "{} at {pct}", f.path);
    }
}

#[test]
fn the_coverage_analyst_reads_cobertura_too() {
    let report = coverage::read_report(&fixture("coverage-py-cobertura.xml")).unwrap();
    let drafts = coverage::tickets(&report, 80.0, "coverage.xml", Path::new("/project"));
    let calc = drafts
        .iter()
        .find(|d| d.context.filepaths == ["calc.py"])
        .expect("calc.py is at 78.6%");
    assert!(
        calc.evidence
            .iter()
            .any(|e| e.starts_with("uncovered lines: 19-21")),
        "{:?}",
        calc.evidence
    );
}

/// Three recurring errors (4, 3 and 2 times, with varying ids and line numbers), one error
/// seen once, and noise.
const LOG: &str = "\
2026-12-06T01:00:00Z INFO server started on port 8080
2026-12-06T01:00:01Z ERROR db: connection refused (attempt 1) to 10.0.0.5:5432
    at db::pool::connect (src/db/pool.rs:88)
    at server::main (src/main.rs:12)
2026-12-06T01:05:00Z ERROR payment 4411 failed: card declined
2026-12-06T01:10:00Z WARN slow request 1200ms
2026-12-06T01:10:01Z ERROR db: connection refused (attempt 2) to 10.0.0.5:5432
    at db::pool::connect (src/db/pool.rs:88)
    at server::main (src/main.rs:12)
thread 'worker-3' panicked at src/queue.rs:41:9: index out of bounds: the len is 3 but the index is 7
2026-12-06T02:00:00Z ERROR payment 9001 failed: card declined
2026-12-06T02:30:00Z ERROR db: connection refused (attempt 3) to 10.0.0.5:5432
    at db::pool::connect (src/db/pool.rs:88)
2026-12-06T03:00:00Z ERROR disk full on /var/data
thread 'worker-1' panicked at src/queue.rs:41:9: index out of bounds: the len is 2 but the index is 5
2026-12-06T04:00:00Z ERROR payment 17 failed: card declined
2026-12-06T05:59:00Z ERROR db: connection refused (attempt 4) to 10.0.0.5:5432
    at db::pool::connect (src/db/pool.rs:88)
2026-12-06T06:00:00Z INFO shutting down
";

#[test]
fn the_log_miner_clusters_three_recurring_errors_into_three_tickets_with_their_counts() {
    let clusters = logs::cluster(logs::read(LOG, "app.log").unwrap());
    let drafts = logs::tickets(&clusters, 2);
    assert_eq!(drafts.len(), 3, "{drafts:#?}");
    let seen: Vec<&str> = drafts.iter().map(|d| d.evidence[0].as_str()).collect();
    assert_eq!(
        seen,
        [
            "seen 4 times in app.log",
            "seen 3 times in app.log",
            "seen 2 times in app.log"
        ]
    );
    let db = &drafts[0];
    assert!(
        db.title.as_deref().unwrap().contains("connection refused"),
        "{db:?}"
    );
    assert_eq!(db.evidence[1], "first seen 2026-12-06T01:00:01Z");
    assert_eq!(db.evidence[2], "last seen 2026-12-06T05:59:00Z");
    assert!(
        db.evidence[3].contains("db::pool::connect"),
        "{:?}",
        db.evidence
    );
    assert!(db
        .context
        .error_logs
        .as_deref()
        .unwrap()
        .contains("at db::pool::connect (src/db/pool.rs:88)"));
    assert_eq!(db.kind, "bug");
    assert!(drafts[1]
        .title
        .as_deref()
        .unwrap()
        .contains("card declined"));
    assert!(drafts[2]
        .title
        .as_deref()
        .unwrap()
        .contains("index out of bounds"));
}

#[test]
fn the_log_miner_reads_json_lines_exports() {
    let export = r#"{"timestamp": "2026-12-06T01:00:00Z", "level": "error", "message": "Timeout calling billing after 3000ms", "stack": "at billing.call (billing.js:10)\nat handler (app.js:5)"}
{"timestamp": "2026-12-06T01:01:00Z", "level": "info", "message": "ok"}
{"timestamp": "2026-12-06T02:00:00Z", "level": "error", "message": "Timeout calling billing after 5000ms", "stack": "at billing.call (billing.js:10)\nat handler (app.js:5)"}
"#;
    let drafts = logs::tickets(
        &logs::cluster(logs::read(export, "sentry.jsonl").unwrap()),
        2,
    );
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].evidence[0], "seen 2 times in sentry.jsonl");
    let e = logs::read("{\"level\": \"error\"}\nnot json\n", "x.jsonl").unwrap_err();
    assert!(e.contains("x.jsonl:2: not a JSON line"), "{e}");
}

#[test]
fn discover_files_the_analysts_tickets_once() {
    let repo = Repo::new();
    assert!(repo.run(&["init"]).status.success());
    repo.write("logs/app.log", LOG);
    let lcov = repo.path().join("cov.lcov");
    std::fs::write(&lcov, fixture("llvm-cov.lcov")).unwrap();
    let out = repo.run(&[
        "discover",
        "--analyst",
        "logs",
        "--input",
        "logs/app.log",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["analysts"][0]["filed"].as_array().unwrap().len(),
        3,
        "{v}"
    );
    let out = repo.run(&[
        "discover",
        "--analyst",
        "coverage",
        "--input",
        "cov.lcov",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !v["analysts"][0]["filed"].as_array().unwrap().is_empty(),
        "{v}"
    );
    // The same findings again: all duplicates of open tickets, nothing new.
    let out = repo.run(&[
        "discover",
        "--analyst",
        "logs",
        "--input",
        "logs/app.log",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["analysts"][0]["filed"].as_array().unwrap().len(),
        0,
        "{v}"
    );
    assert!(
        v["analysts"][0]["message"]
            .as_str()
            .unwrap()
            .contains("duplicates"),
        "{v}"
    );
    // The queue shows them with their evidence and source.
    let out = repo.run(&["ticket", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tickets = v["tickets"].as_array().unwrap();
    assert!(tickets
        .iter()
        .any(|t| t["source"] == "discovery:logs"
            && t["evidence"][0] == "seen 4 times in logs/app.log"));
    assert!(tickets.iter().any(|t| t["source"] == "discovery:coverage"));
    // The morning report lists what discovery filed in the last 24 hours.
    let out = repo.run(&["digest", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let md = v["markdown"].as_str().unwrap();
    let section = md
        .split("## Found by discovery")
        .nth(1)
        .expect("the section");
    assert!(
        section.contains("seen 4 times in logs/app.log"),
        "{section}"
    );
    assert!(
        section.contains("write tests for /project/src/geo.rs"),
        "{section}"
    );
    assert!(section.contains("ready-for-robot"), "{section}");
    assert_eq!(section.matches("| logs |").count(), 3, "{section}");
    // No input: a clear error.
    let out = repo.run(&["discover", "--analyst", "logs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[discovery] log_files"));
}

/// `[discovery] schedule`: an owner runs the analysts at the times the cron expression names
/// and files their tickets itself (origin `system`). Every minute here, so the test waits at
/// most a little over one.
#[test]
fn an_owner_runs_the_analysts_on_their_schedule() {
    let repo = Repo::new();
    assert!(repo.run(&["init"]).status.success());
    repo.write("logs/app.log", LOG);
    repo.write(
        ".overlord/config.toml",
        "[discovery]\nlog_files = [\"logs/app.log\"]\ndependencies = false\nschedule = \"* * * * *\"\n",
    );
    let owner = crate::discord_bridge::spawn(&repo, &["serve"], &[]);
    let tickets = wait_for(
        "the scheduled discovery run",
        std::time::Duration::from_secs(90),
        || {
            let out = repo.run(&["ticket", "list", "--json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            let t = v["tickets"].as_array()?.clone();
            (t.len() >= 3).then_some(t)
        },
    );
    assert_eq!(tickets.len(), 3, "{tickets:#?}");
    assert!(tickets.iter().all(|t| t["source"] == "discovery:logs"));
    // The audit names who filed them: the system, not a human.
    let commands = audit_commands(repo.path());
    assert!(
        commands
            .iter()
            .any(|c| c.line.starts_with("/ticket ")
                && c.origin == overlord::protocol::Origin::System),
        "{commands:#?}"
    );
    owner.interrupt();
    assert_eq!(owner.finish().0, Some(0));
}
