//! The plain text of `cargo test` (libtest's pretty output, cargo's headers and notes), and
//! libtest's JSON lines (`-- -Z unstable-options --format json [--report-time]`) mixed in it.

use std::collections::HashMap;

use super::{trim_message, unique_names};
use crate::qa::results::{TestCase, TestOutcome, TestReport};

/// What one line of `cargo test` output says, for a live "N of M tests done" display.
#[derive(Debug, Clone, PartialEq)]
pub enum LibtestLine {
    /// `running N tests`: a test binary (or the doc-tests) announced N tests.
    Announced(u64),
    /// `test NAME ... ok|FAILED|ignored[, reason]`: one test finished. The name is as libtest
    /// prints it (without the binary prefix [`libtest`] adds, which one line cannot know).
    Finished { name: String, outcome: TestOutcome },
}

/// Classifies one line of `cargo test` output (a trailing `\r`/`\n` is fine): `running N
/// tests` → [`LibtestLine::Announced`], `test NAME ... RESULT` → [`LibtestLine::Finished`],
/// anything else (including `test result: ...`) → `None`. Summing `Announced` and counting
/// `Finished` over a run's lines gives "tests done out of total"; a binary announces its tests
/// just before it runs them, so the total grows binary by binary.
pub fn libtest_progress(line: &str) -> Option<LibtestLine> {
    let line = line.trim_end_matches(['\r', '\n']);
    match json_event(line) {
        Some(JsonEvent::SuiteStarted(n)) => return Some(LibtestLine::Announced(n)),
        Some(JsonEvent::Test(t)) => {
            return Some(LibtestLine::Finished {
                name: t.name,
                outcome: t.outcome,
            })
        }
        Some(JsonEvent::SuiteFinished) | Some(JsonEvent::Other) => return None,
        None => {}
    }
    if let Some(rest) = line.strip_prefix("running ") {
        let n = rest
            .strip_suffix(" tests")
            .or_else(|| rest.strip_suffix(" test"))?;
        return n.parse().ok().map(LibtestLine::Announced);
    }
    let (name, outcome, _) = test_line(line)?;
    Some(LibtestLine::Finished {
        name: name.to_string(),
        outcome,
    })
}

/// `test NAME ... RESULT` → the name, the outcome and a `--report-time` duration (`ok
/// <0.003s>`, nightly only) when there is one.
fn test_line(line: &str) -> Option<(&str, TestOutcome, Option<f64>)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let word_end = result.find([' ', ',']).unwrap_or(result.len());
    let outcome = match &result[..word_end] {
        "ok" => TestOutcome::Passed,
        "FAILED" => TestOutcome::Failed,
        "ignored" => TestOutcome::Skipped,
        // `#[bench]` functions run once under `cargo test`.
        "bench:" => TestOutcome::Passed,
        _ => return None,
    };
    let duration = result[word_end..]
        .trim()
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix("s>"))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0);
    let name = name.trim();
    (!name.is_empty()).then_some((name, outcome, duration))
}

/// One line of libtest's JSON output (`--format json`, nightly or `-Z unstable-options`).
#[derive(Debug, Clone, PartialEq)]
enum JsonEvent {
    /// `{"type":"suite","event":"started","test_count":N}`.
    SuiteStarted(u64),
    /// `{"type":"suite","event":"ok"|"failed",...}`: the block's `test result:`.
    SuiteFinished,
    /// `{"type":"test","event":"ok"|"failed"|"ignored","name":...}`, with `exec_time` (seconds,
    /// `--report-time`) and the captured `stdout` of a failed test or an ignore `message`.
    Test(TestCase),
    /// Anything else libtest writes as JSON (`started` and `timeout` test events, benches).
    Other,
}

