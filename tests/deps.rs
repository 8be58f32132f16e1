//! Dependencies: the registry client against answers recorded from the live registries (a
//! loopback fake serves them), its cache when the registry cannot be reached, the
//! hallucinated-dependency check (`overlord-tui deps check`, and the QA gate in a real
//! `overlord-tui qa` run), and one opt-in live test (`OVERLORD_LIVE_REGISTRY=1`).

use overlord::config::HallucinationCheck;
use overlord::deps::check::{judge, Verdict};
use overlord::deps::{Answer, Dependency, Ecosystem, Lookup, Registries};
use serde_json::Value;

use crate::common::fake_registry::{unreachable_base, FakeRegistry};
use crate::common::{git, stderr, stdout, Repo};

fn registries(config: &overlord::config::DepsConfig, cache: &std::path::Path) -> Registries {
    Registries::from_config(config, cache)
}

fn found(l: &Lookup) -> &overlord::deps::Package {
    match l.answer() {
        Some(Answer::Found(p)) => p,
        other => panic!("expected a package, got {other:?} ({l:?})"),
    }
}

fn dep(eco: Ecosystem, name: &str, req: &str) -> Dependency {
    Dependency {
        ecosystem: eco,
        name: name.into(),
        requirement: req.into(),
        locked: false,
        manifest: "Cargo.toml".into(),
    }
}

#[test]
fn recorded_registry_answers_are_read_with_latest_and_yanked() {
    let fake = FakeRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let r = registries(&fake.config(), cache.path());
    let wanted = vec![
        (Ecosystem::Cargo, "serde".to_string()),
        (Ecosystem::Cargo, "serde-hallucinated-zz".to_string()),
        (Ecosystem::Npm, "left-pad".to_string()),
        (
            Ecosystem::Npm,
            "no-such-package-zz-hallucinated".to_string(),
        ),
        (Ecosystem::PyPI, "Requests".to_string()),
        (
            Ecosystem::PyPI,
            "no-such-package-zz-hallucinated".to_string(),
        ),
    ];
    let got = r.lookup_all(&wanted);
    let serde = found(&got[0]);
    assert_eq!(serde.latest.as_deref(), Some("1.0.229"));
    assert!(serde.find("1.0.95").unwrap().yanked, "1.0.95 is yanked");
    assert!(!serde.find("1.0.228").unwrap().yanked);
    assert_eq!(got[1].answer(), Some(&Answer::Missing));
    assert_eq!(found(&got[2]).latest.as_deref(), Some("1.3.0"));
    assert_eq!(got[3].answer(), Some(&Answer::Missing));
    let requests = found(&got[4]);
    assert_eq!(requests.latest.as_deref(), Some("2.34.2"));
    assert!(requests.find("2.32.0").unwrap().yanked);
    assert!(!requests.find("2.31.0").unwrap().yanked);
    assert_eq!(got[5].answer(), Some(&Answer::Missing));
    assert!(matches!(got[0], Lookup::Live { .. }));

    // What each answer means for a requirement.
    let v = |d: Dependency, l: &Lookup| judge(&d, l).0;
    assert_eq!(
        v(dep(Ecosystem::Cargo, "serde", "1"), &got[0]),
        Verdict::Exists
    );
    assert_eq!(
        v(dep(Ecosystem::Cargo, "serde", "9.9"), &got[0]),
        Verdict::MissingVersion
    );
    assert_eq!(
        v(dep(Ecosystem::Cargo, "serde", "=1.0.95"), &got[0]),
        Verdict::Yanked
    );
    assert_eq!(
        v(dep(Ecosystem::Cargo, "serde-hallucinated-zz", "1"), &got[1]),
        Verdict::MissingPackage
    );
    assert_eq!(
        v(dep(Ecosystem::PyPI, "requests", "==2.32.0"), &got[4]),
        Verdict::Yanked
    );
    assert_eq!(
        v(dep(Ecosystem::PyPI, "requests", ">=2.31,<3"), &got[4]),
        Verdict::Exists
    );
}

