//! The parsers of the QA tools' output, on output captured from the real tools (see
//! `tests/fixtures/qa/README.md` for the commands and versions). The expected counts are the
//! ones the tools printed themselves.

use overlord::qa::parse::{
    cargo_json, cobertura, eslint_json, junit, lcov, libtest, libtest_progress, ruff_json, tap,
    LibtestLine, MESSAGE_LIMIT,
};
use overlord::qa::results::{LintLevel, TestCase, TestOutcome, TestReport};
use proptest::prelude::*;

const PYTEST_JUNIT: &str = include_str!("fixtures/qa/pytest-junit.xml");
const NEXTEST_JUNIT: &str = include_str!("fixtures/qa/nextest-junit.xml");
const NEXTEST_RETRIES: &str = include_str!("fixtures/qa/nextest-junit-retries.xml");
const LIBTEST: &str = include_str!("fixtures/qa/libtest.txt");
const LIBTEST_ABORT: &str = include_str!("fixtures/qa/libtest-abort.txt");
const NODE_TAP: &str = include_str!("fixtures/qa/node-tap.txt");
const LCOV: &str = include_str!("fixtures/qa/llvm-cov.lcov");
const LLVM_COV_SUMMARY: &str = include_str!("fixtures/qa/llvm-cov-summary.txt");
const COBERTURA: &str = include_str!("fixtures/qa/coverage-py-cobertura.xml");
const CLIPPY: &str = include_str!("fixtures/qa/clippy.json");
const BUILD_ERROR: &str = include_str!("fixtures/qa/cargo-build-error.json");
const ESLINT: &str = include_str!("fixtures/qa/eslint.json");
const RUFF: &str = include_str!("fixtures/qa/ruff.json");

fn test<'a>(r: &'a TestReport, name: &str) -> &'a TestCase {
    r.tests.iter().find(|t| t.name == name).unwrap_or_else(|| {
        let names: Vec<_> = r.tests.iter().map(|t| &t.name).collect();
        panic!("no test {name:?} in {names:#?}")
    })
}

fn counts(r: &TestReport) -> (usize, usize, usize) {
    (
        r.count(TestOutcome::Passed),
        r.count(TestOutcome::Failed),
        r.count(TestOutcome::Skipped),
    )
}

fn message(t: &TestCase) -> &str {
    t.message
        .as_deref()
        .unwrap_or_else(|| panic!("{} has no message", t.name))
}

/// Cuts at a char boundary at or below `at`.
fn prefix(text: &str, mut at: usize) -> &str {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    &text[..at]
}

// ---------------------------------------------------------------------------------------
// JUnit

#[test]
fn pytest_junit_counts_match_pytest() {
    // pytest printed: 1 failed, 6 passed, 1 skipped, 1 xfailed, 1 error.
    let r = junit(PYTEST_JUNIT).unwrap();
    assert!(r.complete);
    assert_eq!(r.announced, Some(10));
    assert_eq!(r.tests.len(), 10);
    // The error (a fixture failing) counts as failed, the xfail as skipped.
    assert_eq!(counts(&r), (6, 2, 2));
    assert!(r.tests.iter().all(|t| t.duration.is_some()));

    assert_eq!(
        test(&r, "tests.test_calc::test_add").outcome,
        TestOutcome::Passed
    );
    assert_eq!(
        test(&r, "tests.test_calc.TestClassify::test_positive[7]").outcome,
        TestOutcome::Passed
    );
    let wrong = test(&r, "tests.test_calc::test_add_wrong");
    assert_eq!(wrong.outcome, TestOutcome::Failed);
    let m = message(wrong);
    assert!(
        m.starts_with("assert 4 == 5\n +  where 4 = add(2, 2)"),
        "{m}"
    );
    assert!(m.contains(">       assert add(2, 2) == 5"), "{m}");
    assert!(m.contains("tests/test_calc.py:11: AssertionError"), "{m}");

    let broken = test(&r, "tests.test_calc::test_uses_broken_fixture");
    assert_eq!(broken.outcome, TestOutcome::Failed);
    assert!(message(broken).contains("RuntimeError: fixture exploded"));
    assert!(message(broken).contains("failed on setup"));

    let skipped = test(&r, "tests.test_calc::test_skipped");
    assert_eq!(skipped.outcome, TestOutcome::Skipped);
    assert!(message(skipped).contains("not implemented yet"));
    let xfail = test(&r, "tests.test_calc::test_xfail");
    assert_eq!(xfail.outcome, TestOutcome::Skipped);
    assert_eq!(xfail.message.as_deref(), Some("known bug"));
}