/// Reads one line as a libtest JSON event; `None` when it is not one.
fn json_event(line: &str) -> Option<JsonEvent> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let kind = v.get("type")?.as_str()?;
    let event = v.get("event")?.as_str()?;
    Some(match (kind, event) {
        ("suite", "started") => JsonEvent::SuiteStarted(v.get("test_count")?.as_u64()?),
        ("suite", "ok" | "failed") => JsonEvent::SuiteFinished,
        ("test", "ok" | "failed" | "ignored") => {
            let name = v.get("name")?.as_str()?.trim();
            if name.is_empty() {
                return None;
            }
            let outcome = match event {
                "ok" => TestOutcome::Passed,
                "failed" => TestOutcome::Failed,
                _ => TestOutcome::Skipped,
            };
            // A number of seconds; older nightlies wrote a string (`"0.001s"`).
            let duration = match v.get("exec_time") {
                Some(serde_json::Value::Number(n)) => n.as_f64(),
                Some(serde_json::Value::String(s)) => {
                    s.trim().trim_end_matches('s').parse::<f64>().ok()
                }
                _ => None,
            }
            .filter(|d| d.is_finite() && *d >= 0.0);
            let message = match outcome {
                TestOutcome::Failed => v.get("stdout").or_else(|| v.get("message")),
                TestOutcome::Skipped => v.get("message"),
                TestOutcome::Passed => None,
            }
            .and_then(|m| m.as_str())
            .and_then(trim_message);
            JsonEvent::Test(TestCase {
                name: name.to_string(),
                outcome,
                duration,
                message,
            })
        }
        _ => JsonEvent::Other,
    })
}

/// Where a block of tests comes from, per cargo's header line.
#[derive(Debug, Clone, PartialEq)]
struct Binary {
    /// The source cargo names (`src/lib.rs`, `tests/all.rs`), or `doc` for doc-tests.
    source: String,
    /// The binary's name without its hash (`shapes`, `integration`), or the crate for doc-tests.
    name: String,
}

/// `     Running unittests src/lib.rs (target/debug/deps/shapes-8dbf0753c22d4c02)`,
/// `     Running tests/all.rs (target/debug/deps/all-21bedb02dacdb1f4)`,
/// `     Running target/debug/deps/shapes-8dbf0753c22d4c02` (cargo before 1.57),
/// `   Doc-tests shapes`. Matched strictly (cargo's right-aligned status, a hashed binary) so
/// that a test's own output does not pass for a header.
fn header(line: &str) -> Option<Binary> {
    if let Some(krate) = line.strip_prefix("   Doc-tests ") {
        let krate = krate.trim();
        return (!krate.is_empty() && !krate.contains(char::is_whitespace)).then(|| Binary {
            source: "doc".to_string(),
            name: krate.to_string(),
        });
    }
    let rest = line.strip_prefix("     Running ")?.trim_end();
    let rest = rest.strip_prefix("unittests ").unwrap_or(rest);
    let (source, path) = match rest.rsplit_once(" (") {
        Some((source, path)) => (Some(source.trim()), path.strip_suffix(')')?),
        None => (None, rest),
    };
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let file = file.strip_suffix(".exe").unwrap_or(file);
    let (name, hash) = file.rsplit_once('-')?;
    // cargo's metadata hash: 16 hex digits.
    if name.is_empty() || hash.len() != 16 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let source = source.unwrap_or(name);
    if source.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some(Binary {
        source: source.to_string(),
        name: name.to_string(),
    })
}

