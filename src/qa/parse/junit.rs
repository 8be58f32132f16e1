//! JUnit XML, as pytest (`--junitxml`) and cargo-nextest (`[profile.X.junit]`) write it.

use super::xml::{self, Element};
use super::{trim_message, unique_names};
use crate::qa::results::{ParseError, TestCase, TestOutcome, TestReport};

const FORMAT: &str = "junit";

/// Reads a JUnit XML report: a `<testsuites>` root (pytest, nextest) or a lone `<testsuite>`,
/// suites possibly nested, each `<testcase classname name time>` one test (also right under
/// `<testsuites>`, as `node --test --test-reporter=junit` writes top-level tests).
///
/// - **Name**: `{classname}::{name}` (`tests.test_calc::test_add` from pytest,
///   `shapes::integration::integration_adds` from nextest, whose classname is the binary);
///   the enclosing suite's name stands in for a missing classname.
/// - **Outcome**: failed when the case has a `<failure>` or `<error>` child (a pytest error is
///   a fixture or collection failure), skipped for `<skipped>` (pytest also writes xfail this
///   way), passed otherwise. A nextest case that passed on a retry (`<flakyFailure>` children,
///   no `<failure>`) is passed; `<rerunFailure>`s next to a `<failure>` change nothing.
/// - **Duration**: the `time` attribute, in seconds.
/// - **Message**: for a failed case the failure's `message` attribute and its text (the
///   attribute alone when the text repeats it, the case's `<system-err>`/`<system-out>` when
///   both are empty); for a skipped case the reason; for a flaky pass a line saying so and the
///   first failed attempt. Trimmed to [`MESSAGE_LIMIT`](super::MESSAGE_LIMIT).
/// - **Announced**: the root's `tests` attribute, or the sum of the outermost suites' when the
///   root has none. nextest counts only the tests it ran: ignored tests are not in its report.
/// - **Complete**: true whenever the document parses (a runner that died mid-write leaves
///   unclosed elements, which is an error).
pub fn junit(xml: &str) -> Result<TestReport, ParseError> {
    let root = xml::parse(xml, FORMAT)?;
    let mut tests = Vec::new();
    let announced = match root.name.as_str() {
        "testsuites" => {
            let own = count_attr(&root, "tests");
            let mut sum = None;
            for suite in root.children_named("testsuite") {
                if let Some(n) = count_attr(suite, "tests") {
                    sum = Some(sum.unwrap_or(0) + n);
                }
            }
            // Suites, and cases right under the root (`node --test`'s JUnit reporter).
            collect(&root, &mut tests);
            own.or(sum)
        }
        "testsuite" => {
            collect(&root, &mut tests);
            count_attr(&root, "tests")
        }
        other => {
            return Err(ParseError::new(
                FORMAT,
                format!("the root element is <{other}>, not <testsuites> or <testsuite>"),
            ))
        }
    };
    unique_names(&mut tests);
    Ok(TestReport {
        tests,
        complete: true,
        announced,
    })
}

fn count_attr(e: &Element, name: &str) -> Option<u64> {
    e.attr(name).and_then(|v| v.trim().parse().ok())
}

/// The test cases of a suite and of the suites nested in it, in document order.
fn collect(suite: &Element, out: &mut Vec<TestCase>) {
    let suite_name = suite.attr("name").unwrap_or("");
    for child in &suite.children {
        match child.name.as_str() {
            "testcase" => out.push(case(child, suite_name)),
            "testsuite" => collect(child, out),
            _ => {}
        }
    }
}

fn case(e: &Element, suite_name: &str) -> TestCase {
    let name = e.attr("name").unwrap_or("").trim();
    let class = e
        .attr("classname")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(suite_name.trim());
    let name = match (class.is_empty(), name.is_empty()) {
        (false, false) => format!("{class}::{name}"),
        (true, false) => name.to_string(),
        (false, true) => class.to_string(),
        (true, true) => "(unnamed)".to_string(),
    };
    let duration = e.attr("time").and_then(seconds);

    let failure = e
        .children
        .iter()
        .find(|c| c.name == "failure" || c.name == "error");
    let (outcome, message) = if let Some(f) = failure {
        let message = failure_text(f).or_else(|| {
            e.child("system-err")
                .or_else(|| e.child("system-out"))
                .and_then(|out| trim_message(&out.text))
        });
        (TestOutcome::Failed, message)
    } else if let Some(skip) = e.child("skipped") {
        (TestOutcome::Skipped, failure_text(skip))
    } else {
        let flaky: Vec<&Element> = e
            .children
            .iter()
            .filter(|c| c.name == "flakyFailure" || c.name == "flakyError")
            .collect();
        let message = flaky.first().map(|first| {
            let attempts = flaky.len() + 1;
            let detail = failure_text(first).unwrap_or_default();
            let head = format!(
                "flaky: passed on attempt {attempts} after {} failed attempt(s)",
                flaky.len()
            );
            trim_message(&format!("{head}\n\n{detail}")).unwrap_or(head)
        });
        (TestOutcome::Passed, message)
    };
    TestCase {
        name,
        outcome,
        duration,
        message,
    }
}

/// A `time` attribute in seconds (some writers put thousands separators in it).
fn seconds(v: &str) -> Option<f64> {
    let v: String = v.trim().chars().filter(|&c| c != ',').collect();
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0)
}

/// The `message` attribute and the element's own text, without saying the same thing twice.
fn failure_text(e: &Element) -> Option<String> {
    let attr = e.attr("message").map(str::trim).unwrap_or("");
    let text = e.text.trim();
    let joined = if text.is_empty() {
        attr.to_string()
    } else if attr.is_empty() || text.contains(attr) {
        text.to_string()
    } else {
        format!("{attr}\n\n{text}")
    };
    trim_message(&joined)
}