#[test]
fn nextest_junit_counts_match_nextest() {
    // nextest printed: 8 tests run: 4 passed, 4 failed, 2 skipped. The 2 ignored tests are
    // not in its JUnit report at all.
    let r = junit(NEXTEST_JUNIT).unwrap();
    assert!(r.complete);
    assert_eq!(r.announced, Some(8));
    assert_eq!(counts(&r), (4, 4, 0));
    assert!(r.tests.iter().all(|t| t.duration.is_some_and(|d| d > 0.0)));
    assert_eq!(
        test(&r, "shapes::integration::integration_adds").duration,
        Some(0.005)
    );

    let area = test(&r, "shapes::tests::area_is_wrong");
    assert_eq!(area.outcome, TestOutcome::Failed);
    let m = message(area);
    assert!(
        m.contains("assertion `left == right` failed: area of 3x4"),
        "{m}"
    );
    assert!(m.contains("left: 12"), "{m}");
    // The attribute repeats the text's first line: said once.
    assert_eq!(m.matches("panicked at src/lib.rs:52:9").count(), 1, "{m}");

    let panics = test(&r, "shapes::integration::integration_panics");
    assert!(message(panics).contains("index out of bounds: the len is 0 but the index is 0"));
    assert_eq!(test(&r, "shapes::tests::adds").message, None);
}

#[test]
fn nextest_retries_flaky_test_passes() {
    // nextest printed: 2 tests run: 1 passed (1 flaky), 1 failed, 0 skipped.
    let r = junit(NEXTEST_RETRIES).unwrap();
    assert_eq!(counts(&r), (1, 1, 0));
    let flaky = test(&r, "shapes::flaky::flaky_passes_on_second_try");
    assert_eq!(flaky.outcome, TestOutcome::Passed);
    let m = message(flaky);
    assert!(
        m.starts_with("flaky: passed on attempt 2 after 1 failed attempt(s)"),
        "{m}"
    );
    assert!(m.contains("attempt 1 fails"), "{m}");
    // The flaky attempt's own <system-out> is not mistaken for the case's.
    assert!(!m.contains("running 1 test"), "{m}");

    let always = test(&r, "shapes::flaky::always_fails");
    assert_eq!(always.outcome, TestOutcome::Failed);
    assert!(message(always).contains("math is broken"));
}

#[test]
fn junit_refuses_broken_documents() {
    for bad in [
        "",
        "   \n",
        "garbage",
        "\u{0}\u{1}\u{fffd}binary\u{7f}",
        "<?xml version=\"1.0\"?>",
        "<html><body/></html>",
        "<testsuites><testsuite></testsuites>",
        "<testsuite name=\"a\"><testcase name=\"x\"/></testsuite><testsuite/>",
        "<testsuite><testcase name=\"&bogus;\"/></testsuite>",
    ] {
        let e = junit(bad).expect_err(bad);
        assert_eq!(e.format, "junit");
    }
    // Any cut of a real report is refused, not half-read.
    for text in [PYTEST_JUNIT, NEXTEST_JUNIT, NEXTEST_RETRIES] {
        for at in (0..text.trim_end().len()).step_by(23) {
            let cut = prefix(text, at);
            assert!(junit(cut).is_err(), "a cut at {at} was accepted:\n{cut}");
        }
    }
    let e = junit(prefix(NEXTEST_JUNIT, 2000)).unwrap_err();
    assert!(e.message.contains("truncated"), "{e}");
    let e =
        junit("<testsuites>\n  <testsuite name=\"a\">\n  </testcase>\n</testsuites>").unwrap_err();
    assert!(e.message.contains("line 3"), "{e}");
}

#[test]
fn junit_names_are_unique_and_messages_bounded() {
    let long = format!("first line\n{}\nlast line", "x".repeat(100_000));
    let xml = format!(
        "<testsuite name=\"s\" tests=\"3\"><testcase classname=\"c\" name=\"t\" time=\"1,234.5\"/>\
         <testcase classname=\"c\" name=\"t\"><failure>{long}</failure></testcase>\
         <testcase name=\"bare\"><error message=\"boom\"/></testcase></testsuite>"
    );
    let r = junit(&xml).unwrap();
    let names: Vec<_> = r.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["c::t", "c::t #2", "s::bare"]);
    assert_eq!(r.tests[0].duration, Some(1234.5));
    assert_eq!(r.announced, Some(3));
    let m = message(&r.tests[1]);
    assert!(m.len() <= MESSAGE_LIMIT, "{}", m.len());
    assert!(m.starts_with("first line") && m.ends_with("last line"));
    assert_eq!(r.tests[2].message.as_deref(), Some("boom"));
}

// ---------------------------------------------------------------------------------------
// libtest

