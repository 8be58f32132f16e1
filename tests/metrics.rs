//! Metrics (issue 9): known histories as scripted event sequences (folded through the real
//! reducer too, so they are histories the core could have written), every figure checked
//! exactly, each alert level's trigger and clearing, the no-data cases, and the CLI on a real
//! store with its OpenMetrics output read back by a strict parser.

use std::collections::{BTreeMap, BTreeSet};

use overlord::config::MetricsConfig;
use overlord::metrics::{
    self, compute, evaluate, openmetrics, transitions, Alert, AlertLevel, CheckpointPoint,
    Durations, Facts, Metrics, Ratio, Spend, Window,
};
use overlord::protocol::model::{
    Agent, AgentState, Checkpoint, CheckpointKind, Concern, ConcernId, GateOutcome, GateResult,
    QaDecision, QaMetrics, QaRun, QaRunId, Role, Severity, TaskStatus,
};
use overlord::protocol::{Event, EventKind, State};

use crate::common::{stdout, Repo};

/// `2026-11-<day>T<h>:<m>:00.000Z`.
fn ts(day: u32, h: u32, m: u32) -> String {
    format!("2026-11-{day:02}T{h:02}:{m:02}:00.000Z")
}

const NOW: &str = "2026-11-21T12:00:00.000Z";

#[derive(Default)]
struct Log {
    events: Vec<Event>,
    state: State,
}

impl Log {
    fn at(&mut self, at: &str, kind: EventKind) -> &mut Log {
        let e = Event {
            seq: self.events.len() as u64 + 1,
            at: at.into(),
            command_seq: None,
            actor: "test".into(),
            kind,
        };
        self.state.apply(&e);
        self.events.push(e);
        self
    }

    fn metrics(&self, window: Window, now: &str) -> Metrics {
        compute(&self.events, window, now).expect("now parses")
    }
}

fn register(id: &str, role: Role, adapter: &str, at: &str) -> EventKind {
    EventKind::AgentRegistered {
        agent: Agent::new(id, role, adapter, at),
    }
}

fn agent_state(
    agent: &str,
    state: AgentState,
    task: Option<&str>,
    attempt: Option<u32>,
) -> EventKind {
    EventKind::AgentStateChanged {
        agent: agent.into(),
        state,
        task: task.map(str::to_string),
        detail: None,
        attempt,
        session_id: None,
        until: None,
    }
}

pub(crate) fn activity(agent: &str, tokens: u64, cost_micros: u64) -> EventKind {
    EventKind::AgentActivity {
        agent: agent.into(),
        events: 1,
        tokens,
        cost_micros,
        last_output: None,
        files: vec![],
        session_id: None,
    }
}

fn raise(id: u64, severity: Severity, at: &str) -> EventKind {
    EventKind::ConcernRaised {
        concern: Concern::raised(
            ConcernId(id),
            Role::Implementer,
            Role::Designer,
            severity,
            "test_failure",
            format!("concern {id}"),
            at,
        ),
    }
}

fn ack(id: u64) -> EventKind {
    EventKind::ConcernAcknowledged { id: ConcernId(id) }
}

fn resolve(id: u64) -> EventKind {
    EventKind::ConcernResolved {
        id: ConcernId(id),
        note: None,
    }
}

fn task_status(task: &str, status: TaskStatus) -> EventKind {
    EventKind::TaskStatusChanged {
        task: task.into(),
        status,
        note: None,
    }
}

fn qa_started(id: u64) -> EventKind {
    EventKind::QaStarted {
        run: QaRunId(id),
        tree: "t".into(),
        gates: vec!["build".into(), "tests".into()],
        promotion: false,
    }
}

struct Run {
    id: u64,
    coverage: Option<f64>,
    reproducibility: Option<f64>,
    build: Option<bool>,
    tests: Option<u64>,
    flaky: usize,
    decision: QaDecision,
}

impl Run {
    fn new(id: u64) -> Run {
        Run {
            id,
            coverage: None,
            reproducibility: None,
            build: None,
            tests: None,
            flaky: 0,
            decision: QaDecision::AutoMerge,
        }
    }

    fn recorded(self, started: &str, finished: &str) -> EventKind {
        let failed = self.decision == QaDecision::Fail;
        EventKind::QaRunRecorded {
            run: QaRun {
                id: QaRunId(self.id),
                tree: "t".into(),
                started_at: started.into(),
                finished_at: finished.into(),
                gates: vec![GateResult {
                    gate: "build".into(),
                    threshold: None,
                    measured: None,
                    outcome: if failed {
                        GateOutcome::Fail
                    } else {
                        GateOutcome::Pass
                    },
                    reason: None,
                    required: true,
                    errored: false,
                }],
                decision: self.decision,
                reasons: vec![],
                commit: None,
                metrics: QaMetrics {
                    tests_total: self.tests,
                    coverage: self.coverage,
                    reproducibility: self.reproducibility,
                    build_passed: self.build,
                    ..QaMetrics::default()
                },
                flaky: (0..self.flaky).map(|i| format!("flaky_{i}")).collect(),
                promotion: false,
                record_sha256: None,
            },
        }
    }
}

fn git(action: &str, trigger: &str) -> EventKind {
    EventKind::GitAction {
        action: action.into(),
        reference: "refs/heads/main".into(),
        old: None,
        new: Some("abc".into()),
        source: None,
        trigger: trigger.into(),
        detail: "t1: 1 commit".into(),
    }
}

fn conflict() -> EventKind {
    EventKind::OperationStep {
        id: 1,
        step: "conflict".into(),
        detail: "t3: src/a.rs (content)".into(),
    }
}

fn checkpoint(at: &str) -> EventKind {
    EventKind::CheckpointCreated {
        checkpoint: Checkpoint {
            name: "checkpoint/20261120-001".into(),
            kind: CheckpointKind::Save,
            commit: "abc".into(),
            created_at: at.into(),
            qa_run: Some(QaRunId(1)),
            summary: "save".into(),
            restores: None,
            tag_object: None,
            previous: None,
            tasks: vec!["t1".into()],
            audit_ids: vec![],
            undoes: None,
        },
    }
}

/// The known history every exact check below reads (times in UTC, `now` 11-21 12:00):
/// implementer a1 (codex) runs t1 twice (10–11, 12–13 on the 20th) and is done; tester a2
/// (claude) runs t2 01:00–02:00, paused to 02:30, runs to 03:00 and fails; QA-1 (14:00–14:10
/// on the 20th) passes with 90% coverage, then a merge and the checkpoint at 14:30; QA-2
/// (07:00–07:30 on the 21st) fails its build with 82%; concerns C-1 (critical), C-2 and C-3
/// (warning).
fn history() -> Log {
    let mut l = Log::default();
    l.at(
        &ts(20, 9, 0),
        register("a1", Role::Implementer, "codex", &ts(20, 9, 0)),
    )
    .at(
        &ts(20, 9, 0),
        register("a2", Role::Tester, "claude", &ts(20, 9, 0)),
    )
    .at(
        &ts(20, 10, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(1)),
    )
    .at(&ts(20, 10, 30), activity("a1", 1000, 20_000))
    .at(
        &ts(20, 11, 0),
        agent_state("a1", AgentState::Waiting, Some("t1"), None),
    )
    .at(&ts(20, 11, 0), raise(1, Severity::Critical, &ts(20, 11, 0)))
    .at(&ts(20, 11, 10), ack(1))
    .at(&ts(20, 12, 0), resolve(1))
    .at(
        &ts(20, 12, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(2)),
    )
    .at(
        &ts(20, 13, 0),
        agent_state("a1", AgentState::Done, None, None),
    )
    .at(&ts(20, 13, 0), task_status("t1", TaskStatus::Done))
    .at(&ts(20, 14, 0), qa_started(1))
    .at(
        &ts(20, 14, 10),
        Run {
            coverage: Some(90.0),
            reproducibility: Some(100.0),
            build: Some(true),
            tests: Some(100),
            ..Run::new(1)
        }
        .recorded(&ts(20, 14, 0), &ts(20, 14, 10)),
    )
    .at(&ts(20, 14, 20), git("merge", "save"))
    .at(&ts(20, 14, 30), checkpoint(&ts(20, 14, 30)))
    .at(
        &ts(21, 1, 0),
        agent_state("a2", AgentState::Running, Some("t2"), Some(1)),
    )
    .at(&ts(21, 1, 30), activity("a2", 500, 5_000))
    .at(&ts(21, 2, 0), EventKind::AgentPaused { agent: "a2".into() })
    .at(
        &ts(21, 2, 30),
        EventKind::AgentResumed { agent: "a2".into() },
    )
    .at(
        &ts(21, 3, 0),
        agent_state("a2", AgentState::Failed, Some("t2"), None),
    )
    .at(&ts(21, 3, 0), task_status("t2", TaskStatus::Failed))
    .at(&ts(21, 4, 0), raise(2, Severity::Warning, &ts(21, 4, 0)))
    .at(
        &ts(21, 4, 5),
        EventKind::ConcernAssigned {
            id: ConcernId(2),
            to: "a1".into(),
            response: None,
        },
    )
    .at(&ts(21, 5, 0), raise(3, Severity::Warning, &ts(21, 5, 0)))
    .at(&ts(21, 5, 20), ack(3))
    .at(&ts(21, 6, 5), resolve(2))
    .at(&ts(21, 7, 0), qa_started(2))
    .at(
        &ts(21, 7, 30),
        Run {
            coverage: Some(82.0),
            reproducibility: Some(96.0),
            build: Some(false),
            tests: Some(200),
            flaky: 2,
            decision: QaDecision::Fail,
            ..Run::new(2)
        }
        .recorded(&ts(21, 7, 0), &ts(21, 7, 30)),
    )
    .at(&ts(21, 7, 40), conflict())
    .at(&ts(21, 7, 45), git("merge", "save"))
    .at(&ts(21, 8, 0), activity("a1", 100, 1_000));
    l
}

fn ratio(part: u64, whole: u64) -> Option<Ratio> {
    Some(Ratio {
        part,
        whole,
        rate: part as f64 / whole as f64,
    })
}

fn durations(values: &[f64], p50: f64, p90: f64) -> Option<Durations> {
    let sum: f64 = values.iter().sum();
    Some(Durations {
        count: values.len() as u64,
        sum_secs: sum,
        mean_secs: sum / values.len() as f64,
        p50_secs: p50,
        p90_secs: p90,
        max_secs: values.iter().cloned().fold(f64::MIN, f64::max),
    })
}

fn spend(tokens: u64, cost_micros: u64) -> Spend {
    Spend {
        tokens,
        cost_micros,
    }
}