/// Reads `cargo test` output (stdout and stderr together is fine; several test binaries and
/// the doc-tests in one run). libtest's default "pretty" format, one line per test: the terse
/// format of `cargo test -q` has no test names and gives no tests.
///
/// - **Names**: `{source}::{test}`, the source being what cargo's header names:
///   `src/lib.rs::tests::adds`, `tests/integration.rs::integration_adds`, and
///   `doc::src/lib.rs - add (line 7)` for doc-tests. When two binaries of the run have the same
///   source (a workspace: every member has a `src/lib.rs`), every source is qualified with its
///   binary's name, hash stripped: `shapes/src/lib.rs::tests::adds`, `shapes/doc::...`. Output
///   without any cargo header (a test binary run directly) gives the bare test names.
/// - **Messages**: a failed test's `---- NAME stdout ----` section (its output and panic).
///   A skipped test's `ignored, reason` gives the reason.
/// - **Announced**: the sum of the `running N tests` lines.
/// - **Complete**: every `running N tests` block reached its `test result:` line, and there was
///   at least one. A binary that crashed (abort, signal) leaves its block open: the tests it
///   reported before are kept, and later binaries are still read.
/// - **Durations**: none (stable libtest does not print them); nightly's `--report-time`
///   suffix (`ok <0.003s>`) is read when present, and so is `exec_time` in JSON lines.
/// - **JSON**: libtest's `--format json` lines (`-Z unstable-options`) are read like the
///   pretty lines they stand for: `suite started` announces a block, `suite ok|failed` closes
///   it, a `test ok|failed|ignored` event is one test (its `stdout` the failure's message, an
///   ignored test's `message` its reason). Cargo's headers (on stderr) still name the binaries.
pub fn libtest(text: &str) -> TestReport {
    // First pass: the binaries, to know whether sources need qualifying.
    let binaries: Vec<Binary> = text.lines().filter_map(header).collect();
    let mut seen_sources = HashMap::new();
    let qualify = binaries.iter().any(|b| {
        seen_sources
            .insert(b.source.as_str(), b.name.as_str())
            .is_some_and(|other| other != b.name)
    });
    let label = |b: &Binary| {
        if qualify {
            format!("{}/{}", b.name, b.source)
        } else {
            b.source.clone()
        }
    };

    let mut tests: Vec<TestCase> = Vec::new();
    let mut announced: Option<u64> = None;
    let mut blocks = 0usize;
    let mut open_block = false;
    let mut incomplete = false;
    let mut prefix: Option<String> = None;
    // The tests of the current block, by the name libtest prints: index into `tests`.
    let mut in_block: HashMap<String, usize> = HashMap::new();
    // The `---- NAME stdout ----` section being read: the test's index and its lines.
    let mut section: Option<Section> = None;

    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(binary) = header(line) {
            finish_section(&mut section, &mut tests);
            if open_block {
                incomplete = true;
                open_block = false;
            }
            prefix = Some(label(&binary));
            in_block.clear();
            continue;
        }
        match json_event(line) {
            Some(JsonEvent::SuiteStarted(n)) => {
                finish_section(&mut section, &mut tests);
                if open_block {
                    incomplete = true;
                }
                open_block = true;
                blocks += 1;
                announced = Some(announced.unwrap_or(0).saturating_add(n));
                in_block.clear();
                continue;
            }
            Some(JsonEvent::SuiteFinished) => {
                finish_section(&mut section, &mut tests);
                open_block = false;
                continue;
            }
            Some(JsonEvent::Test(mut t)) => {
                finish_section(&mut section, &mut tests);
                in_block.insert(t.name.clone(), tests.len());
                if let Some(p) = &prefix {
                    t.name = format!("{p}::{}", t.name);
                }
                tests.push(t);
                continue;
            }
            Some(JsonEvent::Other) => continue,
            None => {}
        }
        if let Some(rest) = line.strip_prefix("---- ") {
            if let Some(name) = rest
                .strip_suffix(" stdout ----")
                .or_else(|| rest.strip_suffix(" stderr ----"))
            {
                finish_section(&mut section, &mut tests);
                section = Some((in_block.get(name).copied(), Vec::new()));
                continue;
            }
        }
        if line.starts_with("test result: ") {
            finish_section(&mut section, &mut tests);
            open_block = false;
            continue;
        }
        if let Some((_, lines)) = section.as_mut() {
            // The list of failed names after the sections starts with a second `failures:`.
            if line == "failures:" {
                finish_section(&mut section, &mut tests);
            } else {
                lines.push(line);
            }
            continue;
        }
        match libtest_progress(line) {
            Some(LibtestLine::Announced(n)) => {
                if open_block {
                    incomplete = true;
                }
                open_block = true;
                blocks += 1;
                announced = Some(announced.unwrap_or(0).saturating_add(n));
                in_block.clear();
            }
            Some(LibtestLine::Finished { .. }) => {
                let Some((name, outcome, duration)) = test_line(line) else {
                    continue;
                };
                let message = match outcome {
                    TestOutcome::Skipped => line
                        .rsplit_once(" ... ignored, ")
                        .and_then(|(_, reason)| trim_message(reason)),
                    _ => None,
                };
                in_block.insert(name.to_string(), tests.len());
                tests.push(TestCase {
                    name: match &prefix {
                        Some(p) => format!("{p}::{name}"),
                        None => name.to_string(),
                    },
                    outcome,
                    duration,
                    message,
                });
            }
            None => {}
        }
    }
    finish_section(&mut section, &mut tests);
    if open_block {
        incomplete = true;
    }
    unique_names(&mut tests);
    TestReport {
        tests,
        complete: blocks > 0 && !incomplete,
        announced,
    }
}

/// A failure section being read: the index of its test (if it reported) and the lines.
type Section<'a> = (Option<usize>, Vec<&'a str>);

/// Ends the section being read: its text becomes its test's message.
fn finish_section(section: &mut Option<Section<'_>>, tests: &mut [TestCase]) {
    if let Some((Some(i), lines)) = section.take() {
        if let Some(message) = trim_message(&lines.join("\n")) {
            tests[i].message = Some(message);
        }
    }
}