#[test]
fn libtest_reads_every_binary_and_the_doctests() {
    // cargo test printed three blocks: lib 2 passed, 1 failed, 2 ignored; tests/integration.rs
    // 3 passed, 1 failed; doc-tests 1 passed, 1 failed, 1 ignored.
    let r = libtest(LIBTEST);
    assert!(r.complete);
    assert_eq!(r.announced, Some(12));
    assert_eq!(r.tests.len(), 12);
    assert_eq!(counts(&r), (6, 3, 3));
    assert!(r.tests.iter().all(|t| t.duration.is_none()));

    assert_eq!(
        test(&r, "src/lib.rs::tests::adds").outcome,
        TestOutcome::Passed
    );
    assert_eq!(
        test(&r, "src/lib.rs::tests::nested::describes_zero").outcome,
        TestOutcome::Passed
    );
    let area = test(&r, "src/lib.rs::tests::area_is_wrong");
    assert_eq!(area.outcome, TestOutcome::Failed);
    let m = message(area);
    assert!(
        m.contains("assertion `left == right` failed: area of 3x4"),
        "{m}"
    );
    assert!(m.contains("left: 12\n right: 13"), "{m}");
    assert!(!m.contains("failures:"), "{m}");

    let db = test(&r, "src/lib.rs::tests::needs_db");
    assert_eq!(db.outcome, TestOutcome::Skipped);
    assert_eq!(db.message.as_deref(), Some("needs a database"));
    assert_eq!(test(&r, "src/lib.rs::tests::slow").message, None);

    let panics = test(&r, "tests/integration.rs::integration_panics");
    let m = message(panics);
    assert!(m.starts_with("about to index an empty vector"), "{m}");
    assert!(m.contains("index out of bounds"), "{m}");
    assert_eq!(
        test(&r, "tests/integration.rs::integration_manhattan").outcome,
        TestOutcome::Passed
    );

    assert_eq!(
        test(&r, "doc::src/lib.rs - add (line 7)").outcome,
        TestOutcome::Passed
    );
    assert_eq!(
        test(&r, "doc::src/lib.rs - describe (line 25)").outcome,
        TestOutcome::Skipped
    );
    let doc = test(&r, "doc::src/lib.rs - area (line 16)");
    assert_eq!(doc.outcome, TestOutcome::Failed);
    assert!(message(doc).contains("left: 6\n right: 7"));
}

#[test]
fn libtest_keeps_the_tests_before_an_abort() {
    // The lib binary announced 5 tests, reported 3 and died of SIGABRT; cargo went on with
    // tests/after.rs (1 passed) and the doc-tests (none).
    let r = libtest(LIBTEST_ABORT);
    assert!(!r.complete);
    assert_eq!(r.announced, Some(6));
    assert_eq!(counts(&r), (3, 1, 0));
    assert_eq!(
        test(&r, "src/lib.rs::tests::doubles_one").outcome,
        TestOutcome::Passed
    );
    let wrong = test(&r, "src/lib.rs::tests::doubles_wrong");
    assert_eq!(wrong.outcome, TestOutcome::Failed);
    // Its failure section never came: the process died first.
    assert_eq!(wrong.message, None);
    assert_eq!(
        test(&r, "tests/after.rs::still_runs").outcome,
        TestOutcome::Passed
    );

    // The same run cut where the summary of the lib block would have been.
    let cut = LIBTEST
        .split("test result: FAILED. 2 passed")
        .next()
        .unwrap();
    let r = libtest(cut);
    assert!(!r.complete);
    assert_eq!(counts(&r), (2, 1, 2));
}

#[test]
fn libtest_qualifies_sources_in_a_workspace() {
    // Two members each with a src/lib.rs, and one crate's doc-tests.
    let text = r"     Running unittests src/lib.rs (target/debug/deps/alpha-0123456789abcdef)

running 1 test
test tests::works ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running unittests src/lib.rs (/abs/target/debug/deps/beta-fedcba9876543210)

running 1 test
test tests::works ... ok <0.250s>

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests alpha

running 1 test
test src/lib.rs - f (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";
    let r = libtest(text);
    let names: Vec<_> = r.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "alpha/src/lib.rs::tests::works",
            "beta/src/lib.rs::tests::works",
            "alpha/doc::src/lib.rs - f (line 3)"
        ]
    );
    assert!(r.complete);
    assert_eq!(r.tests[1].duration, Some(0.25));

    // A binary run directly: bare names. A test printing something like a header is not one.
    let text = "\nrunning 2 tests\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n\
                ---- b stdout ----\n     Running unittests src/x.rs (target/debug/deps/x-12ab)\n\
                boom\n\nfailures:\n    b\n\ntest result: FAILED. 1 passed; 1 failed\n";
    let r = libtest(text);
    assert_eq!(r.tests[0].name, "a");
    assert!(r.complete);
    let m = message(&r.tests[1]);
    assert!(m.contains("boom"), "{m}");
}

#[test]
fn libtest_progress_classifies_lines() {
    assert_eq!(
        libtest_progress("running 5 tests"),
        Some(LibtestLine::Announced(5))
    );
    assert_eq!(
        libtest_progress("running 1 test\r\n"),
        Some(LibtestLine::Announced(1))
    );
    assert_eq!(
        libtest_progress("test tests::needs_db ... ignored, needs a database"),
        Some(LibtestLine::Finished {
            name: "tests::needs_db".into(),
            outcome: TestOutcome::Skipped
        })
    );
    assert_eq!(
        libtest_progress("test src/lib.rs - area (line 16) ... FAILED"),
        Some(LibtestLine::Finished {
            name: "src/lib.rs - area (line 16)".into(),
            outcome: TestOutcome::Failed
        })
    );
    for other in [
        "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
        "test tests::slow has been running for over 60 seconds",
        "running tests",
        "     Running unittests src/lib.rs (target/debug/deps/shapes-8dbf0753c22d4c02)",
        "",
    ] {
        assert_eq!(libtest_progress(other), None, "{other}");
    }
    // Over the captured run: as many finished as the report holds, out of the announced total.
    let (mut total, mut done) = (0, 0);
    for line in LIBTEST.lines() {
        match libtest_progress(line) {
            Some(LibtestLine::Announced(n)) => total += n,
            Some(LibtestLine::Finished { .. }) => done += 1,
            None => {}
        }
    }
    assert_eq!((done, total), (12, 12));
}