#[test]
fn every_figure_over_all_time_is_exact() {
    let l = history();
    // The reducer agrees with the story the figures tell.
    assert_eq!(l.state.agents["a2"].state, AgentState::Failed);
    assert_eq!(l.state.qa_runs.len(), 2);
    let m = l.metrics(Window::All, NOW);
    assert_eq!(m.schema_version, metrics::METRICS_SCHEMA_VERSION);
    assert_eq!(m.since, None);
    assert_eq!(m.events, l.events.len() as u64);
    assert_eq!(
        (
            m.clock_skew_events,
            m.skewed_intervals,
            m.unreadable_timestamps
        ),
        (0, 0, 0)
    );

    // QA.
    let qa = &m.qa;
    assert_eq!(
        qa.runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["QA-1", "QA-2"]
    );
    assert_eq!(qa.runs[1].failed_gates, ["build"]);
    assert_eq!(qa.runs[1].flaky, 2);
    assert_eq!(qa.latest_coverage, Some(82.0));
    assert_eq!(qa.previous_coverage, Some(90.0));
    assert_eq!(qa.latest_reproducibility, Some(96.0));
    assert_eq!(qa.latest_decision, Some(QaDecision::Fail));
    assert_eq!(qa.build_pass_rate, ratio(1, 2));
    assert_eq!(qa.pass_rate, ratio(1, 2));
    assert_eq!(qa.flakiness, ratio(2, 300));
    assert_eq!(qa.cycle, durations(&[600.0, 1800.0], 600.0, 1800.0));

    // Concerns by severity.
    let crit = &m.concerns[&Severity::Critical];
    assert_eq!((crit.raised, crit.open), (1, 0));
    assert_eq!(crit.acknowledged, durations(&[600.0], 600.0, 600.0));
    assert_eq!(crit.resolved, durations(&[3600.0], 3600.0, 3600.0));
    let warn = &m.concerns[&Severity::Warning];
    assert_eq!((warn.raised, warn.open), (2, 1));
    // C-2 assigned after 5 min (assignment acknowledges), C-3 acknowledged after 20.
    assert_eq!(
        warn.acknowledged,
        durations(&[300.0, 1200.0], 300.0, 1200.0)
    );
    assert_eq!(warn.resolved, durations(&[7500.0], 7500.0, 7500.0));
    let info = &m.concerns[&Severity::Info];
    assert_eq!(
        (info.raised, info.open, info.acknowledged, info.resolved),
        (0, 0, None, None)
    );

    // Merges.
    assert_eq!((m.merges.merged, m.merges.conflicted), (2, 1));
    assert_eq!(m.merges.success_rate, ratio(2, 3));

    // Tasks.
    assert_eq!((m.tasks.passed, m.tasks.failed), (1, 1));
    assert_eq!(m.tasks.pass_rate, ratio(1, 2));
    assert_eq!(m.tasks.mean_attempts, Some(1.5));
    let imp = &m.tasks.by_role[&Role::Implementer];
    assert_eq!(
        (imp.tasks, imp.running_secs, imp.mean_secs_per_task),
        (1, 7200.0, Some(7200.0))
    );
    let tester = &m.tasks.by_role[&Role::Tester];
    assert_eq!(
        (tester.tasks, tester.running_secs, tester.mean_secs_per_task),
        (1, 5400.0, Some(5400.0))
    );
    assert_eq!(m.tasks.by_role.len(), 2);

    // Spend.
    let s = &m.spend;
    assert_eq!(s.total, spend(1600, 26_000));
    assert_eq!(
        s.by_task,
        BTreeMap::from([
            ("t1".into(), spend(1000, 20_000)),
            ("t2".into(), spend(500, 5_000))
        ])
    );
    assert_eq!(s.unattributed, spend(100, 1_000));
    assert_eq!(
        s.by_role,
        BTreeMap::from([
            (Role::Implementer, spend(1100, 21_000)),
            (Role::Tester, spend(500, 5_000))
        ])
    );
    assert_eq!(
        s.by_adapter,
        BTreeMap::from([
            ("claude".into(), spend(500, 5_000)),
            ("codex".into(), spend(1100, 21_000))
        ])
    );
    assert_eq!(s.mean_tokens_per_task, Some(750.0));
    assert_eq!(s.mean_cost_micros_per_task, Some(12_500.0));

    // Utilisation: 27 h observed per agent.
    let a1 = &m.utilisation.by_agent["a1"];
    assert_eq!(
        (
            a1.running_secs,
            a1.waiting_secs,
            a1.paused_secs,
            a1.idle_secs
        ),
        (7200.0, 3600.0, 0.0, 86_400.0)
    );
    assert_eq!(a1.utilisation, Some(7200.0 / 97_200.0));
    let a2 = &m.utilisation.by_agent["a2"];
    assert_eq!(
        (
            a2.running_secs,
            a2.waiting_secs,
            a2.paused_secs,
            a2.idle_secs
        ),
        (5400.0, 0.0, 1800.0, 90_000.0)
    );
    let total = &m.utilisation.total;
    assert_eq!(
        (
            total.running_secs,
            total.waiting_secs,
            total.paused_secs,
            total.idle_secs
        ),
        (12_600.0, 3600.0, 1800.0, 176_400.0)
    );
    assert_eq!(total.utilisation, Some(12_600.0 / 194_400.0));

    assert_eq!(m.agents_failed, ["a2"]);
    assert!(m.policy_breaches.is_empty());
}

#[test]
fn the_24h_window_counts_intervals_that_end_inside_it_and_clips_time() {
    let l = history();
    let m = l.metrics(Window::Last24h, NOW);
    assert_eq!(m.since.as_deref(), Some("2026-11-20T12:00:00.000Z"));
    // C-1 was raised and acknowledged before the window; its resolution (12:00) is on the
    // window's first millisecond.
    let crit = &m.concerns[&Severity::Critical];
    assert_eq!((crit.raised, crit.acknowledged), (0, None));
    assert_eq!(crit.resolved, durations(&[3600.0], 3600.0, 3600.0));
    // a1's first run (10–11) is outside: only 12–13 counts.
    assert_eq!(m.tasks.by_role[&Role::Implementer].running_secs, 3600.0);
    assert_eq!(m.tasks.by_role[&Role::Tester].running_secs, 5400.0);
    // a1's activity at 10:30 on the 20th is outside.
    assert_eq!(m.spend.total, spend(600, 6_000));
    assert_eq!(
        m.spend.by_task,
        BTreeMap::from([("t2".into(), spend(500, 5_000))])
    );
    assert_eq!(m.spend.mean_tokens_per_task, Some(500.0));
    // Both QA runs are inside.
    assert_eq!(m.qa.runs.len(), 2);
    // Utilisation: exactly 24 h per agent.
    let a1 = &m.utilisation.by_agent["a1"];
    assert_eq!((a1.running_secs, a1.idle_secs), (3600.0, 82_800.0));
    let a2 = &m.utilisation.by_agent["a2"];
    assert_eq!(
        (a2.running_secs, a2.paused_secs, a2.idle_secs),
        (5400.0, 1800.0, 79_200.0)
    );
    assert_eq!(m.utilisation.total.utilisation, Some(9000.0 / 172_800.0));
    // 7 days reach back past the first event: the same as all time, but for the start.
    let week = l.metrics(Window::Last7d, NOW);
    let all = l.metrics(Window::All, NOW);
    assert_eq!(week.since.as_deref(), Some("2026-11-14T12:00:00.000Z"));
    assert_eq!(
        (week.qa, week.tasks, week.spend),
        (all.qa, all.tasks, all.spend)
    );
}

#[test]
fn the_checkpoint_window_starts_at_the_newest_checkpoint_before_now() {
    let l = history();
    let m = l.metrics(Window::SinceCheckpoint, NOW);
    assert_eq!(m.since.as_deref(), Some("2026-11-20T14:30:00.000Z"));
    assert_eq!(m.qa.runs.len(), 1);
    assert_eq!(m.qa.latest_coverage, Some(82.0));
    assert_eq!(m.qa.previous_coverage, None);
    assert_eq!(m.qa.build_pass_rate, ratio(0, 1));
    assert_eq!(m.qa.pass_rate, ratio(0, 1));
    assert_eq!(m.qa.flakiness, ratio(2, 200));
    assert_eq!(m.qa.cycle, durations(&[1800.0], 1800.0, 1800.0));
    assert_eq!((m.merges.merged, m.merges.conflicted), (1, 1));
    assert_eq!(m.merges.success_rate, ratio(1, 2));
    assert_eq!((m.tasks.passed, m.tasks.failed), (0, 1));
    assert_eq!(m.tasks.pass_rate, ratio(0, 1));
    assert_eq!(m.tasks.mean_attempts, Some(1.0));
    assert_eq!(m.concerns[&Severity::Critical].resolved, None);
    // As of a time before the checkpoint, the window is all time (there was none yet).
    let before = l.metrics(Window::SinceCheckpoint, &ts(20, 14, 0));
    assert_eq!(before.since, None);
    assert_eq!(before.tasks.passed, 1);
    // Events after `now` are not seen at all.
    assert_eq!(before.qa.runs.len(), 0);
    assert_eq!(before.merges.merged, 0);
}

#[test]
fn an_empty_store_and_a_store_without_qa_runs_say_no_data() {
    let m = compute(&[], Window::All, NOW).unwrap();
    assert_eq!(m.events, 0);
    assert!(m.qa.runs.is_empty());
    assert_eq!(
        (
            m.qa.latest_coverage,
            m.qa.latest_reproducibility,
            m.qa.build_pass_rate
        ),
        (None, None, None)
    );
    assert_eq!(
        (m.qa.pass_rate, m.qa.flakiness, m.qa.cycle),
        (None, None, None)
    );
    assert!(m
        .concerns
        .values()
        .all(|c| c.acknowledged.is_none() && c.resolved.is_none()));
    assert_eq!(m.merges.success_rate, None);
    assert_eq!((m.tasks.pass_rate, m.tasks.mean_attempts), (None, None));
    assert!(m.tasks.by_role.is_empty());
    assert_eq!(m.spend.mean_cost_micros_per_task, None);
    assert_eq!(m.utilisation.total.utilisation, None);
    assert!(evaluate(&m, &MetricsConfig::default(), &Facts::default()).is_empty());
    let text = metrics::render_text(&m, &[]);
    assert!(
        text.contains("  coverage (latest)              no data\n"),
        "{text}"
    );
    assert!(
        text.contains("  agent utilisation              no data\n"),
        "{text}"
    );
    // The OpenMetrics output has only the counts that are zero, not invented figures.
    let om = openmetrics::render(&m, &[]);
    assert!(!om.contains("coverage"), "{om}");
    assert!(!om.contains("_ratio{"), "{om}");

    // Concerns and agents but no QA run: the QA figures still say no data.
    let mut l = Log::default();
    l.at(
        &ts(21, 9, 0),
        register("a1", Role::Implementer, "codex", &ts(21, 9, 0)),
    )
    .at(&ts(21, 9, 0), raise(1, Severity::Info, &ts(21, 9, 0)))
    .at(&ts(21, 9, 30), ack(1));
    let m = l.metrics(Window::All, NOW);
    assert_eq!(
        (m.qa.latest_coverage, m.qa.build_pass_rate, m.qa.cycle),
        (None, None, None)
    );
    assert_eq!(
        m.concerns[&Severity::Info].acknowledged,
        durations(&[1800.0], 1800.0, 1800.0)
    );
    // An idle agent for three hours: utilisation is a real zero, not no data.
    assert_eq!(m.utilisation.total.utilisation, Some(0.0));
    assert_eq!(m.utilisation.total.idle_secs, 3.0 * 3600.0);
}