#[test]
fn offline_answers_come_from_the_cache_or_are_unknown() {
    let fake = FakeRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let wanted = vec![
        (Ecosystem::Cargo, "serde".to_string()),
        (Ecosystem::Cargo, "serde-hallucinated-zz".to_string()),
    ];
    let live = registries(&fake.config(), cache.path()).lookup_all(&wanted);
    assert!(matches!(live[0], Lookup::Live { .. }));
    let asked = fake.count();
    assert_eq!(asked, 2);

    // The registry is gone: the cached answers, saying so.
    let down = unreachable_base();
    let offline = overlord::config::DepsConfig {
        crates_index: format!("{down}/crates"),
        npm_registry: format!("{down}/npm"),
        pypi: format!("{down}/pypi"),
        cache_ttl_secs: 0,
        timeout_secs: 2,
    };
    let cached = registries(&offline, cache.path()).lookup_all(&wanted);
    match &cached[0] {
        Lookup::Cached {
            answer: Answer::Found(p),
            fetched_at,
            why,
        } => {
            assert_eq!(p.latest.as_deref(), Some("1.0.229"));
            assert!(!fetched_at.is_empty());
            assert!(
                why.contains("cannot connect") || why.contains("error"),
                "{why}"
            );
        }
        other => panic!("expected the cached answer, got {other:?}"),
    }
    assert_eq!(cached[1].answer(), Some(&Answer::Missing));
    assert!(cached[0].provenance().contains("offline: cached answer of"));
    // A registry found unreachable is not asked again within the same check.
    assert!(
        cached[1]
            .provenance()
            .contains("unreachable earlier in this check"),
        "{:?}",
        cached[1]
    );

    // No cache: unknown, never a guess.
    let empty = tempfile::tempdir().unwrap();
    let unknown = registries(&offline, empty.path()).lookup_all(&wanted);
    assert!(unknown.iter().all(|l| l.answer().is_none()), "{unknown:?}");
    let (verdict, detail) = judge(&dep(Ecosystem::Cargo, "serde", "1"), &unknown[0]);
    assert_eq!(verdict, Verdict::Unknown);
    assert!(detail.starts_with("unknown (offline"), "{detail}");

    // Within the freshness window the cache answers without asking.
    let fresh = overlord::config::DepsConfig {
        cache_ttl_secs: 3600,
        ..fake.config()
    };
    let again = registries(&fresh, cache.path()).lookup_all(&wanted);
    assert_eq!(fake.count(), asked, "a fresh cache must not ask again");
    assert_eq!(found(&again[0]).latest.as_deref(), Some("1.0.229"));
}

/// A committed repository on `main` with `files`.
fn project(files: &[(&str, &str)]) -> Repo {
    let repo = Repo::new();
    for (p, t) in files {
        repo.write(p, t);
    }
    git(repo.path(), repo.home.path(), &["add", "-A"]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "sample"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    repo
}

const CARGO: &str =
    "[package]\nname = \"sample\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";

fn env(fake: &FakeRegistry) -> Vec<(String, String)> {
    fake.env()
}

fn run_with(repo: &Repo, args: &[&str], env: &[(String, String)]) -> std::process::Output {
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    repo.run_env(args, &e)
}

#[test]
fn deps_check_fails_naming_a_crate_that_does_not_exist_and_passes_serde() {
    let fake = FakeRegistry::start();
    let repo = project(&[("Cargo.toml", CARGO)]);

    // Adding serde: it exists.
    repo.write("Cargo.toml", &format!("{CARGO}serde = \"1.0.100\"\n"));
    let o = run_with(&repo, &["deps", "check"], &env(&fake));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("ok       crates.io serde 1.0.100"),
        "{}",
        stdout(&o)
    );

    // Adding a crate nobody published, and a serde version that does not exist.
    repo.write(
        "Cargo.toml",
        &format!("{CARGO}serde = \"9.9\"\nserde-hallucinated-zz = \"1\"\n"),
    );
    repo.write(
        "requirements.txt",
        "requests==2.31.0\nno-such-package-zz-hallucinated>=1\n",
    );
    let o = run_with(&repo, &["deps", "check", "main", "--json"], &env(&fake));
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("serde-hallucinated-zz"), "{err}");
    assert!(err.contains("serde 9.9"), "{err}");
    assert!(err.contains("no-such-package-zz-hallucinated"), "{err}");
    assert!(!err.contains("requests"), "requests 2.31.0 exists: {err}");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["report"]["checked"].as_array().unwrap().len(), 4);

    // Offline with nothing cached: unknown, exit 3, nothing invented.
    std::fs::remove_dir_all(repo.path().join(".overlord/cache")).unwrap();
    let down = unreachable_base();
    let offline = vec![
        ("OVERLORD_REGISTRY_CRATES".to_string(), down.clone()),
        ("OVERLORD_REGISTRY_PYPI".to_string(), down),
    ];
    let o = run_with(&repo, &["deps", "check"], &offline);
    assert_eq!(o.status.code(), Some(3), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("unknown (offline"), "{}", stdout(&o));

    // A bad BASE is a clear error.
    let o = run_with(&repo, &["deps", "check", "no-such-rev"], &env(&fake));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-rev"), "{}", stderr(&o));
}

