//! The QA engine on JavaScript/TypeScript sample projects, with the real tools installed
//! from the npm registry by Overlord's own install step: an npm project (jest run twice by
//! its script, eslint, `tsc`, jest coverage), a pnpm project whose pnpm is not installed
//! (vitest and mocha in one script, biome, vitest coverage), an npm workspace of `node
//! --test` packages (with a flaky test), an ava project, installs that fail, and task
//! worktrees getting their dependencies. Each gate's figures are compared with the tool's
//! own summary.
//!
//! The projects' lockfiles are fixtures (`tests/fixtures/node/`); the packages come through
//! a cache kept between runs (`OVERLORD_TEST_NPM_CACHE`, else `~/.cache/overlord-tests`), so
//! a second run of the suite installs offline-fast. Without node ≥ 18 and npm the tests say
//! so and return.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{git, stderr, stdout, tool_env, Repo};

/// Node ≥ 18 and npm, or why not.
fn node_tools() -> Result<(), String> {
    let v = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node: {e}"))?;
    let text = String::from_utf8_lossy(&v.stdout);
    let major: u32 = text
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 18 {
        return Err(format!("node {} is older than 18", text.trim()));
    }
    Command::new("npm")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .ok_or("npm is not installed")?;
    Ok(())
}

macro_rules! need_node {
    () => {
        if let Err(why) = node_tools() {
            eprintln!("skipped: the JavaScript QA tests need node >= 18 and npm ({why}); .ci/run installs them");
            return;
        }
    };
}

/// The package managers' caches, kept between test runs.
fn cache_dir() -> PathBuf {
    std::env::var_os("OVERLORD_TEST_NPM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/overlord-tests")
        })
}

fn cache_env() -> Vec<(String, String)> {
    let c = cache_dir();
    let p = |s: &str| c.join(s).to_string_lossy().to_string();
    vec![
        ("npm_config_cache".into(), p("npm")),
        ("npm_config_store_dir".into(), p("pnpm-store")),
        ("COREPACK_HOME".into(), p("corepack")),
        ("npm_config_prefer_offline".into(), "true".into()),
    ]
}

struct Sample {
    repo: Repo,
    target: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

impl Sample {
    /// A committed repository of the fixture project `name` plus `files`, set up by `init`.
    fn new(fixture: Option<&str>, files: &[(&str, &str)], policy: &str) -> Sample {
        let repo = Repo::new();
        if let Some(name) = fixture {
            let from = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/node")
                .join(name);
            copy_dir(&from, repo.path());
        }
        for (path, text) in files {
            repo.write(path, text);
        }
        git(repo.path(), repo.home.path(), &["add", "-A"]);
        git(repo.path(), repo.home.path(), &["commit", "-qm", "sample"]);
        git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
        let target = repo.home.path().join("target");
        let s = Sample { repo, target };
        let o = s.cli(&["init"]);
        assert!(o.status.success(), "{}", stderr(&o));
        s.repo.write(".overlord/QA_POLICY.yaml", policy);
        s
    }

    fn cli(&self, args: &[&str]) -> Output {
        let mut env = tool_env(&self.target);
        env.extend(cache_env());
        let all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.repo.run_env(args, &all)
    }

    fn qa(&self) -> Value {
        let o = self.cli(&["qa", "--json"]);
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
            panic!(
                "qa --json: {e}\nstdout: {}\nstderr: {}",
                stdout(&o),
                stderr(&o)
            )
        })
    }

    fn worktree(&self) -> PathBuf {
        self.repo.path().join(".overlord/integration")
    }

    /// A stored file of the run.
    fn stored(&self, v: &Value, rel: &str) -> String {
        let p = self
            .repo
            .path()
            .join(".overlord/qa")
            .join(v["run"].as_str().unwrap())
            .join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// A tool run in the QA worktree (its `node_modules/.bin` first on PATH).
    fn tool(&self, command: &str) -> String {
        let wt = self.worktree();
        let path = format!(
            "{}:{}",
            wt.join("node_modules/.bin").display(),
            std::env::var("PATH").unwrap()
        );
        let o = Command::new("sh")
            .args(["-c", command])
            .current_dir(&wt)
            .env("PATH", path)
            .envs(cache_env())
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }
}

