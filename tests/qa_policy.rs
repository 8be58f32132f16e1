//! The QA policy file: the default file is the default policy; both seed shapes read the same;
//! every mistake is reported, all at once, at its exact line and column; garbage never panics.

use overlord::config::DEFAULT_QA_POLICY;
use overlord::protocol::model::Impact;
use overlord::qa::policy::{
    self, load, load_as, parse, AutoMergeIf, GateSettings, NotMeasured, Policy, PolicyError,
    PromotionPolicy, RequireHumanIf,
};
use proptest::prelude::*;

/// The problems of an invalid policy, as `(line, column, message)`.
fn errors(text: &str) -> Vec<(usize, usize, String)> {
    parse(text, "QA_POLICY.yaml")
        .expect_err("should be invalid")
        .into_iter()
        .map(|e| (e.line, e.column, e.message))
        .collect()
}

/// The one problem of an invalid policy.
fn error(text: &str) -> (usize, usize, String) {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    all.remove(0)
}

fn ok(text: &str) -> Policy {
    parse(text, "QA_POLICY.yaml").unwrap_or_else(|e| panic!("should be valid: {e:#?}"))
}

// ---------------------------------------------------------------------------------------------
// Shapes and defaults

#[test]
fn the_default_file_is_the_default_policy() {
    assert_eq!(ok(DEFAULT_QA_POLICY), Policy::default());
    let p = Policy::default();
    assert_eq!(p.auto_merge_if.coverage_min, Some(80.0));
    assert_eq!(p.auto_merge_if.lint_errors, Some(0));
    assert!(p.auto_merge_if.no_open_critical_concerns);
    assert_eq!(p.require_human_if.impact, Some(Impact::High));
    assert_eq!(p.gates.reproducibility_runs, 3);
    assert_eq!(p.gates.not_measured, NotMeasured::RequireHuman);
    assert_eq!(p.gates.timeout_secs, None);
    assert_eq!(
        p.promotion.docs_required,
        ["PROJECT_OVERVIEW.md", "TEST_RESULTS.md", "QA_REPORT.md"]
    );
}

#[test]
fn an_empty_file_is_the_default_policy() {
    for text in [
        "",
        "\n\n",
        "# nothing but a comment\n",
        "---\n",
        "~\n",
        "null",
    ] {
        assert_eq!(ok(text), Policy::default(), "{text:?}");
    }
}

#[test]
fn absent_and_null_sections_take_their_defaults() {
    let p = ok("promotion_policy:\n  e2e_tests_required: false\nauto_merge_if:\ngates: ~\n");
    assert_eq!(p.auto_merge_if, AutoMergeIf::default());
    assert_eq!(p.require_human_if, RequireHumanIf::default());
    assert_eq!(p.gates, GateSettings::default());
    assert_eq!(
        p.promotion,
        PromotionPolicy {
            e2e_tests_required: false,
            reproducibility_min: None,
            docs_required: vec![],
        }
    );
}

#[test]
fn in_a_present_section_a_left_out_condition_is_off() {
    let p = ok(
        "auto_merge_if: { coverage_min: 70, lint_errors: ~ }\nrequire_human_if: { gate_fail: true }\ngates: { not_measured: block }\n",
    );
    assert_eq!(
        p.auto_merge_if,
        AutoMergeIf {
            all_tests_passed: None,
            coverage_min: Some(70.0),
            reproducibility_min: None,
            lint_errors: None,
            build_passed: None,
            drift_max_percent: None,
            no_open_critical_concerns: true,
            docs_required: vec![],
        }
    );
    assert_eq!(
        p.require_human_if,
        RequireHumanIf {
            impact: None,
            gate_fail: true,
            phase_promotion: false,
        }
    );
    assert_eq!(
        p.gates,
        GateSettings {
            not_measured: NotMeasured::Block,
            ..GateSettings::default()
        }
    );
}

const SEED_000: &str = "\
auto_merge_if: { all_tests_passed: true, coverage_min: 80, drift_max_percent: 2 }
require_human_if: { impact: high, gate_fail: true, phase_promotion: true }
promotion_policy: { e2e_tests_required: true, reproducibility_min: 95, docs_required: [PROJECT_OVERVIEW.md, TEST_RESULTS.md, QA_REPORT.md] }
";