#[test]
fn a_window_with_no_data_says_so() {
    let l = history();
    let later = "2026-12-30T00:00:00.000Z";
    let m = l.metrics(Window::Last24h, later);
    assert_eq!(m.events, 0);
    assert!(m.qa.runs.is_empty());
    assert_eq!(
        (m.qa.latest_coverage, m.qa.cycle, m.qa.pass_rate),
        (None, None, None)
    );
    assert_eq!(m.merges.success_rate, None);
    assert_eq!((m.tasks.pass_rate, m.tasks.mean_attempts), (None, None));
    assert_eq!(m.spend.total, spend(0, 0));
    assert_eq!(m.spend.mean_tokens_per_task, None);
    assert!(m
        .concerns
        .values()
        .all(|c| c.acknowledged.is_none() && c.resolved.is_none()));
    // C-3 is still open whatever the window.
    assert_eq!(m.concerns[&Severity::Warning].open, 1);
    // No QA alerts from runs outside the window; the failed agent is still failed.
    let keys: Vec<String> = evaluate(&m, &MetricsConfig::default(), &Facts::default())
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(keys, ["agent_halted:a2"]);
    // `now` that is not a time is refused, not guessed.
    assert!(compute(&l.events, Window::All, "yesterday").is_none());
}

#[test]
fn clock_skew_never_gives_a_negative_duration() {
    let mut l = Log::default();
    l.at(
        &ts(21, 10, 0),
        register("a1", Role::Implementer, "codex", &ts(21, 10, 0)),
    )
    .at(&ts(21, 10, 0), raise(1, Severity::Critical, &ts(21, 10, 0)))
    // Acknowledged "before" it was raised, resolved before too.
    .at(&ts(21, 9, 59), ack(1))
    .at(&ts(21, 9, 58), resolve(1))
    .at(&ts(21, 10, 0), qa_started(1))
    .at(
        &ts(21, 9, 0),
        Run {
            coverage: Some(90.0),
            ..Run::new(1)
        }
        .recorded(&ts(21, 10, 0), &ts(21, 9, 0)),
    )
    // The agent "starts running" an hour before it was registered, then stops at 11:00.
    .at(
        &ts(21, 9, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(1)),
    )
    .at(
        &ts(21, 11, 0),
        agent_state("a1", AgentState::Done, None, None),
    )
    .at("not a time", activity("a1", 5, 5));
    let m = l.metrics(Window::All, NOW);
    assert_eq!(m.clock_skew_events, 4);
    assert_eq!(m.skewed_intervals, 3);
    assert_eq!(m.unreadable_timestamps, 1);
    let c = &m.concerns[&Severity::Critical];
    assert_eq!((c.acknowledged, c.resolved), (None, None));
    assert_eq!(m.qa.cycle, None);
    // The run itself still counts; its interval does not.
    assert_eq!(m.qa.latest_coverage, Some(90.0));
    // Running from 10:00 (the later of the two stamps) to 11:00; idle from 11:00 to 12:00.
    let a1 = &m.utilisation.by_agent["a1"];
    assert_eq!((a1.running_secs, a1.idle_secs), (3600.0, 3600.0));
    assert_eq!(m.tasks.by_role[&Role::Implementer].running_secs, 3600.0);
    // The unreadable record is data corruption.
    let alerts = evaluate(&m, &MetricsConfig::default(), &Facts::default());
    assert_eq!(alerts[0].level, AlertLevel::Critical);
    assert_eq!(alerts[0].key, "data_corruption");
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let d = Durations::of(vec![5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
    assert_eq!((d.count, d.sum_secs, d.mean_secs), (10, 55.0, 5.5));
    assert_eq!((d.p50_secs, d.p90_secs, d.max_secs), (5.0, 9.0, 10.0));
    let one = Durations::of(vec![42.0]).unwrap();
    assert_eq!((one.p50_secs, one.p90_secs), (42.0, 42.0));
    assert_eq!(Durations::of(vec![]), None);
    assert_eq!(Ratio::of(1, 0), None);
}

fn keys(alerts: &[Alert]) -> Vec<(AlertLevel, String)> {
    alerts.iter().map(|a| (a.level, a.key.clone())).collect()
}

#[test]
fn the_history_raises_exactly_these_alerts_most_severe_first() {
    let m = history().metrics(Window::All, NOW);
    let alerts = evaluate(&m, &MetricsConfig::default(), &Facts::default());
    use AlertLevel::*;
    assert_eq!(
        keys(&alerts),
        [
            (Critical, "agent_halted:a2".into()),
            (Alert, "coverage_regression".into()),
            (Alert, "qa_gate_failed".into()),
            (Warn, "ack_latency:warning".into()),
            (Warn, "build_pass_rate".into()),
            (Warn, "coverage".into()),
            (Warn, "merge_success".into()),
            (Warn, "reproducibility".into()),
            (Warn, "task_pass_rate".into()),
        ]
    );
    let msg = |k: &str| alerts.iter().find(|a| a.key == k).unwrap().message.clone();
    assert_eq!(msg("qa_gate_failed"), "QA run QA-2 failed: build");
    assert_eq!(
        msg("coverage_regression"),
        "coverage fell from 90.0% to 82.0% (more than 2 points)"
    );
    assert_eq!(
        msg("coverage"),
        "coverage 82.0% is within 5 points of 80.0%"
    );
    assert_eq!(
        msg("merge_success"),
        "merge success 66.7% (2/3) is below 80.0%"
    );
    // Thresholds are configuration: loosen them and the warnings go.
    let loose = MetricsConfig {
        coverage_warn_margin: 1.0,
        reproducibility_warn_margin: 0.5,
        build_pass_rate_min: 0.5,
        task_pass_rate_min: 0.5,
        merge_success_min: 0.5,
        ack_latency_max_secs: 0,
        regression_points: 10.0,
        ..MetricsConfig::default()
    };
    assert_eq!(
        keys(&evaluate(&m, &loose, &Facts::default())),
        [
            (Critical, "agent_halted:a2".into()),
            (Alert, "qa_gate_failed".into())
        ]
    );
    // Flakiness over its maximum warns.
    let strict = MetricsConfig {
        flakiness_max: 0.005,
        ..loose
    };
    assert!(keys(&evaluate(&m, &strict, &Facts::default())).contains(&(Warn, "flakiness".into())));
}

/// One QA run after another: coverage WARN, cleared, ALERT with a regression, cleared.
#[test]
fn coverage_warn_and_alert_trigger_and_clear() {
    let cfg = MetricsConfig::default();
    let none = Facts::default();
    let mut l = Log::default();
    let run = |id, cov: f64| Run {
        coverage: Some(cov),
        ..Run::new(id)
    };
    l.at(
        &ts(21, 1, 0),
        run(1, 82.0).recorded(&ts(21, 1, 0), &ts(21, 1, 0)),
    );
    let warn = evaluate(&l.metrics(Window::All, NOW), &cfg, &none);
    assert_eq!(keys(&warn), [(AlertLevel::Warn, "coverage".to_string())]);

    l.at(
        &ts(21, 2, 0),
        run(2, 86.0).recorded(&ts(21, 2, 0), &ts(21, 2, 0)),
    );
    let clear = evaluate(&l.metrics(Window::All, NOW), &cfg, &none);
    assert!(clear.is_empty(), "{clear:?}");
    let t = transitions(&warn, &clear);
    assert_eq!((t.raised.len(), keys(&t.cleared)), (0, keys(&warn)));

    l.at(
        &ts(21, 3, 0),
        run(3, 79.0).recorded(&ts(21, 3, 0), &ts(21, 3, 0)),
    );
    let alert = evaluate(&l.metrics(Window::All, NOW), &cfg, &none);
    assert_eq!(
        keys(&alert),
        [
            (AlertLevel::Alert, "coverage".to_string()),
            (AlertLevel::Alert, "coverage_regression".to_string())
        ]
    );
    assert_eq!(transitions(&clear, &alert).raised, alert);

    // 80.5%: coverage back to WARN (a level change is raised again), regression cleared.
    l.at(
        &ts(21, 4, 0),
        run(4, 80.5).recorded(&ts(21, 4, 0), &ts(21, 4, 0)),
    );
    let back = evaluate(&l.metrics(Window::All, NOW), &cfg, &none);
    assert_eq!(keys(&back), [(AlertLevel::Warn, "coverage".to_string())]);
    let t = transitions(&alert, &back);
    assert_eq!(
        keys(&t.raised),
        [(AlertLevel::Warn, "coverage".to_string())]
    );
    assert_eq!(
        keys(&t.cleared),
        [(AlertLevel::Alert, "coverage_regression".to_string())]
    );
}

#[test]
fn a_failed_gate_alerts_until_a_run_passes() {
    let cfg = MetricsConfig::default();
    let mut l = Log::default();
    l.at(
        &ts(21, 1, 0),
        Run {
            decision: QaDecision::Fail,
            ..Run::new(1)
        }
        .recorded(&ts(21, 1, 0), &ts(21, 1, 0)),
    );
    let a = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    assert_eq!(
        keys(&a),
        [(AlertLevel::Alert, "qa_gate_failed".to_string())]
    );
    assert_eq!(a[0].message, "QA run QA-1 failed: build");
    l.at(
        &ts(21, 2, 0),
        Run::new(2).recorded(&ts(21, 2, 0), &ts(21, 2, 0)),
    );
    assert!(evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default()).is_empty());
}

#[test]
fn reproducibility_warns_near_and_alerts_below_its_minimum() {
    let cfg = MetricsConfig::default();
    let mut l = Log::default();
    let run = |id, rep: f64| Run {
        reproducibility: Some(rep),
        ..Run::new(id)
    };
    let level = |l: &Log| {
        keys(&evaluate(
            &l.metrics(Window::All, NOW),
            &cfg,
            &Facts::default(),
        ))
    };
    l.at(
        &ts(21, 1, 0),
        run(1, 94.0).recorded(&ts(21, 1, 0), &ts(21, 1, 0)),
    );
    assert_eq!(
        level(&l),
        [(AlertLevel::Alert, "reproducibility".to_string())]
    );
    l.at(
        &ts(21, 2, 0),
        run(2, 96.0).recorded(&ts(21, 2, 0), &ts(21, 2, 0)),
    );
    assert_eq!(
        level(&l),
        [(AlertLevel::Warn, "reproducibility".to_string())]
    );
    l.at(
        &ts(21, 3, 0),
        run(3, 100.0).recorded(&ts(21, 3, 0), &ts(21, 3, 0)),
    );
    assert!(level(&l).is_empty());
}

#[test]
fn the_budget_warns_then_alerts_and_clears_when_the_window_moves_on() {
    let cfg = MetricsConfig {
        budget_usd: 0.02,
        ..MetricsConfig::default()
    };
    let mut l = Log::default();
    l.at(
        &ts(21, 1, 0),
        register("a1", Role::Implementer, "codex", &ts(21, 1, 0)),
    )
    .at(
        &ts(21, 1, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(1)),
    )
    .at(&ts(21, 2, 0), activity("a1", 10, 15_999));
    let eval = |l: &Log, now: &str| {
        keys(&evaluate(
            &l.metrics(Window::Last24h, now),
            &cfg,
            &Facts::default(),
        ))
    };
    assert!(eval(&l, NOW).is_empty(), "under 80% of the budget");
    l.at(&ts(21, 3, 0), activity("a1", 10, 1));
    assert_eq!(eval(&l, NOW), [(AlertLevel::Warn, "budget".to_string())]);
    l.at(&ts(21, 4, 0), activity("a1", 10, 4_001));
    assert_eq!(eval(&l, NOW), [(AlertLevel::Alert, "budget".to_string())]);
    let m = l.metrics(Window::Last24h, NOW);
    assert_eq!(
        evaluate(&m, &cfg, &Facts::default())[0].message,
        "spent $0.02 in the 24h window, over the $0.02 budget"
    );
    // A day later the spend is out of the 24 h window (the agent still runs: no alert).
    assert!(eval(&l, "2026-11-22T04:00:01.000Z").is_empty());
}

/// Implementer a1 registered at 01:00 on the 21st, failed at 02:00.
fn failed_agent() -> Log {
    let mut l = Log::default();
    l.at(
        &ts(21, 1, 0),
        register("a1", Role::Implementer, "codex", &ts(21, 1, 0)),
    )
    .at(
        &ts(21, 2, 0),
        agent_state("a1", AgentState::Failed, Some("t1"), None),
    );
    l
}

#[test]
fn critical_alerts_trigger_and_clear() {
    let cfg = MetricsConfig::default();
    // A halted agent: critical while failed, cleared when it runs again.
    let mut l = failed_agent();
    let failed = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    assert_eq!(
        keys(&failed),
        [(AlertLevel::Critical, "agent_halted:a1".to_string())]
    );
    l.at(
        &ts(21, 3, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(2)),
    );
    let running = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    assert!(running.is_empty());
    assert_eq!(transitions(&failed, &running).cleared, failed);

    // A policy breach: a protected branch moved outside Overlord, within the window.
    l.at(&ts(21, 4, 0), git("external_commit", "external"));
    let breach = evaluate(&l.metrics(Window::Last24h, NOW), &cfg, &Facts::default());
    assert_eq!(
        keys(&breach),
        [(AlertLevel::Critical, "policy_breach".to_string())]
    );
    assert!(breach[0].message.contains("refs/heads/main: t1: 1 commit"));
    assert!(evaluate(
        &l.metrics(Window::Last24h, "2026-11-22T04:00:01.000Z"),
        &cfg,
        &Facts::default()
    )
    .is_empty());

    // The audit chain and unreadable records are facts the caller checks.
    let m = l.metrics(Window::Last24h, "2026-11-22T04:00:01.000Z");
    let broken = Facts {
        chain_ok: Some(false),
        chain_finding: Some("record 7 (records): hash mismatch".into()),
        corrupt_records: 2,
    };
    let a = evaluate(&m, &cfg, &broken);
    assert_eq!(
        keys(&a),
        [
            (AlertLevel::Critical, "audit_chain".to_string()),
            (AlertLevel::Critical, "data_corruption".to_string())
        ]
    );
    assert_eq!(
        a[0].message,
        "the audit trail failed verification: record 7 (records): hash mismatch"
    );
    assert_eq!(a[1].message, "2 audit record(s) cannot be read");
    let fine = Facts {
        chain_ok: Some(true),
        ..Facts::default()
    };
    assert!(evaluate(&m, &cfg, &fine).is_empty());
}

#[test]
fn windows_parse_and_a_bad_one_is_explained() {
    for w in Window::ALL {
        assert_eq!(w.as_str().parse::<Window>().unwrap(), w);
        assert_eq!(serde_json::to_value(w).unwrap(), w.as_str());
    }
    let e = "1h".parse::<Window>().unwrap_err();
    assert_eq!(
        e,
        "unknown window '1h' (expected 24h, 7d, checkpoint or all)"
    );
}

// ---------------------------------------------------------------------------------------------
// OpenMetrics, read back by a strict parser of the text format.

#[derive(Debug, Default)]
struct Family {
    kind: String,
    unit: Option<String>,
    help: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Default)]
