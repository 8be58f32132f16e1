//! Measured evidence against the policy: each gate's outcome, the flaky tests, the drift from
//! the last checkpoint's run, and the decision with its reasons. Pure, so the same evidence
//! always gives the same verdict (`qa show` re-checks a stored run this way).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::{AutoMergeIf, NotMeasured, Policy};
use super::results::{Coverage, LintReport, TestOutcome, TestReport};
use crate::protocol::model::{GateOutcome, GateResult, Impact, QaDecision, QaMetrics};

/// What one gate's tool gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum Measure<T> {
    /// The tool ran and its output was read.
    Measured(T),
    /// No command, the tool is missing, or its output could not be read: why.
    NotMeasured(String),
    /// The run could not complete (a timeout, a crash mid-run): why, and what it reported
    /// before it stopped.
    Errored(String, Option<T>),
}

impl<T> Measure<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Measure::Measured(v) | Measure::Errored(_, Some(v)) => Some(v),
            _ => None,
        }
    }
}

/// The build: whether it passed, and a line saying how that was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildMeasure {
    pub passed: bool,
    pub detail: String,
}

/// Everything the gates measured, plus what the core knows (concerns, impact, history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub build: Measure<BuildMeasure>,
    /// The test suite's runs, first to last (reproducibility re-runs it).
    pub tests: Vec<Measure<TestReport>>,
    pub lint: Measure<LintReport>,
    pub coverage: Measure<Coverage>,
    pub e2e: Measure<TestReport>,
    /// Required documents and whether each is present.
    pub docs: Vec<(String, bool)>,
    /// Ids (and summaries) of the open critical concerns.
    pub open_critical: Vec<String>,
    /// The highest impact among the integrated work, and what carries it.
    pub impact: Option<(Impact, String)>,
    pub promotion: bool,
    /// The last checkpoint's QA run: its checkpoint name and figures.
    pub previous: Option<(String, QaMetrics)>,
    /// The hallucinated-dependency check of the change (`qa::deps_gate`).
    #[serde(default = "not_checked")]
    pub dependencies: Measure<crate::deps::DepsReport>,
}

/// A run recorded before the dependency gate existed.
fn not_checked() -> Measure<crate::deps::DepsReport> {
    Measure::NotMeasured("not checked".into())
}

/// One metric against the last checkpoint's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub metric: String,
    pub before: f64,
    pub now: f64,
    /// The change, in percent (percentage points for metrics that are percentages).
    pub change: f64,
    /// Whether the change is in the worse direction beyond the policy's tolerance.
    pub regression: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub gates: Vec<GateResult>,
    pub metrics: QaMetrics,
    pub flaky: Vec<String>,
    pub drift: Vec<Drift>,
    pub decision: QaDecision,
    pub reasons: Vec<String>,
}

/// Gate names, in report order.
pub const GATES: [&str; 10] = [
    "build",
    "tests",
    "lint",
    "coverage",
    "reproducibility",
    "drift",
    "docs",
    "concerns",
    "e2e",
    "dependencies",
];

/// A duration change smaller than this (seconds) is noise, whatever its percentage.
const DURATION_FLOOR_SECS: f64 = 1.0;

fn pct(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}%")
    } else {
        format!("{r:.1}%")
    }
}

struct Gate {
    name: &'static str,
    threshold: Option<String>,
}

impl Gate {
    fn new(name: &'static str, threshold: Option<String>) -> Gate {
        Gate { name, threshold }
    }

    fn result(
        &self,
        outcome: GateOutcome,
        measured: Option<String>,
        reason: Option<String>,
    ) -> GateResult {
        GateResult {
            gate: self.name.to_string(),
            threshold: self.threshold.clone(),
            measured,
            outcome,
            reason,
            required: outcome != GateOutcome::Reported,
            errored: false,
        }
    }

    fn not_measured(&self, why: &str) -> GateResult {
        self.result(GateOutcome::NotMeasured, None, Some(why.to_string()))
    }