const SEED_001: &str = "\
merge_policy:
  auto_merge_if:
    - all_tests_passed: true
    - coverage_min: 80
    - drift_max_percent: 2
  require_human_if:
    - impact: high
    - gate_fail: true
    - phase_promotion: true
promotion_policy:
  e2e_tests_required: true
  reproducibility_min: 95
  docs_required:
    - PROJECT_OVERVIEW.md
    - TEST_RESULTS.md
    - QA_REPORT.md
";

const LIST_AT_TOP: &str = "\
auto_merge_if:
  - all_tests_passed: true
  - coverage_min: 80.0
  - drift_max_percent: 2
require_human_if: [impact: high, gate_fail: true, phase_promotion: true]
promotion_policy: { e2e_tests_required: true, reproducibility_min: 95, docs_required: [PROJECT_OVERVIEW.md, TEST_RESULTS.md, QA_REPORT.md] }
";

const MAP_IN_MERGE_POLICY: &str = "\
promotion_policy: { e2e_tests_required: true, reproducibility_min: 95, docs_required: [PROJECT_OVERVIEW.md, TEST_RESULTS.md, QA_REPORT.md] }
merge_policy:
  require_human_if: { impact: high, gate_fail: true, phase_promotion: true }
  auto_merge_if:
    all_tests_passed: true
    coverage_min: 80
    drift_max_percent: 2
";

#[test]
fn both_seed_shapes_give_the_same_policy() {
    let expected = Policy {
        auto_merge_if: AutoMergeIf {
            all_tests_passed: Some(true),
            coverage_min: Some(80.0),
            reproducibility_min: None,
            lint_errors: None,
            build_passed: None,
            drift_max_percent: Some(2.0),
            no_open_critical_concerns: true,
            docs_required: vec![],
        },
        require_human_if: RequireHumanIf::default(),
        promotion: PromotionPolicy::default(),
        gates: GateSettings::default(),
    };
    for (name, text) in [
        ("seed 000", SEED_000),
        ("seed 001", SEED_001),
        ("lists at the top", LIST_AT_TOP),
        ("maps under merge_policy", MAP_IN_MERGE_POLICY),
    ] {
        assert_eq!(ok(text), expected, "{name}");
    }
}