// ---------------------------------------------------------------------------------------
// TAP

#[test]
fn node_tap_counts_match_node() {
    // node printed: tests 9, suites 1, pass 4, fail 2, skipped 2, todo 1.
    let r = tap(NODE_TAP);
    assert!(r.complete);
    assert_eq!(r.announced, Some(9));
    assert_eq!(r.tests.len(), 9);
    // The todo test counts as skipped.
    assert_eq!(counts(&r), (4, 2, 3));
    assert!(r.tests.iter().all(|t| t.duration.is_some()));
    let adds = test(&r, "adds numbers");
    assert_eq!(adds.outcome, TestOutcome::Passed);
    assert!((adds.duration.unwrap() - 0.001118562).abs() < 1e-12);

    let wrong = test(&r, "subtracts numbers wrongly");
    assert_eq!(wrong.outcome, TestOutcome::Failed);
    let m = message(wrong);
    assert!(
        m.starts_with("Expected values to be strictly equal:\n\n2 !== 3"),
        "{m}"
    );
    assert!(m.contains("at /project/math.test.mjs:8:1"), "{m}");

    let throws = test(&r, "strings::throws on purpose");
    assert_eq!(throws.outcome, TestOutcome::Failed);
    assert!(message(throws).starts_with("boom: something broke"));
    assert_eq!(
        test(&r, "strings::upper-cases").outcome,
        TestOutcome::Passed
    );
    // The describe block is not a test of its own.
    assert!(r.tests.iter().all(|t| t.name != "strings"));

    let skip = test(&r, "not ready yet");
    assert_eq!(skip.outcome, TestOutcome::Skipped);
    assert_eq!(skip.message.as_deref(), Some("waiting for the API"));
    assert_eq!(test(&r, "todo feature").outcome, TestOutcome::Skipped);
    assert_eq!(
        test(&r, "parent with subtests::child skipped")
            .message
            .as_deref(),
        Some("not on this platform")
    );
    assert_eq!(
        test(&r, "parent with subtests").outcome,
        TestOutcome::Passed
    );
}

#[test]
fn tap_without_its_plan_is_incomplete() {
    let cut = NODE_TAP.split("1..6").next().unwrap();
    let r = tap(cut);
    assert!(!r.complete);
    assert_eq!(r.tests.len(), 9);
    let r = tap("TAP version 13\nok 1 - a\nnot ok 2\nBail out! db down\n1..3\n");
    assert!(!r.complete);
    assert_eq!(r.tests[1].name, "test 2");
    let r = tap("1..2\nok 1 - a \\# b # skip\nnot ok 2 - c # TODO later\n");
    assert!(r.complete);
    assert_eq!(r.tests[0].name, "a # b");
    assert_eq!(counts(&r), (0, 0, 2));
    assert_eq!(r.tests[1].message.as_deref(), Some("later"));
    assert_eq!(tap("").tests.len(), 0);
    assert!(!tap("").complete);
}

// ---------------------------------------------------------------------------------------
// Coverage

/// llvm-cov's TOTAL line: (lines, missed lines).
fn llvm_cov_total_lines() -> (u64, u64) {
    let total: Vec<&str> = LLVM_COV_SUMMARY
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap()
        .split_whitespace()
        .collect();
    // TOTAL Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
    (total[7].parse().unwrap(), total[8].parse().unwrap())
}

#[test]
fn lcov_totals_against_llvm_cov() {
    let c = lcov(LCOV).unwrap();
    let (lines, missed) = llvm_cov_total_lines();
    assert_eq!((lines, missed), (40, 18));
    // Lines: the same count as llvm-cov's own summary.
    assert_eq!(c.lines_total, lines);
    let files: Vec<_> = c
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.lines_covered, f.lines_total))
        .collect();
    assert_eq!(
        files,
        [
            ("/project/src/geo.rs", 3, 10),
            ("/project/src/lib.rs", 20, 30)
        ]
    );
    // Covered: llvm-cov's summary (and the LH: it writes) says 22 (55.00%); the DA: lines
    // say 23. `describe` is compiled into the lib's test binary (which runs its "zero" arm)
    // and the integration test binary (which runs its "negative" arm): the DA: union covers
    // both arms, llvm-cov's summary counts the better single instantiation.
    let lh: u64 = LCOV
        .lines()
        .filter_map(|l| l.strip_prefix("LH:"))
        .map(|v| v.parse::<u64>().unwrap())
        .sum();
    assert_eq!(lh, lines - missed);
    assert_eq!(c.lines_covered, lines - missed + 1);
    assert!((c.percent().unwrap() - 57.5).abs() < 1e-9);
}

#[test]
fn lcov_merges_records_and_falls_back_to_lf_lh() {
    let text = "TN:\nSF:a.rs\nDA:1,0\nDA:2,3\nLF:2\nLH:1\nend_of_record\n\
                SF:a.rs\nDA:1,1\nDA:3,0\nend_of_record\n\
                SF:b.rs\nLF:10\nLH:4\nend_of_record\n";
    let c = lcov(text).unwrap();
    assert_eq!((c.lines_covered, c.lines_total), (6, 13));
    assert_eq!(c.files.len(), 2);
    assert_eq!((c.files[0].lines_covered, c.files[0].lines_total), (2, 3));
    assert_eq!((c.files[1].lines_covered, c.files[1].lines_total), (4, 10));
}