struct Exposition {
    families: BTreeMap<String, Family>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == want)
            .collect();
        assert!(found.len() <= 1, "duplicate series {name} {want:?}");
        found.first().map(|s| s.value)
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    valid_name(s) && !s.contains(':')
}

/// Parses `{a="x",b="y\"z"}` from the start of `s`; returns the labels and the rest.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    if let Some(r) = rest.strip_prefix('}') {
        return Ok((labels, r));
    }
    loop {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next().ok_or("unterminated label value")?;
            match c {
                '"' => break i,
                '\\' => match chars.next().ok_or("dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => return Err(format!("bad escape \\{other}")),
                },
                '\n' => return Err("raw newline in a label value".into()),
                c => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("duplicate label {name}"));
        }
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        } else {
            return Err("expected , or } after a label".into());
        }
    }
}

/// A strict reading of the OpenMetrics text format as far as this exposition uses it.
fn parse_openmetrics(text: &str) -> Result<Exposition, String> {
    let body = text
        .strip_suffix("# EOF\n")
        .ok_or("does not end with # EOF")?;
    let mut out = Exposition::default();
    let mut current: Option<String> = None;
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<(String, Vec<(String, String)>)> = BTreeSet::new();
    for (n, line) in body.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (what, name, rest) = (
                parts.next().unwrap_or(""),
                parts
                    .next()
                    .ok_or_else(|| err("metadata without a name".into()))?,
                parts
                    .next()
                    .ok_or_else(|| err("metadata without a value".into()))?,
            );
            if !valid_name(name) {
                return Err(err("bad family name".into()));
            }
            if current.as_deref() != Some(name) {
                if done.contains(name) || out.families.contains_key(name) {
                    return Err(err("family declared twice or interleaved".into()));
                }
                if let Some(c) = current.take() {
                    done.insert(c);
                }
                current = Some(name.to_string());
            }
            let fam = out.families.entry(name.to_string()).or_default();
            match what {
                "TYPE" => {
                    if !fam.kind.is_empty() {
                        return Err(err("TYPE twice".into()));
                    }
                    if ![
                        "gauge",
                        "counter",
                        "summary",
                        "histogram",
                        "info",
                        "stateset",
                        "unknown",
                    ]
                    .contains(&rest)
                    {
                        return Err(err("unknown type".into()));
                    }
                    fam.kind = rest.to_string();
                }
                "UNIT" => {
                    if !name.ends_with(&format!("_{rest}")) {
                        return Err(err("the family name must end with its unit".into()));
                    }
                    fam.unit = Some(rest.to_string());
                }
                "HELP" => fam.help = Some(rest.to_string()),
                _ => return Err(err("unknown metadata".into())),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("a comment that is not TYPE, UNIT, HELP or EOF".into()));
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("sample without a value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(err("bad sample name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(err)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let value_text = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before the value".into()))?;
        if value_text.contains(' ') {
            return Err(err("unexpected timestamp or exemplar".into()));
        }
        let value: f64 = value_text
            .parse()
            .map_err(|_| err("value is not a number".into()))?;
        if !value.is_finite() {
            return Err(err("a figure that is not a number".into()));
        }
        let family = current
            .clone()
            .ok_or_else(|| err("sample before any family".into()))?;
        let kind = out.families[&family].kind.clone();
        let suffix = name
            .strip_prefix(family.as_str())
            .ok_or_else(|| err(format!("sample outside its family {family}")))?;
        let allowed: &[&str] = match kind.as_str() {
            "gauge" | "unknown" => &[""],
            "counter" => &["_total", "_created"],
            "summary" => &["", "_sum", "_count", "_created"],
            _ => return Err(err("type not expected here".into())),
        };
        if !allowed.contains(&suffix) {
            return Err(err(format!("suffix {suffix:?} not allowed for a {kind}")));
        }
        if kind == "summary" && suffix.is_empty() && !labels.contains_key("quantile") {
            return Err(err("summary quantile sample without quantile".into()));
        }
        if (suffix == "_count" || suffix == "_sum") && value < 0.0 {
            return Err(err("negative count or sum".into()));
        }
        let key = (
            name.to_string(),
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        );
        if !seen.insert(key) {
            return Err(err("duplicate series".into()));
        }
        out.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    for (name, f) in &out.families {
        if f.kind.is_empty() {
            return Err(format!("family {name} has no TYPE"));
        }
        if !out
            .samples
            .iter()
            .any(|s| s.name.starts_with(name.as_str()))
        {
            return Err(format!("family {name} has no sample"));
        }
    }
    Ok(out)
}

#[test]
fn the_parser_is_strict() {
    let good = "# TYPE a gauge\n# HELP a x\na{window=\"all\",v=\"q\\\"\\\\\\n\"} 1.5\n# EOF\n";
    let p = parse_openmetrics(good).unwrap();
    assert_eq!(
        p.value("a", &[("window", "all"), ("v", "q\"\\\n")]),
        Some(1.5)
    );
    for bad in [
        "# TYPE a gauge\na 1\n",                                             // no EOF
        "a 1\n# EOF\n",                                                      // no family
        "# TYPE a gauge\na{x=\"1\"} one\n# EOF\n",                           // not a number
        "# TYPE a gauge\na{x=1} 1\n# EOF\n",                                 // unquoted
        "# TYPE a gauge\na{x=\"\\t\"} 1\n# EOF\n",                           // bad escape
        "# TYPE a gauge\n# UNIT a seconds\na 1\n# EOF\n",                    // unit not in the name
        "# TYPE a gauge\na_total 1\n# EOF\n",                                // wrong suffix
        "# TYPE a gauge\na 1\na 2\n# EOF\n",                                 // duplicate series
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n# EOF\n", // interleaved
        "# TYPE a gauge\n# HELP a x\n# EOF\n",                               // no sample
        "# TYPE s summary\ns 1\n# EOF\n", // quantile without label
    ] {
        assert!(parse_openmetrics(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn the_openmetrics_output_parses_and_carries_the_figures() {
    let m = history().metrics(Window::All, NOW);
    let alerts = evaluate(&m, &MetricsConfig::default(), &Facts::default());
    let text = openmetrics::render(&m, &alerts);
    let p = parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let w = ("window", "all");
    assert_eq!(p.value("overlord_qa_coverage_percent", &[w]), Some(82.0));
    assert_eq!(
        p.families["overlord_qa_coverage_percent"].unit.as_deref(),
        Some("percent")
    );
    assert_eq!(
        p.value("overlord_qa_run_coverage_percent", &[w, ("run", "QA-1")]),
        Some(90.0)
    );
    assert_eq!(
        p.value("overlord_qa_reproducibility_percent", &[w]),
        Some(96.0)
    );
    assert_eq!(p.value("overlord_qa_build_pass_ratio", &[w]), Some(0.5));
    assert_eq!(
        p.value("overlord_qa_flakiness_ratio", &[w]),
        Some(2.0 / 300.0)
    );
    assert_eq!(p.families["overlord_qa_cycle_seconds"].kind, "summary");
    assert_eq!(
        p.value("overlord_qa_cycle_seconds", &[w, ("quantile", "0.5")]),
        Some(600.0)
    );
    assert_eq!(p.value("overlord_qa_cycle_seconds_sum", &[w]), Some(2400.0));
    assert_eq!(p.value("overlord_qa_cycle_seconds_count", &[w]), Some(2.0));
    assert_eq!(
        p.value(
            "overlord_concern_ack_latency_seconds",
            &[w, ("severity", "warning"), ("quantile", "0.9")]
        ),
        Some(1200.0)
    );
    assert_eq!(
        p.value(
            "overlord_concern_resolve_latency_seconds_count",
            &[w, ("severity", "critical")]
        ),
        Some(1.0)
    );
    // No data, no sample: no info concern was acknowledged.
    assert_eq!(
        p.value(
            "overlord_concern_ack_latency_seconds_count",
            &[w, ("severity", "info")]
        ),
        None
    );
    assert_eq!(
        p.value("overlord_merges", &[w, ("outcome", "conflicted")]),
        Some(1.0)
    );
    assert_eq!(
        p.value("overlord_merge_success_ratio", &[w]),
        Some(2.0 / 3.0)
    );
    assert_eq!(p.value("overlord_task_pass_ratio", &[w]), Some(0.5));
    assert_eq!(p.value("overlord_task_attempts_mean", &[w]), Some(1.5));
    assert_eq!(
        p.value("overlord_task_time_seconds", &[w, ("role", "tester")]),
        Some(5400.0)
    );
    assert_eq!(
        p.value("overlord_role_tokens", &[w, ("role", "implementer")]),
        Some(1100.0)
    );
    assert_eq!(
        p.value("overlord_adapter_cost_usd", &[w, ("adapter", "claude")]),
        Some(0.005)
    );
    assert_eq!(
        p.value("overlord_task_tokens", &[w, ("task", "t1")]),
        Some(1000.0)
    );
    assert_eq!(p.value("overlord_cost_usd", &[w]), Some(0.026));
    assert_eq!(
        p.value(
            "overlord_agent_state_seconds",
            &[w, ("agent", "a2"), ("state", "paused")]
        ),
        Some(1800.0)
    );
    assert_eq!(
        p.value(
            "overlord_alert",
            &[w, ("level", "critical"), ("key", "agent_halted:a2")]
        ),
        Some(1.0)
    );
    // Every family has HELP.
    assert!(p.families.values().all(|f| f.help.is_some()));
}

#[test]
fn openmetrics_escapes_label_values() {
    let mut l = Log::default();
    let odd = "t\"1\\x\ny";
    l.at(
        &ts(21, 1, 0),
        register("a1", Role::Implementer, "codex", &ts(21, 1, 0)),
    )
    .at(
        &ts(21, 1, 0),
        agent_state("a1", AgentState::Running, Some(odd), Some(1)),
    )
    .at(&ts(21, 2, 0), activity("a1", 7, 0));
    let m = l.metrics(Window::Last7d, NOW);
    let text = openmetrics::render(&m, &[]);
    let p = parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        p.value("overlord_task_tokens", &[("window", "7d"), ("task", odd)]),
        Some(7.0)
    );
}

// ---------------------------------------------------------------------------------------------
// The CLI on a real store.

/// A set-up repository whose audit store holds exactly `events`.
/// Changes the first stored record behind the hash chain's back.
fn forge_first_record(repo: &Repo) {
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    let n = conn
        .execute(
            "UPDATE records SET body = replace(body, '\"codex\"', '\"forged\"') WHERE seq = 1",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn repo_with(events: &[Event]) -> Repo {
    let repo = Repo::new();
    let ws = repo.workspace();
    ws.init().expect("init");
    crate::common::append_events(&ws, events);
    repo
}

#[test]
fn the_cli_prints_the_table_json_and_openmetrics_from_a_real_store() {
    let repo = repo_with(&history().events);
    let out = repo.run(&["metrics", "--now", NOW]);
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "Metrics, window all (since the beginning until 2026-11-21T12:00:00.000Z), 31 events\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  coverage (latest)              82.0%\n"),
        "{text}"
    );
    assert!(
        text.contains("  build pass rate                50.0% (1/2)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  QA cycle time                  mean 20m 00s, p50 10m 00s, p90 30m 00s (n=2)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  merges                         2 merged, 1 conflicted; success 66.7% (2/3)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  CRITICAL agent_halted:a2: agent a2 has failed and stopped\n"),
        "{text}"
    );
    assert!(
        text.contains("concerns info                  0 raised, 0 open\n"),
        "{text}"
    );
    assert!(
        text.contains("    raised → acknowledged        no data\n"),
        "{text}"
    );

    let out = repo.run(&["metrics", "--json", "--window", "checkpoint", "--now", NOW]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["metrics"]["schema_version"], 1);
    assert_eq!(v["metrics"]["window"], "checkpoint");
    assert_eq!(v["metrics"]["since"], "2026-11-20T14:30:00.000Z");
    assert_eq!(v["metrics"]["qa"]["latest_coverage"], 82.0);
    assert_eq!(
        v["metrics"]["qa"]["previous_coverage"],
        serde_json::Value::Null
    );
    assert_eq!(v["metrics"]["merges"]["success_rate"]["rate"], 0.5);
    assert_eq!(
        v["metrics"]["concerns"]["warning"]["acknowledged"]["p90_secs"],
        1200.0
    );
    assert_eq!(v["metrics"]["spend"]["by_role"]["tester"]["tokens"], 500);
    assert_eq!(v["alerts"][0]["level"], "critical");
    assert_eq!(v["alerts"][0]["key"], "agent_halted:a2");
    // The JSON is the serialized `Metrics` exactly.
    let back: Metrics = serde_json::from_value(v["metrics"].clone()).unwrap();
    assert_eq!(back, history().metrics(Window::SinceCheckpoint, NOW));

    let out = repo.run(&["metrics", "--openmetrics", "--window", "24h", "--now", NOW]);
    assert!(out.status.success());
    let text = stdout(&out);
    let p = parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        p.value("overlord_cost_usd", &[("window", "24h")]),
        Some(0.006)
    );
    assert!(p.samples.iter().all(|s| s.labels["window"] == "24h"));
}

#[test]
fn the_cli_on_an_empty_store_and_with_bad_arguments() {
    let repo = repo_with(&[]);
    let out = repo.run(&["metrics", "--now", NOW]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("  coverage (latest)              no data\n"),
        "{text}"
    );
    assert!(text.contains("Alerts: none\n"), "{text}");
    let out = repo.run(&["metrics", "--openmetrics", "--now", NOW]);
    let p = parse_openmetrics(&stdout(&out)).unwrap();
    assert!(p
        .families
        .keys()
        .all(|f| !f.contains("coverage") && !f.contains("ratio")));

    let out = repo.run(&["metrics", "--window", "1h"]);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("unknown window '1h' (expected 24h, 7d, checkpoint or all)"),
        "{err}"
    );
    let out = repo.run(&["metrics", "--now", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::common::stderr(&out).contains("is not an RFC 3339 time"));
}

#[test]
fn the_cli_verify_flag_turns_a_broken_chain_into_a_critical_alert() {
    let repo = repo_with(&history().events[..3]);
    let out = repo.run(&["metrics", "--verify", "--json", "--now", NOW]);
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["key"] != "audit_chain"),
        "{v}"
    );
    // Change a stored event behind the chain's back.
    forge_first_record(&repo);
    let out = repo.run(&["metrics", "--verify", "--json", "--now", NOW]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["alerts"][0]["level"], "critical", "{v}");
    assert_eq!(v["alerts"][0]["key"], "audit_chain", "{v}");
}

#[test]
fn alert_transitions_become_events_that_the_reducer_keeps_until_cleared() {
    let cfg = MetricsConfig::default();
    let mut l = failed_agent();
    let before = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    // Raised: one `metric_alert` event; the state holds it by key.
    let raised = transitions(&[], &before).events();
    assert_eq!(
        raised,
        [EventKind::MetricAlert {
            level: AlertLevel::Critical,
            key: "agent_halted:a1".into(),
            message: "agent a1 has failed and stopped".into(),
            concern: None,
        }]
    );
    for kind in raised {
        assert_eq!(kind.name(), "metric_alert");
        l.at(&ts(21, 2, 0), kind);
    }
    assert_eq!(
        l.state.alerts["agent_halted:a1"].level,
        AlertLevel::Critical
    );
    // The figures still say the same (the alert events change no figure).
    assert_eq!(
        evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default()),
        before
    );
    // Cleared: the agent runs again.
    l.at(
        &ts(21, 3, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(2)),
    );
    let after = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    let cleared = transitions(&before, &after).events();
    assert_eq!(
        cleared,
        [EventKind::MetricAlertCleared {
            key: "agent_halted:a1".into()
        }]
    );
    for kind in cleared {
        assert_eq!(kind.name(), "metric_alert_cleared");
        l.at(&ts(21, 3, 0), kind);
    }
    assert!(l.state.alerts.is_empty());
    // They round-trip as stored JSON.
    let e = &l.events[l.events.len() - 1];
    let back: Event = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
    assert_eq!(&back, e);
}

