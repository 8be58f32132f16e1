//! Running the QA gates: detecting the project's tools, running each gate's command in the
//! integration worktree (timeouts, cancellation, live progress), reading the results from
//! the tools' own output, and keeping everything a run needs to be re-checked later under
//! `.overlord/qa/QA-<n>/` (`run.json`, each attempt's output and reports, the Markdown
//! reports). The verdict itself is `qa::evaluate`, which is pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::shell;
use super::Core;
use crate::config::{non_empty, GateCommand, QaConfig};
use crate::protocol::event::EventKind;
use crate::protocol::model::{GateOutcome, Impact, QaMetrics, QaRun, QaRunId, Severity};
use crate::qa::evaluate::{self, BuildMeasure, Evaluation, Evidence, Measure};
use crate::qa::parse;
use crate::qa::policy::{self, Policy};
use crate::qa::report;
use crate::qa::results::{Coverage, LintReport, TestCase, TestOutcome, TestReport};

/// Files the run writes itself, so a policy that requires them is satisfied by the run.
pub const OWN_REPORTS: [&str; 3] = ["QA_REPORT.md", "TEST_RESULTS.md", "TEST_RESULTS_DETAIL.md"];

/// How a gate's results are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Libtest,
    Junit,
    Tap,
    /// The command's exit status is the one result (a user's own script).
    Exit,
    /// cargo's `--message-format=json` (build).
    Cargo,
    Clippy,
    Eslint,
    Ruff,
    Lcov,
    Cobertura,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.trim() {
            "libtest" => Format::Libtest,
            "junit" => Format::Junit,
            "tap" => Format::Tap,
            "exit" => Format::Exit,
            "cargo" => Format::Cargo,
            "clippy" => Format::Clippy,
            "eslint" => Format::Eslint,
            "ruff" => Format::Ruff,
            "lcov" => Format::Lcov,
            "cobertura" => Format::Cobertura,
            _ => return None,
        })
    }

    fn allowed(gate: &str) -> &'static [&'static str] {
        match gate {
            "build" => &["cargo", "exit"],
            "tests" | "e2e" => &["libtest", "junit", "tap", "exit"],
            "lint" => &["clippy", "eslint", "ruff"],
            "coverage" => &["lcov", "cobertura"],
            _ => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Libtest => "libtest",
            Format::Junit => "junit",
            Format::Tap => "tap",
            Format::Exit => "exit",
            Format::Cargo => "cargo",
            Format::Clippy => "clippy",
            Format::Eslint => "eslint",
            Format::Ruff => "ruff",
            Format::Lcov => "lcov",
            Format::Cobertura => "cobertura",
        }
    }
}

/// A gate as it will run: its command and format, or why it cannot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub gate: String,
    pub command: Option<String>,
    pub format: Option<Format>,
    pub report: Option<String>,
    /// Where the command came from: `config`, or the detected project kind.
    pub source: String,
    /// Why the gate cannot be measured, when it cannot.
    pub unavailable: Option<String>,
}

/// The project kinds whose marker files are at the root, in order of precedence.
pub fn detect(has_file: impl Fn(&str) -> bool) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if has_file("Cargo.toml") {
        kinds.push("cargo");
    }
    if [
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "pytest.ini",
        "tox.ini",
        "requirements.txt",
    ]
    .iter()
    .any(|f| has_file(f))
    {
        kinds.push("python");
    }
    if has_file("package.json") {
        kinds.push("node");
    }
    kinds
}

/// The project kinds of a commit's tree (read from git objects: no checkout needed).
pub fn detect_in_commit(root: &Path, commit: &str) -> Vec<&'static str> {
    let tree = git2::Repository::open(root).ok().and_then(|repo| {
        let c = repo.find_commit(git2::Oid::from_str(commit).ok()?).ok()?;
        let t = c.tree().ok()?;
        Some(
            t.iter()
                .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
                .filter_map(|e| e.name().map(str::to_string))
                .collect::<Vec<_>>(),
        )
    });
    let names = tree.unwrap_or_default();
    detect(|f| names.iter().any(|n| n == f))
}

/// The gates' commands for a commit, found before anything is checked out.
pub struct Prepared {
    pub kinds: Vec<String>,
    pub planned: Vec<Planned>,
    pub tools: BTreeMap<String, String>,
}

impl Prepared {
    /// Whether any gate will run a command (and so needs the tree checked out).
    pub fn runs_anything(&self) -> bool {
        self.planned
            .iter()
            .any(|p| p.unavailable.is_none() && p.command.is_some())
    }
}

/// Detects the project in `commit` and plans each gate (tool probes run in the repository).
pub fn prepare(ctx: &QaContext, commit: &str) -> Prepared {
    let kinds = detect_in_commit(&ctx.root, commit);
    let mut tools = BTreeMap::new();
    let planned = ["build", "tests", "lint", "coverage", "e2e"]
        .iter()
        .map(|gate| plan_one(&ctx.config, &ctx.root, &kinds, gate, &mut tools))
        .collect();
    Prepared {
        kinds: kinds.iter().map(|s| s.to_string()).collect(),
        planned,
        tools,
    }
}

/// Runs a probe command quietly; its first line of output when it succeeds.
fn probe(command: &str, dir: &Path) -> Option<String> {
    let run = shell::run(command, dir, &[], Some(Duration::from_secs(30)), None).ok()?;
    run.success()
        .then(|| run.tail.lines().next().unwrap_or("").trim().to_string())
}

struct Default_ {
    command: &'static str,
    format: Format,
    report: Option<&'static str>,
    /// A probe that must succeed for the tool to count as installed, and the tool's name.
    needs: Option<(&'static str, &'static str)>,
}

