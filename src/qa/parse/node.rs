//! JavaScript and TypeScript tools' own reports: Jest's `--json` (which Vitest's `json`
//! reporter also writes), Biome's `lint --reporter=json`, oxlint's `-f json` and `tsc`'s
//! plain diagnostics (`--pretty false`).

use serde_json::Value;

use super::{json_error, trim_message, unique_names};
use crate::qa::results::{
    LintFinding, LintLevel, LintReport, ParseError, TestCase, TestOutcome, TestReport,
};

/// Reads a Jest `--json` report (or Vitest's `--reporter=json`, the same shape): a
/// `testResults` array of test files, each with its `assertionResults`.
///
/// - **Name**: the file (relative to `base` when under it), the `ancestorTitles` and the
///   `title`, joined with `::` (`src/math.test.js::math::adds`).
/// - **Outcome**: `passed`; `failed`; `pending`, `skipped`, `todo`, `disabled` are skipped.
/// - **Duration**: `duration` (milliseconds), in seconds to the microsecond.
/// - **Message**: the `failureMessages`, joined.
/// - A file that failed before any test ran (a syntax error, a failing import) has no
///   assertions and status `failed`: it is one failed test named after the file, with the
///   file's `message`, as Jest counts it a failed suite.
/// - **Announced**: `numTotalTests`.
pub fn jest_json(text: &str, base: &str) -> Result<TestReport, ParseError> {
    const FORMAT: &str = "jest";
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| json_error(FORMAT, &e))?;
    let files = v
        .get("testResults")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(FORMAT, "expected an object with a testResults array"))?;
    let mut report = TestReport {
        tests: Vec::new(),
        complete: true,
        announced: v.get("numTotalTests").and_then(Value::as_u64),
    };
    let base = base.trim_end_matches('/');
    for file in files {
        let path = file.get("name").and_then(Value::as_str).unwrap_or("?");
        let path = path
            .strip_prefix(base)
            .and_then(|p| p.strip_prefix('/'))
            .filter(|_| !base.is_empty())
            .unwrap_or(path);
        let empty = Vec::new();
        let cases = file
            .get("assertionResults")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        if cases.is_empty() {
            if file.get("status").and_then(Value::as_str) == Some("failed") {
                report.tests.push(TestCase {
                    name: path.to_string(),
                    outcome: TestOutcome::Failed,
                    duration: None,
                    message: file
                        .get("message")
                        .or_else(|| file.get("failureMessage"))
                        .and_then(Value::as_str)
                        .and_then(trim_message),
                });
            }
            continue;
        }
        for case in cases {
            let mut name = vec![path.to_string()];
            if let Some(a) = case.get("ancestorTitles").and_then(Value::as_array) {
                name.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
            }
            name.push(
                case.get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
            );
            let outcome = match case.get("status").and_then(Value::as_str) {
                Some("passed") => TestOutcome::Passed,
                Some("failed") => TestOutcome::Failed,
                _ => TestOutcome::Skipped,
            };
            let message = case
                .get("failureMessages")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .and_then(|m| trim_message(&m));
            report.tests.push(TestCase {
                name: name.join("::"),
                outcome,
                duration: case
                    .get("duration")
                    .and_then(Value::as_f64)
                    // To the microsecond: Vitest's milliseconds carry float noise
                    // (0.98270300000001), which would not survive `run.json` exactly.
                    .map(|ms| (ms * 1000.0).round() / 1_000_000.0),
                message: if outcome == TestOutcome::Failed {
                    message
                } else {
                    None
                },
            });
        }
    }
    unique_names(&mut report.tests);
    Ok(report)
}

/// 1-based line and column of a byte offset in `source`.
fn line_col_of(source: &str, offset: usize) -> (u64, u64) {
    let (l, c) = super::line_col(source, offset);
    (l as u64, c as u64)
}

/// Reads `biome lint --reporter=json`: `diagnostics` (each with `severity`, `category` — the
/// rule —, `description`, and `location` with the file and a byte `span` in `sourceCode`) and
/// its `summary`. `error` and `fatal` are errors, `warning` a warning (information and hints
/// are skipped). Biome prints at most `--max-diagnostics` of them and counts the rest in its
/// summary: the errors and warnings it did not print are counted as findings without a file,
/// so the totals are Biome's own `summary.errors` and `summary.warnings`.
pub fn biome_json(text: &str) -> Result<LintReport, ParseError> {
    const FORMAT: &str = "biome";
    let start = text.find('{').unwrap_or(0);
    let v: Value =
        serde_json::from_str(text[start..].trim()).map_err(|e| json_error(FORMAT, &e))?;
    let diags = v
        .get("diagnostics")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(FORMAT, "expected an object with a diagnostics array"))?;
    let mut report = LintReport::default();
    for d in diags {
        let level = match d.get("severity").and_then(Value::as_str) {
            Some("error") | Some("fatal") => LintLevel::Error,
            Some("warning") => LintLevel::Warning,
            _ => continue,
        };
        let loc = d.get("location");
        let file = loc
            .and_then(|l| l.get("path"))
            .and_then(|p| p.get("file").or(Some(p)))
            .and_then(Value::as_str)
            .map(|f| f.trim_start_matches("./").to_string());
        let at = loc.and_then(|l| {
            let offset = l.get("span")?.as_array()?.first()?.as_u64()? as usize;
            let source = l.get("sourceCode")?.as_str()?;
            Some(line_col_of(source, offset))
        });
        report.findings.push(LintFinding {
            level,
            code: d
                .get("category")
                .and_then(Value::as_str)
                .map(str::to_string),
            message: d
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            file,
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
        });
    }
    let summary = v.get("summary");
    let count = |k: &str| summary.and_then(|s| s.get(k)).and_then(Value::as_u64);
    for (level, total) in [
        (LintLevel::Error, count("errors")),
        (LintLevel::Warning, count("warnings")),
    ] {
        let printed = report.findings.iter().filter(|f| f.level == level).count() as u64;
        for _ in printed..total.unwrap_or(0) {
            report.findings.push(LintFinding {
                level,
                code: None,
                message: "counted by Biome but not printed (beyond --max-diagnostics)".into(),
                file: None,
                line: None,
                column: None,
            });
        }
    }
    Ok(report)
}