#[test]
fn the_engine_keys_are_read() {
    let p = ok("\
auto_merge_if:
  no_open_critical_concerns: false
  docs_required: [docs/QA_REPORT.md, 'CHANGELOG.md']
require_human_if:
  impact: Medium
gates:
  reproducibility_runs: 1
  not_measured: ignore
  timeout_secs: 600
");
    assert!(!p.auto_merge_if.no_open_critical_concerns);
    assert_eq!(
        p.auto_merge_if.docs_required,
        ["docs/QA_REPORT.md", "CHANGELOG.md"]
    );
    assert_eq!(p.require_human_if.impact, Some(Impact::Medium));
    assert_eq!(
        p.gates,
        GateSettings {
            reproducibility_runs: 1,
            not_measured: NotMeasured::Ignore,
            timeout_secs: Some(600),
        }
    );
    assert_eq!(
        ok("gates: {reproducibility_runs: 20}")
            .gates
            .reproducibility_runs,
        20
    );
    assert_eq!(
        ok("auto_merge_if: {coverage_min: 0, drift_max_percent: 100}")
            .auto_merge_if
            .coverage_min,
        Some(0.0)
    );
    assert_eq!(
        ok("auto_merge_if: {coverage_min: 87.5}")
            .auto_merge_if
            .coverage_min,
        Some(87.5)
    );
}

#[test]
fn anchors_and_aliases_are_followed() {
    let p = ok("\
auto_merge_if:
  docs_required: &docs [QA_REPORT.md]
promotion_policy:
  docs_required: *docs
");
    assert_eq!(p.promotion.docs_required, ["QA_REPORT.md"]);
    assert_eq!(p.auto_merge_if.docs_required, ["QA_REPORT.md"]);
}

#[test]
fn the_policy_serializes() {
    let json = serde_json::to_value(Policy::default()).unwrap();
    assert_eq!(json["gates"]["not_measured"], "require_human");
    assert_eq!(json["require_human_if"]["impact"], "high");
    assert_eq!(json["auto_merge_if"]["coverage_min"], 80.0);
}

// ---------------------------------------------------------------------------------------------
// Mistakes, each at its line and column

#[test]
fn a_yaml_syntax_error_is_located_by_the_parser() {
    let (line, column, message) = error("auto_merge_if:\n  coverage_min: \"80\n");
    assert_eq!((line, column), (2, 17), "{message}");
    assert!(message.starts_with("invalid YAML: "), "{message}");

    let (line, column, message) = error("auto_merge_if: {coverage_min: 80\ngates: {}\n");
    assert!(message.starts_with("invalid YAML: "), "{message}");
    assert_eq!(line, 2, "{message}");
    assert!(column >= 1);
}

#[test]
fn unknown_keys_are_located_with_a_suggestion() {
    assert_eq!(
        error("auto_merge_if:\n  all_tests_passed: true\n  coverge_min: 80\n"),
        (
            3,
            3,
            "unknown key 'coverge_min' in auto_merge_if — did you mean coverage_min?".into()
        )
    );
    assert_eq!(
        error("gates:\n  not_measure: block\n"),
        (
            2,
            3,
            "unknown key 'not_measure' in gates — did you mean not_measured?".into()
        )
    );
    assert_eq!(
        error("promotion_polcy: {}\n"),
        (
            1,
            1,
            "unknown key 'promotion_polcy' at the top level — did you mean promotion_policy?"
                .into()
        )
    );
    assert_eq!(
        error("\nmerge_policy: { auto_merge_if: {}, flavour: vanilla }\n"),
        (
            2,
            36,
            "unknown key 'flavour' in merge_policy (expected one of: auto_merge_if, require_human_if)"
                .into()
        )
    );
    // In the list form too.
    assert_eq!(
        error("require_human_if:\n  - impact: high\n  - gate_fails: true\n"),
        (
            3,
            5,
            "unknown key 'gate_fails' in require_human_if — did you mean gate_fail?".into()
        )
    );
}

#[test]
fn a_key_in_the_wrong_section_is_pointed_to_its_place() {
    assert_eq!(
        error("coverage_min: 80\n"),
        (
            1,
            1,
            "'coverage_min' does not go at the top level; it goes under auto_merge_if".into()
        )
    );
    assert_eq!(
        error("auto_merge_if:\n  reproducibility_runs: 5\n"),
        (
            2,
            3,
            "'reproducibility_runs' does not go in auto_merge_if; it goes under gates".into()
        )
    );
    assert_eq!(
        error("merge_policy:\n  promotion_policy: {}\n"),
        (
            2,
            3,
            "'promotion_policy' does not go in merge_policy; it goes at the top level".into()
        )
    );
    assert_eq!(
        error("gates: {reproducibility_min: 95}\n"),
        (
            1,
            9,
            "'reproducibility_min' does not go in gates; it goes under auto_merge_if or under promotion_policy".into()
        )
    );
}

#[test]
fn wrong_types_are_located_at_the_value() {
    assert_eq!(
        error("auto_merge_if: { all_tests_passed: true, coverage_min: \"eighty\" }\n"),
        (
            1,
            56,
            "auto_merge_if.coverage_min: expected a percentage from 0 to 100, found the string \"eighty\"".into()
        )
    );
    assert_eq!(
        error("auto_merge_if:\n  all_tests_passed: 1\n"),
        (
            2,
            21,
            "auto_merge_if.all_tests_passed: expected true or false, found the integer 1".into()
        )
    );
    assert_eq!(
        error("auto_merge_if:\n  all_tests_passed: \"yes\"\n"),
        (
            2,
            21,
            "auto_merge_if.all_tests_passed: expected true or false, found the string \"yes\" — YAML 1.2 reads yes/no/on/off as text; write true or false".into()
        )
    );
    assert_eq!(
        error("require_human_if:\n  gate_fail: 'true'\n"),
        (
            2,
            14,
            "require_human_if.gate_fail: expected true or false, found the string \"true\" — write it without quotes".into()
        )
    );
    assert_eq!(
        error("promotion_policy:\n  docs_required: QA_REPORT.md\n"),
        (
            2,
            18,
            "promotion_policy.docs_required: expected a list of file paths such as [QA_REPORT.md], found the string \"QA_REPORT.md\"".into()
        )
    );
    assert_eq!(
        error("promotion_policy:\n  reproducibility_min: \"95\"\n"),
        (
            2,
            24,
            "promotion_policy.reproducibility_min: expected a percentage from 0 to 100, found the string \"95\" — write it without quotes".into()
        )
    );
    assert_eq!(
        error("gates: [reproducibility_runs: 3]\n"),
        (
            1,
            8,
            "gates: expected a mapping (`key: value` lines), found a list".into()
        )
    );
    assert_eq!(
        error("auto_merge_if: strict\n"),
        (
            1,
            16,
            "auto_merge_if: expected a mapping (`condition: value` lines) or a list of `- condition: value` entries, found the string \"strict\"".into()
        )
    );
    assert_eq!(
        error("auto_merge_if:\n  coverage_min: !!int eighty\n"),
        (
            2,
            17,
            "auto_merge_if.coverage_min: expected a percentage from 0 to 100, found \"eighty\", which is not a valid !!int".into()
        )
    );
}

#[test]
fn a_list_entry_holds_one_condition() {
    assert_eq!(
        error("auto_merge_if:\n  - all_tests_passed: true\n    coverage_min: 80\n"),
        (
            3,
            5,
            "auto_merge_if: one condition per list entry; give 'coverage_min' an entry of its own (- coverage_min: …)".into()
        )
    );
    assert_eq!(
        error("auto_merge_if:\n  - all_tests_passed\n"),
        (
            2,
            5,
            "auto_merge_if: expected a `- condition: value` entry, found the string \"all_tests_passed\"".into()
        )
    );
    assert_eq!(
        error("require_human_if: [{}]\n"),
        (
            1,
            20,
            "require_human_if: expected a `- condition: value` entry, found a mapping".into()
        )
    );
    // The list form is for the conditions, not for the other sections.
    assert_eq!(
        error("promotion_policy:\n  - e2e_tests_required: true\n"),
        (
            2,
            3,
            "promotion_policy: expected a mapping (`key: value` lines), found a list".into()
        )
    );
}

#[test]
fn the_root_must_be_a_mapping() {
    assert_eq!(
        error("- auto_merge_if: {}\n"),
        (
            1,
            1,
            "the policy must be a mapping of sections (auto_merge_if, require_human_if, promotion_policy, gates), found a list".into()
        )
    );
    assert_eq!(
        error("\n  strict\n"),
        (
            2,
            3,
            "the policy must be a mapping of sections (auto_merge_if, require_human_if, promotion_policy, gates), found the string \"strict\"".into()
        )
    );
    assert_eq!(
        error("? [a, b]\n: 1\n"),
        (1, 3, "a key must be a name, found a list".into())
    );
}

#[test]
fn values_out_of_range_are_located() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "auto_merge_if:\n  coverage_min: 120\n",
            (2, 17),
            "auto_merge_if.coverage_min: expected a percentage from 0 to 100, found the integer 120",
        ),
        (
            "auto_merge_if:\n  drift_max_percent: -0.5\n",
            (2, 22),
            "auto_merge_if.drift_max_percent: expected a percentage from 0 to 100, found the number -0.5",
        ),
        (
            "promotion_policy: {reproducibility_min: .nan}\n",
            (1, 41),
            "promotion_policy.reproducibility_min: expected a percentage from 0 to 100, found the number .nan",
        ),
        (
            "auto_merge_if:\n  lint_errors: -1\n",
            (2, 16),
            "auto_merge_if.lint_errors: expected a whole number (0 or more), found the integer -1",
        ),
        (
            "auto_merge_if:\n  lint_errors: 2.5\n",
            (2, 16),
            "auto_merge_if.lint_errors: expected a whole number (0 or more), found the number 2.5",
        ),
        (
            "gates:\n  reproducibility_runs: 0\n",
            (2, 25),
            "gates.reproducibility_runs: expected a whole number from 1 to 20, found the integer 0",
        ),
        (
            "gates:\n  reproducibility_runs: 21\n",
            (2, 25),
            "gates.reproducibility_runs: expected a whole number from 1 to 20, found the integer 21",
        ),
        (
            "gates:\n  timeout_secs: 0\n",
            (2, 17),
            "gates.timeout_secs: expected a whole number of seconds (1 or more), found the integer 0",
        ),
        (
            "require_human_if:\n  impact: huge\n",
            (2, 11),
            "require_human_if.impact: unknown impact 'huge' (expected low, medium or high)",
        ),
        (
            "require_human_if:\n  impact: 3\n",
            (2, 11),
            "require_human_if.impact: expected low, medium or high, found the integer 3",
        ),
        (
            "gates:\n  not_measured: maybe\n",
            (2, 17),
            "gates.not_measured: unknown value 'maybe' (expected block, require_human or ignore)",
        ),
        (
            "gates:\n  not_measured: require-human\n",
            (2, 17),
            "gates.not_measured: unknown value 'require-human' — did you mean require_human?",
        ),
    ];
    for (text, at, message) in cases {
        assert_eq!(error(text), (at.0, at.1, message.to_string()), "{text:?}");
    }
}