    /// Pass or fail against the threshold, or `Reported` when there is none.
    fn check(
        &self,
        has_threshold: bool,
        ok: bool,
        measured: String,
        why_not: impl FnOnce() -> String,
    ) -> GateResult {
        if !has_threshold {
            self.result(GateOutcome::Reported, Some(measured), None)
        } else if ok {
            self.result(GateOutcome::Pass, Some(measured), None)
        } else {
            self.result(GateOutcome::Fail, Some(measured), Some(why_not()))
        }
    }

    fn errored(&self, why: &str, measured: Option<String>) -> GateResult {
        GateResult {
            errored: true,
            ..self.result(GateOutcome::Fail, measured, Some(why.to_string()))
        }
    }
}

/// Tests whose outcome was not the same in every complete run (a test missing from a run
/// counts as differing), and the reproducibility in percent of the tests seen.
pub fn reproducibility(runs: &[&TestReport]) -> (Vec<String>, Option<f64>) {
    if runs.len() < 2 {
        return (Vec::new(), None);
    }
    let mut seen: BTreeMap<&str, Vec<Option<TestOutcome>>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for t in &run.tests {
            let slot = seen
                .entry(t.name.as_str())
                .or_insert_with(|| vec![None; runs.len()]);
            slot[i] = Some(t.outcome);
        }
    }
    if seen.is_empty() {
        return (Vec::new(), None);
    }
    let flaky: Vec<String> = seen
        .iter()
        .filter(|(_, o)| o.iter().any(|x| *x != o[0]))
        .map(|(n, _)| n.to_string())
        .collect();
    let stable = seen.len() - flaky.len();
    (flaky, Some(stable as f64 * 100.0 / seen.len() as f64))
}

fn metrics_of(e: &Evidence, reproducibility: Option<f64>) -> QaMetrics {
    let mut m = QaMetrics {
        reproducibility,
        ..QaMetrics::default()
    };
    if let Some(first) = e.tests.first().and_then(|t| t.value()) {
        let passed = first.count(TestOutcome::Passed) as u64;
        let failed = first.count(TestOutcome::Failed) as u64;
        m.tests_total = Some(first.tests.len() as u64);
        m.tests_passed = Some(passed);
        m.tests_failed = Some(failed);
        m.tests_skipped = Some(first.count(TestOutcome::Skipped) as u64);
        m.pass_rate =
            (passed + failed > 0).then(|| passed as f64 * 100.0 / (passed + failed) as f64);
        let durations: Vec<f64> = first.tests.iter().filter_map(|t| t.duration).collect();
        if !durations.is_empty() {
            m.test_duration_secs = Some(durations.iter().sum());
        }
    }
    if let Some(c) = e.coverage.value() {
        m.coverage = c.percent();
    }
    if let Some(l) = e.lint.value() {
        m.lint_errors = Some(l.errors() as u64);
        m.lint_warnings = Some(l.warnings() as u64);
    }
    if let Measure::Measured(b) = &e.build {
        m.build_passed = Some(b.passed);
    }
    m
}

/// The drift of each metric both runs measured. Percentages (coverage, pass rate) change in
/// points; counts and durations in percent of the earlier value.
pub fn drift(before: &QaMetrics, now: &QaMetrics, max_percent: f64) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut points = |metric: &str, b: Option<f64>, n: Option<f64>| {
        if let (Some(b), Some(n)) = (b, n) {
            let change = n - b;
            out.push(Drift {
                metric: metric.to_string(),
                before: b,
                now: n,
                change,
                regression: change < -max_percent,
            });
        }
    };
    points("coverage", before.coverage, now.coverage);
    points("pass rate", before.pass_rate, now.pass_rate);
    if let (Some(b), Some(n)) = (before.tests_total, now.tests_total) {
        let change = if b == 0 {
            if n == 0 {
                0.0
            } else {
                100.0
            }
        } else {
            (n as f64 - b as f64) * 100.0 / b as f64
        };
        out.push(Drift {
            metric: "test count".into(),
            before: b as f64,
            now: n as f64,
            change,
            regression: change < -max_percent,
        });
    }
    if let (Some(b), Some(n)) = (before.test_duration_secs, now.test_duration_secs) {
        let change = if b > 0.0 { (n - b) * 100.0 / b } else { 0.0 };
        out.push(Drift {
            metric: "test duration".into(),
            before: b,
            now: n,
            change,
            regression: change > max_percent && n - b >= DURATION_FLOOR_SECS,
        });
    }
    out
}