// ---------------------------------------------------------------------------------------------
// `serve` with `[metrics] listen`: /metrics scraped over HTTP.

struct Owner(std::process::Child);

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with `[metrics] listen`; returns it and the address it announced.
fn serve_metrics(repo: &Repo, listen: &str) -> (Owner, String) {
    use std::io::BufRead;
    repo.write(
        ".overlord/config.toml",
        &format!("[metrics]\nlisten = \"{listen}\"\n"),
    );
    let mut cmd = crate::common::bin();
    cmd.arg("serve")
        .current_dir(repo.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    crate::common::sandbox(&mut cmd, repo.home.path());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("on http://").nth(1) {
                let _ = tx.send(rest.trim_end_matches("/metrics").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("serve announced /metrics");
    (Owner(child), addr)
}

fn http_get(addr: &str, target: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[test]
fn serve_exposes_metrics_on_a_loopback_port() {
    let repo = repo_with(&history().events);
    let (_owner, addr) = serve_metrics(&repo, "127.0.0.1:0");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let (head, body) = http_get(&addr, "/metrics?window=all");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    let p = parse_openmetrics(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    let w = ("window", "all");
    // The figures that do not depend on the time of the scrape.
    assert_eq!(p.value("overlord_qa_runs", &[w]), Some(2.0));
    assert_eq!(p.value("overlord_qa_coverage_percent", &[w]), Some(82.0));
    assert_eq!(
        p.value("overlord_merges", &[w, ("outcome", "merged")]),
        Some(2.0)
    );
    assert_eq!(p.value("overlord_cost_usd", &[w]), Some(0.026));
    // The default window is all time.
    let (_, default) = http_get(&addr, "/metrics");
    assert_eq!(
        parse_openmetrics(&default)
            .unwrap()
            .value("overlord_qa_runs", &[w]),
        Some(2.0)
    );
    let (head, body) = http_get(&addr, "/metrics?window=1h");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(body.contains("unknown window '1h'"), "{body}");
    let (head, _) = http_get(&addr, "/");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn serve_refuses_a_metrics_address_that_is_not_loopback() {
    let repo = repo_with(&[]);
    repo.write(
        ".overlord/config.toml",
        "[metrics]\nlisten = \"0.0.0.0:9464\"\n",
    );
    let out = repo.run(&["serve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::common::stderr(&out).contains("is not a loopback address"),
        "{}",
        crate::common::stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Any history, however skewed: never a negative, infinite or out-of-range figure.

mod any_history {
    use super::*;
    use proptest::prelude::*;

    /// One step of a random history: what happens, and how many minutes the stamp moves
    /// (backwards too: clock skew).
    fn step() -> impl Strategy<Value = (u8, u8, i32)> {
        (0u8..12, 0u8..3, -90i32..240)
    }

    fn kind(what: u8, who: u8, n: u64) -> EventKind {
        let agent = format!("a{who}");
        let task = format!("t{who}");
        match what {
            0 => register(&agent, Role::ALL[who as usize], "codex", &ts(20, 0, 0)),
            1 => agent_state(
                &agent,
                AgentState::Running,
                Some(&task),
                Some(1 + who as u32),
            ),
            2 => agent_state(&agent, AgentState::Waiting, Some(&task), None),
            3 => agent_state(&agent, AgentState::Failed, None, None),
            4 => EventKind::AgentPaused { agent },
            5 => EventKind::AgentResumed { agent },
            6 => raise(1 + who as u64, Severity::Warning, &ts(20, 0, 0)),
            7 => ack(1 + who as u64),
            8 => resolve(1 + who as u64),
            9 => qa_started(1 + who as u64),
            10 => Run {
                coverage: Some((n % 100) as f64),
                tests: Some(n % 7),
                flaky: (n % 3) as usize,
                build: Some(n.is_multiple_of(2)),
                ..Run::new(1 + who as u64)
            }
            .recorded(&ts(20, 0, 0), &ts(20, 0, 0)),
            _ => activity(&agent, n, n * 10),
        }
    }

    fn stamp(minutes: i64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp(1_795_000_000 + minutes * 60).unwrap();
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");
        t.format(&fmt).unwrap()
    }

    fn check_durations(d: &Option<Durations>) {
        if let Some(d) = d {
            for x in [d.sum_secs, d.mean_secs, d.p50_secs, d.p90_secs, d.max_secs] {
                assert!(x.is_finite() && x >= 0.0, "{d:?}");
            }
            assert!(
                d.p50_secs <= d.p90_secs && d.p90_secs <= d.max_secs,
                "{d:?}"
            );
            assert!(d.count > 0);
        }
    }

    fn check_ratio(r: &Option<Ratio>) {
        if let Some(r) = r {
            assert!(r.whole > 0 && r.part <= r.whole, "{r:?}");
            assert!((0.0..=1.0).contains(&r.rate), "{r:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn figures_stay_in_range(steps in proptest::collection::vec(step(), 0..60), now_at in 0i64..20_000) {
            let mut l = Log::default();
            let mut minutes = 0i64;
            for (i, (what, who, dt)) in steps.into_iter().enumerate() {
                minutes += dt as i64;
                l.at(&stamp(minutes), kind(what, who, i as u64));
            }
            let now = stamp(now_at);
            for window in Window::ALL {
                let m = l.metrics(window, &now);
                check_durations(&m.qa.cycle);
                for c in m.concerns.values() {
                    check_durations(&c.acknowledged);
                    check_durations(&c.resolved);
                }
                for r in [m.qa.build_pass_rate, m.qa.pass_rate, m.qa.flakiness,
                          m.merges.success_rate, m.tasks.pass_rate] {
                    check_ratio(&r);
                }
                let span = match window {
                    Window::Last24h => Some(86_400.0),
                    Window::Last7d => Some(7.0 * 86_400.0),
                    _ => None,
                };
                for t in m.utilisation.by_agent.values().chain([&m.utilisation.total]) {
                    for x in [t.running_secs, t.waiting_secs, t.paused_secs, t.idle_secs] {
                        prop_assert!(x.is_finite() && x >= 0.0, "{t:?}");
                    }
                    if let Some(u) = t.utilisation {
                        prop_assert!((0.0..=1.0).contains(&u), "{t:?}");
                    }
                }
                if let Some(span) = span {
                    for t in m.utilisation.by_agent.values() {
                        let total = t.running_secs + t.waiting_secs + t.paused_secs + t.idle_secs;
                        prop_assert!(total <= span + 1e-6, "{total} > {span}");
                    }
                }
                for r in m.tasks.by_role.values() {
                    prop_assert!(r.running_secs >= 0.0 && r.tasks > 0);
                }
                let alerts = evaluate(&m, &MetricsConfig::default(), &Facts::default());
                let text = openmetrics::render(&m, &alerts);
                if let Err(e) = parse_openmetrics(&text) {
                    prop_assert!(false, "{e}\n{text}");
                }
                let json = serde_json::to_string(&m).unwrap();
                // (serde_json's default float parsing may differ in the last bit, so the
                // document is checked to read back, not for bit-equality.)
                let back: Metrics = serde_json::from_str(&json).unwrap();
                prop_assert_eq!((back.events, back.window, back.qa.runs.len()), (m.events, m.window, m.qa.runs.len()));
            }
        }
    }
}

/// The figures read what the real core writes: concerns raised, acknowledged and resolved
/// through commands, then `metrics --json` on that store (with the real clock).
#[test]
fn the_cli_reads_the_events_the_core_writes() {
    use crate::common::ok;
    let repo = Repo::new();
    {
        let mut core = repo.core();
        ok(&mut core, "/raise --severity critical --category x one");
        ok(&mut core, "/raise --severity warning --category x two");
        ok(&mut core, "/ack C-1");
        ok(&mut core, "/resolve C-2 done");
    }
    let out = repo.run(&["metrics", "--json", "--window", "24h"]);
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let m: Metrics = serde_json::from_value(v["metrics"].clone()).unwrap();
    let crit = &m.concerns[&Severity::Critical];
    assert_eq!((crit.raised, crit.open), (1, 1));
    let ack = crit.acknowledged.expect("C-1 was acknowledged");
    assert_eq!(ack.count, 1);
    assert!((0.0..60.0).contains(&ack.max_secs), "{ack:?}");
    assert_eq!(crit.resolved, None);
    let warn = &m.concerns[&Severity::Warning];
    assert_eq!((warn.raised, warn.open), (1, 0));
    assert_eq!(warn.resolved.map(|d| d.count), Some(1));
    assert_eq!((m.clock_skew_events, m.unreadable_timestamps), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// The owner's monitor: alerts as events, concerns in the human's queue, the kill switch.

fn fold(l: &mut Log, kinds: Vec<EventKind>) {
    for k in kinds {
        l.at(NOW, k);
    }
}

#[test]
fn alert_events_raise_a_concern_halt_on_listed_criticals_and_resolve_when_cleared() {
    use overlord::core::monitor::alert_events;
    use overlord::protocol::model::ConcernStatus;
    let mut cfg = MetricsConfig::default();
    let mut l = failed_agent();
    let desired = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    // A failed agent: the alert, and no second concern (the supervisor raised one with the
    // particulars); not in the default `kill_switch_on`.
    let halted = EventKind::MetricAlert {
        level: AlertLevel::Critical,
        key: "agent_halted:a1".into(),
        message: "agent a1 has failed and stopped".into(),
        concern: None,
    };
    assert_eq!(
        alert_events(&l.state, &desired, &cfg, NOW),
        std::slice::from_ref(&halted)
    );
    // Listed: the kill switch too, once.
    cfg.kill_switch_on = vec!["agent_halted".into()];
    let evs = alert_events(&l.state, &desired, &cfg, NOW);
    assert_eq!(
        evs,
        [
            halted,
            EventKind::DispatchHalted {
                reason: Some(
                    "CRITICAL alert agent_halted:a1: agent a1 has failed and stopped".into()
                )
            }
        ]
    );
    fold(&mut l, evs);
    assert!(l.state.dispatch_halted);
    // Evaluated again with nothing changed: nothing to record.
    let again = evaluate(&l.metrics(Window::All, NOW), &cfg, &Facts::default());
    assert_eq!(alert_events(&l.state, &again, &cfg, NOW), []);

    // A broken audit chain: a critical concern for the human, kept on the alert.
    let facts = Facts {
        chain_ok: Some(false),
        chain_finding: Some("record 1 (records): hash mismatch".into()),
        corrupt_records: 0,
    };
    let broken = evaluate(&l.metrics(Window::All, NOW), &cfg, &facts);
    let evs = alert_events(&l.state, &broken, &cfg, NOW);
    let names: Vec<&str> = evs.iter().map(|e| e.name()).collect();
    // The kill switch is already on: not turned on twice.
    assert_eq!(names, ["concern_raised", "metric_alert"], "{evs:?}");
    let EventKind::ConcernRaised { concern } = &evs[0] else {
        unreachable!()
    };
    assert_eq!(concern.id, ConcernId(1));
    assert_eq!(
        (concern.from, concern.to, concern.severity),
        (Role::ProjectManager, Role::Human, Severity::Critical)
    );
    assert_eq!(concern.category, "metrics");
    assert_eq!(concern.raised_by.as_deref(), Some("metrics"));
    assert_eq!(
        concern.summary,
        "CRITICAL: the audit trail failed verification: record 1 (records): hash mismatch"
    );
    assert_eq!(
        evs[1],
        EventKind::MetricAlert {
            level: AlertLevel::Critical,
            key: "audit_chain".into(),
            message: "the audit trail failed verification: record 1 (records): hash mismatch"
                .into(),
            concern: Some(ConcernId(1)),
        }
    );
    fold(&mut l, evs);
    assert_eq!(l.state.alerts["audit_chain"].concern, Some(ConcernId(1)));

    // The agent runs again and the chain verifies: both clear, and the metrics resolve the
    // concern they raised.
    l.at(
        &ts(21, 3, 0),
        agent_state("a1", AgentState::Running, Some("t1"), Some(2)),
    );
    let after = evaluate(
        &l.metrics(Window::All, NOW),
        &cfg,
        &Facts {
            chain_ok: Some(true),
            ..Facts::default()
        },
    );
    let evs = alert_events(&l.state, &after, &cfg, NOW);
    assert_eq!(
        evs,
        [
            EventKind::MetricAlertCleared {
                key: "agent_halted:a1".into()
            },
            EventKind::MetricAlertCleared {
                key: "audit_chain".into()
            },
            EventKind::ConcernResolved {
                id: ConcernId(1),
                note: Some(
                    "cleared by the metrics: audit_chain is back within its threshold".into()
                ),
            }
        ]
    );
    fold(&mut l, evs);
    assert!(l.state.alerts.is_empty());
    assert_eq!(
        l.state.concerns[&ConcernId(1)].status,
        ConcernStatus::Resolved
    );
}

#[test]
fn warnings_stay_out_of_the_queue_and_a_level_change_keeps_the_concern() {
    use overlord::core::monitor::alert_events;
    let cfg = MetricsConfig::default();
    let mut l = Log::default();
    let warn = Alert {
        level: AlertLevel::Warn,
        key: "coverage".into(),
        message: "coverage 82.0% is within 5 points of 80.0%".into(),
        concern: None,
    };
    // WARN: the alert only.
    let evs = alert_events(&l.state, std::slice::from_ref(&warn), &cfg, NOW);
    assert_eq!(evs.len(), 1, "{evs:?}");
    fold(&mut l, evs);
    // WARN → ALERT: a concern now.
    let alert = Alert {
        level: AlertLevel::Alert,
        message: "coverage 70.0% is below 80.0%".into(),
        ..warn.clone()
    };
    let evs = alert_events(&l.state, std::slice::from_ref(&alert), &cfg, NOW);
    let names: Vec<&str> = evs.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["concern_raised", "metric_alert"]);
    fold(&mut l, evs);
    assert_eq!(l.state.alerts["coverage"].concern, Some(ConcernId(1)));
    // ALERT → CRITICAL (say): the same open concern, no second one.
    let critical = Alert {
        level: AlertLevel::Critical,
        ..alert.clone()
    };
    let evs = alert_events(&l.state, std::slice::from_ref(&critical), &cfg, NOW);
    assert_eq!(
        evs,
        [EventKind::MetricAlert {
            level: AlertLevel::Critical,
            key: "coverage".into(),
            message: "coverage 70.0% is below 80.0%".into(),
            concern: Some(ConcernId(1)),
        }]
    );
    // A failed QA run has its own concern already: its alert raises none.
    let qa = Alert {
        level: AlertLevel::Alert,
        key: "qa_gate_failed".into(),
        message: "QA run QA-1 failed".into(),
        concern: None,
    };
    let evs = alert_events(&l.state, &[critical, qa], &cfg, NOW);
    let names: Vec<&str> = evs.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["metric_alert", "metric_alert"], "{evs:?}");
}

/// Starts `serve` on the repository; the child is killed when dropped.
fn serve(repo: &Repo) -> Owner {
    let mut cmd = crate::common::bin();
    cmd.arg("serve")
        .current_dir(repo.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    crate::common::sandbox(&mut cmd, repo.home.path());
    Owner(cmd.spawn().unwrap())
}

/// `status --json` until `check` holds (the owner evaluates within a second or two).
fn wait_for_state(repo: &Repo, what: &str, check: impl Fn(&State) -> bool) -> State {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = repo.run(&["status", "--json"]);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
            let state: State = serde_json::from_value(v["state"].clone()).unwrap();
            if check(&state) {
                return state;
            }
            if std::time::Instant::now() > deadline {
                panic!("{what}: never happened; state alerts {:?}", state.alerts);
            }
        } else if std::time::Instant::now() > deadline {
            panic!("{what}: {}", crate::common::stderr(&out));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn the_owner_raises_alerts_as_events_and_a_broken_chain_turns_the_kill_switch_on() {
    // A failed agent in the store; the owner's monitor sees it when it starts.
    let repo = repo_with(&failed_agent().events);
    repo.write(
        ".overlord/config.toml",
        "[metrics]\nalert_window = \"all\"\nevaluate_every_secs = 1\n",
    );
    let owner = serve(&repo);
    let state = wait_for_state(&repo, "agent_halted alert", |s| {
        s.alerts.contains_key("agent_halted:a1")
    });
    let alert = &state.alerts["agent_halted:a1"];
    assert_eq!(alert.level, AlertLevel::Critical);
    // The supervisor raises the failed agent's concern; the alert raises no second one.
    assert_eq!(alert.concern, None);
    // `agent_halted` is not in the default `kill_switch_on`.
    assert!(!state.dispatch_halted);
    // The health line shows it.
    let out = repo.run(&["status"]);
    let text = stdout(&out);
    assert!(text.contains("alerts 1 critical"), "{text}");
    assert!(
        text.contains("Alert [CRITICAL] agent_halted:a1: agent a1 has failed and stopped"),
        "{text}"
    );
    drop(owner);

    // A record changed behind the chain's back: CRITICAL audit_chain, and the kill switch.
    forge_first_record(&repo);
    let _owner = serve(&repo);
    let state = wait_for_state(&repo, "the kill switch", |s| s.dispatch_halted);
    let alert = &state.alerts["audit_chain"];
    assert_eq!(alert.level, AlertLevel::Critical);
    let concern = &state.concerns[&alert.concern.expect("a concern")];
    assert_eq!(
        (concern.category.as_str(), concern.severity),
        ("metrics", Severity::Critical)
    );
    let log = repo.run(&["audit", "export"]);
    let text = stdout(&log);
    assert!(
        text.contains("CRITICAL alert audit_chain"),
        "the halt says why: {text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The daily digest.

#[test]
fn the_daily_digest_says_what_the_24_hours_brought() {
    use overlord::metrics::digest::render;
    let mut l = history();
    // An alert raised and cleared during the day, one in force.
    l.at(
        &ts(21, 9, 0),
        EventKind::MetricAlert {
            level: AlertLevel::Alert,
            key: "qa_gate_failed".into(),
            message: "QA run QA-2 failed".into(),
            concern: None,
        },
    )
    .at(
        &ts(21, 9, 30),
        EventKind::MetricAlert {
            level: AlertLevel::Warn,
            key: "coverage".into(),
            message: "coverage 82.0% is within 5 points of 80.0%".into(),
            concern: None,
        },
    )
    .at(
        &ts(21, 10, 0),
        EventKind::MetricAlertCleared {
            key: "qa_gate_failed".into(),
        },
    );
    // A task branch merged twice (after a rollback) is one branch; a run that asked for the
    // human did not pass; a pass rate is already in percent.
    for at in [ts(21, 10, 5), ts(21, 10, 10)] {
        l.at(
            &at,
            EventKind::GitAction {
                action: "merge".into(),
                reference: "refs/heads/session/s/integration".into(),
                old: None,
                new: Some("def".into()),
                source: Some("refs/heads/session/s/task/t9".into()),
                trigger: "save".into(),
                detail: "t9: 2 commits".into(),
            },
        );
    }
    let mut asked = Run {
        decision: QaDecision::RequireHuman,
        tests: Some(4),
        ..Run::new(3)
    }
    .recorded(&ts(21, 10, 20), &ts(21, 10, 25));
    if let EventKind::QaRunRecorded { run } = &mut asked {
        run.metrics.pass_rate = Some(100.0);
    }
    l.at(&ts(21, 10, 20), qa_started(3))
        .at(&ts(21, 10, 25), asked);
    let d = render(&l.events, &l.state, NOW).expect("now parses");
    assert_eq!(d.date, "2026-11-21");
    assert_eq!(d.file_name(), "DAILY_2026-11-21.md");
    // 24 hours to NOW: from 20T12:00 — the first checkpoint (20T14:30), both merges, QA-1
    // and QA-2, concerns 2 and 3 opened (1 was raised before), 1 and 2 resolved.
    assert_eq!(
        d.summary,
        "Daily digest 2026-11-21: 3 branches merged, 1 checkpoint (1 saved, 0 rolled back), QA 3 runs (1 passed, 1 asked the human), concerns +2/−2 (1 open), spend $0.0060 (600 tokens), 1 alert in force"
    );
    for line in [
        "| QA-1 | 2026-11-20T14:10:00.000Z | auto_merge | 90.0% |",
        "| QA-2 | 2026-11-21T07:30:00.000Z | fail | 82.0% |",
        "Runs not failed: 2/3 (66.7%); coverage 90.0% → 82.0% (-8.0 points).",
        "Opened 2 (0 critical, 2 warning, 0 info), closed 2; 1 open now.",
        "| C-3 | warning | acknowledged | implementer → designer | concern 3 |",
        "- **WARN** `coverage`: coverage 82.0% is within 5 points of 80.0%",
        "- 2026-11-21T09:00:00.000Z raised **ALERT** `qa_gate_failed`: QA run QA-2 failed",
        "- 2026-11-21T10:00:00.000Z cleared `qa_gate_failed`",
        "- `refs/heads/session/s/task/t9` — t9: 2 commits (merged 2 times)",
        "| QA-3 | 2026-11-21T10:25:00.000Z | require_human | — | 100.0% |",
    ] {
        assert!(d.markdown.contains(line), "{line:?} not in\n{}", d.markdown);
    }
    insta::assert_snapshot!("daily_digest", d.markdown);

    // An empty store: no data anywhere, no invented number.
    let empty = render(&[], &State::default(), NOW).unwrap();
    assert_eq!(
        empty.summary,
        "Daily digest 2026-11-21: 0 branches merged, 0 checkpoints (0 saved, 0 rolled back), QA 0 runs (0 passed), concerns +0/−0 (0 open), spend $0.00 (0 tokens), 0 alerts in force"
    );
    assert!(empty.markdown.contains("No QA run: no data."));
    assert!(render(&[], &State::default(), "not a time").is_none());
}

// ---------------------------------------------------------------------------------------------
// The figures per checkpoint (the console's sparklines)

fn named_checkpoint(name: &str, kind: CheckpointKind, at: &str) -> EventKind {
    let EventKind::CheckpointCreated { mut checkpoint } = checkpoint(at) else {
        unreachable!()
    };
    checkpoint.name = format!("checkpoint/{name}");
    checkpoint.kind = kind;
    EventKind::CheckpointCreated { checkpoint }
}

/// Three checkpoints on the 21st, and a fourth after `NOW`:
/// - 001 at 09:40: QA-1 (fail, 80%) and QA-2 (auto_merge, 84.5%), $0.01 spent before it;
/// - 002 at 10:00, a rollback: nothing happened since 001;
/// - 003 at 10:40: QA-3 measured no coverage, QA-4 recorded twice (86% then 87%), $0.03;
/// - then $0.005 at 11:00 (after the last checkpoint before `NOW`) and 004 at 13:00.
fn checkpoint_history() -> Log {
    let mut l = Log::default();
    let run = |id, coverage, decision| {
        Run {
            coverage,
            decision,
            ..Run::new(id)
        }
        .recorded(&ts(21, 9, 0), &ts(21, 9, 0))
    };
    l.at(
        &ts(21, 9, 0),
        register("a1", Role::Implementer, "codex", &ts(21, 9, 0)),
    )
    .at(&ts(21, 9, 10), activity("a1", 100, 10_000))
    .at(&ts(21, 9, 20), run(1, Some(80.0), QaDecision::Fail))
    .at(&ts(21, 9, 30), run(2, Some(84.5), QaDecision::AutoMerge))
    .at(
        &ts(21, 9, 40),
        named_checkpoint("20261121-001", CheckpointKind::Save, &ts(21, 9, 40)),
    )
    .at(
        &ts(21, 10, 0),
        named_checkpoint("20261121-002", CheckpointKind::Rollback, &ts(21, 10, 0)),
    )
    .at(&ts(21, 10, 10), activity("a1", 200, 30_000))
    .at(&ts(21, 10, 20), run(3, None, QaDecision::AutoMerge))
    .at(
        &ts(21, 10, 25),
        run(4, Some(86.0), QaDecision::RequireHuman),
    )
    .at(
        &ts(21, 10, 30),
        run(4, Some(87.0), QaDecision::RequireHuman),
    )
    .at(
        &ts(21, 10, 40),
        named_checkpoint("20261121-003", CheckpointKind::Save, &ts(21, 10, 40)),
    )
    .at(&ts(21, 11, 0), activity("a1", 50, 5_000))
    .at(
        &ts(21, 13, 0),
        named_checkpoint("20261121-004", CheckpointKind::Save, &ts(21, 13, 0)),
    );
    l
}

/// A point with nothing in its stretch.
fn point(name: &str, kind: CheckpointKind, at: &str) -> CheckpointPoint {
    CheckpointPoint {
        checkpoint: format!("checkpoint/{name}"),
        kind,
        at: at.into(),
        qa_runs: 0,
        coverage: None,
        qa_pass_rate: None,
        cost_micros: None,
        tokens: 0,
    }
}

#[test]
fn each_checkpoint_gets_the_qa_runs_and_spend_of_its_stretch_exactly() {
    let l = checkpoint_history();
    let points = metrics::per_checkpoint(&l.events, Window::All, NOW).unwrap();
    assert_eq!(
        points,
        vec![
            CheckpointPoint {
                qa_runs: 2,
                coverage: Some(84.5),
                qa_pass_rate: ratio(1, 2),
                cost_micros: Some(10_000),
                tokens: 100,
                ..point("20261121-001", CheckpointKind::Save, &ts(21, 9, 40))
            },
            // A rollback with nothing since the checkpoint before it: no data, not zeros.
            point("20261121-002", CheckpointKind::Rollback, &ts(21, 10, 0)),
            // QA-4's second record replaces its first; QA-3 measured no coverage.
            CheckpointPoint {
                qa_runs: 2,
                coverage: Some(87.0),
                qa_pass_rate: ratio(2, 2),
                cost_micros: Some(30_000),
                tokens: 200,
                ..point("20261121-003", CheckpointKind::Save, &ts(21, 10, 40))
            },
        ]
    );
    // The checkpoint window: only the newest checkpoint before now.
    let since = metrics::per_checkpoint(&l.events, Window::SinceCheckpoint, NOW).unwrap();
    assert_eq!(since, points[2..].to_vec());
}

#[test]
fn a_checkpoint_in_the_window_keeps_the_part_of_its_stretch_before_the_window() {
    let l = checkpoint_history();
    // 24 h before 11-22 09:35 is 11-21 09:35: 001 (09:40) is in, its QA runs and spend (09:10,
    // 09:20, 09:30) are earlier but still its own; 004 (13:00) has happened by then.
    let points = metrics::per_checkpoint(&l.events, Window::Last24h, &ts(22, 9, 35)).unwrap();
    let names: Vec<&str> = points.iter().map(|p| p.checkpoint.as_str()).collect();
    assert_eq!(
        names,
        [
            "checkpoint/20261121-001",
            "checkpoint/20261121-002",
            "checkpoint/20261121-003",
            "checkpoint/20261121-004"
        ]
    );
    assert_eq!(points[0].qa_runs, 2);
    assert_eq!(points[0].cost_micros, Some(10_000));
    assert_eq!(
        points[3],
        CheckpointPoint {
            cost_micros: Some(5_000),
            tokens: 50,
            ..point("20261121-004", CheckpointKind::Save, &ts(21, 13, 0))
        }
    );
    // A day later, only 004 is in the window.
    let points = metrics::per_checkpoint(&l.events, Window::Last24h, &ts(22, 12, 0)).unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].checkpoint, "checkpoint/20261121-004");
}

#[test]
fn no_checkpoint_no_point_and_a_bad_clock_no_answer() {
    assert_eq!(
        metrics::per_checkpoint(&[], Window::All, NOW),
        Some(Vec::new())
    );
    // QA runs and spend but no checkpoint yet: nothing per checkpoint (the pane says no data).
    let l = history();
    let before_checkpoint = ts(20, 14, 20);
    assert_eq!(
        metrics::per_checkpoint(&l.events, Window::All, &before_checkpoint),
        Some(Vec::new())
    );
    assert_eq!(
        metrics::per_checkpoint(&l.events, Window::All, "yesterday"),
        None
    );
    // An unreadable timestamp is left out, like in every figure.
    let mut l = checkpoint_history();
    l.at("not a time", activity("a1", 1, 999_999));
    let points = metrics::per_checkpoint(&l.events, Window::All, NOW).unwrap();
    assert_eq!(points[2].cost_micros, Some(30_000));
}

#[test]
fn the_events_the_figures_read_are_named() {
    assert!(metrics::reads(&activity("a1", 1, 1)));
    assert!(metrics::reads(&checkpoint(&ts(21, 9, 0))));
    assert!(metrics::reads(&ack(1)));
    assert!(!metrics::reads(&EventKind::MetricAlertCleared {
        key: "coverage".into()
    }));
}

#[test]
fn bad_alert_and_report_settings_are_explained_with_their_place() {
    let repo = Repo::new();
    repo.workspace().init().expect("init");
    for (text, says) in [
        (
            "[reports]\ndaily_at = \"25:99\"\n",
            ".overlord/config.toml:2:12: \"25:99\" is not a time of day HH:MM (UTC)",
        ),
        (
            "[metrics]\nalert_window = \"month\"\n",
            ".overlord/config.toml:2:16: unknown variant `month`, expected one of `24h`, `7d`, `checkpoint`, `all`",
        ),
        (
            "[metrics]\nkill_switch_on = 3\n",
            ".overlord/config.toml:2:18:",
        ),
    ] {
        repo.write(".overlord/config.toml", text);
        let out = repo.run(&["metrics", "--window", "24h"]);
        assert!(out.status.success(), "{}", crate::common::stderr(&out));
        let err = crate::common::stderr(&out);
        assert!(err.contains(says), "{says:?} not in {err}");
        assert!(err.contains("(using the defaults)"), "{err}");
    }
}

#[test]
fn the_health_line_counts_todays_spend_only_and_shows_a_spend_under_a_cent() {
    let l = history();
    // On the 21st: a2's 500 tokens ($0.005) and a1's 100 ($0.001); the 20th's are not today's.
    let r = overlord::protocol::StatusReport::from_state(&l.state, NOW);
    assert_eq!(r.today, "2026-11-21");
    assert_eq!(
        (r.spend_today.tokens, r.spend_today.cost_micros),
        (600, 6_000)
    );
    assert!(
        r.headline().contains("spend today $0.0060 (600 tokens)"),
        "{}",
        r.headline()
    );
    let yesterday = overlord::protocol::StatusReport::from_state(&l.state, "2026-11-20T23:00:00Z");
    assert!(
        yesterday
            .headline()
            .contains("spend today $0.02 (1.0k tokens)"),
        "{}",
        yesterday.headline()
    );
}

/// The morning report (the digest after a night shift): what was integrated, what waits for a
/// decision and why, what failed and why, and the spend — each figure of a known history.
#[test]
fn the_morning_report_says_what_waits_for_a_decision_and_what_failed() {
    use overlord::metrics::digest::render;
    use overlord::protocol::model::{
        Approval, ApprovalId, ApprovalKind, Phase, Plan, SessionStatus, Task, Variation,
        VariationId,
    };
    let mut l = history();
    l.at(
        &ts(21, 9, 45),
        EventKind::TaskStatusChanged {
            task: "t2".into(),
            status: TaskStatus::Failed,
            note: Some("acceptance check `cargo test` failed: exit 101".into()),
        },
    );
    let task = |id: &str, status: TaskStatus| Task {
        id: id.into(),
        title: format!("Task {id}"),
        description: String::new(),
        role: Role::Implementer,
        priority: "normal".into(),
        dependencies: vec![],
        acceptance_criteria: vec![],
        acceptance_checks: Vec::new(),
        expected_artifacts: vec![],
        status,
        parent_id: None,
        is_temporary: false,
        max_debug_attempts: None,
        branch_reason: None,
        debug_instructions: None,
        timeout_seconds: None,
        max_retries: None,
        owner: None,
        commentary: vec!["agent a3 stopped: no reason given".into()],
    };
    let mut state = l.state.clone();
    state.plan = Some(Plan {
        id: "night".into(),
        title: "Night shift".into(),
        source: "plan.json".into(),
        imported_at: ts(20, 8, 0),
        phases: vec![Phase {
            id: "p1".into(),
            name: "One".into(),
            tasks: vec![
                task("t1", TaskStatus::Done),
                task("t2", TaskStatus::Failed),
                task("t3", TaskStatus::Failed),
                task("t4", TaskStatus::Todo),
                task("t5", TaskStatus::Todo),
                task("t6", TaskStatus::NeedsReview),
            ],
            promoted_at: None,
        }],
    });
    // t5 came with a re-imported plan and waits for its approval; t4 is tied to a pending
    // high-impact variation; the Save was held for the human.
    state.approved_tasks = ["t1", "t2", "t3", "t4", "t6"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    state.variations.insert(
        VariationId(1),
        serde_json::from_value::<Variation>(serde_json::json!({
            "id": "V-1", "proposed_by": "designer", "agent": null, "title": "switch the store",
            "impact": "high", "rationale": null, "affects": ["t4"], "proposed_at": ts(21, 2, 0),
            "approval": null, "decision": null, "conditions": null, "comment": null,
            "reviewed_by": null, "decided_at": null
        }))
        .unwrap(),
    );
    state.approvals.insert(
        ApprovalId(7),
        Approval::pending(
            ApprovalId(7),
            ApprovalKind::Merge,
            "QA-3".into(),
            "Save 4: merge t6 into main? QA QA-3 asks for the human: coverage not measured".into(),
            "system".into(),
            ts(21, 10, 30),
        ),
    );
    state.session = SessionStatus::AwaitingReview;
    let d = render(&l.events, &state, NOW).expect("now parses");
    let md = &d.markdown;
    let waiting = md
        .split("\n## Waiting for a decision\n\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a waiting section");
    assert_eq!(
        waiting.trim_end(),
        [
            "- review A-7 (pending): merge `QA-3` asked by system at 2026-11-21T10:30:00.000Z — Save 4: merge t6 into main? QA QA-3 asks for the human: coverage not measured",
            "- task t4 (Task t4): high-impact variation V-1 is pending",
            "- task t5 (Task t5): not approved yet (the plan's new approval)",
            "- task t6 (Task t6): needs review",
            "- the session awaits review: a Save was held by its QA gate or rolled back (see the checkpoints and the QA trend)",
        ]
        .join("\n")
    );
    let failed = md
        .split("\n## Failed\n\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a failed section");
    let lines: Vec<&str> = failed.trim_end().lines().collect();
    assert_eq!(lines.len(), 4, "{failed}");
    assert_eq!(
        lines[0],
        "- task t2 (Task t2): acceptance check `cargo test` failed: exit 101"
    );
    assert_eq!(
        lines[1],
        "- task t3 (Task t3): agent a3 stopped: no reason given"
    );
    assert!(
        lines[2].starts_with("- agent a2 stopped in state failed"),
        "{failed}"
    );
    assert!(
        lines[3].starts_with("- QA QA-2 at 2026-11-21T07:30:00.000Z: "),
        "{failed}"
    );
    // What was integrated and the spend, per role and adapter.
    assert!(md.contains("- `refs/heads/"), "{md}");
    for line in [
        "$0.0060 and 600 tokens in the 24 hours.",
        "| role | tokens | cost |",
        "| adapter | tokens | cost |",
        "| agent | role | tokens | cost |\n|---|---|---|---|\n| a1 | implementer | 100 | $0.0010 |\n| a2 | tester | 500 | $0.0050 |\n",
    ] {
        assert!(md.contains(line), "{line:?} not in\n{md}");
    }
    // Nothing waits and nothing failed: said so.
    let quiet = render(&[], &State::default(), NOW).unwrap();
    assert!(quiet
        .markdown
        .contains("## Waiting for a decision\n\nNothing waits for the human.\n"));
    assert!(quiet.markdown.contains("## Failed\n\nNothing failed.\n"));
}