/// `overlord-tui qa --json` on a feature branch whose last commit changes package.json.
fn qa_on_branch(fake: &FakeRegistry, added: &str, mode: &str) -> Value {
    let repo = project(&[(
        "package.json",
        r#"{"name":"app","dependencies":{"left-pad":"^1.1.0"}}"#,
    )]);
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    repo.write(
        ".overlord/config.toml",
        &format!(
            "[qa]\nhallucination_check = \"{mode}\"\n[qa.build]\ncommand = \"off\"\n[qa.tests]\ncommand = \"off\"\n[qa.lint]\ncommand = \"off\"\n[qa.coverage]\ncommand = \"off\"\n[qa.e2e]\ncommand = \"off\"\n"
        ),
    );
    git(
        repo.path(),
        repo.home.path(),
        &["checkout", "-qb", "feature"],
    );
    repo.write(
        "package.json",
        &format!(r#"{{"name":"app","dependencies":{{"left-pad":"^1.1.0",{added}}}}}"#),
    );
    git(
        repo.path(),
        repo.home.path(),
        &["commit", "-qam", "add a dependency"],
    );
    let o = run_with(&repo, &["qa", "--json"], &env(fake));
    serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("qa --json: {e}\n{}\n{}", stdout(&o), stderr(&o)))
}