#[test]
fn document_lists_hold_distinct_paths_inside_the_repository() {
    let all = errors(
        "\
promotion_policy:
  docs_required:
    - QA_REPORT.md
    - 2024
    - /etc/passwd
    - ../outside.md
    - ''
    - QA_REPORT.md
",
    );
    assert_eq!(
        all,
        vec![
            (
                4,
                7,
                "promotion_policy.docs_required: expected a file path, found the integer 2024"
                    .into()
            ),
            (
                5,
                7,
                "promotion_policy.docs_required: '/etc/passwd' must be a path inside the repository (relative, without '..')".into()
            ),
            (
                6,
                7,
                "promotion_policy.docs_required: '../outside.md' must be a path inside the repository (relative, without '..')".into()
            ),
            (7, 7, "promotion_policy.docs_required: an empty path".into()),
            (
                8,
                7,
                "promotion_policy.docs_required: 'QA_REPORT.md' is listed twice (first at line 3, column 7)".into()
            ),
        ]
    );
}

#[test]
fn duplicates_are_reported_at_the_second_occurrence() {
    // The same key twice in a mapping.
    assert_eq!(
        error("auto_merge_if:\n  coverage_min: 80\n  coverage_min: 90\n"),
        (
            3,
            3,
            "'coverage_min' is given twice (first at line 2, column 3)".into()
        )
    );
    // The same condition in two entries of the list form.
    assert_eq!(
        error(
            "auto_merge_if:\n  - coverage_min: 80\n  - build_passed: true\n  - coverage_min: 80\n"
        ),
        (
            4,
            5,
            "'coverage_min' is given twice (first at line 2, column 5)".into()
        )
    );
    // A section both under merge_policy and at the top level, either way round.
    assert_eq!(
        error("merge_policy:\n  auto_merge_if: {}\nauto_merge_if: {}\n"),
        (
            3,
            1,
            "'auto_merge_if' is given twice (first at line 2, column 3)".into()
        )
    );
    assert_eq!(
        error("require_human_if: {}\nmerge_policy:\n  require_human_if: []\n"),
        (
            3,
            3,
            "'require_human_if' is given twice (first at line 1, column 1)".into()
        )
    );
    // A section twice at the top level.
    assert_eq!(
        error("gates: {}\ngates: {}\n"),
        (
            2,
            1,
            "'gates' is given twice (first at line 1, column 1)".into()
        )
    );
}