#[test]
fn lcov_refuses_broken_tracefiles() {
    for bad in [
        "",
        "\n\n",
        "garbage",
        "\u{0}\u{1}binary\u{7f}",
        "SF:a.rs\nDA:1,1\n",
        "DA:1,1\nend_of_record\n",
        "SF:a.rs\nDA:x,1\nend_of_record\n",
        "SF:a.rs\nDA:1\nend_of_record\n",
        "SF:a.rs\nSF:b.rs\nend_of_record\n",
        "<?xml version=\"1.0\"?><coverage/>",
    ] {
        let e = lcov(bad).expect_err(bad);
        assert_eq!(e.format, "lcov");
    }
    // A cut of the real tracefile is accepted only where a record just ended.
    for at in 0..LCOV.len() {
        let cut = prefix(LCOV, at);
        if lcov(cut).is_ok() {
            assert!(
                cut.trim_end().ends_with("end_of_record"),
                "accepted:\n{cut}"
            );
        }
    }
    let e = lcov(prefix(LCOV, LCOV.len() / 2)).unwrap_err();
    assert!(e.message.contains("truncated"), "{e}");
}

#[test]
fn cobertura_totals_match_coverage_py() {
    // coverage report printed: TOTAL 42 statements, 5 missed, 88%.
    let c = cobertura(COBERTURA).unwrap();
    assert_eq!((c.lines_covered, c.lines_total), (37, 42));
    assert_eq!(format!("{:.0}%", c.percent().unwrap()), "88%");
    // The root's own totals agree.
    assert!(COBERTURA.contains(r#"lines-valid="42" lines-covered="37""#));
    let files: Vec<_> = c
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.lines_covered, f.lines_total))
        .collect();
    assert_eq!(
        files,
        [
            ("calc.py", 11, 14),
            ("tests/__init__.py", 0, 0),
            ("tests/test_calc.py", 26, 28)
        ]
    );
}

#[test]
fn cobertura_refuses_broken_reports() {
    for bad in ["", "garbage", "<testsuites/>", "<coverage>", "<coverage/>"] {
        let e = cobertura(bad).expect_err(bad);
        assert_eq!(e.format, "cobertura");
    }
    for at in (0..COBERTURA.trim_end().len()).step_by(17) {
        assert!(
            cobertura(prefix(COBERTURA, at)).is_err(),
            "a cut at {at} was accepted"
        );
    }
    // Only the root's totals: used as they are.
    let c = cobertura(r#"<coverage lines-valid="10" lines-covered="4"><packages/></coverage>"#)
        .unwrap();
    assert_eq!((c.lines_covered, c.lines_total), (4, 10));
}

// ---------------------------------------------------------------------------------------
// Lints

#[test]
fn clippy_findings_are_deduplicated() {
    // cargo printed: could not compile `lints` (lib) due to 3 previous errors, and the same
    // for (lib test).
    let (build, lint) = cargo_json(CLIPPY);
    assert_eq!(build.success, Some(false));
    assert_eq!(lint.findings.len(), 3);
    assert_eq!((lint.errors(), lint.warnings()), (3, 0));
    let found: Vec<_> = lint
        .findings
        .iter()
        .map(|f| {
            (
                f.code.as_deref().unwrap(),
                f.file.as_deref().unwrap(),
                f.line.unwrap(),
                f.column.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("unused_variables", "src/lib.rs", 2, 9),
            ("clippy::needless_return", "src/lib.rs", 5, 17),
            ("clippy::ptr_arg", "src/lib.rs", 1, 22),
        ]
    );
    assert_eq!(lint.findings[0].message, "unused variable: `unused`");
    assert_eq!(build.errors.len(), 3);
    assert_eq!(build.warnings, 0);
}

#[test]
fn cargo_build_errors_and_warnings() {
    // cargo printed: could not compile `broken` (bin "broken") due to 2 previous errors;
    // 1 warning emitted.
    let (build, lint) = cargo_json(BUILD_ERROR);
    assert_eq!(build.success, Some(false));
    assert_eq!(build.errors.len(), 2);
    assert_eq!(build.warnings, 1);
    assert_eq!((lint.errors(), lint.warnings()), (2, 1));
    let codes: Vec<_> = build
        .errors
        .iter()
        .map(|f| f.code.as_deref().unwrap())
        .collect();
    assert_eq!(codes, ["E0308", "E0425"]);
    assert_eq!(build.errors[0].message, "mismatched types");
    assert_eq!(
        (
            build.errors[0].file.as_deref(),
            build.errors[0].line,
            build.errors[0].column
        ),
        (Some("src/main.rs"), Some(8), Some(18))
    );
    let warning = lint
        .findings
        .iter()
        .find(|f| f.level == LintLevel::Warning)
        .unwrap();
    assert_eq!(warning.code.as_deref(), Some("unused_imports"));

    // No JSON at all: nothing found, no verdict.
    let (build, lint) = cargo_json("error: could not find `Cargo.toml`\n{not json\n");
    assert_eq!(build.success, None);
    assert!(lint.findings.is_empty());
}

#[test]
fn eslint_levels_and_rules() {
    // eslint printed: 6 problems (3 errors, 3 warnings).
    let r = eslint_json(ESLINT).unwrap();
    assert_eq!((r.errors(), r.warnings()), (3, 3));
    let mut rules: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.code.as_deref().unwrap_or("(fatal)"), f.level))
        .collect();
    rules.sort_by_key(|(code, _)| *code);
    assert_eq!(
        rules,
        [
            ("(fatal)", LintLevel::Error),
            ("eqeqeq", LintLevel::Error),
            ("no-console", LintLevel::Warning),
            ("no-undef", LintLevel::Error),
            ("no-unused-vars", LintLevel::Warning),
            ("prefer-const", LintLevel::Warning),
        ]
    );
    let fatal = &r.findings[0];
    assert_eq!(fatal.file.as_deref(), Some("/project/broken.js"));
    assert_eq!((fatal.line, fatal.column), (Some(2), Some(3)));
    assert!(fatal.message.starts_with("Parsing error"));

    for bad in [
        "",
        "garbage",
        "{}",
        "[{\"filePath\": \"a.js\"}]",
        "[",
        "\u{0}",
    ] {
        let e = eslint_json(bad).expect_err(bad);
        assert_eq!(e.format, "eslint");
    }
    assert!(eslint_json("[]").unwrap().findings.is_empty());
}