fn dependencies_gate(v: &Value) -> &Value {
    v["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["gate"] == "dependencies")
        .unwrap_or_else(|| panic!("no dependencies gate in {v:#}"))
}

#[test]
fn qa_gate_fails_a_hallucinated_dependency_and_passes_a_real_one() {
    let fake = FakeRegistry::start();
    let v = qa_on_branch(
        &fake,
        r#""no-such-package-zz-hallucinated":"^2.0.0""#,
        "fail",
    );
    let g = dependencies_gate(&v);
    assert_eq!(g["outcome"], "fail", "{g:#}");
    let reason = g["reason"].as_str().unwrap();
    assert!(
        reason.contains("npm no-such-package-zz-hallucinated ^2.0.0 (package.json)"),
        "{reason}"
    );
    assert_ne!(v["decision"], "auto_merge");

    let v = qa_on_branch(&fake, r#""har-validator":"5.1.5""#, "fail");
    let g = dependencies_gate(&v);
    assert_eq!(g["outcome"], "pass", "{g:#}");
    assert!(
        g["measured"]
            .as_str()
            .unwrap()
            .starts_with("1 dependency added"),
        "{g:#}"
    );

    // `warn` reports the same finding without failing the gate.
    let v = qa_on_branch(&fake, r#""no-such-package-zz-hallucinated":"1""#, "warn");
    let g = dependencies_gate(&v);
    assert_eq!(g["outcome"], "reported", "{g:#}");
    assert_eq!(g["required"], false);
    assert!(g["reason"].as_str().unwrap().contains("does not exist"));
}

#[test]
fn the_gate_decides_unknown_and_off_by_the_setting() {
    use overlord::deps::check::CheckedDep;
    use overlord::deps::DepsReport;
    use overlord::protocol::model::GateOutcome;
    use overlord::qa::deps_gate::dependencies_gate;
    let report = |mode, verdict| DepsReport {
        mode,
        base: "main".into(),
        manifests: vec!["Cargo.toml".into()],
        checked: vec![CheckedDep {
            dependency: dep(Ecosystem::Cargo, "serde", "1"),
            change: "added".into(),
            verdict,
            detail: "unknown (offline: cannot connect)".into(),
        }],
        errors: Vec::new(),
    };
    let g = dependencies_gate(Ok(&report(HallucinationCheck::Fail, Verdict::Unknown)));
    assert_eq!(g.outcome, GateOutcome::NotMeasured);
    assert!(g.required);
    assert!(g.reason.unwrap().starts_with("unknown (offline)"));
    let g = dependencies_gate(Ok(&report(HallucinationCheck::Warn, Verdict::Unknown)));
    assert_eq!(g.outcome, GateOutcome::NotMeasured);
    assert!(!g.required);
    let g = dependencies_gate(Ok(&report(
        HallucinationCheck::Fail,
        Verdict::MissingPackage,
    )));
    assert_eq!(g.outcome, GateOutcome::Fail);
    let g = dependencies_gate(Err("off ([qa] hallucination_check)"));
    assert_eq!(g.outcome, GateOutcome::NotMeasured);
    assert!(!g.required);
}

/// The live registries answer as recorded (serde exists, the made-up names do not). Opt in
/// with `OVERLORD_LIVE_REGISTRY=1`.
#[test]
fn live_registries_answer_as_recorded() {
    if std::env::var("OVERLORD_LIVE_REGISTRY").as_deref() != Ok("1") {
        eprintln!("skipped: set OVERLORD_LIVE_REGISTRY=1 to ask the live registries");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let r = registries(&overlord::config::DepsConfig::default(), cache.path());
    let got = r.lookup_all(&[
        (Ecosystem::Cargo, "serde".to_string()),
        (Ecosystem::Cargo, "serde-hallucinated-zz".to_string()),
        (Ecosystem::Npm, "left-pad".to_string()),
        (
            Ecosystem::PyPI,
            "no-such-package-zz-hallucinated".to_string(),
        ),
    ]);
    assert!(matches!(got[0], Lookup::Live { .. }), "{:?}", got[0]);
    assert!(found(&got[0]).find("1.0.228").is_some());
    assert_eq!(got[1].answer(), Some(&Answer::Missing));
    assert!(found(&got[2]).find("1.3.0").is_some());
    assert_eq!(got[3].answer(), Some(&Answer::Missing));
}

#[test]
fn the_watchdog_finds_outdated_yanked_and_vulnerable_versions_as_chore_tickets() {
    let fake = FakeRegistry::start();
    let repo = project(&[
        (
            "package.json",
            r#"{"name":"app","dependencies":{"left-pad":"1.1.0","har-validator":"^5.1.0","mine":"file:../mine"}}"#,
        ),
        (
            "Cargo.lock",
            "version = 4\n[[package]]\nname = \"serde\"\nversion = \"1.0.95\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        ),
        ("Cargo.toml", &format!("{CARGO}serde = \"1\"\n")),
        ("py/requirements.txt", "requests==2.32.0\n"),
        (
            "osv.json",
            r#"{"vulns":[{"id":"GHSA-TEST-0001","summary":"a recorded test advisory","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["1.1.0"]}]}]}"#,
        ),
    ]);
    let o = run_with(
        &repo,
        &["deps", "outdated", "--osv", "osv.json", "--json"],
        &env(&fake),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let findings = v["report"]["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    for want in [
        "deps-npm-left-pad-outdated",
        "deps-cargo-serde-outdated",
        "deps-cargo-serde-yanked",
        "deps-pypi-requests-outdated",
        "deps-pypi-requests-yanked",
        "deps-npm-left-pad-vulnerable-ghsa-test-0001",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    // ^5.1.0 admits the latest 5.1.5: not outdated.
    assert!(!ids.iter().any(|i| i.contains("har-validator")), "{ids:?}");
    let serde = findings
        .iter()
        .find(|f| f["id"] == "deps-cargo-serde-outdated")
        .unwrap();
    assert_eq!(serde["current"], "1.0.95");
    assert_eq!(serde["latest"], "1.0.229");
    assert_eq!(serde["type"], "chore");
    assert_eq!(
        serde["manifests"],
        serde_json::json!(["Cargo.lock", "Cargo.toml"])
    );
    let yanked = findings
        .iter()
        .find(|f| f["id"] == "deps-cargo-serde-yanked")
        .unwrap();
    assert_eq!(yanked["priority"], "high");

    // The same as seed 002 tickets.
    let o = run_with(&repo, &["deps", "outdated", "--tickets"], &env(&fake));
    assert!(o.status.success(), "{}", stderr(&o));
    let t: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let lp = t
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "deps-npm-left-pad-outdated")
        .unwrap();
    assert_eq!(lp["type"], "chore");
    assert_eq!(
        lp["context"]["filepaths"],
        serde_json::json!(["package.json"])
    );
    assert!(lp["context"]["error_logs"][1]
        .as_str()
        .unwrap()
        .contains("latest on npm: 1.3.0"));
    assert!(lp["acceptance_criteria"][0]
        .as_str()
        .unwrap()
        .contains("1.3.0"));

    // Offline and uncached: no finding is invented, each package is unknown.
    std::fs::remove_dir_all(repo.path().join(".overlord/cache")).unwrap();
    let down = unreachable_base();
    let offline: Vec<(String, String)> = ["CRATES", "NPM", "PYPI"]
        .iter()
        .map(|r| (format!("OVERLORD_REGISTRY_{r}"), down.clone()))
        .collect();
    let o = run_with(&repo, &["deps", "outdated", "--json"], &offline);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["report"]["findings"], serde_json::json!([]));
    assert_eq!(v["report"]["unknown"].as_array().unwrap().len(), 4, "{v:#}");
}

#[test]
fn the_janitor_keeps_an_update_whose_tests_pass_and_reverts_one_whose_tests_fail() {
    let fake = FakeRegistry::start();
    let repo = project(&[
        (
            "package.json",
            "{\n  \"name\": \"app\",\n  \"dependencies\": {\n    \"left-pad\": \"1.1.0\",\n    \"har-validator\": \"5.1.0\"\n  }\n}\n",
        ),
        // The project's "update" and "tests": controllable, and real processes.
        (
            "update.sh",
            "sed -i \"s/\\\"$1\\\": \\\"[^\\\"]*\\\"/\\\"$1\\\": \\\"$2\\\"/\" package.json\n",
        ),
        (
            "test.sh",
            "if grep -q '\"har-validator\": \"5.1.5\"' package.json; then echo 'har-validator 5.1.5 breaks us' >&2; exit 1; fi\n",
        ),
    ]);
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    repo.write(
        ".overlord/config.toml",
        "[janitor]\nupdate_command = \"sh update.sh {name} {version}\"\ntest_command = \"sh test.sh\"\n\
         [qa.tests]\ncommand = \"sh test.sh\"\nformat = \"exit\"\n",
    );
    repo.write(
        ".overlord/QA_POLICY.yaml",
        "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: false\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n",
    );
    let o = run_with(&repo, &["janitor", "--json"], &env(&fake));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let updates = v["report"]["updates"].as_array().unwrap();
    let of = |n: &str| updates.iter().find(|u| u["name"] == n).unwrap().clone();
    assert_eq!(of("left-pad")["outcome"], "kept", "{v:#}");
    assert_eq!(of("left-pad")["to"], "1.3.0");
    assert_eq!(of("har-validator")["outcome"], "reverted", "{v:#}");
    assert!(of("har-validator")["why"]
        .as_str()
        .unwrap()
        .contains("har-validator 5.1.5 breaks us"));

    // The branch holds the kept update only; main is untouched.
    let on_branch = git(
        repo.path(),
        repo.home.path(),
        &["show", "chore/update-deps:package.json"],
    );
    assert!(on_branch.contains("\"left-pad\": \"1.3.0\""), "{on_branch}");
    assert!(
        on_branch.contains("\"har-validator\": \"5.1.0\""),
        "{on_branch}"
    );
    let log = git(
        repo.path(),
        repo.home.path(),
        &["log", "--format=%s", "main..chore/update-deps"],
    );
    assert_eq!(log.trim(), "chore: update left-pad to 1.3.0");
    let main = std::fs::read_to_string(repo.path().join("package.json")).unwrap();
    assert!(main.contains("\"left-pad\": \"1.1.0\""));
    let report = std::fs::read_to_string(repo.path().join(".overlord/janitor/REPORT.md")).unwrap();
    assert!(
        report.contains("| npm left-pad | 1.1.0 | 1.3.0 | kept | the tests pass |"),
        "{report}"
    );
    assert!(
        report.contains("| npm har-validator | 5.1.0 | 5.1.5 | reverted |"),
        "{report}"
    );

    // The kept update waits for Save as a finished task on its own task branch…
    let task = v["task"]
        .as_str()
        .expect("a task for the kept update")
        .to_string();
    assert!(task.starts_with("janitor-"), "{task}");
    let o = run_with(&repo, &["status", "--json"], &env(&fake));
    let s: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let run = &s["state"]["janitor"];
    assert_eq!(run["task"], task.as_str(), "{run:#}");
    assert_eq!(run["kept"], serde_json::json!(["left-pad 1.1.0 → 1.3.0"]));
    assert!(run["reverted"][0]
        .as_str()
        .unwrap()
        .starts_with("har-validator 5.1.0 → 5.1.5: "));
    let tasks = s["state"]["plan"]["phases"][0]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert_eq!(tasks[0]["id"], task.as_str());
    assert_eq!(tasks[0]["status"], "done");
    // …and Save takes it through the QA gate onto main.
    let o = run_with(&repo, &["digest", "--json"], &env(&fake));
    let d: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let md = d["markdown"].as_str().unwrap();
    let section = md
        .split("## The janitor")
        .nth(1)
        .expect("the janitor's section");
    assert!(
        section.contains("1 kept, 1 reverted, 0 skipped"),
        "{section}"
    );
    assert!(
        section.contains(&format!("task {task}: waiting for Save")),
        "{section}"
    );
    assert!(
        section.contains("kept: left-pad 1.1.0 → 1.3.0"),
        "{section}"
    );
    let o = run_with(&repo, &["save"], &env(&fake));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let o = run_with(&repo, &["digest", "--json"], &env(&fake));
    let d: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        d["markdown"]
            .as_str()
            .unwrap()
            .contains(&format!("task {task}: integrated on main")),
        "{d:#}"
    );
    let main = git(
        repo.path(),
        repo.home.path(),
        &["show", "main:package.json"],
    );
    assert!(main.contains("\"left-pad\": \"1.3.0\""), "{main}");
    assert!(main.contains("\"har-validator\": \"5.1.0\""), "{main}");
}

#[test]
fn discover_files_the_watchdogs_findings_as_chore_tickets_once() {
    let fake = FakeRegistry::start();
    let repo = project(&[
        (
            "package.json",
            r#"{"name":"app","dependencies":{"left-pad":"1.1.0"}}"#,
        ),
        (
            "osv.json",
            r#"{"vulns":[{"id":"GHSA-TEST-0001","summary":"a recorded test advisory","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["1.1.0"]}]}]}"#,
        ),
    ]);
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_with(
        &repo,
        &[
            "discover",
            "--analyst",
            "dependencies",
            "--input",
            "osv.json",
            "--json",
        ],
        &env(&fake),
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["analysts"][0]["analyst"], "dependencies");
    assert_eq!(
        v["analysts"][0]["filed"].as_array().unwrap().len(),
        2,
        "{v:#}"
    );
    let o = repo.run(&["ticket", "list", "--json"]);
    let t: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let tickets = t["tickets"].as_array().unwrap();
    let outdated = tickets
        .iter()
        .find(|t| t["title"] == "Update left-pad from 1.1.0 to 1.3.0")
        .unwrap_or_else(|| panic!("{tickets:#?}"));
    assert_eq!(outdated["kind"], "chore");
    assert_eq!(outdated["source"], "discovery:dependencies");
    assert_eq!(outdated["status"], "ready_for_robot");
    assert!(
        outdated["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("latest on npm: 1.3.0")),
        "{outdated:#}"
    );
    let vulnerable = tickets
        .iter()
        .find(|t| t["priority"] == "high")
        .unwrap_or_else(|| panic!("{tickets:#?}"));
    assert!(
        vulnerable["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("GHSA-TEST-0001")),
        "{vulnerable:#}"
    );
    // Again, with no analyst named (the watchdog has the manifests): nothing new is filed.
    let o = run_with(&repo, &["discover", "--json"], &env(&fake));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let deps = v["analysts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["analyst"] == "dependencies")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(deps["filed"].as_array().unwrap().len(), 0, "{v:#}");
    // With the watchdog turned off, asking for it by name says which key to set.
    repo.write(
        ".overlord/config.toml",
        "[discovery]\ndependencies = false\n",
    );
    let o = run_with(
        &repo,
        &["discover", "--analyst", "dependencies"],
        &env(&fake),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("dependencies = true"), "{}", stderr(&o));
}