#[test]
fn a_second_document_is_refused() {
    assert_eq!(
        error("gates: {}\n---\ngates: {}\n"),
        (
            2,
            1,
            "a second YAML document; the policy is one document".into()
        )
    );
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = "\
merge_policy:
  auto_merge_if:
    - all_tests_passed: 1
    - coverage_min: 120
    - lint_error: 0
  require_human_if:
    - impact: huge
promotion_policy:
  docs_required: QA_REPORT.md
gates:
  not_measured: maybe
  reproducibility_runs: 2.5
colour: blue
";
    let found: Vec<(usize, usize)> = errors(text).into_iter().map(|(l, c, _)| (l, c)).collect();
    assert_eq!(
        found,
        vec![
            (3, 25),
            (4, 21),
            (5, 7),
            (7, 15),
            (9, 18),
            (11, 17),
            (12, 25),
            (13, 1)
        ]
    );
    let all = parse(text, "QA_POLICY.yaml").unwrap_err();
    assert_eq!(
        all[2].message,
        "unknown key 'lint_error' in auto_merge_if — did you mean lint_errors?"
    );
}

#[test]
fn an_error_prints_as_file_line_column_message() {
    let e = parse("gates: {timeout_secs: 0}", ".overlord/QA_POLICY.yaml").unwrap_err();
    assert_eq!(
        e[0].to_string(),
        ".overlord/QA_POLICY.yaml:1:23: gates.timeout_secs: expected a whole number of seconds (1 or more), found the integer 0"
    );
    let whole = PolicyError {
        file: "QA_POLICY.yaml".into(),
        line: 0,
        column: 0,
        message: "cannot be read".into(),
    };
    assert_eq!(whole.to_string(), "QA_POLICY.yaml: cannot be read");
}