/// Reads `oxlint -f json`: an object with a `diagnostics` array (or, from older versions, the
/// array itself), each with `severity` (`error`, `warning`), `code`, `message`, `filename`
/// and `labels[0].span` (`line`, `column`).
pub fn oxlint_json(text: &str) -> Result<LintReport, ParseError> {
    const FORMAT: &str = "oxlint";
    let start = text.find(['{', '[']).unwrap_or(0);
    let v: Value =
        serde_json::from_str(text[start..].trim()).map_err(|e| json_error(FORMAT, &e))?;
    let diags = v
        .get("diagnostics")
        .or(Some(&v))
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(FORMAT, "expected a diagnostics array"))?;
    let mut report = LintReport::default();
    for d in diags {
        let level = match d.get("severity").and_then(Value::as_str) {
            Some("error") => LintLevel::Error,
            Some("warning") => LintLevel::Warning,
            _ => continue,
        };
        let span = d
            .get("labels")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|l| l.get("span"));
        report.findings.push(LintFinding {
            level,
            code: d.get("code").and_then(Value::as_str).map(str::to_string),
            message: d
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            file: d
                .get("filename")
                .and_then(Value::as_str)
                .map(str::to_string),
            line: span.and_then(|s| s.get("line")).and_then(Value::as_u64),
            column: span.and_then(|s| s.get("column")).and_then(Value::as_u64),
        });
    }
    Ok(report)
}

/// Reads `tsc --noEmit --pretty false`: each `file(line,col): error TSnnnn: message` (or a
/// global `error TSnnnn: message`) is an error-level finding coded `TSnnnn`; indented lines
/// that follow continue its message. Anything else is skipped.
pub fn tsc_text(text: &str) -> LintReport {
    let mut report = LintReport::default();
    for line in text.lines() {
        if line.starts_with(' ') {
            if let Some(last) = report.findings.last_mut() {
                last.message.push('\n');
                last.message.push_str(line.trim());
            }
            continue;
        }
        let (place, rest) = match line.find("): error TS") {
            Some(i) => (Some(&line[..=i]), &line[i + 3..]),
            None if line.starts_with("error TS") => (None, line),
            None => continue,
        };
        let Some(rest) = rest.strip_prefix("error ") else {
            continue;
        };
        let (code, message) = rest.split_once(": ").unwrap_or((rest, ""));
        let (file, line_no, column) = match place.and_then(|p| p.rsplit_once('(')) {
            Some((f, pos)) => {
                let mut n = pos.trim_end_matches(')').split(',');
                let l = n.next().and_then(|x| x.trim().parse().ok());
                let c = n.next().and_then(|x| x.trim().parse().ok());
                (Some(f.to_string()), l, c)
            }
            None => (None, None, None),
        };
        report.findings.push(LintFinding {
            level: LintLevel::Error,
            code: Some(code.to_string()),
            message: message.to_string(),
            file,
            line: line_no,
            column,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsc_lines_are_findings() {
        let r = tsc_text("src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n  more\nerror TS5083: Cannot read file 'x'.\nnoise\n");
        assert_eq!(r.errors(), 2);
        assert_eq!(r.findings[0].file.as_deref(), Some("src/a.ts"));
        assert_eq!(r.findings[0].line, Some(3));
        assert_eq!(r.findings[0].column, Some(7));
        assert_eq!(r.findings[0].code.as_deref(), Some("TS2322"));
        assert!(r.findings[0].message.ends_with("\nmore"));
        assert_eq!(r.findings[1].file, None);
    }

    #[test]
    fn jest_suites_that_fail_to_run_count_as_failed() {
        let j = r#"{"numTotalTests":1,"testResults":[{"name":"/w/a.test.js","status":"failed","message":"SyntaxError","assertionResults":[]},{"name":"/w/b.test.js","status":"passed","assertionResults":[{"ancestorTitles":["b"],"title":"t","status":"passed","duration":5,"failureMessages":[]},{"ancestorTitles":["b"],"title":"t","status":"todo","failureMessages":[]}]}]}"#;
        let r = jest_json(j, "/w").unwrap();
        let names: Vec<_> = r.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["a.test.js", "b.test.js::b::t", "b.test.js::b::t #2"]
        );
        assert_eq!(r.count(TestOutcome::Failed), 1);
        assert_eq!(r.count(TestOutcome::Skipped), 1);
        assert_eq!(r.tests[1].duration, Some(0.005));
        assert!(jest_json("not json", "").is_err());
        assert!(jest_json("{}", "").is_err());
    }

    #[test]
    fn oxlint_both_shapes() {
        let o = r#"{"diagnostics":[{"message":"m","code":"eslint(no-debugger)","severity":"error","filename":"a.js","labels":[{"span":{"offset":0,"length":9,"line":2,"column":1}}]},{"message":"w","severity":"warning","filename":"a.js","labels":[]}]}"#;
        let r = oxlint_json(o).unwrap();
        assert_eq!((r.errors(), r.warnings()), (1, 1));
        assert_eq!(r.findings[0].line, Some(2));
        let r = oxlint_json("[]").unwrap();
        assert_eq!(r.findings.len(), 0);
        assert!(oxlint_json("").is_err());
    }
}