fn describe_tests(r: &TestReport, quarantined: usize) -> String {
    let mut s = format!(
        "{} passed, {} failed, {} skipped of {}",
        r.count(TestOutcome::Passed),
        r.count(TestOutcome::Failed),
        r.count(TestOutcome::Skipped),
        r.tests.len()
    );
    if quarantined > 0 {
        s.push_str(&format!(" ({quarantined} flaky quarantined)"));
    }
    s
}

fn failed_names(r: &TestReport, skip: &[String]) -> Vec<String> {
    r.tests
        .iter()
        .filter(|t| t.outcome == TestOutcome::Failed && !skip.contains(&t.name))
        .map(|t| t.name.clone())
        .collect()
}

fn list(names: &[String], max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        s.push_str(&format!(" and {} more", names.len() - max));
    }
    s
}

/// Evaluates the evidence against the policy.
pub fn evaluate(policy: &Policy, e: &Evidence) -> Evaluation {
    let auto = &policy.auto_merge_if;
    let runs = Runs::of(e);
    let metrics = metrics_of(e, runs.reproducibility);
    let drifts = drift_since_checkpoint(auto, e, &metrics);
    let gates = vec![
        build_gate(auto, e),
        tests_gate(auto, e, &runs.flaky),
        lint_gate(auto, e),
        coverage_gate(auto, e),
        reproducibility_gate(policy, e, &runs),
        drift_gate(auto, e, &drifts),
        docs_gate(e),
        concerns_gate(auto, e),
        e2e_gate(policy, e),
        super::deps_gate::dependencies_gate(match &e.dependencies {
            Measure::Measured(r) => Ok(r),
            Measure::NotMeasured(why) | Measure::Errored(why, _) => Err(why.as_str()),
        }),
    ];
    let (decision, reasons) = decide(policy, e, &gates);
    Evaluation {
        gates,
        metrics,
        flaky: runs.flaky,
        drift: drifts,
        decision,
        reasons,
    }
}

/// The test suite's runs that completed, and what comparing them tells: the flaky tests and
/// the reproducibility (only when every run completed).
struct Runs<'e> {
    complete: Vec<&'e TestReport>,
    all_complete: bool,
    flaky: Vec<String>,
    reproducibility: Option<f64>,
}