fn default_for(kind: &str, gate: &str) -> Option<Default_> {
    let d = |command, format, report, needs| {
        Some(Default_ {
            command,
            format,
            report,
            needs,
        })
    };
    match (kind, gate) {
        ("cargo", "build") => d(
            "cargo build --all-targets --message-format=json",
            Format::Cargo,
            None,
            Some(("cargo --version", "cargo")),
        ),
        ("cargo", "tests") => d(
            "cargo test --no-fail-fast",
            Format::Libtest,
            None,
            Some(("cargo --version", "cargo")),
        ),
        ("cargo", "lint") => d(
            "cargo clippy --all-targets --message-format=json -- -D warnings",
            Format::Clippy,
            None,
            Some(("cargo clippy --version", "clippy")),
        ),
        ("cargo", "coverage") => d(
            "cargo llvm-cov --ignore-run-fail --lcov --output-path {out}/lcov.info",
            Format::Lcov,
            Some("{out}/lcov.info"),
            Some(("cargo llvm-cov --version", "cargo-llvm-cov")),
        ),
        ("python", "build") => d(
            "python3 -m compileall -q -x '(^|/)\\.' .",
            Format::Exit,
            None,
            Some(("python3 --version", "python3")),
        ),
        ("python", "tests") => d(
            "python3 -m pytest -q -p no:cacheprovider --junitxml={out}/junit.xml",
            Format::Junit,
            Some("{out}/junit.xml"),
            Some(("python3 -m pytest --version", "pytest")),
        ),
        ("python", "coverage") => d(
            "python3 -m coverage run --data-file={out}/.coverage -m pytest -q -p no:cacheprovider; python3 -m coverage xml --data-file={out}/.coverage -o {out}/coverage.xml",
            Format::Cobertura,
            Some("{out}/coverage.xml"),
            Some(("python3 -m coverage --version", "coverage.py")),
        ),
        ("python", "lint") => d(
            "ruff check --output-format=json .",
            Format::Ruff,
            None,
            Some(("ruff --version", "ruff")),
        ),
        ("node", "build") => d("npm run build --if-present", Format::Exit, None, Some(("npm --version", "npm"))),
        ("node", "tests") => d("npm test", Format::Tap, None, Some(("npm --version", "npm"))),
        ("node", "lint") => d(
            "npx --no-install eslint -f json .",
            Format::Eslint,
            None,
            Some(("npx --no-install eslint --version", "eslint")),
        ),
        _ => None,
    }
}

fn configured<'a>(config: &'a QaConfig, gate: &str) -> &'a GateCommand {
    match gate {
        "build" => &config.build,
        "tests" => &config.tests,
        "lint" => &config.lint,
        "coverage" => &config.coverage,
        _ => &config.e2e,
    }
}

/// The command of the tests gate for the project in `dir` (configured, else detected from
/// the files there), for the supervisor's acceptance check of a task's worktree. `None` when
/// the gate is off or nothing could be detected.
pub fn tests_command(config: &QaConfig, dir: &Path) -> Option<String> {
    let kinds = detect(|f| dir.join(f).exists());
    let mut tools = BTreeMap::new();
    let p = plan_one(config, dir, &kinds, "tests", &mut tools);
    p.unavailable.is_none().then_some(p.command).flatten()
}

fn plan_one(
    config: &QaConfig,
    dir: &Path,
    kinds: &[&str],
    gate: &str,
    tools: &mut BTreeMap<String, String>,
) -> Planned {
    let c = configured(config, gate);
    let mut p = Planned {
        gate: gate.to_string(),
        command: None,
        format: None,
        report: non_empty(&c.report),
        source: "config".into(),
        unavailable: None,
    };
    let command = c.command.trim();
    if command == "off" {
        p.unavailable = Some(format!(
            "switched off in the configuration ([qa.{gate}] command = \"off\")"
        ));
        return p;
    }
    let format = match non_empty(&c.format) {
        Some(f) => match Format::parse(&f).filter(|x| Format::allowed(gate).contains(&x.name())) {
            Some(x) => Some(x),
            None => {
                p.unavailable = Some(format!(
                    "[qa.{gate}] format = \"{f}\" is not one of {}",
                    Format::allowed(gate).join(", ")
                ));
                return p;
            }
        },
        None => None,
    };
    if !command.is_empty() {
        p.command = Some(command.to_string());
        p.format = format.or_else(|| {
            kinds
                .iter()
                .find_map(|k| default_for(k, gate))
                .map(|d| d.format)
                .filter(|_| p.report.is_none() || gate == "coverage")
        });
        if p.format.is_none() {
            p.format = Some(match gate {
                "build" => Format::Exit,
                "coverage" => Format::Lcov,
                "lint" => {
                    p.unavailable = Some(
                        "[qa.lint] command is set but not its format (clippy, eslint or ruff)"
                            .to_string(),
                    );
                    return p;
                }
                _ if p.report.is_some() => Format::Junit,
                _ => Format::Libtest,
            });
        }
        return p;
    }
    if gate == "e2e" {
        p.unavailable = Some("no end-to-end command is configured ([qa.e2e] command)".into());
        return p;
    }
    let Some((kind, d)) = kinds
        .iter()
        .find_map(|k| default_for(k, gate).map(|d| (*k, d)))
    else {
        p.unavailable = Some(if kinds.is_empty() {
            format!("no {gate} command: no Cargo, Python or Node project found; set [qa.{gate}] command")
        } else {
            format!(
                "no default {gate} command for a {} project; set [qa.{gate}] command",
                kinds.join("/")
            )
        });
        return p;
    };
    p.source = kind.to_string();
    if let Some((check, tool)) = d.needs {
        let version = match tools.get(tool) {
            Some(v) => Some(v.clone()),
            None => {
                let v = probe(check, dir);
                if let Some(v) = &v {
                    tools.insert(tool.to_string(), v.clone());
                }
                v
            }
        };
        if version.is_none() {
            p.unavailable = Some(format!("{tool} is not installed (`{check}` failed)"));
            p.command = Some(d.command.to_string());
            return p;
        }
    }
    p.command = Some(d.command.to_string());
    p.format = Some(format.unwrap_or(d.format));
    p.report = p.report.or(d.report.map(str::to_string));
    p
}

