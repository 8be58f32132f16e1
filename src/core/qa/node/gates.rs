//! The gates' default commands for a Node project, from what its root says (see
//! docs/qa.md, "Node projects"), and the environment they run in: the package manager's shim
//! and `node_modules/.bin` on `PATH`, and the QA hook preloaded through `NODE_OPTIONS`.

use std::path::Path;

use super::pm::{PmKind, Resolved};
use super::project::NodeProject;
use crate::core::qa::format::Format;

/// A gate's default for a Node project: its command, or why there is none.
pub struct NodeDefault {
    pub command: Option<String>,
    pub format: Format,
    pub report: Option<String>,
    pub unavailable: Option<String>,
}

fn some(command: String, format: Format, report: Option<&str>) -> Option<NodeDefault> {
    Some(NodeDefault {
        command: Some(command),
        format,
        report: report.map(str::to_string),
        unavailable: None,
    })
}

fn none(format: Format, why: String) -> Option<NodeDefault> {
    Some(NodeDefault {
        command: None,
        format,
        report: None,
        unavailable: Some(why),
    })
}

/// The project's own test command: its `test` script, or, at a workspace root without
/// one, every package's.
pub fn test_command(p: &NodeProject) -> Option<String> {
    let pm = &p.pm;
    if p.script("test").is_some() {
        Some(match pm.kind {
            PmKind::Bun => pm.run_script("test"),
            k => format!("{} test", k.name()),
        })
    } else if p.workspaces() {
        Some(pm.workspaces_test())
    } else {
        None
    }
}

/// The default of `gate` for the Node project `p`.
pub fn default_for(p: &NodeProject, gate: &str) -> Option<NodeDefault> {
    let pm = &p.pm;
    match gate {
        "build" => {
            if p.script("build").is_some() {
                some(pm.run_script("build"), Format::Exit, None)
            } else if matches!(pm.kind, PmKind::Npm | PmKind::Pnpm) {
                // Nothing to build is a build that passes.
                some(
                    format!("{} run --if-present build", pm.kind.name()),
                    Format::Exit,
                    None,
                )
            } else {
                none(
                    Format::Exit,
                    "package.json has no build script; set [qa.build] command".into(),
                )
            }
        }
        "tests" => match test_command(p) {
            Some(c) => some(c, Format::Node, None),
            None => none(
                Format::Node,
                "package.json has no test script; set [qa.tests] command".into(),
            ),
        },
        "lint" => {
            let tsc = "tsc --noEmit --pretty false";
            match (p.linter(), p.typescript()) {
                (Some((_, cmd, f)), true) => some(
                    format!("{cmd}; {tsc} > {{out}}/tsc.txt 2>&1"),
                    f,
                    None,
                ),
                (Some((_, cmd, f)), false) => some(cmd.to_string(), f, None),
                (None, true) => some(tsc.to_string(), Format::Tsc, None),
                (None, false) => none(
                    Format::Eslint,
                    "no linter among the dependencies (@biomejs/biome, eslint, oxlint) and no tsconfig.json; set [qa.lint] command and format".into(),
                ),
            }
        }
        "coverage" => {
            let Some(tests) = test_command(p) else {
                return none(Format::Lcov, "package.json has no test script".into());
            };
            let runner = p.runner();
            let vitest_cov =
                p.depends_on("@vitest/coverage-v8") || p.depends_on("@vitest/coverage-istanbul");
            match runner {
                Some("jest") => {}
                Some("vitest") if vitest_cov => {}
                Some("vitest") => {
                    return none(
                        Format::Lcov,
                        "vitest measures coverage with @vitest/coverage-v8 (or -istanbul), which is not a dependency".into(),
                    )
                }
                other => {
                    return none(
                        Format::Lcov,
                        format!(
                            "coverage is read from jest and vitest; the test runner here is {}: set [qa.coverage] command (e.g. `c8 --reporter=lcov --report-dir={{out}} npm test`) and report",
                            other.unwrap_or("not known")
                        ),
                    )
                }
            }
            some(
                format!("OVERLORD_QA_COVERAGE=1 {tests}"),
                Format::Lcov,
                Some("{out}/node/lcov.info"),
            )
        }
        _ => None,
    }
}

/// The environment of a Node project's gates (`{out}` stands for the attempt's directory):
/// `PATH` with the package manager's shim and `node_modules/.bin` first, and the QA hook
/// preloaded into every node process (plus `node --test`'s JUnit reporter when this node
/// accepts it in `NODE_OPTIONS`).
pub fn environment(
    worktree: &Path,
    resolved: Option<&Resolved>,
    hook: &Path,
    node_test_reporter: bool,
) -> Vec<(String, String)> {
    let mut options = format!("--require \"{}\"", hook.display());
    if node_test_reporter {
        options.push_str(NODE_TEST_REPORTERS);
    }
    if let Ok(old) = std::env::var("NODE_OPTIONS") {
        if !old.trim().is_empty() {
            options = format!("{old} {options}");
        }
    }
    vec![
        ("PATH".into(), super::install::path_with(resolved, worktree)),
        ("NODE_OPTIONS".into(), options),
        ("OVERLORD_QA_NODE_OUT".into(), "{out}/node".into()),
        ("COREPACK_ENABLE_DOWNLOAD_PROMPT".into(), "0".into()),
    ]
}

/// `node --test` keeps TAP on stdout and writes JUnit for the hook to collect.
const NODE_TEST_REPORTERS: &str = " --test-reporter=tap --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination=\"{out}/node/node-test.xml\"";

/// Whether this node accepts the test-reporter options in `NODE_OPTIONS` (Node 18.15+ and
/// 20+; an option it refuses there would stop every node process).
pub fn node_accepts_test_reporters(dir: &Path) -> bool {
    let options = NODE_TEST_REPORTERS.replace("{out}/node/node-test.xml", "/dev/null");
    std::process::Command::new("node")
        .args(["-e", "0"])
        .current_dir(dir)
        .env("NODE_OPTIONS", options.trim())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The hook's source, written next to each run.
pub const HOOK: &str = include_str!("hook.cjs");