impl<'e> Runs<'e> {
    fn of(e: &'e Evidence) -> Runs<'e> {
        let complete: Vec<&TestReport> = e
            .tests
            .iter()
            .filter_map(|t| match t {
                Measure::Measured(r) if r.complete => Some(r),
                _ => None,
            })
            .collect();
        let all_complete = complete.len() == e.tests.len();
        let (flaky, reproducibility) = if all_complete {
            reproducibility(&complete)
        } else {
            (Vec::new(), None)
        };
        Runs {
            complete,
            all_complete,
            flaky,
            reproducibility,
        }
    }
}

/// The build passes.
fn build_gate(auto: &AutoMergeIf, e: &Evidence) -> GateResult {
    let g = Gate::new(
        "build",
        auto.build_passed
            .filter(|b| *b)
            .map(|_| "passes".to_string()),
    );
    match &e.build {
        Measure::Measured(b) => g.check(
            auto.build_passed == Some(true),
            b.passed,
            b.detail.clone(),
            || format!("the build failed: {}", b.detail),
        ),
        Measure::NotMeasured(why) => g.not_measured(why),
        Measure::Errored(why, _) => g.errored(why, None),
    }
}

/// Tests (the first run; flaky tests are quarantined: reported, not counted).
fn tests_gate(auto: &AutoMergeIf, e: &Evidence, flaky: &[String]) -> GateResult {
    let g = Gate::new(
        "tests",
        auto.all_tests_passed
            .filter(|b| *b)
            .map(|_| "all pass".to_string()),
    );
    let mut gate = match e.tests.first() {
        None => g.not_measured("no test command"),
        Some(Measure::NotMeasured(why)) => g.not_measured(why),
        Some(Measure::Errored(why, partial)) => {
            let got = partial.as_ref().map(|r| {
                format!(
                    "{} reported before it stopped{}",
                    describe_tests(r, 0),
                    r.announced
                        .map(|n| format!(" (of {n} announced)"))
                        .unwrap_or_default()
                )
            });
            g.errored(why, got)
        }
        Some(Measure::Measured(r)) if !r.complete => g.errored(
            &format!(
                "the test runner stopped mid-run after {} test(s){}",
                r.tests.len(),
                r.announced.map(|n| format!(" of {n}")).unwrap_or_default()
            ),
            Some(describe_tests(r, 0)),
        ),
        Some(Measure::Measured(r)) if r.tests.is_empty() => {
            g.not_measured("the test run reported no tests")
        }
        Some(Measure::Measured(r)) => {
            let quarantined = r.tests.iter().filter(|t| flaky.contains(&t.name)).count();
            let failed = failed_names(r, flaky);
            g.check(
                auto.all_tests_passed == Some(true),
                failed.is_empty(),
                describe_tests(r, quarantined),
                || format!("{} failed: {}", failed.len(), list(&failed, 5)),
            )
        }
    };
    repeat_runs_incomplete(e, &mut gate);
    gate
}

/// Later runs that failed to complete make the suite errored too.
fn repeat_runs_incomplete(e: &Evidence, gate: &mut GateResult) {
    if let Some(i) = e
        .tests
        .iter()
        .skip(1)
        .position(|t| !matches!(t, Measure::Measured(r) if r.complete))
    {
        let why = match &e.tests[i + 1] {
            Measure::Errored(w, _) | Measure::NotMeasured(w) => w.clone(),
            _ => "the runner stopped mid-run".to_string(),
        };
        if gate.outcome != GateOutcome::Fail {
            gate.outcome = GateOutcome::Fail;
            gate.errored = true;
            gate.required = true;
            gate.reason = Some(format!("repeat run {} did not complete: {why}", i + 2));
        }
    }
}

/// Lint errors, at most the policy's number.
fn lint_gate(auto: &AutoMergeIf, e: &Evidence) -> GateResult {
    let g = Gate::new("lint", auto.lint_errors.map(|n| format!("≤ {n} errors")));
    match &e.lint {
        Measure::Measured(l) => {
            let errors = l.errors() as u64;
            g.check(
                auto.lint_errors.is_some(),
                auto.lint_errors.is_none_or(|max| errors <= max),
                format!("{errors} error(s), {} warning(s)", l.warnings()),
                || {
                    let codes: Vec<String> = l
                        .findings
                        .iter()
                        .filter(|f| f.level == super::results::LintLevel::Error)
                        .map(|f| {
                            let at = match (&f.file, f.line) {
                                (Some(p), Some(n)) => format!("{p}:{n}"),
                                (Some(p), None) => p.clone(),
                                _ => String::new(),
                            };
                            format!(
                                "{} {at}",
                                f.code.clone().unwrap_or_else(|| f.message.clone())
                            )
                            .trim()
                            .to_string()
                        })
                        .collect();
                    format!(
                        "{errors} lint errors, above {}: {}",
                        auto.lint_errors.unwrap_or(0),
                        list(&codes, 3)
                    )
                },
            )
        }
        Measure::NotMeasured(why) => g.not_measured(why),
        Measure::Errored(why, _) => g.errored(why, None),
    }
}

/// Line coverage, at least the policy's minimum.
fn coverage_gate(auto: &AutoMergeIf, e: &Evidence) -> GateResult {
    let g = Gate::new(
        "coverage",
        auto.coverage_min.map(|m| format!("≥ {}", pct(m))),
    );
    match &e.coverage {
        Measure::Measured(c) => match c.percent() {
            None => g.not_measured("the coverage report has no lines"),
            Some(p) => g.check(
                auto.coverage_min.is_some(),
                auto.coverage_min.is_none_or(|m| p + 1e-9 >= m),
                format!(
                    "{} ({} of {} lines)",
                    pct(p),
                    c.lines_covered,
                    c.lines_total
                ),
                || {
                    format!(
                        "coverage {} is below {}",
                        pct(p),
                        pct(auto.coverage_min.unwrap_or(0.0))
                    )
                },
            ),
        },
        Measure::NotMeasured(why) => g.not_measured(why),
        Measure::Errored(why, _) => g.errored(why, None),
    }
}

/// Reproducibility over the repeated runs; a promotion asks for the stricter of the two
/// minimums.
fn reproducibility_gate(policy: &Policy, e: &Evidence, runs: &Runs) -> GateResult {
    let auto = &policy.auto_merge_if;
    let repro_min = if e.promotion {
        match (
            auto.reproducibility_min,
            policy.promotion.reproducibility_min,
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    } else {
        auto.reproducibility_min
    };
    let g = Gate::new(
        "reproducibility",
        repro_min.map(|m| format!("≥ {}", pct(m))),
    );
    let flaky = &runs.flaky;
    match runs.reproducibility {
        Some(r) => g.check(
            repro_min.is_some(),
            repro_min.is_none_or(|m| r + 1e-9 >= m),
            format!(
                "{} over {} runs{}",
                pct(r),
                e.tests.len(),
                if flaky.is_empty() {
                    String::new()
                } else {
                    format!(" ({} flaky)", flaky.len())
                }
            ),
            || {
                format!(
                    "reproducibility {} is below {}: flaky {}",
                    pct(r),
                    pct(repro_min.unwrap_or(0.0)),
                    list(flaky, 5)
                )
            },
        ),
        None if policy.gates.reproducibility_runs < 2 => {
            g.not_measured("the policy runs the test suite once (gates.reproducibility_runs)")
        }
        None if runs.complete.is_empty() || !runs.all_complete => {
            g.not_measured("the test runs did not all complete with per-test results")
        }
        None => g.not_measured("the test runs reported no tests"),
    }
}

/// The drift of each metric from the last checkpoint's run (none without one).
fn drift_since_checkpoint(auto: &AutoMergeIf, e: &Evidence, metrics: &QaMetrics) -> Vec<Drift> {
    let max = auto.drift_max_percent;
    match &e.previous {
        Some((_, before)) => drift(before, metrics, max.unwrap_or(f64::INFINITY)),
        None => Vec::new(),
    }
}

/// Drift from the last checkpoint's run: no regression beyond the policy's tolerance.
fn drift_gate(auto: &AutoMergeIf, e: &Evidence, drifts: &[Drift]) -> GateResult {
    let max = auto.drift_max_percent;
    let g = Gate::new("drift", max.map(|m| format!("≤ {} regression", pct(m))));
    match &e.previous {
        None => GateResult {
            required: false,
            ..g.not_measured("no earlier checkpoint with a QA run to compare with")
        },
        Some(_) if drifts.is_empty() => g.not_measured("no metric was measured by both runs"),
        Some((cp, _)) => {
            let worst: Vec<String> = drifts
                .iter()
                .filter(|d| d.regression)
                .map(|d| format!("{} {:+.1}", d.metric, d.change))
                .collect();
            let summary = drifts
                .iter()
                .map(|d| format!("{} {:+.1}", d.metric, d.change))
                .collect::<Vec<_>>()
                .join(", ");
            g.check(
                max.is_some(),
                worst.is_empty(),
                format!("vs {cp}: {summary}"),
                || {
                    format!(
                        "regression beyond {} since {cp}: {}",
                        pct(max.unwrap_or(0.0)),
                        worst.join(", ")
                    )
                },
            )
        }
    }
}

/// The required documents are present.
fn docs_gate(e: &Evidence) -> GateResult {
    let g = Gate::new(
        "docs",
        (!e.docs.is_empty()).then(|| {
            e.docs
                .iter()
                .map(|(d, _)| d.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    let missing: Vec<String> = e
        .docs
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(d, _)| d.clone())
        .collect();
    if e.docs.is_empty() {
        g.result(GateOutcome::Reported, Some("none required".into()), None)
    } else {
        g.check(
            true,
            missing.is_empty(),
            format!(
                "{} of {} present",
                e.docs.len() - missing.len(),
                e.docs.len()
            ),
            || format!("missing {}", missing.join(", ")),
        )
    }
}

/// Open critical concerns.
fn concerns_gate(auto: &AutoMergeIf, e: &Evidence) -> GateResult {
    let g = Gate::new(
        "concerns",
        auto.no_open_critical_concerns
            .then(|| "no open critical".to_string()),
    );
    g.check(
        auto.no_open_critical_concerns,
        e.open_critical.is_empty(),
        format!("{} open critical", e.open_critical.len()),
        || format!("open critical concerns: {}", list(&e.open_critical, 5)),
    )
}

/// End-to-end tests: required for a promotion when the policy says so.
fn e2e_gate(policy: &Policy, e: &Evidence) -> GateResult {
    let e2e_required = e.promotion && policy.promotion.e2e_tests_required;
    let g = Gate::new(
        "e2e",
        e2e_required.then(|| "all pass (promotion)".to_string()),
    );
    let mut e2e = match &e.e2e {
        Measure::Measured(r) if !r.complete => g.errored(
            "the end-to-end runner stopped mid-run",
            Some(describe_tests(r, 0)),
        ),
        Measure::Measured(r) if r.tests.is_empty() => {
            g.not_measured("the end-to-end run reported no tests")
        }
        Measure::Measured(r) => {
            let failed = failed_names(r, &[]);
            GateResult {
                required: e2e_required,
                ..g.check(true, failed.is_empty(), describe_tests(r, 0), || {
                    format!("{} end-to-end failed: {}", failed.len(), list(&failed, 5))
                })
            }
        }
        Measure::NotMeasured(why) => g.not_measured(why),
        Measure::Errored(why, _) => g.errored(why, None),
    };
    if !e2e_required {
        e2e.required = false;
        e2e.errored = false;
    }
    e2e
}

fn decide(policy: &Policy, e: &Evidence, gates: &[GateResult]) -> (QaDecision, Vec<String>) {
    let mut fail = Vec::new();
    let mut human = Vec::new();
    for g in gates.iter().filter(|g| g.required) {
        let why = g.reason.clone().unwrap_or_default();
        match g.outcome {
            GateOutcome::Fail if g.errored => {
                fail.push(format!("{} could not complete: {why}", g.gate))
            }
            GateOutcome::Fail if policy.require_human_if.gate_fail => {
                human.push(format!("gate failed: {}: {why}", g.gate))
            }
            GateOutcome::Fail => fail.push(format!("gate failed: {}: {why}", g.gate)),
            GateOutcome::NotMeasured => match policy.gates.not_measured {
                NotMeasured::Block => fail.push(format!("not measured: {}: {why}", g.gate)),
                NotMeasured::RequireHuman => human.push(format!("not measured: {}: {why}", g.gate)),
                NotMeasured::Ignore => {}
            },
            GateOutcome::Pass | GateOutcome::Reported => {}
        }
    }
    if let (Some((impact, what)), Some(min)) = (&e.impact, policy.require_human_if.impact) {
        if *impact >= min {
            human.push(format!("{impact} impact: {what}"));
        }
    }
    if e.promotion {
        // Phase promotion always asks the human, whatever the policy file says.
        human.push("phase promotion".to_string());
    }
    if !fail.is_empty() {
        fail.extend(human);
        (QaDecision::Fail, fail)
    } else if !human.is_empty() {
        (QaDecision::RequireHuman, human)
    } else {
        (
            QaDecision::AutoMerge,
            vec!["every required gate passed".to_string()],
        )
    }
}