#[test]
fn hostile_aliases_and_nesting_are_refused_not_followed() {
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let (_, _, message) = error(&laughs);
    assert_eq!(message, "aliases copy more than 10000 nodes");

    let deep = "- ".repeat(5000) + "x\n";
    let (line, column, message) = error(&deep);
    assert_eq!(message, "nested more than 64 levels deep");
    assert_eq!((line, column), (1, 129));

    let deep_flow = "[".repeat(200);
    assert!(parse(&deep_flow, "f").is_err());
}

// ---------------------------------------------------------------------------------------------
// Loading

#[test]
fn a_missing_file_gives_the_defaults_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("QA_POLICY.yaml");
    let (p, warning) = load(&path).unwrap();
    assert_eq!(p, Policy::default());
    assert_eq!(
        warning.unwrap(),
        format!(
            "QA_POLICY.yaml not found at {}; using the default policy",
            path.display()
        )
    );
}

#[test]
fn a_file_loads_or_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("QA_POLICY.yaml");

    std::fs::write(&path, SEED_001).unwrap();
    let (p, warning) = load(&path).unwrap();
    assert_eq!(p, ok(SEED_000));
    assert_eq!(warning, None);

    std::fs::write(&path, "gates:\n  reproducibility_runs: 50\n").unwrap();
    let e = load_as(&path, ".overlord/QA_POLICY.yaml").unwrap_err();
    assert_eq!(
        e.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [".overlord/QA_POLICY.yaml:2:25: gates.reproducibility_runs: expected a whole number from 1 to 20, found the integer 50"]
    );
    let e = load(&path).unwrap_err();
    assert_eq!(e[0].file, path.display().to_string());

    std::fs::write(&path, b"gates:\n  not_measured: bl\xffck\n").unwrap();
    let e = load(&path).unwrap_err();
    assert_eq!(
        (e[0].line, e[0].column, e[0].message.as_str()),
        (2, 19, "the file is not UTF-8 text")
    );

    let e = load(dir.path()).unwrap_err();
    assert_eq!((e[0].line, e[0].column), (0, 0));
    assert!(e[0].message.starts_with("cannot be read: "), "{}", e[0]);
    assert_eq!(policy::FILE_NAME, "QA_POLICY.yaml");
}

// ---------------------------------------------------------------------------------------------
// Garbage

/// Text that looks like a policy: the default file's lines, shuffled, cut and spliced.
fn policyish() -> impl Strategy<Value = String> {
    let lines: Vec<String> = DEFAULT_QA_POLICY.lines().map(String::from).collect();
    let pieces = prop_oneof![
        proptest::sample::select(lines),
        Just("  - coverage_min: 80".to_string()),
        Just("merge_policy:".to_string()),
        Just("  x: &a [*a]".to_string()),
        Just("---".to_string()),
        "[ -~]{0,30}",
    ];
    proptest::collection::vec(pieces, 0..30).prop_map(|v| v.join("\n"))
}

#[test]
fn garbage_found_before_is_located_inside_the_text() {
    for text in [
        "%0",
        "[>,a",
        "{ꬉ",
        "_:\n>-",
        "merge_policy:\n$",
        "\u{feff}",
        "\0",
        "- - -",
    ] {
        check_garbage(text);
    }
    // The parser places an error at the end of a stream on a line of its own; it is reported
    // at the end of the text instead.
    assert_eq!(error("[>,a").0, 1);
}

proptest! {
    #[test]
    fn parse_never_panics(text in any::<String>()) {
        check_garbage(&text);
    }

    #[test]
    fn parse_never_panics_on_yaml_like_text(text in "[a-z_:{}\\[\\],&*!#'\"|>?~ \n\t-]{0,80}") {
        check_garbage(&text);
    }

    #[test]
    fn parse_never_panics_on_policy_like_text(text in policyish()) {
        check_garbage(&text);
    }
}

/// Whatever the outcome, an error is located inside the text.
fn check_garbage(text: &str) {
    if let Err(all) = parse(text, "f") {
        assert!(!all.is_empty());
        let lines = text.split('\n').count().max(1);
        for e in all {
            assert!(e.line >= 1 && e.line <= lines, "{e} in {text:?}");
            assert!(e.column >= 1, "{e}");
        }
    }
}