/// One run of one gate's command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub gate: String,
    pub attempt: u32,
    pub command: String,
    pub format: Format,
    /// The attempt's directory, relative to the run's: output and reports.
    pub dir: String,
    /// The report file, relative to the run's directory, when the format reads one.
    pub report: Option<String>,
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    /// `timed out` or `cancelled`.
    pub stopped: Option<String>,
    pub duration_secs: f64,
}

/// What is kept of a run so that it can be reconstructed and re-checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub version: u32,
    pub id: QaRunId,
    pub commit: String,
    pub tree: String,
    pub worktree: String,
    pub started_at: String,
    pub finished_at: String,
    pub promotion: bool,
    pub policy_file: String,
    pub policy: Policy,
    pub project: Vec<String>,
    /// Tool versions found by the probes.
    pub tools: BTreeMap<String, String>,
    /// The environment the commands ran in (secrets redacted).
    pub environment: BTreeMap<String, String>,
    pub planned: Vec<Planned>,
    pub attempts: Vec<Attempt>,
    pub evidence: Evidence,
    pub evaluation: Evaluation,
}

/// What a caller needs to run the gates (taken from the core before the run).
pub struct QaContext {
    pub root: PathBuf,
    pub qa_dir: PathBuf,
    pub overlord_dir: PathBuf,
    pub config: QaConfig,
    pub policy: Policy,
    pub policy_file: String,
    pub previous: Option<(String, QaMetrics)>,
    pub open_critical: Vec<String>,
    pub impact: Option<(Impact, String)>,
    pub promotion: bool,
    pub cancel: Option<Arc<AtomicBool>>,
}

