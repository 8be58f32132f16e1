//! Lint and build findings: cargo's `--message-format=json` stream, ESLint's and Ruff's JSON.

use std::collections::HashSet;

use serde_json::Value;

use super::json_error;
use crate::qa::results::{BuildReport, LintFinding, LintLevel, LintReport, ParseError};

/// Reads cargo's `--message-format=json` stream (`cargo build`, `cargo check`, `cargo clippy
/// ... -- -D warnings`): one JSON object per line. Lines that are not JSON objects (cargo's
/// own stderr text when both streams are captured together) are skipped, as are the other
/// reasons (`compiler-artifact`, `build-script-executed`, ...).
///
/// - Each `compiler-message` is a finding: level `error` (and `error: internal compiler
///   error`) or `warning` from `message.level` (other levels, `note`/`help`/`failure-note`,
///   are skipped); code from `message.code.code` (`E0308`, `unused_variables`,
///   `clippy::needless_return`); file, line and column from the primary span (followed out of
///   macro expansions whose span is not in a real file). Messages without spans (`aborting
///   due to 2 previous errors`, `3 warnings emitted`) are skipped.
/// - Identical findings are kept once: cargo reports a library's lints again for its test
///   target (`--all-targets`).
/// - `build-finished` gives [`BuildReport::success`].
///
/// The build report's `errors` are the error-level findings and `warnings` counts the rest;
/// the lint report has them all.
pub fn cargo_json(text: &str) -> (BuildReport, LintReport) {
    let mut build = BuildReport::default();
    let mut lint = LintReport::default();
    let mut seen = HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('{') {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match v.get("reason").and_then(Value::as_str) {
            Some("compiler-message") => {
                let Some(finding) = v.get("message").and_then(rustc_finding) else {
                    continue;
                };
                if seen.insert(finding.clone()) {
                    lint.findings.push(finding);
                }
            }
            Some("build-finished") => {
                if let Some(ok) = v.get("success").and_then(Value::as_bool) {
                    build.success = Some(ok);
                }
            }
            _ => {}
        }
    }
    for f in &lint.findings {
        match f.level {
            LintLevel::Error => build.errors.push(f.clone()),
            LintLevel::Warning => build.warnings += 1,
        }
    }
    (build, lint)
}

/// One rustc diagnostic (`message` of a `compiler-message`) as a finding.
fn rustc_finding(m: &Value) -> Option<LintFinding> {
    let level = m.get("level").and_then(Value::as_str)?;
    let level = if level.starts_with("error") {
        LintLevel::Error
    } else if level == "warning" {
        LintLevel::Warning
    } else {
        return None;
    };
    let spans = m.get("spans").and_then(Value::as_array)?;
    let mut span = spans
        .iter()
        .find(|s| s.get("is_primary").and_then(Value::as_bool) == Some(true))
        .or(spans.first())?;
    // A span inside a macro's definition (`<::core::macros::panic macros>`) is followed out
    // to where the macro was called.
    for _ in 0..16 {
        let in_real_file = span
            .get("file_name")
            .and_then(Value::as_str)
            .is_some_and(|f| !f.starts_with('<'));
        match span.get("expansion").and_then(|e| e.get("span")) {
            Some(outer) if !in_real_file && outer.is_object() => span = outer,
            _ => break,
        }
    }
    let message = m
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some(LintFinding {
        level,
        code: m
            .get("code")
            .and_then(|c| c.get("code"))
            .and_then(Value::as_str)
            .map(str::to_string),
        message,
        file: span
            .get("file_name")
            .and_then(Value::as_str)
            .map(str::to_string),
        line: span.get("line_start").and_then(Value::as_u64),
        column: span.get("column_start").and_then(Value::as_u64),
    })
}

/// Reads `eslint -f json` (standard output only): an array of files, each with its
/// `filePath` and `messages`. Severity 2 is an error, 1 a warning (0, off, is skipped); a
/// `fatal` message (a parsing error, `ruleId` null) is an error. Each finding's file is the
/// `filePath` as ESLint wrote it (absolute).
pub fn eslint_json(text: &str) -> Result<LintReport, ParseError> {
    const FORMAT: &str = "eslint";
    let v = parse_json(FORMAT, text)?;
    let files = v
        .as_array()
        .ok_or_else(|| ParseError::new(FORMAT, "expected a JSON array of files"))?;
    let mut report = LintReport::default();
    for (i, file) in files.iter().enumerate() {
        let path = file.get("filePath").and_then(Value::as_str);
        let messages = file
            .get("messages")
            .and_then(Value::as_array)
            .ok_or_else(|| ParseError::new(FORMAT, format!("file {i} has no messages array")))?;
        for m in messages {
            let fatal = m.get("fatal").and_then(Value::as_bool) == Some(true);
            let level = match m.get("severity").and_then(Value::as_u64) {
                _ if fatal => LintLevel::Error,
                Some(2) => LintLevel::Error,
                Some(1) => LintLevel::Warning,
                _ => continue,
            };
            report.findings.push(LintFinding {
                level,
                code: m.get("ruleId").and_then(Value::as_str).map(str::to_string),
                message: m
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                file: path.map(str::to_string),
                line: m.get("line").and_then(Value::as_u64),
                column: m.get("column").and_then(Value::as_u64),
            });
        }
    }
    Ok(report)
}

/// Reads `ruff check --output-format=json`: an array of violations (`code`, `message`,
/// `filename`, `location.row`/`column`). Every violation is an error-level finding (Ruff has
/// no warnings; a file it cannot parse gives a violation coded `invalid-syntax`, or with a
/// null code in older versions).
pub fn ruff_json(text: &str) -> Result<LintReport, ParseError> {
    const FORMAT: &str = "ruff";
    let v = parse_json(FORMAT, text)?;
    let items = v
        .as_array()
        .ok_or_else(|| ParseError::new(FORMAT, "expected a JSON array of violations"))?;
    let mut report = LintReport::default();
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(ParseError::new(
                FORMAT,
                format!("violation {i} is not an object"),
            ));
        }
        let location = item.get("location");
        report.findings.push(LintFinding {
            level: LintLevel::Error,
            code: item.get("code").and_then(Value::as_str).map(str::to_string),
            message: item
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            file: item
                .get("filename")
                .and_then(Value::as_str)
                .map(str::to_string),
            line: location.and_then(|l| l.get("row")).and_then(Value::as_u64),
            column: location
                .and_then(|l| l.get("column"))
                .and_then(Value::as_u64),
        });
    }
    Ok(report)
}

fn parse_json(format: &'static str, text: &str) -> Result<Value, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::new(format, "empty input"));
    }
    serde_json::from_str(text).map_err(|e| json_error(format, &e))
}