#[test]
fn ruff_violations_are_errors() {
    // ruff printed: Found 7 errors.
    let r = ruff_json(RUFF).unwrap();
    assert_eq!((r.errors(), r.warnings()), (7, 0));
    let codes: Vec<_> = r
        .findings
        .iter()
        .map(|f| f.code.as_deref().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "F401",
            "F403",
            "E711",
            "F841",
            "E741",
            "F541",
            "invalid-syntax"
        ]
    );
    let first = &r.findings[0];
    assert_eq!(first.message, "`os` imported but unused");
    assert_eq!(first.file.as_deref(), Some("/project/app.py"));
    assert_eq!((first.line, first.column), (Some(1), Some(8)));

    for bad in ["", "garbage", "{}", "[1]", "[{\"code\":", "\u{0}"] {
        let e = ruff_json(bad).expect_err(bad);
        assert_eq!(e.format, "ruff");
    }
    assert!(ruff_json("[]\n").unwrap().findings.is_empty());
}

// ---------------------------------------------------------------------------------------
// No parser panics

fn run_all(text: &str) {
    let _ = junit(text);
    let _ = libtest(text);
    let _ = tap(text);
    let _ = lcov(text);
    let _ = cobertura(text);
    let _ = cargo_json(text);
    let _ = eslint_json(text);
    let _ = ruff_json(text);
    for line in text.lines() {
        let _ = libtest_progress(line);
    }
}

const FIXTURES: [&str; 13] = [
    PYTEST_JUNIT,
    NEXTEST_JUNIT,
    NEXTEST_RETRIES,
    LIBTEST,
    LIBTEST_ABORT,
    NODE_TAP,
    LCOV,
    LLVM_COV_SUMMARY,
    COBERTURA,
    CLIPPY,
    BUILD_ERROR,
    ESLINT,
    RUFF,
];

#[test]
fn every_parser_survives_every_fixture_and_its_cuts() {
    for text in FIXTURES {
        for at in (0..text.len()).step_by(7) {
            run_all(prefix(text, at));
        }
    }
    let deep = "<a>".repeat(100_000);
    assert!(junit(&deep).is_err());
    assert!(cobertura(&deep).is_err());
    let deep_json = "[".repeat(100_000);
    assert!(eslint_json(&deep_json).is_err());
    run_all(&deep);
    run_all(&deep_json);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_parser_panics_on_arbitrary_text(text in any::<String>()) {
        run_all(&text);
    }

    #[test]
    fn no_parser_panics_on_garbled_fixtures(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<String>()), 1..4),
    ) {
        let mut text = FIXTURES[which].to_string();
        for (at, insert) in edits {
            let i = at.index(text.len() + 1);
            let i = prefix(&text, i).len();
            text.insert_str(i, &insert);
        }
        run_all(&text);
    }
}

// ---------------------------------------------------------------------------------------
// Test durations: libtest's JSON lines (`exec_time`), `--report-time`, TAP `duration_ms`,
// JUnit `time`.