/// The policy the core runs with: the configured file, or the defaults (with a warning)
/// when it does not exist. A malformed file is an error, located.
pub fn load_policy(core: &Core) -> Result<(Policy, String, Option<String>), String> {
    let rel = core.config.qa.policy.trim();
    let path = core.ws.root.join(if rel.is_empty() {
        ".overlord/QA_POLICY.yaml"
    } else {
        rel
    });
    let shown = core.ws.relative(&path);
    match policy::load_as(&path, &shown) {
        Ok((p, warning)) => Ok((p, shown, warning)),
        Err(errors) => Err(errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

impl QaContext {
    pub fn gather(
        core: &Core,
        promotion: bool,
        impact: Option<(Impact, String)>,
    ) -> Result<(QaContext, Option<String>), String> {
        let (policy, policy_file, warning) = load_policy(core)?;
        let state = core.state();
        let previous = state
            .checkpoints
            .iter()
            .rev()
            .find_map(|c| c.qa_run.map(|r| (c.name.clone(), r)))
            .and_then(|(name, r)| {
                state
                    .qa_runs
                    .iter()
                    .find(|q| q.id == r)
                    .map(|q| (name, q.metrics.clone()))
            });
        let open_critical = state
            .open_concerns()
            .filter(|c| c.severity == Severity::Critical)
            .map(|c| format!("{} ({})", c.id, c.summary))
            .collect();
        Ok((
            QaContext {
                root: core.ws.root.clone(),
                qa_dir: core.ws.dir.join("qa"),
                overlord_dir: core.ws.dir.clone(),
                config: core.config.qa.clone(),
                policy,
                policy_file,
                previous,
                open_critical,
                impact,
                promotion,
                cancel: None,
            },
            warning,
        ))
    }
}

/// A finished run: the record for the audit store and where its files are.
pub struct QaOutput {
    pub run: QaRun,
    pub record: RunRecord,
    pub dir: PathBuf,
}

fn redacted_env() -> BTreeMap<String, String> {
    std::env::vars()
        .map(|(k, v)| {
            let u = k.to_ascii_uppercase();
            let secret = [
                "TOKEN",
                "SECRET",
                "PASSWORD",
                "PASSWD",
                "KEY",
                "CREDENTIAL",
                "AUTH",
            ]
            .iter()
            .any(|s| u.contains(s));
            (k, if secret { "<redacted>".to_string() } else { v })
        })
        .collect()
}

fn dir_name(gate: &str, attempt: u32) -> String {
    format!("{gate}-{attempt}")
}

/// Reads an attempt's results from what it left in its directory. Used by the run and by
/// `qa show` (which re-reads the stored files).
pub fn read_attempt(run_dir: &Path, worktree: &Path, a: &Attempt) -> ParsedAttempt {
    let mut parsed = read_attempt_raw(run_dir, a);
    // Tools print absolute paths; the report is about the tree, so paths are made relative.
    if let ParsedAttempt::Lint(Measure::Measured(l)) = &mut parsed {
        for f in &mut l.findings {
            if let Some(rel) = f
                .file
                .as_deref()
                .and_then(|p| Path::new(p).strip_prefix(worktree).ok())
            {
                f.file = Some(rel.to_string_lossy().to_string());
            }
        }
    }
    parsed
}

fn read_attempt_raw(run_dir: &Path, a: &Attempt) -> ParsedAttempt {
    let dir = run_dir.join(&a.dir);
    let log = std::fs::read_to_string(dir.join("output.log")).unwrap_or_default();
    let stdout = std::fs::read_to_string(dir.join("stdout.log")).unwrap_or_default();
    let report = a
        .report
        .as_ref()
        .map(|r| (r.clone(), std::fs::read_to_string(run_dir.join(r))));
    let tail = tail_of(&log);
    let status = match (&a.stopped, a.exit, a.signal) {
        (Some(s), _, _) => format!("{s} after {:.0}s", a.duration_secs),
        (None, Some(c), _) => format!("exit {c}"),
        (None, None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "no status".into(),
    };
    // A command the shell could not find: the tool is missing.
    if a.exit == Some(127) && (log.contains("not found") || log.contains("No such file")) {
        return ParsedAttempt::missing(format!("`{}`: command not found ({})", a.command, tail));
    }
    let stopped = a.stopped.is_some() || a.signal.is_some();
    // "`command` exit 1", and the output's last lines to quote after it.
    let ran = format!("`{}` {status}", a.command);
    let after = if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    };
    let report_text = |kind: &str| -> Result<String, String> {
        match &report {
            Some((_, Ok(t))) => Ok(t.clone()),
            Some((r, Err(_))) => Err(format!("{ran} and wrote no {kind} report at {r}{after}")),
            None => Err(format!(
                "no {kind} report file is configured ([qa.{}] report)",
                a.gate
            )),
        }
    };
    match a.format {
        Format::Libtest | Format::Junit | Format::Tap | Format::Exit => {
            let parsed: Result<TestReport, String> = match a.format {
                Format::Libtest => {
                    let r = parse::libtest(&log);
                    if r.tests.is_empty() && r.announced.is_none() {
                        Err(format!("{ran} and printed no test results{after}"))
                    } else {
                        Ok(r)
                    }
                }
                Format::Tap => {
                    let r = parse::tap(&stdout);
                    if r.tests.is_empty() && !r.complete {
                        Err(format!("{ran}; its output is not TAP{after}"))
                    } else {
                        Ok(r)
                    }
                }
                Format::Junit => {
                    report_text("JUnit").and_then(|t| parse::junit(&t).map_err(|e| e.to_string()))
                }
                _ => Ok(TestReport {
                    tests: vec![TestCase {
                        name: a.command.clone(),
                        outcome: if a.exit == Some(0) {
                            TestOutcome::Passed
                        } else {
                            TestOutcome::Failed
                        },
                        duration: Some(a.duration_secs),
                        message: (a.exit != Some(0)).then(|| format!("{status}: {tail}")),
                    }],
                    complete: !stopped,
                    announced: Some(1),
                }),
            };
            let m = match parsed {
                Ok(r) if stopped => Measure::Errored(ran, Some(r)),
                Ok(r) => Measure::Measured(r),
                Err(why) if stopped => Measure::Errored(format!("{ran} ({why})"), None),
                Err(why) => Measure::NotMeasured(why),
            };
            ParsedAttempt::Tests(m)
        }
        Format::Cargo => {
            if stopped {
                return ParsedAttempt::Build(Measure::Errored(ran, None));
            }
            let (b, _) = parse::cargo_json(&stdout);
            let passed = a.exit == Some(0) && b.success != Some(false);
            let detail = match b.success {
                Some(_) => format!(
                    "{status}; {} error(s), {} warning(s)",
                    b.errors.len(),
                    b.warnings
                ),
                None => format!("{status} (no build-finished message)"),
            };
            ParsedAttempt::Build(Measure::Measured(BuildMeasure {
                passed,
                detail: if passed {
                    detail
                } else {
                    format!("{detail}{}", first_error(&b.errors, &tail))
                },
            }))
        }
        Format::Clippy | Format::Eslint | Format::Ruff => {
            if stopped {
                return ParsedAttempt::Lint(Measure::Errored(ran, None));
            }
            let m = match a.format {
                Format::Clippy => {
                    let (b, l) = parse::cargo_json(&stdout);
                    if b.success.is_none() && l.findings.is_empty() && a.exit != Some(0) {
                        Measure::NotMeasured(format!("{ran} and printed no cargo messages{after}"))
                    } else {
                        Measure::Measured(l)
                    }
                }
                Format::Eslint => lint_from(&ran, &after, parse::eslint_json(&stdout)),
                _ => lint_from(&ran, &after, parse::ruff_json(&stdout)),
            };
            ParsedAttempt::Lint(m)
        }
        Format::Lcov | Format::Cobertura => {
            if stopped {
                return ParsedAttempt::Coverage(Measure::Errored(ran, None));
            }
            let m = match report_text("coverage") {
                Err(why) => Measure::NotMeasured(why),
                Ok(t) => {
                    let parsed = if a.format == Format::Lcov {
                        parse::lcov(&t)
                    } else {
                        parse::cobertura(&t)
                    };
                    match parsed {
                        Ok(c) => Measure::Measured(c),
                        Err(e) => {
                            Measure::NotMeasured(format!("the coverage report cannot be read: {e}"))
                        }
                    }
                }
            };
            ParsedAttempt::Coverage(m)
        }
    }
}

fn tail_of(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..]
        .iter()
        .map(|l| match l.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &l[..cut]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn first_error(errors: &[crate::qa::results::LintFinding], tail: &str) -> String {
    match errors.first() {
        Some(e) => format!(
            ": {}{}",
            e.message,
            match (&e.file, e.line) {
                (Some(f), Some(l)) => format!(" at {f}:{l}"),
                _ => String::new(),
            }
        ),
        None if !tail.is_empty() => format!(": {tail}"),
        None => String::new(),
    }
}

fn lint_from(
    ran: &str,
    after: &str,
    parsed: Result<LintReport, crate::qa::results::ParseError>,
) -> Measure<LintReport> {
    match parsed {
        Ok(l) => Measure::Measured(l),
        Err(e) => Measure::NotMeasured(format!("{ran}; its output cannot be read ({e}){after}")),
    }
}

/// An attempt's results, by gate kind.
pub enum ParsedAttempt {
    Build(Measure<BuildMeasure>),
    Tests(Measure<TestReport>),
    Lint(Measure<LintReport>),
    Coverage(Measure<Coverage>),
}

impl ParsedAttempt {
    fn missing(why: String) -> ParsedAttempt {
        // The kind does not matter to the caller for a missing tool: each takes the reason.
        ParsedAttempt::Tests(Measure::NotMeasured(why))
    }

    fn reason(&self) -> Option<String> {
        match self {
            ParsedAttempt::Tests(Measure::NotMeasured(w))
            | ParsedAttempt::Build(Measure::NotMeasured(w))
            | ParsedAttempt::Lint(Measure::NotMeasured(w))
            | ParsedAttempt::Coverage(Measure::NotMeasured(w)) => Some(w.clone()),
            _ => None,
        }
    }

    fn build(self) -> Measure<BuildMeasure> {
        match self {
            ParsedAttempt::Build(m) => m,
            ParsedAttempt::Tests(Measure::Measured(r))
            | ParsedAttempt::Tests(Measure::Errored(_, Some(r))) => {
                // A build gate whose format is `exit` reads like a one-test report.
                let passed = r.count(TestOutcome::Failed) == 0;
                Measure::Measured(BuildMeasure {
                    passed,
                    detail: r
                        .tests
                        .first()
                        .and_then(|t| t.message.clone())
                        .unwrap_or_else(|| "exit 0".into()),
                })
            }
            other => {
                Measure::NotMeasured(other.reason().unwrap_or_else(|| "no build result".into()))
            }
        }
    }

    fn tests(self) -> Measure<TestReport> {
        match self {
            ParsedAttempt::Tests(m) => m,
            other => {
                Measure::NotMeasured(other.reason().unwrap_or_else(|| "no test results".into()))
            }
        }
    }

    fn lint(self) -> Measure<LintReport> {
        match self {
            ParsedAttempt::Lint(m) => m,
            other => {
                Measure::NotMeasured(other.reason().unwrap_or_else(|| "no lint results".into()))
            }
        }
    }

    fn coverage(self) -> Measure<Coverage> {
        match self {
            ParsedAttempt::Coverage(m) => m,
            other => Measure::NotMeasured(
                other
                    .reason()
                    .unwrap_or_else(|| "no coverage results".into()),
            ),
        }
    }
}

/// Live progress of a test run read from its output lines (libtest's `running N tests`
/// and `test … ok` lines; TAP's `ok`/`not ok` lines).
struct TestProgress {
    done: u64,
    total: Option<u64>,
    last: std::time::Instant,
}

impl TestProgress {
    fn line(&mut self, format: Format, line: &str) -> bool {
        match format {
            Format::Libtest => match parse::libtest_progress(line) {
                Some(parse::LibtestLine::Announced(n)) => {
                    self.total = Some(self.total.unwrap_or(0) + n);
                    true
                }
                Some(parse::LibtestLine::Finished { .. }) => {
                    self.done += 1;
                    true
                }
                None => false,
            },
            Format::Tap => {
                let t = line.trim_start();
                if line.starts_with("ok ") || line.starts_with("not ok ") {
                    self.done += 1;
                    true
                } else if let Some(n) = t
                    .strip_prefix("1..")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                {
                    if !line.starts_with(' ') {
                        self.total = Some(n);
                    }
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }
}

struct Runner<'a> {
    ctx: &'a QaContext,
    worktree: &'a Path,
    run_dir: PathBuf,
    id: QaRunId,
    attempts: Vec<Attempt>,
    sink: &'a mut dyn FnMut(EventKind),
}

impl Runner<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs(
            self.ctx
                .policy
                .gates
                .timeout_secs
                .unwrap_or(self.ctx.config.timeout_secs)
                .max(1),
        )
    }

    fn cancelled(&self) -> bool {
        self.ctx
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Runs one attempt of a planned gate and reads its results.
    fn attempt(&mut self, p: &Planned, attempt: u32) -> ParsedAttempt {
        if let Some(why) = &p.unavailable {
            return ParsedAttempt::missing(why.clone());
        }
        let (Some(command), Some(format)) = (&p.command, p.format) else {
            return ParsedAttempt::missing(format!("no {} command", p.gate));
        };
        if self.cancelled() {
            return ParsedAttempt::missing("the QA run was cancelled".into());
        }
        let rel = dir_name(&p.gate, attempt);
        let dir = self.run_dir.join(&rel);
        let _ = std::fs::create_dir_all(&dir);
        let out = dir.to_string_lossy().to_string();
        let command = command.replace("{out}", &out);
        let report = p.report.as_ref().map(|r| r.replace("{out}", &out));
        // The report as the run directory knows it: inside it, or copied in afterwards.
        let report_abs = report.as_ref().map(|r| {
            let p = Path::new(r);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                self.worktree.join(p)
            }
        });
        if let Some(r) = &report_abs {
            let _ = std::fs::remove_file(r);
        }
        (self.sink)(EventKind::QaGateStarted {
            run: self.id,
            gate: p.gate.clone(),
            command: Some(command.clone()),
            attempt,
        });
        let id_s = self.id.to_string();
        let env = [
            ("OVERLORD_GATE", p.gate.as_str()),
            ("OVERLORD_QA_RUN", id_s.as_str()),
            ("OVERLORD_QA_OUT", out.as_str()),
        ];
        let mut progress = TestProgress {
            done: 0,
            total: None,
            last: std::time::Instant::now(),
        };
        let gate = p.gate.clone();
        let run_id = self.id;
        let timeout = self.timeout();
        let cancel = self.ctx.cancel.clone();
        let sink = &mut *self.sink;
        let mut on_line = |line: &str| {
            if progress.line(format, line) && progress.last.elapsed() >= Duration::from_millis(100)
            {
                progress.last = std::time::Instant::now();
                sink(EventKind::QaGateProgress {
                    run: run_id,
                    gate: gate.clone(),
                    done: progress.done,
                    total: progress.total,
                });
            }
        };
        let ran = shell::run_with(
            &command,
            self.worktree,
            shell::Options {
                env: &env,
                timeout: Some(timeout),
                log: Some(&dir.join("output.log")),
                stdout: Some(&dir.join("stdout.log")),
                cancel: cancel.as_deref(),
                // libtest's names depend on cargo's headers (stderr) coming before the tests'
                // lines (stdout); the exit format reads the whole output.
                one_pipe: matches!(format, Format::Libtest | Format::Exit),
                on_line: matches!(format, Format::Libtest | Format::Tap)
                    .then_some(&mut on_line as &mut dyn FnMut(&str)),
            },
        );
        let ran = match ran {
            Ok(r) => r,
            Err(e) => return ParsedAttempt::missing(format!("`{command}` cannot be started: {e}")),
        };
        if progress.done > 0 {
            (self.sink)(EventKind::QaGateProgress {
                run: self.id,
                gate: p.gate.clone(),
                done: progress.done,
                total: progress.total,
            });
        }
        // Keep the report with the run (the worktree is reused by the next run).
        let kept = report_abs.and_then(|r| {
            if r.starts_with(&dir) {
                r.strip_prefix(&self.run_dir)
                    .ok()
                    .map(|x| x.to_string_lossy().to_string())
            } else {
                let name = r.file_name()?.to_string_lossy().to_string();
                let _ = std::fs::copy(&r, dir.join(&name));
                Some(format!("{rel}/{name}"))
            }
        });
        #[cfg(unix)]
        let signal = {
            use std::os::unix::process::ExitStatusExt;
            ran.status.and_then(|s| s.signal())
        };
        #[cfg(not(unix))]
        let signal = None;
        let a = Attempt {
            gate: p.gate.clone(),
            attempt,
            command: command.clone(),
            format,
            dir: rel,
            report: kept,
            exit: ran.status.and_then(|s| s.code()),
            signal,
            stopped: ran.stopped.map(|s| match s {
                shell::Stopped::TimedOut => "timed out".to_string(),
                shell::Stopped::Cancelled => "cancelled".to_string(),
            }),
            duration_secs: ran.elapsed.as_secs_f64(),
        };
        let parsed = read_attempt(&self.run_dir, self.worktree, &a);
        self.attempts.push(a);
        parsed
    }

    fn finished(&mut self, evidence: &Evidence, gate: &str) {
        let ev = evaluate::evaluate(&self.ctx.policy, evidence);
        if let Some(r) = ev.gates.into_iter().find(|g| g.gate == gate) {
            (self.sink)(EventKind::QaGateFinished {
                run: self.id,
                result: r,
            });
        }
    }
}

fn skipped<T>(why: &str) -> Measure<T> {
    Measure::NotMeasured(why.to_string())
}

/// Runs every gate on `commit` (checked out in `worktree`) and evaluates the evidence.
/// Emits the run's progress events through `sink` (not `QaRunRecorded`: the caller records
/// the returned run).
pub fn run(
    ctx: &QaContext,
    prepared: Prepared,
    worktree: &Path,
    commit: &str,
    tree: &str,
    id: QaRunId,
    sink: &mut dyn FnMut(EventKind),
) -> Result<QaOutput, String> {
    let started_at = super::now();
    let run_dir = ctx.qa_dir.join(id.to_string());
    if run_dir.exists() {
        // A run that was interrupted before it was recorded left this behind.
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
    sink(EventKind::QaStarted {
        run: id,
        tree: tree.to_string(),
        gates: evaluate::GATES.iter().map(|g| g.to_string()).collect(),
        promotion: ctx.promotion,
    });
    let Prepared {
        kinds: project,
        planned,
        tools,
    } = prepared;
    let mut r = Runner {
        ctx,
        worktree,
        run_dir: run_dir.clone(),
        id,
        attempts: Vec::new(),
        sink,
    };
    let required_docs: Vec<String> = {
        let mut d = ctx.policy.auto_merge_if.docs_required.clone();
        if ctx.promotion {
            for x in &ctx.policy.promotion.docs_required {
                if !d.contains(x) {
                    d.push(x.clone());
                }
            }
        }
        d
    };
    let mut evidence = Evidence {
        build: skipped("not run yet"),
        tests: Vec::new(),
        lint: skipped("not run yet"),
        coverage: skipped("not run yet"),
        e2e: skipped("not run yet"),
        docs: Vec::new(),
        open_critical: ctx.open_critical.clone(),
        impact: ctx.impact.clone(),
        promotion: ctx.promotion,
        previous: ctx.previous.clone(),
    };
    let by = |g: &str| {
        planned
            .iter()
            .find(|p| p.gate == g)
            .cloned()
            .expect("planned gate")
    };

    evidence.build = r.attempt(&by("build"), 1).build();
    r.finished(&evidence, "build");
    let build_failed = matches!(&evidence.build, Measure::Measured(b) if !b.passed)
        || matches!(&evidence.build, Measure::Errored(..));
    let skip_why = "not run: the build failed";

    if build_failed {
        evidence.tests = vec![skipped(skip_why)];
    } else {
        let first = r.attempt(&by("tests"), 1).tests();
        let repeat = matches!(&first, Measure::Measured(t) if t.complete && !t.tests.is_empty());
        evidence.tests.push(first);
        r.finished(&evidence, "tests");
        if repeat {
            for k in 2..=ctx.policy.gates.reproducibility_runs.max(1) {
                let again = r.attempt(&by("tests"), k).tests();
                let stop = !matches!(&again, Measure::Measured(t) if t.complete);
                evidence.tests.push(again);
                if stop {
                    break;
                }
            }
        }
    }
    r.finished(&evidence, "tests");
    r.finished(&evidence, "reproducibility");
    evidence.lint = if build_failed {
        skipped(skip_why)
    } else {
        r.attempt(&by("lint"), 1).lint()
    };
    r.finished(&evidence, "lint");
    evidence.coverage = if build_failed {
        skipped(skip_why)
    } else {
        r.attempt(&by("coverage"), 1).coverage()
    };
    r.finished(&evidence, "coverage");
    let e2e = by("e2e");
    evidence.e2e = if e2e.unavailable.is_some() && !ctx.promotion {
        skipped(e2e.unavailable.as_deref().unwrap_or(""))
    } else if build_failed {
        skipped(skip_why)
    } else {
        r.attempt(&e2e, 1).tests()
    };
    r.finished(&evidence, "e2e");

    // Documents, in the tree that was checked (the run's own reports count as present).
    evidence.docs = required_docs
        .iter()
        .map(|d| {
            let present = OWN_REPORTS.contains(&d.as_str()) || doc_in_tree(&ctx.root, commit, d);
            (d.clone(), present)
        })
        .collect();
    for g in ["drift", "docs", "concerns"] {
        r.finished(&evidence, g);
    }
    let attempts = std::mem::take(&mut r.attempts);
    let evaluation = evaluate::evaluate(&ctx.policy, &evidence);
    let finished_at = super::now();
    let record = RunRecord {
        version: 1,
        id,
        commit: commit.to_string(),
        tree: tree.to_string(),
        worktree: worktree
            .strip_prefix(&ctx.root)
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_else(|_| worktree.to_string_lossy().to_string()),
        started_at: started_at.clone(),
        finished_at: finished_at.clone(),
        promotion: ctx.promotion,
        policy_file: ctx.policy_file.clone(),
        policy: ctx.policy.clone(),
        project,
        tools,
        environment: redacted_env(),
        planned,
        attempts,
        evidence,
        evaluation,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
    std::fs::write(run_dir.join("run.json"), &json)
        .map_err(|e| format!("{}: {e}", run_dir.display()))?;
    write_reports(ctx, &run_dir, &record)?;
    let run = QaRun {
        id,
        tree: tree.to_string(),
        started_at,
        finished_at,
        gates: record.evaluation.gates.clone(),
        decision: record.evaluation.decision,
        reasons: record.evaluation.reasons.clone(),
        commit: Some(commit.to_string()),
        metrics: record.evaluation.metrics.clone(),
        flaky: record.evaluation.flaky.clone(),
        promotion: ctx.promotion,
        record_sha256: Some(hex::encode(Sha256::digest(&json))),
    };
    Ok(QaOutput {
        run,
        record,
        dir: run_dir,
    })
}

fn doc_in_tree(root: &Path, commit: &str, path: &str) -> bool {
    let Ok(repo) = git2::Repository::open(root) else {
        return false;
    };
    let Some(c) = git2::Oid::from_str(commit)
        .ok()
        .and_then(|o| repo.find_commit(o).ok())
    else {
        return false;
    };
    c.tree()
        .ok()
        .is_some_and(|t| t.get_path(Path::new(path)).is_ok())
}

fn write_reports(ctx: &QaContext, run_dir: &Path, rec: &RunRecord) -> Result<(), String> {
    let id = rec.id.to_string();
    let h = report::Header {
        run: &id,
        commit: &rec.commit,
        tree: &rec.tree,
        started_at: &rec.started_at,
        finished_at: &rec.finished_at,
        policy_file: &rec.policy_file,
    };
    let files = [
        (
            "QA_REPORT.md",
            report::qa_report(&h, &rec.evaluation, &rec.evidence),
        ),
        (
            "TEST_RESULTS.md",
            report::test_results(&h, &rec.evaluation, &rec.evidence),
        ),
        (
            "TEST_RESULTS_DETAIL.md",
            report::test_results_detail(&h, &rec.evaluation, &rec.evidence),
        ),
    ];
    for (name, text) in files {
        for dir in [run_dir, ctx.overlord_dir.as_path()] {
            std::fs::write(dir.join(name), &text)
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))?;
        }
    }
    Ok(())
}

/// The stored record of a run, checked against the digest in the audit store, re-read from
/// its stored outputs and re-evaluated.
pub struct Shown {
    pub record: RunRecord,
    pub run: Option<QaRun>,
    /// Problems the re-check found (empty: the stored evidence reproduces the verdict).
    pub findings: Vec<String>,
    pub dir: PathBuf,
}

pub fn show(core: &Core, id: QaRunId) -> Result<Shown, String> {
    let dir = core.ws.dir.join("qa").join(id.to_string());
    let path = dir.join("run.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", core.ws.relative(&path)))?;
    let record: RunRecord = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} cannot be read: {e}", core.ws.relative(&path)))?;
    let run = core.state().qa_runs.iter().find(|r| r.id == id).cloned();
    let mut findings = Vec::new();
    match run.as_ref().and_then(|r| r.record_sha256.as_deref()) {
        Some(digest) if digest != hex::encode(Sha256::digest(&bytes)) => findings.push(format!(
            "run.json does not match the digest recorded in the audit trail ({}…)",
            &digest[..12.min(digest.len())]
        )),
        Some(_) => {}
        None => findings.push("the audit trail has no record of this run".into()),
    }
    // Re-read every attempt's stored output and compare with what the run recorded.
    let mut test_runs = 0;
    let worktree = core.ws.root.join(&record.worktree);
    for a in &record.attempts {
        let parsed = read_attempt(&dir, &worktree, a);
        let differs = match (a.gate.as_str(), parsed) {
            ("build", p) => p.build() != record.evidence.build,
            ("tests", p) => {
                test_runs += 1;
                record.evidence.tests.get(test_runs - 1) != Some(&p.tests())
            }
            ("lint", p) => p.lint() != record.evidence.lint,
            ("coverage", p) => p.coverage() != record.evidence.coverage,
            ("e2e", p) => p.tests() != record.evidence.e2e,
            _ => false,
        };
        if differs {
            findings.push(format!(
                "{} (attempt {}): its stored output no longer gives the recorded results",
                a.gate, a.attempt
            ));
        }
    }
    let again = evaluate::evaluate(&record.policy, &record.evidence);
    if again.decision != record.evaluation.decision || again.gates != record.evaluation.gates {
        findings.push(format!(
            "re-evaluating the stored evidence gives {} (recorded: {})",
            again.decision.as_str(),
            record.evaluation.decision.as_str()
        ));
    }
    if let Some(r) = &run {
        if r.decision != record.evaluation.decision {
            findings.push("the audit trail's decision differs from run.json".into());
        }
    }
    Ok(Shown {
        record,
        run,
        findings,
        dir,
    })
}

/// The highest impact among the tasks' high-impact variations and handoffs.
pub fn impact_of(core: &Core, tasks: &[String]) -> Option<(Impact, String)> {
    let state = core.state();
    let mut best: Option<(Impact, String)> = None;
    let mut consider = |i: Impact, what: String| {
        if best.as_ref().is_none_or(|(b, _)| i > *b) {
            best = Some((i, what));
        }
    };
    for v in state.variations.values() {
        if v.affects.iter().any(|a| tasks.contains(a)) {
            consider(v.impact, format!("variation {} ({})", v.id, v.title));
        }
    }
    for h in &state.handoffs {
        if let (Some(i), Some(t)) = (h.impact, &h.task) {
            if tasks.contains(t) {
                consider(i, format!("handoff {} on {t}", h.id));
            }
        }
    }
    best
}

/// A one-line summary of a run's gates (for checkpoint tags and replies).
pub fn summary(run: &QaRun) -> String {
    let gates = run
        .gates
        .iter()
        .filter(|g| g.outcome != GateOutcome::Reported || g.measured.is_some())
        .map(|g| {
            let mut s = format!("{}: {}", g.gate, g.outcome.as_str());
            if let Some(m) = &g.measured {
                s.push_str(&format!(" ({m})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!("{} — {gates}", run.decision.as_str())
}

/// How a headless QA run goes (`overlord-tui qa`).
#[derive(Default)]
pub struct QaOptions {
    /// Apply the promotion policy (the decision then always asks the human).
    pub promotion: bool,
    /// Set to stop the running gate (Ctrl-C).
    pub cancel: Option<Arc<AtomicBool>>,
}

/// A headless run's result and what the user should know about it.
pub struct Headless {
    pub output: QaOutput,
    /// What was checked (`integration branch …`, `HEAD …`).
    pub target: String,
    pub warnings: Vec<String>,
}

/// A worktree of `commit` at `.overlord/integration`, detached (no session yet).
fn detached_worktree(
    core: &Core,
    repo: &git2::Repository,
    commit: git2::Oid,
) -> Result<PathBuf, String> {
    let path = core.ws.dir.join("integration");
    let open = git2::Repository::open(&path)
        .ok()
        .filter(|r| r.is_worktree());
    let fresh = open.is_none();
    let wt = match open {
        Some(r) => r,
        None => {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            let name = "overlord-qa";
            if let Ok(old) = repo.find_worktree(name) {
                let mut o = git2::WorktreePruneOptions::new();
                o.valid(true).working_tree(true);
                let _ = old.prune(Some(&mut o));
            }
            // libgit2 adds a worktree on a branch; the branch is dropped once it is detached.
            let branch_name = "overlord-qa-worktree";
            let c = repo.find_commit(commit).map_err(|e| e.to_string())?;
            let branch = repo
                .branch(branch_name, &c, true)
                .map_err(|e| e.to_string())?;
            let mut opts = git2::WorktreeAddOptions::new();
            opts.reference(Some(branch.get()));
            let added = repo
                .worktree(name, &path, Some(&opts))
                .map_err(|e| e.to_string());
            let wt = added.and_then(|_| git2::Repository::open(&path).map_err(|e| e.to_string()));
            if let Ok(wt) = &wt {
                let _ = wt.set_head_detached(commit);
            }
            if let Ok(mut b) = repo.find_branch(branch_name, git2::BranchType::Local) {
                let _ = b.delete();
            }
            wt?
        }
    };
    let target = wt.find_commit(commit).map_err(|e| e.to_string())?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.force().remove_untracked(true);
    wt.checkout_tree(target.as_object(), Some(&mut co))
        .map_err(|e| e.to_string())?;
    wt.set_head_detached(commit).map_err(|e| e.to_string())?;
    if fresh {
        super::worktree::run_setup(
            &core.ws.root,
            "integration",
            &path,
            &core.config.worktrees.setup(),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(path)
}

impl Core {
    /// Runs the QA gates headlessly on the integration branch's tip (or, with no session
    /// yet, on HEAD), records the run and raises its concerns.
    pub fn run_qa(&mut self, opts: QaOptions) -> Result<Headless, String> {
        let _lock = super::ops::OperationLock::acquire(&self.ws, super::ops::LOCK_GRACE)
            .map_err(|e| format!("cannot take the operation lock: {e}"))?
            .ok_or("another operation (a Save, a rollback or a QA run) is running; try again when it finishes")?;
        let _ = self.refresh();
        let repo = crate::git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let session = self.state().git.clone();
        let (commit, target) = match &session {
            Some(s) => {
                let integ = format!("refs/heads/{}", s.integration_branch());
                match crate::git::ref_target(&repo, &integ).map_err(|e| e.to_string())? {
                    Some(c) => (
                        c,
                        format!("the integration branch {}", s.integration_branch()),
                    ),
                    None => {
                        let main = crate::git::ref_target(&repo, &s.main_ref())
                            .map_err(|e| e.to_string())?
                            .ok_or_else(|| format!("the main branch {} has no commit", s.main))?;
                        (main, format!("{} (nothing integrated yet)", s.main))
                    }
                }
            }
            None => {
                let head = repo
                    .head()
                    .ok()
                    .and_then(|h| h.peel_to_commit().ok())
                    .ok_or("the repository has no commit to check (HEAD is unborn)")?;
                (head.id(), "HEAD (no session yet)".to_string())
            }
        };
        let tree = repo
            .find_commit(commit)
            .map_err(|e| e.to_string())?
            .tree_id()
            .to_string();
        let (mut ctx, warning) = QaContext::gather(self, opts.promotion, None)?;
        ctx.cancel = opts.cancel;
        let prepared = prepare(&ctx, &commit.to_string());
        let dir = match &session {
            _ if !prepared.runs_anything() => self.ws.root.clone(),
            Some(s) => super::ops::integration_worktree(self, &repo, s, commit)
                .map_err(|e| e.to_string())?,
            None => detached_worktree(self, &repo, commit)?,
        };
        let id = QaRunId(self.state().counters.qa_runs + 1);
        let mut failed_emit = None;
        let output = run(
            &ctx,
            prepared,
            &dir,
            &commit.to_string(),
            &tree,
            id,
            &mut |ev| {
                if let Err(e) = self.emit(super::ops::ACTOR, vec![ev]) {
                    failed_emit.get_or_insert(e.to_string());
                }
            },
        )?;
        if let Some(e) = failed_emit {
            tracing::error!(error = %e, "could not record QA progress");
        }
        self.emit(
            super::ops::ACTOR,
            vec![EventKind::QaRunRecorded {
                run: output.run.clone(),
            }],
        )
        .map_err(|e| e.to_string())?;
        super::ops::after_qa_run(self, &output.run, &format!("QA on {target}"));
        Ok(Headless {
            output,
            target: format!("{target} at {}", crate::git::short(&commit.to_string())),
            warnings: warning.into_iter().collect(),
        })
    }
}
