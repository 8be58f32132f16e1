//! Reading what the QA hook collected in an attempt's `node/` directory: every test-runner
//! run the project's script started (`runs.jsonl`), each from its own report (Jest/Vitest
//! JSON, mocha's xunit and `node --test`'s JUnit XML, ava's TAP), summed into one report.

use std::path::Path;

use serde::Deserialize;

use crate::qa::parse;
use crate::qa::results::{TestCase, TestOutcome, TestReport};

#[derive(Deserialize)]
struct Run {
    kind: String,
    label: String,
    file: String,
    #[serde(default)]
    cwd: String,
}

/// The runs the hook recorded in `node_dir`, as one report: each test named after its run
/// (`[jest --selectProjects node] src/a.test.ts::adds`; a run repeated with the same
/// arguments gets ` #2`), so both runs of a script that runs the runner twice count. A run
/// that wrote no report (the runner could not start, or crashed) is one failed test named
/// after the run. `None` when no runner ran under the hook.
pub fn read(node_dir: &Path, worktree: &Path) -> Option<Result<TestReport, String>> {
    let text = std::fs::read_to_string(node_dir.join("runs.jsonl")).ok()?;
    let runs: Vec<Run> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mut report = TestReport {
        tests: Vec::new(),
        complete: true,
        announced: Some(0),
    };
    let mut labels: Vec<String> = Vec::new();
    for run in runs {
        let mut label = run.label.clone();
        let same = labels.iter().filter(|l| **l == run.label).count();
        labels.push(run.label.clone());
        if same > 0 {
            label = format!("{label} #{}", same + 1);
        }
        // The report by its name, in this directory (a stored run is re-read where it is).
        let name = Path::new(&run.file)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let base = if run.cwd.is_empty() {
            worktree.to_string_lossy().to_string()
        } else {
            run.cwd.clone()
        };
        let parsed = match std::fs::read_to_string(node_dir.join(&name)) {
            Err(_) => {
                Err("the runner wrote no report (it did not start, or it crashed)".to_string())
            }
            Ok(t) => match run.kind.as_str() {
                "jest" | "vitest" => parse::jest_json(&t, &base).map_err(|e| e.to_string()),
                "mocha" | "node-test" => parse::junit(&t).map_err(|e| e.to_string()),
                "ava" => Ok(parse::tap(&t)),
                k => Err(format!("unknown runner kind {k}")),
            },
        };
        match parsed {
            Ok(r) => {
                report.complete &= r.complete;
                report.announced = match (report.announced, r.announced) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                report.tests.extend(r.tests.into_iter().map(|mut t| {
                    t.name = format!("[{label}] {}", t.name);
                    t
                }));
            }
            Err(why) => {
                report.announced = None;
                report.tests.push(TestCase {
                    name: format!("[{label}]"),
                    outcome: TestOutcome::Failed,
                    duration: None,
                    message: Some(why),
                });
            }
        }
    }
    parse::unique_test_names(&mut report.tests);
    Some(Ok(report))
}