/// `cargo test -- -Z unstable-options --format json --report-time` on a nightly toolchain:
/// cargo's header on stderr, libtest's events on stdout (one pipe, as the QA runner reads it).
const LIBTEST_JSON: &str = r#"   Compiling shapes v0.1.0 (/project)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.41s
     Running unittests src/lib.rs (target/debug/deps/shapes-8dbf0753c22d4c02)
{ "type": "suite", "event": "started", "test_count": 3 }
{ "type": "test", "event": "started", "name": "tests::adds" }
{ "type": "test", "event": "started", "name": "tests::fails" }
{ "type": "test", "event": "started", "name": "tests::slow" }
{ "type": "test", "name": "tests::slow", "event": "ignored", "message": "needs a database" }
{ "type": "test", "name": "tests::adds", "event": "ok", "exec_time": 0.000154 }
{ "type": "test", "name": "tests::fails", "event": "failed", "exec_time": 0.000372, "stdout": "\nthread 'tests::fails' panicked at src/lib.rs:14:9:\nassertion `left == right` failed\n  left: 1\n right: 2\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n" }
{ "type": "suite", "event": "failed", "passed": 1, "failed": 1, "ignored": 1, "measured": 0, "filtered_out": 0, "exec_time": 0.000861 }
     Running tests/integration.rs (target/debug/deps/integration-21bedb02dacdb1f4)
{ "type": "suite", "event": "started", "test_count": 1 }
{ "type": "test", "event": "started", "name": "integration_adds" }
{ "type": "test", "name": "integration_adds", "event": "ok", "exec_time": "0.002s" }
{ "type": "suite", "event": "ok", "passed": 1, "failed": 0, "ignored": 0, "measured": 0, "filtered_out": 0, "exec_time": 0.0021 }
"#;

