//! Detecting the project (its kinds, from the marker files of a commit's tree) and planning
//! each gate: the configured command, else the project kind's default, with the tools probed
//! in the repository.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::context::QaContext;
use super::node::{gates, NodeProject};
use crate::config::{non_empty, GateCommand, QaConfig};
use crate::core::shell;

pub use super::format::Format;

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

/// Detects the project in `commit` and plans each gate (tool probes run in the repository;
/// a Node project's tools are looked for in its worktree when its gates run).
pub fn prepare(ctx: &QaContext, commit: &str) -> Prepared {
    let kinds = detect_in_commit(&ctx.root, commit);
    let node = kinds
        .contains(&"node")
        .then(|| NodeProject::read_commit(&ctx.root, commit))
        .flatten();
    let mut tools = BTreeMap::new();
    let planned = ["build", "tests", "lint", "coverage", "e2e"]
        .iter()
        .map(|gate| {
            plan_one(
                &ctx.config,
                &ctx.root,
                &kinds,
                node.as_ref(),
                gate,
                &mut tools,
            )
        })
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
    let node = NodeProject::read_dir(dir);
    let mut tools = BTreeMap::new();
    let p = plan_one(config, dir, &kinds, node.as_ref(), "tests", &mut tools);
    p.unavailable.is_none().then_some(p.command).flatten()
}

/// The default format of `gate` for the first project kind that has one.
fn default_format(kinds: &[&str], node: Option<&NodeProject>, gate: &str) -> Option<Format> {
    kinds.iter().find_map(|k| match *k {
        "node" => match node {
            Some(n) => gates::default_for(n, gate).map(|d| d.format),
            None => (gate == "tests").then_some(Format::Node),
        },
        k => default_for(k, gate).map(|d| d.format),
    })
}

fn plan_one(
    config: &QaConfig,
    dir: &Path,
    kinds: &[&str],
    node: Option<&NodeProject>,
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
            default_format(kinds, node, gate).filter(|_| p.report.is_none() || gate == "coverage")
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
    let first = kinds
        .iter()
        .find(|k| **k == "node" || default_for(k, gate).is_some());
    if first == Some(&"node") {
        return plan_node(p, node, gate, format);
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

/// A Node project's default for `gate` (its command is run with the project's tools on
/// `PATH`, so nothing is probed before the dependencies are installed).
fn plan_node(
    mut p: Planned,
    node: Option<&NodeProject>,
    gate: &str,
    format: Option<Format>,
) -> Planned {
    p.source = "node".into();
    let Some(node) = node else {
        p.unavailable = Some(format!(
            "package.json cannot be read as a JSON object; set [qa.{gate}] command"
        ));
        return p;
    };
    match gates::default_for(node, gate) {
        None => {
            p.unavailable = Some(format!(
                "no default {gate} command for a Node project; set [qa.{gate}] command"
            ))
        }
        Some(d) => {
            p.command = d.command;
            p.unavailable = d.unavailable;
            p.format = Some(format.unwrap_or(d.format));
            p.report = p.report.or(d.report);
        }
    }
    p
}
