//! Reading an attempt's results from what the tool left in its directory (its own report
//! format, or its output), by gate kind.

use std::path::Path;

use super::detect::Format;
use super::record::Attempt;
use crate::qa::evaluate::{BuildMeasure, Measure};
use crate::qa::parse;
use crate::qa::results::{Coverage, LintReport, TestCase, TestOutcome, TestReport};

/// Reads an attempt's results from what it left in its directory. Used by the run and by
/// `qa show` (which re-reads the stored files).
pub fn read_attempt(run_dir: &Path, worktree: &Path, a: &Attempt) -> ParsedAttempt {
    let mut parsed = read_attempt_raw(run_dir, worktree, a);
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

fn read_attempt_raw(run_dir: &Path, worktree: &Path, a: &Attempt) -> ParsedAttempt {
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
        Format::Libtest | Format::Junit | Format::Tap | Format::Node | Format::Exit => {
            let parsed: Result<TestReport, String> = match a.format {
                Format::Libtest => {
                    let r = parse::libtest(&log);
                    if r.tests.is_empty() && r.announced.is_none() {
                        Err(format!("{ran} and printed no test results{after}"))
                    } else {
                        Ok(r)
                    }
                }
                Format::Tap | Format::Node => {
                    tap_or_node(a.format, &dir, worktree, &stdout, &ran, &after)
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
        Format::Clippy
        | Format::Eslint
        | Format::Ruff
        | Format::Biome
        | Format::Oxlint
        | Format::Tsc => {
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
                Format::Biome => lint_from(&ran, &after, parse::biome_json(&stdout)),
                Format::Oxlint => lint_from(&ran, &after, parse::oxlint_json(&stdout)),
                Format::Tsc => {
                    let l = parse::tsc_text(&log);
                    if l.findings.is_empty() && a.exit != Some(0) {
                        Measure::NotMeasured(format!(
                            "{ran} and printed no TypeScript diagnostics{after}"
                        ))
                    } else {
                        Measure::Measured(l)
                    }
                }
                _ => lint_from(&ran, &after, parse::ruff_json(&stdout)),
            };
            ParsedAttempt::Lint(with_tsc(m, &dir))
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

/// TAP on stdout; for `node`, the runs the QA hook recorded, else TAP on stdout.
fn tap_or_node(
    format: Format,
    dir: &Path,
    worktree: &Path,
    stdout: &str,
    ran: &str,
    after: &str,
) -> Result<TestReport, String> {
    if format == Format::Node {
        if let Some(r) = super::node::runs::read(&dir.join("node"), worktree) {
            return r;
        }
    }
    let r = parse::tap(stdout);
    if !r.tests.is_empty() || r.complete {
        Ok(r)
    } else if format == Format::Node {
        Err(format!("{ran}; it started no test runner Overlord reads (jest, vitest, mocha, ava, node --test) and printed no TAP{after}"))
    } else {
        Err(format!("{ran}; its output is not TAP{after}"))
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

/// A Node lint gate also type-checks (`tsc --noEmit`, its output in `tsc.txt`): its errors
/// are added to the linter's findings; a `tsc` that could not run leaves the gate unmeasured.
fn with_tsc(m: Measure<LintReport>, dir: &Path) -> Measure<LintReport> {
    let Ok(text) = std::fs::read_to_string(dir.join("tsc.txt")) else {
        return m;
    };
    let tsc = parse::tsc_text(&text);
    if tsc.findings.is_empty() && text.contains("not found") {
        return Measure::NotMeasured(format!(
            "`tsc --noEmit` could not run (is typescript installed?): {}",
            tail_of(&text)
        ));
    }
    match m {
        Measure::Measured(mut l) => {
            l.findings.extend(tsc.findings);
            Measure::Measured(l)
        }
        other => other,
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
    pub(super) fn missing(why: String) -> ParsedAttempt {
        // The kind does not matter to the caller for a missing tool: each takes the reason.
        ParsedAttempt::Tests(Measure::NotMeasured(why))
    }

    pub(super) fn reason(&self) -> Option<String> {
        match self {
            ParsedAttempt::Tests(Measure::NotMeasured(w))
            | ParsedAttempt::Build(Measure::NotMeasured(w))
            | ParsedAttempt::Lint(Measure::NotMeasured(w))
            | ParsedAttempt::Coverage(Measure::NotMeasured(w)) => Some(w.clone()),
            _ => None,
        }
    }

    pub(super) fn build(self) -> Measure<BuildMeasure> {
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

    pub(super) fn tests(self) -> Measure<TestReport> {
        match self {
            ParsedAttempt::Tests(m) => m,
            other => {
                Measure::NotMeasured(other.reason().unwrap_or_else(|| "no test results".into()))
            }
        }
    }

    pub(super) fn lint(self) -> Measure<LintReport> {
        match self {
            ParsedAttempt::Lint(m) => m,
            other => {
                Measure::NotMeasured(other.reason().unwrap_or_else(|| "no lint results".into()))
            }
        }
    }

    pub(super) fn coverage(self) -> Measure<Coverage> {
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