fn gate<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == name)
        .unwrap_or_else(|| panic!("no gate {name} in {v:#}"))
}

fn outcome(v: &Value, name: &str) -> String {
    gate(v, name)["outcome"].as_str().unwrap().to_string()
}

/// The numbers after `word` on every line of `text` that has it (`Tests: 1 failed, 3
/// passed, 5 total` → passed: 3), summed over the lines.
/// The text without ANSI colour sequences (`ESC [ … letter`), as a terminal would show it.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn summed(text: &str, line_has: &str, word: &str) -> u64 {
    without_colours(text)
        .lines()
        .filter(|l| l.contains(line_has))
        .map(|l| {
            let words: Vec<&str> = l
                .split(|c: char| c.is_whitespace() || c == ',' || c == '|' || c == '(' || c == ')')
                .filter(|w| !w.is_empty())
                .collect();
            words
                .windows(2)
                .find(|w| w[1] == word)
                .and_then(|w| w[0].parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

const POLICY: &str = "auto_merge_if:\n  all_tests_passed: true\n  coverage_min: 50\n  lint_errors: 0\n  build_passed: true\n  reproducibility_min: 95\ngates:\n  reproducibility_runs: 2\n  not_measured: require_human\n";

/// A percentage from a coverage-summary.json (istanbul's `json-summary`): total lines.
fn summary_pct(path: &Path) -> f64 {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["total"]["lines"]["pct"].as_f64().unwrap()
}

#[test]
fn an_npm_project_measures_jest_twice_eslint_tsc_and_coverage() {
    need_node!();
    let s = Sample::new(Some("jest-npm"), &[], POLICY);
    let v = s.qa();
    assert_eq!(v["project"], serde_json::json!(["node"]));
    let install = &v["install"];
    assert_eq!(install["outcome"], "installed", "{v:#}");
    assert_eq!(install["command"], "npm ci --no-audit --no-fund");
    assert!(
        install["manager"].as_str().unwrap().starts_with("npm "),
        "{install}"
    );
    assert_eq!(outcome(&v, "build"), "pass", "{v:#}");

    // Tests: the script runs jest twice; both runs count, as jest's own two summaries.
    let log = s.stored(&v, "tests-1/output.log");
    assert_eq!(log.matches("Tests:").count(), 2, "{log}");
    let m = &v["metrics"];
    assert_eq!(
        m["tests_passed"],
        summed(&log, "Tests:", "passed"),
        "{log}\n{v:#}"
    );
    assert_eq!(m["tests_failed"], summed(&log, "Tests:", "failed"));
    assert_eq!(m["tests_skipped"], summed(&log, "Tests:", "skipped"));
    assert_eq!(m["tests_total"], summed(&log, "Tests:", "total"));
    assert_eq!(
        (m["tests_passed"].as_u64(), m["tests_failed"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(outcome(&v, "tests"), "fail");
    let reason = gate(&v, "tests")["reason"].as_str().unwrap();
    assert!(
        reason.contains("[jest] src/strings.test.js::wrong length"),
        "{reason}"
    );
    assert_eq!(outcome(&v, "reproducibility"), "pass", "{v:#}");
    assert_eq!(m["reproducibility"], 100.0);

    // Lint: eslint's error count plus tsc's.
    let eslint: Value = serde_json::from_str(&s.tool("eslint -f json . 2>/dev/null")).unwrap();
    let eslint_errors: u64 = eslint
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["errorCount"].as_u64().unwrap())
        .sum();
    let eslint_warnings: u64 = eslint
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["warningCount"].as_u64().unwrap())
        .sum();
    let tsc_errors = s
        .tool("tsc --noEmit --pretty false")
        .matches(": error TS")
        .count() as u64;
    assert_eq!((eslint_errors, tsc_errors), (1, 1));
    assert_eq!(m["lint_errors"], eslint_errors + tsc_errors, "{v:#}");
    assert_eq!(m["lint_warnings"], eslint_warnings);
    assert_eq!(outcome(&v, "lint"), "fail");

    // Coverage: jest's own line percentage (the second run covers what the first does).
    let dir = tempfile::tempdir().unwrap();
    s.tool(&format!(
        "jest --coverage --coverageReporters=json-summary --coverageDirectory={} >/dev/null 2>&1",
        dir.path().display()
    ));
    let theirs = summary_pct(&dir.path().join("coverage-summary.json"));
    let ours = m["coverage"].as_f64().expect("coverage measured");
    assert!((ours - theirs).abs() < 0.01, "ours {ours}, jest {theirs}");

    // A second run finds the dependencies installed.
    let v2 = s.qa();
    assert_eq!(v2["install"]["outcome"], "up to date", "{v2:#}");
    assert_eq!(v2["metrics"]["tests_passed"], 5);
}

#[test]
fn a_pnpm_project_gets_its_pinned_pnpm_and_measures_vitest_mocha_and_biome() {
    need_node!();
    let s = Sample::new(Some("vitest-pnpm"), &[], POLICY);
    let v = s.qa();
    let install = &v["install"];
    assert_eq!(install["outcome"], "installed", "{v:#}");
    assert_eq!(install["command"], "pnpm install --frozen-lockfile");
    let how = install["manager"].as_str().unwrap();
    assert!(how.starts_with("pnpm 9.15.0"), "{how}");

    // vitest and mocha, both started by `vitest run && mocha`.
    let log = s.stored(&v, "tests-1/output.log");
    let vitest_passed = summed(&log, "Tests ", "passed");
    let vitest_skipped = summed(&log, "Tests ", "skipped");
    assert_eq!((vitest_passed, vitest_skipped), (2, 1), "{log}");
    let node = std::fs::read_dir(
        s.repo
            .path()
            .join(".overlord/qa")
            .join(v["run"].as_str().unwrap())
            .join("tests-1/node"),
    )
    .unwrap()
    .filter_map(|e| e.ok())
    .find(|e| e.file_name().to_string_lossy().starts_with("mocha-"))
    .expect("mocha's report");
    let xunit = std::fs::read_to_string(node.path()).unwrap();
    let mocha_tests = xunit.matches("<testcase").count() as u64;
    let mocha_failed = xunit.matches("<failure").count() as u64;
    assert_eq!((mocha_tests, mocha_failed), (2, 1));
    let m = &v["metrics"];
    assert_eq!(
        m["tests_passed"],
        vitest_passed + mocha_tests - mocha_failed,
        "{v:#}"
    );
    assert_eq!(m["tests_failed"], mocha_failed);
    assert_eq!(m["tests_skipped"], vitest_skipped);
    let reason = gate(&v, "tests")["reason"].as_str().unwrap();
    assert!(reason.contains("[mocha] list::finds an item"), "{reason}");

    // `qa show` re-reads every stored report and finds the recorded results.
    let o = s.cli(&["qa", "show", v["run"].as_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // Biome's own summary.
    let biome = s.tool("biome lint --reporter=json . 2>/dev/null");
    let biome: Value = serde_json::from_str(&biome).unwrap();
    assert_eq!(m["lint_errors"], biome["summary"]["errors"], "{v:#}");
    assert!(m["lint_errors"].as_u64().unwrap() > 0);

    // vitest's own coverage summary.
    let dir = tempfile::tempdir().unwrap();
    s.tool(&format!(
        "vitest run --coverage.enabled=true --coverage.reporter=json-summary --coverage.reportsDirectory={} >/dev/null 2>&1",
        dir.path().display()
    ));
    let theirs = summary_pct(&dir.path().join("coverage-summary.json"));
    let ours = m["coverage"].as_f64().expect("coverage measured");
    assert!((ours - theirs).abs() < 0.01, "ours {ours}, vitest {theirs}");
}

const NODE_TEST_A: &str = "const test = require('node:test');\nconst assert = require('node:assert');\ntest('adds', () => assert.strictEqual(1 + 1, 2));\ntest('subtracts wrongly', () => assert.strictEqual(2 - 1, 3));\n";
/// `flips` passes in the run's first test run and fails in the second (a counter file the
/// worktree keeps between the repeats): a flaky test.
const NODE_TEST_B: &str = "const test = require('node:test');\nconst assert = require('node:assert');\nconst fs = require('node:fs');\ntest('upper', () => assert.strictEqual('a'.toUpperCase(), 'A'));\ntest.skip('later', () => {});\ntest('flips', () => {\n  const f = __dirname + '/../.flips';\n  const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0;\n  fs.writeFileSync(f, String(n + 1));\n  assert.strictEqual(n % 2, 0);\n});\n";

#[test]
fn an_npm_workspace_of_node_test_packages_sums_its_packages() {
    need_node!();
    let pkg = |name: &str| {
        format!("{{\"name\": \"{name}\", \"version\": \"1.0.0\", \"scripts\": {{\"test\": \"node --test\"}}}}\n")
    };
    let (a, b) = (pkg("a"), pkg("b"));
    let s = Sample::new(
        None,
        &[
            (
                "package.json",
                "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"]}\n",
            ),
            ("packages/a/package.json", &a),
            ("packages/a/test/a.test.js", NODE_TEST_A),
            ("packages/b/package.json", &b),
            ("packages/b/test/b.test.js", NODE_TEST_B),
            (".gitignore", "node_modules/\n"),
        ],
        POLICY,
    );
    let v = s.qa();
    assert_eq!(v["install"]["outcome"], "installed", "{v:#}");
    let log = s.stored(&v, "tests-1/output.log");
    // node --test's own TAP summaries, one per package.
    assert_eq!(log.matches("# tests ").count(), 2, "{log}");
    let m = &v["metrics"];
    assert_eq!(
        m["tests_passed"],
        sum_after(&log, "# pass "),
        "{log}\n{v:#}"
    );
    assert_eq!(m["tests_failed"], sum_after(&log, "# fail "));
    assert_eq!(m["tests_total"], sum_after(&log, "# tests "));
    assert_eq!(m["tests_failed"], 1);
    let reason = gate(&v, "tests")["reason"].as_str().unwrap();
    assert!(reason.contains("subtracts wrongly"), "{reason}");
    // Flaky detection per test, as for Rust and Python: `flips` changed its outcome.
    let flaky: Vec<&str> = v["flaky"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(flaky, ["[node-test #2] test::flips"], "{v:#}");
    assert_eq!(outcome(&v, "reproducibility"), "fail", "{v:#}");
    // Coverage is read from jest and vitest only, and says so.
    assert_eq!(outcome(&v, "coverage"), "not_measured");
    assert!(
        gate(&v, "coverage")["reason"]
            .as_str()
            .unwrap()
            .contains("coverage is read from jest and vitest"),
        "{v:#}"
    );
}

/// The numbers after `prefix` at the start of lines, summed.
fn sum_after(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum()
}

#[test]
fn a_failed_install_is_named_and_no_gate_runs() {
    need_node!();
    let s = Sample::new(
        None,
        &[
            (
                "package.json",
                "{\"name\": \"broken\", \"scripts\": {\"test\": \"node --test\"}, \"devDependencies\": {\"overlord-no-such-package-7f3a9c\": \"1.0.0\"}}\n",
            ),
            (".gitignore", "node_modules/\n"),
        ],
        POLICY,
    );
    let v = s.qa();
    assert_eq!(v["install"]["outcome"], "failed", "{v:#}");
    for g in ["build", "tests", "lint"] {
        assert_eq!(outcome(&v, g), "not_measured", "{v:#}");
        let r = gate(&v, g)["reason"].as_str().unwrap();
        assert!(
            r.contains("the dependency install failed") && r.contains("npm install"),
            "{r}"
        );
    }
    let o = s.cli(&["qa"]);
    assert!(
        stdout(&o).contains("dependencies: `npm install --no-audit --no-fund`: failed"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_pinned_package_manager_that_cannot_be_had_says_so() {
    need_node!();
    let s = Sample::new(
        None,
        &[
            (
                "package.json",
                "{\"name\": \"p\", \"packageManager\": \"pnpm@0.0.0-overlord-none\", \"scripts\": {\"test\": \"node --test\"}, \"dependencies\": {\"left-pad\": \"1.3.0\"}}\n",
            ),
            (".gitignore", "node_modules/\n"),
        ],
        POLICY,
    );
    let v = s.qa();
    assert_eq!(v["install"]["outcome"], "failed", "{v:#}");
    let m = v["install"]["message"].as_str().unwrap();
    assert!(
        m.contains("pnpm@0.0.0-overlord-none")
            && m.contains("cannot be had")
            && m.contains("corepack")
            && m.contains("npx"),
        "{m}"
    );
}

/// A committed repository with `files`, set up for Overlord.
fn plain_repo(files: &[(&str, &str)]) -> (Repo, git2::Repository) {
    let repo = Repo::new();
    for (p, t) in files {
        repo.write(p, t);
    }
    git(repo.path(), repo.home.path(), &["add", "-A"]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "one"]);
    repo.workspace().init().unwrap();
    let g = git2::Repository::open(repo.path()).unwrap();
    (repo, g)
}

#[test]
fn task_worktrees_get_the_dependencies_and_a_failed_install_is_named() {
    use overlord::core::worktree::{self, Setup, WorktreeError};
    need_node!();
    let (repo, g) = plain_repo(&[
        (
            "package.json",
            "{\"name\": \"app\", \"version\": \"1.0.0\", \"dependencies\": {\"helper\": \"file:./helper\"}}\n",
        ),
        (
            "helper/package.json",
            "{\"name\": \"helper\", \"version\": \"1.0.0\", \"main\": \"index.js\"}\n",
        ),
        ("helper/index.js", "module.exports = 42;\n"),
        (".gitignore", "node_modules/\n"),
    ]);
    let wt = worktree::create(&g, repo.path(), "s1", "t1", "HEAD", &Setup::default()).unwrap();
    let installed = wt.path.join("node_modules/helper/index.js");
    assert!(
        installed.exists(),
        "no dependency installed in the task's worktree"
    );
    assert!(wt.path.join("node_modules/.overlord-install").exists());
    assert!(worktree::uncommitted(&wt.path)
        .unwrap()
        .iter()
        .all(|f| f == "package-lock.json"));
    // The project's own set-up command replaces the install.
    let own = Setup {
        command: Some("echo own > .own".into()),
        ..Setup::default()
    };
    let wt2 = worktree::create(&g, repo.path(), "s1", "t2", "HEAD", &own).unwrap();
    assert!(!wt2.path.join("node_modules").exists());

    // A dependency that cannot be installed: the worktree is not made, and the error says
    // it was the install.
    let (repo, g) = plain_repo(&[(
        "package.json",
        "{\"name\": \"app\", \"dependencies\": {\"gone\": \"%%%\"}}\n",
    )]);
    let e = worktree::create(&g, repo.path(), "s1", "t1", "HEAD", &Setup::default()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, WorktreeError::Setup { .. }), "{msg}");
    assert!(
        msg.contains("the dependency install failed") && msg.contains("npm install"),
        "{msg}"
    );
    assert!(!repo.path().join(".overlord/worktrees/t1").exists());
}

#[test]
fn an_ava_project_is_read_from_its_tap() {
    need_node!();
    let s = Sample::new(Some("ava-npm"), &[], POLICY);
    let v = s.qa();
    assert_eq!(v["install"]["outcome"], "installed", "{v:#}");
    // ava's own TAP summary, as it printed it.
    let node = s
        .repo
        .path()
        .join(".overlord/qa")
        .join(v["run"].as_str().unwrap())
        .join("tests-1/node");
    let tap = std::fs::read_dir(&node)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".tap"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("ava's TAP");
    let m = &v["metrics"];
    assert_eq!(m["tests_total"], sum_after(&tap, "# tests "), "{tap}");
    assert_eq!(m["tests_passed"], sum_after(&tap, "# pass "));
    assert_eq!(m["tests_failed"], sum_after(&tap, "# fail "));
    assert_eq!(m["tests_skipped"], sum_after(&tap, "# skip "));
    assert_eq!(
        (m["tests_passed"].as_u64(), m["tests_failed"].as_u64()),
        (Some(1), Some(1))
    );
    let reason = gate(&v, "tests")["reason"].as_str().unwrap();
    assert!(reason.contains("[ava] fails"), "{reason}");
}