#[test]
fn libtest_json_lines_give_the_counts_messages_and_durations() {
    let r = libtest(LIBTEST_JSON);
    assert!(r.complete);
    assert_eq!(r.announced, Some(4));
    assert_eq!(r.tests.len(), 4);
    assert_eq!(counts(&r), (2, 1, 1));
    let adds = test(&r, "src/lib.rs::tests::adds");
    assert_eq!(adds.outcome, TestOutcome::Passed);
    assert!((adds.duration.unwrap() - 0.000154).abs() < 1e-12);
    let fails = test(&r, "src/lib.rs::tests::fails");
    assert_eq!(fails.outcome, TestOutcome::Failed);
    assert!((fails.duration.unwrap() - 0.000372).abs() < 1e-12);
    assert!(
        message(fails).starts_with("thread 'tests::fails' panicked at src/lib.rs:14:9:"),
        "{}",
        message(fails)
    );
    let slow = test(&r, "src/lib.rs::tests::slow");
    assert_eq!(slow.outcome, TestOutcome::Skipped);
    assert_eq!(slow.message.as_deref(), Some("needs a database"));
    assert_eq!(slow.duration, None);
    // An older nightly's string form.
    let int = test(&r, "tests/integration.rs::integration_adds");
    assert!((int.duration.unwrap() - 0.002).abs() < 1e-12);

    // A binary that stopped before its `suite` end is incomplete, its tests kept.
    let cut = LIBTEST_JSON
        .lines()
        .take_while(|l| !l.contains("\"event\": \"failed\", \"passed\""))
        .collect::<Vec<_>>()
        .join("\n");
    let r = libtest(&cut);
    assert!(!r.complete);
    assert_eq!(r.tests.len(), 3);

    // The live progress reads the same lines.
    let (mut total, mut done) = (0, 0);
    for line in LIBTEST_JSON.lines() {
        match libtest_progress(line) {
            Some(LibtestLine::Announced(n)) => total += n,
            Some(LibtestLine::Finished { .. }) => done += 1,
            None => {}
        }
    }
    assert_eq!((done, total), (4, 4));
    // JSON that is not a libtest event is not a test.
    assert_eq!(
        libtest_progress(r#"{ "type": "test", "event": "started", "name": "x" }"#),
        None
    );
    assert_eq!(
        libtest_progress(r#"{"reason":"build-finished","success":true}"#),
        None
    );
}

#[test]
fn report_time_junit_and_tap_durations_are_read() {
    let r = libtest("running 2 tests\ntest a ... ok <0.003s>\ntest b ... FAILED <1.250s>\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n");
    assert_eq!(test(&r, "a").duration, Some(0.003));
    assert_eq!(test(&r, "b").duration, Some(1.25));
    let r = tap("TAP version 13\nok 1 - fast\n  ---\n  duration_ms: 12.5\n  ...\nnot ok 2 - slow\n  ---\n  duration_ms: 2000\n  error: 'boom'\n  ...\n1..2\n");
    assert_eq!(test(&r, "fast").duration, Some(0.0125));
    assert_eq!(test(&r, "slow").duration, Some(2.0));
    let r = junit(r#"<testsuites><testsuite name="s" tests="2"><testcase classname="m" name="quick" time="0.25"/><testcase classname="m" name="long" time="1,500.5"/></testsuite></testsuites>"#).unwrap();
    assert_eq!(test(&r, "m::quick").duration, Some(0.25));
    assert_eq!(test(&r, "m::long").duration, Some(1500.5));
}

/// Writes `cases` as libtest JSON lines, TAP and JUnit, the way each runner would.
fn render_formats(cases: &[(String, TestOutcome, u32)]) -> (String, String, String) {
    let mut json = format!(
        "{{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": {} }}\n",
        cases.len()
    );
    let mut tap_text = "TAP version 13\n".to_string();
    let mut xml = format!(
        "<testsuites><testsuite name=\"p\" tests=\"{}\">",
        cases.len()
    );
    for (i, (name, outcome, micros)) in cases.iter().enumerate() {
        let secs = *micros as f64 / 1e6;
        let event = match outcome {
            TestOutcome::Passed => "ok",
            TestOutcome::Failed => "failed",
            TestOutcome::Skipped => "ignored",
        };
        json.push_str(&format!(
            "{{ \"type\": \"test\", \"name\": \"{name}\", \"event\": \"{event}\", \"exec_time\": {secs} }}\n"
        ));
        let (ok, directive) = match outcome {
            TestOutcome::Passed => ("ok", ""),
            TestOutcome::Failed => ("not ok", ""),
            TestOutcome::Skipped => ("ok", " # SKIP later"),
        };
        tap_text.push_str(&format!(
            "{ok} {} - {name}{directive}\n  ---\n  duration_ms: {}\n  ...\n",
            i + 1,
            secs * 1000.0
        ));
        let inner = match outcome {
            TestOutcome::Passed => String::new(),
            TestOutcome::Failed => "<failure message=\"no\"/>".into(),
            TestOutcome::Skipped => "<skipped/>".into(),
        };
        xml.push_str(&format!(
            "<testcase classname=\"c\" name=\"{name}\" time=\"{secs}\">{inner}</testcase>"
        ));
    }
    json.push_str("{ \"type\": \"suite\", \"event\": \"ok\", \"passed\": 0, \"failed\": 0, \"ignored\": 0, \"measured\": 0, \"filtered_out\": 0 }\n");
    tap_text.push_str(&format!("1..{}\n", cases.len()));
    xml.push_str("</testsuite></testsuites>");
    (json, tap_text, xml)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// Known tests with known durations, written by each runner's format, read back with the
    /// same names, outcomes, counts and durations.
    #[test]
    fn durations_round_trip_through_every_format(
        raw in prop::collection::vec(
            (0..3u8, 0..5_000_000u32),
            1..12,
        ),
    ) {
        let cases: Vec<(String, TestOutcome, u32)> = raw
            .iter()
            .enumerate()
            .map(|(i, (o, micros))| {
                let outcome = [TestOutcome::Passed, TestOutcome::Failed, TestOutcome::Skipped][*o as usize];
                (format!("t{i}"), outcome, *micros)
            })
            .collect();
        let (json, tap_text, xml) = render_formats(&cases);
        let reports = [
            ("libtest", libtest(&json), ""),
            ("tap", tap(&tap_text), ""),
            ("junit", junit(&xml).unwrap(), "c::"),
        ];
        for (format, r, prefix) in reports {
            prop_assert_eq!(r.tests.len(), cases.len(), "{}", format);
            prop_assert!(r.complete, "{}", format);
            for (name, outcome, micros) in &cases {
                let t = test(&r, &format!("{prefix}{name}"));
                prop_assert_eq!(t.outcome, *outcome, "{} {}", format, name);
                let d = t.duration.expect("a duration");
                let want = *micros as f64 / 1e6;
                prop_assert!((d - want).abs() < 1e-9, "{} {}: {} != {}", format, name, d, want);
            }
        }
    }
}

#[test]
fn jest_json_counts_as_jest_does() {
    let r =
        overlord::qa::parse::jest_json(include_str!("fixtures/qa/jest.json"), "/project").unwrap();
    use overlord::qa::results::TestOutcome::*;
    assert_eq!(
        (r.count(Passed), r.count(Failed), r.count(Skipped)),
        (3, 1, 1)
    );
    assert_eq!(r.announced, Some(5));
    let failed: Vec<_> = r.tests.iter().filter(|t| t.outcome == Failed).collect();
    assert_eq!(failed[0].name, "src/strings.test.js::wrong length");
    assert!(failed[0]
        .message
        .as_deref()
        .unwrap()
        .contains("Expected: 4"));
    assert!(r
        .tests
        .iter()
        .any(|t| t.name == "src/math.test.js::math::adds"));
}

#[test]
fn biome_json_counts_as_biome_does() {
    let text = include_str!("fixtures/qa/biome.json");
    let r = overlord::qa::parse::biome_json(text).unwrap();
    assert_eq!((r.errors(), r.warnings()), (5, 0));
    let var = r
        .findings
        .iter()
        .find(|f| f.code.as_deref() == Some("lint/style/noVar"))
        .unwrap();
    assert_eq!(
        (var.file.as_deref(), var.line, var.column),
        (Some("src/strings.js"), Some(6), Some(3))
    );
    // What Biome counted but did not print still counts.
    let fewer = text
        .replacen(
            "\"diagnosticsNotPrinted\":0",
            "\"diagnosticsNotPrinted\":2",
            1,
        )
        .replacen("\"errors\":5", "\"errors\":7", 1);
    assert_eq!(overlord::qa::parse::biome_json(&fewer).unwrap().errors(), 7);
    assert!(overlord::qa::parse::biome_json("garbage").is_err());
}

#[test]
fn oxlint_json_counts_as_oxlint_does() {
    let r = overlord::qa::parse::oxlint_json(include_str!("fixtures/qa/oxlint.json")).unwrap();
    assert_eq!((r.errors(), r.warnings()), (0, 2));
    let f = &r.findings[1];
    assert_eq!(f.code.as_deref(), Some("eslint(no-unused-vars)"));
    assert_eq!(
        (f.file.as_deref(), f.line, f.column),
        (Some("a.js"), Some(2), Some(7))
    );
}
