//! Computing the figures: the events folded one at a time (each kind by its own step, agent
//! time in stretches between state changes), then each family of figures (QA, concerns,
//! merges, tasks, spend, utilisation) finished from what was gathered.
//!
//! The fold ([`Tally`]) is plain data (serializable, times in whole milliseconds, floats kept
//! bit for bit), so `running` can keep it as events are appended and resume it from a stored
//! copy: the full fold here and the incremental one there are the same code.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::tasks::TaskRow;
use super::{
    format_ms, parse_ms, window_start, AgentTime, ConcernFigures, Durations, Exact, MergeFigures,
    Metrics, QaFigures, QaRunFigures, Ratio, SpendFigures, TaskFigures, Utilisation, Window,
    METRICS_SCHEMA_VERSION,
};
use crate::protocol::model::{
    Agent, AgentState, Concern, QaDecision, QaRun, Role, Severity, TaskStatus, Timestamp,
};
use crate::protocol::{Event, EventKind};

/// What an agent is doing, for utilisation and time per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Running,
    Waiting,
    Paused,
    Idle,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct AgentTrack {
    role: Role,
    adapter: String,
    state: AgentState,
    paused: bool,
    task: Option<String>,
    /// When the current stretch began (ms).
    since: Option<i64>,
}

impl AgentTrack {
    fn activity(&self) -> Activity {
        if self.paused || self.state == AgentState::Paused {
            return Activity::Paused;
        }
        match self.state {
            AgentState::Running => Activity::Running,
            AgentState::Waiting | AgentState::RateLimited => Activity::Waiting,
            _ => Activity::Idle,
        }
    }
}

/// Computes every figure over `window`, from the events in `seq` order, as of `now` (an
/// audit timestamp). Events stamped after `now` are left out. `None` when `now` cannot be
/// read.
pub fn compute(events: &[Event], window: Window, now: &str) -> Option<Metrics> {
    let now_ms = parse_ms(now)?;
    let start = window_start(events, window, now_ms);
    let mut tally = Tally::new(window, now, now_ms, start);
    for e in events {
        tally.event(e);
    }
    Some(tally.finish())
}

/// The figures before any event: zeros and empties.
fn empty(window: Window, now: &str, start: Option<i64>) -> Metrics {
    Metrics {
        schema_version: METRICS_SCHEMA_VERSION,
        window,
        now: now.to_string(),
        since: start.map(format_ms),
        events: 0,
        clock_skew_events: 0,
        skewed_intervals: 0,
        unreadable_timestamps: 0,
        qa: QaFigures::default(),
        concerns: BTreeMap::new(),
        merges: MergeFigures::default(),
        tasks: TaskFigures::default(),
        spend: SpendFigures::default(),
        utilisation: Utilisation::default(),
        agents_failed: Vec::new(),
        policy_breaches: Vec::new(),
        runs: Vec::new(),
    }
}

/// Where one event falls: its time (ms) and whether that is inside the window.
#[derive(Clone, Copy)]
struct Stamp {
    t: i64,
    inside: bool,
}

impl Stamp {
    /// An interval that ends at this event. Intervals end inside the window to count; their
    /// start may be earlier.
    fn interval(self, from: i64, skew: &mut u64, bucket: &mut Vec<i64>) {
        if self.t < from {
            *skew += 1;
        } else if self.inside {
            bucket.push(self.t - from);
        }
    }
}

/// Milliseconds an agent spent in each activity.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
struct AgentMs {
    running: i64,
    waiting: i64,
    paused: i64,
    idle: i64,
}

/// Agent time credited so far: each agent's by activity, and running time per role and task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AgentClock {
    now_ms: i64,
    start: Option<i64>,
    util: BTreeMap<String, AgentMs>,
    task_role_ms: BTreeMap<Role, BTreeMap<String, i64>>,
}

impl AgentClock {
    /// Closes an agent's current stretch at `t`, crediting the part inside the window.
    fn close(&mut self, a: &mut AgentTrack, id: &str, t: i64) {
        let Some(since) = a.since else {
            return;
        };
        // A stretch whose end is stamped before its start counts for nothing.
        let end = t.min(self.now_ms);
        let begin = self.start.map_or(since, |s| since.max(s));
        let ms = if end > begin { end - begin } else { 0 };
        a.since = Some(t.max(since));
        if ms == 0 {
            return;
        }
        let entry = self.util.entry(id.to_string()).or_default();
        match a.activity() {
            Activity::Running => {
                entry.running += ms;
                if let Some(task) = &a.task {
                    *self
                        .task_role_ms
                        .entry(a.role)
                        .or_default()
                        .entry(task.clone())
                        .or_default() += ms;
                }
            }
            Activity::Waiting => entry.waiting += ms,
            Activity::Paused => entry.paused += ms,
            Activity::Idle => entry.idle += ms,
        }
    }
}

/// A QA run recorded in the window, as the fold keeps it (its figures bit for bit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RunRow {
    id: String,
    recorded_at: Timestamp,
    decision: QaDecision,
    coverage: Option<Exact>,
    reproducibility: Option<Exact>,
    pass_rate: Option<Exact>,
    build_passed: Option<bool>,
    tests_total: Option<u64>,
    flaky: u64,
    failed_gates: Vec<String>,
}

impl RunRow {
    fn figures(self) -> QaRunFigures {
        QaRunFigures {
            id: self.id,
            recorded_at: self.recorded_at,
            decision: self.decision,
            coverage: self.coverage.map(|x| x.0),
            reproducibility: self.reproducibility.map(|x| x.0),
            pass_rate: self.pass_rate.map(|x| x.0),
            build_passed: self.build_passed,
            tests_total: self.tests_total,
            flaky: self.flaky,
            failed_gates: self.failed_gates,
        }
    }
}

/// The state of the log at one point that a window starting later needs: agents' states,
/// open concerns (and whether acknowledged), QA runs started and not recorded, the kill
/// switch. Small: it does not grow with the length of the history.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct Carried {
    qa_started: BTreeMap<String, i64>,
    concern_raised: BTreeMap<String, (Severity, i64)>,
    concern_acked: BTreeSet<String>,
    agents: BTreeMap<String, AgentTrack>,
    halted: bool,
    last_at: Option<i64>,
}

/// What the events have told so far, folded one event at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Tally {
    m: Metrics,
    now_ms: i64,
    start: Option<i64>,
    carried: Carried,
    // Whole-log figures (the same in every window).
    concern_open: BTreeMap<String, Severity>,
    attempts: BTreeMap<String, u32>,
    skew: u64,
    // The window's accumulators: intervals (ms), tasks' last terminal status, QA runs, time.
    ack_ms: BTreeMap<Severity, Vec<i64>>,
    resolve_ms: BTreeMap<Severity, Vec<i64>>,
    cycle_ms: Vec<i64>,
    terminal: BTreeMap<String, TaskStatus>,
    qa_runs: Vec<RunRow>,
    clock: AgentClock,
}

impl Tally {
    /// A fold over `window` (starting at `start`) as of `now` (`now_ms`), from the beginning.
    pub(super) fn new(window: Window, now: &str, now_ms: i64, start: Option<i64>) -> Tally {
        Tally::resume(Carried::default(), window, now, now_ms, start)
    }

    /// A fold that goes on from the state of the log at some point (`carried`), where every
    /// event before it is stamped before `start`: nothing before it counts in the window.
    /// Its whole-log figures are [`Tally::finish_with`]'s to fill in.
    pub(super) fn resume(
        carried: Carried,
        window: Window,
        now: &str,
        now_ms: i64,
        start: Option<i64>,
    ) -> Tally {
        Tally {
            m: empty(window, now, start),
            now_ms,
            start,
            carried,
            concern_open: BTreeMap::new(),
            attempts: BTreeMap::new(),
            skew: 0,
            ack_ms: BTreeMap::new(),
            resolve_ms: BTreeMap::new(),
            cycle_ms: Vec::new(),
            terminal: BTreeMap::new(),
            qa_runs: Vec::new(),
            clock: AgentClock {
                now_ms,
                start,
                util: BTreeMap::new(),
                task_role_ms: BTreeMap::new(),
            },
        }
    }

    /// The state a window starting after this point needs.
    pub(super) fn carried(&self) -> &Carried {
        &self.carried
    }

    /// Adds the per-task maps to `rows`: each task's figures over this fold's events (each
    /// map fills its own field of the row).
    pub(super) fn task_rows(&self, rows: &mut BTreeMap<String, TaskRow>) {
        fn row<'r>(rows: &'r mut BTreeMap<String, TaskRow>, task: &str) -> &'r mut TaskRow {
            rows.entry(task.to_string()).or_default()
        }
        for (task, n) in &self.attempts {
            row(rows, task).attempts = Some(*n);
        }
        for (task, s) in &self.terminal {
            row(rows, task).terminal = Some(*s);
        }
        for (role, tasks) in &self.clock.task_role_ms {
            for (task, ms) in tasks {
                row(rows, task).role_ms.insert(*role, *ms);
            }
        }
        for (task, s) in &self.m.spend.by_task {
            row(rows, task).spend = Some(*s);
        }
    }

    /// Empties the per-task maps (their rows were stored). What is left does not grow with
    /// the number of tasks.
    pub(super) fn clear_tasks(&mut self) {
        self.attempts.clear();
        self.terminal.clear();
        self.clock.task_role_ms.clear();
        self.m.spend.by_task.clear();
    }

    /// Tasks the per-task maps hold.
    pub(super) fn task_entries(&self) -> usize {
        self.attempts.len()
            + self.terminal.len()
            + self.m.spend.by_task.len()
            + self
                .clock
                .task_role_ms
                .values()
                .map(BTreeMap::len)
                .sum::<usize>()
    }

    /// A copy of the fold whose per-task maps are `rows` (every task over the whole log, this
    /// fold's own merged in), taken apart as they go in.
    pub(super) fn with_tasks(&self, rows: BTreeMap<String, TaskRow>) -> Tally {
        let mut t = Tally {
            attempts: BTreeMap::new(),
            terminal: BTreeMap::new(),
            ..self.clone()
        };
        t.clock.task_role_ms.clear();
        t.m.spend.by_task.clear();
        for (task, r) in rows {
            if let Some(n) = r.attempts {
                t.attempts.insert(task.clone(), n);
            }
            if let Some(s) = r.terminal {
                t.terminal.insert(task.clone(), s);
            }
            for (role, ms) in r.role_ms {
                let of_role = t.clock.task_role_ms.entry(role).or_default();
                of_role.insert(task.clone(), ms);
            }
            if let Some(s) = r.spend {
                t.m.spend.by_task.insert(task, s);
            }
        }
        t
    }

    /// Each task's highest attempt in this fold.
    pub(super) fn attempts(&self) -> &BTreeMap<String, u32> {
        &self.attempts
    }

    /// Folds one event in: the stamp checks, then the step of its kind.
    pub(super) fn event(&mut self, e: &Event) {
        let Some(t) = parse_ms(&e.at) else {
            self.m.unreadable_timestamps += 1;
            return;
        };
        let last_at = &mut self.carried.last_at;
        if last_at.is_some_and(|p| t < p) {
            self.m.clock_skew_events += 1;
        }
        *last_at = Some(last_at.map_or(t, |p| p.max(t)));
        if t > self.now_ms {
            return;
        }
        let inside = t <= self.now_ms && self.start.is_none_or(|s| t >= s);
        if inside {
            self.m.events += 1;
        }
        let at = Stamp { t, inside };
        let m = &mut self.m;
        match &e.kind {
            EventKind::QaStarted { run, .. } => {
                self.carried.qa_started.insert(run.to_string(), t);
            }
            EventKind::QaRunRecorded { run } => self.qa_run_recorded(at, &e.at, run),
            EventKind::ConcernRaised { concern } => self.concern_raised(at, concern),
            EventKind::ConcernAcknowledged { id } | EventKind::ConcernAssigned { id, .. } => {
                self.concern_acknowledged(at, id.to_string())
            }
            EventKind::ConcernResolved { id, .. } => self.concern_resolved(at, id.to_string()),
            EventKind::GitAction {
                action,
                reference,
                trigger,
                detail,
                ..
            } => git_action(m, inside, action, trigger, reference, detail),
            EventKind::OperationStep { step, .. } if inside && step == "conflict" => {
                m.merges.conflicted += 1;
            }
            EventKind::TaskStatusChanged { task, status, .. }
                if inside && matches!(status, TaskStatus::Done | TaskStatus::Failed) =>
            {
                self.terminal.insert(task.clone(), *status);
            }
            EventKind::AgentRegistered { agent } => self.agent_registered(t, agent),
            EventKind::AgentStateChanged {
                agent,
                state,
                task,
                attempt,
                ..
            } => self.agent_state_changed(t, agent, *state, task, *attempt),
            EventKind::AgentPaused { agent } | EventKind::AgentResumed { agent } => {
                let paused = matches!(e.kind, EventKind::AgentPaused { .. });
                self.agent_paused(t, agent, paused)
            }
            EventKind::DispatchHalted { .. } | EventKind::DispatchResumed => {
                let paused = matches!(e.kind, EventKind::DispatchHalted { .. });
                self.dispatch_halted(t, paused)
            }
            EventKind::AgentActivity {
                agent,
                tokens,
                cost_micros,
                ..
            } if inside => spend(
                &mut m.spend,
                self.carried.agents.get(agent),
                *tokens,
                *cost_micros,
            ),
            EventKind::AgentRunReported { run, .. } if inside => {
                super::RunFigures::add(&mut m.runs, run)
            }
            _ => {}
        }
    }

    fn qa_run_recorded(&mut self, at: Stamp, recorded_at: &Timestamp, run: &QaRun) {
        let id = run.id.to_string();
        let from = self
            .carried
            .qa_started
            .remove(&id)
            .or_else(|| parse_ms(&run.started_at));
        if let Some(from) = from {
            at.interval(from, &mut self.skew, &mut self.cycle_ms);
        }
        if at.inside {
            // A run recorded again (the same id) replaces its earlier record.
            self.qa_runs.retain(|r| r.id != id);
            self.qa_runs.push(RunRow {
                id,
                recorded_at: recorded_at.clone(),
                decision: run.decision,
                coverage: run.metrics.coverage.map(Exact),
                reproducibility: run.metrics.reproducibility.map(Exact),
                pass_rate: run.metrics.pass_rate.map(Exact),
                build_passed: run.metrics.build_passed,
                tests_total: run.metrics.tests_total,
                flaky: run.flaky.len() as u64,
                failed_gates: run.failed_gates().into_iter().map(String::from).collect(),
            });
        }
    }

    fn concern_raised(&mut self, at: Stamp, concern: &Concern) {
        let id = concern.id.to_string();
        self.carried
            .concern_raised
            .insert(id.clone(), (concern.severity, at.t));
        self.concern_open.insert(id, concern.severity);
        if at.inside {
            self.m.concerns.entry(concern.severity).or_default().raised += 1;
        }
    }

    fn concern_acknowledged(&mut self, at: Stamp, id: String) {
        let c = &mut self.carried;
        if let Some((sev, from)) = c.concern_raised.get(&id).copied() {
            if c.concern_acked.insert(id) {
                at.interval(from, &mut self.skew, self.ack_ms.entry(sev).or_default());
            }
        }
    }

    fn concern_resolved(&mut self, at: Stamp, id: String) {
        self.concern_open.remove(&id);
        // A resolved concern's acknowledgement is forgotten with it (concern ids are never
        // raised twice), so what is carried holds the open concerns only.
        self.carried.concern_acked.remove(&id);
        if let Some((sev, from)) = self.carried.concern_raised.remove(&id) {
            at.interval(
                from,
                &mut self.skew,
                self.resolve_ms.entry(sev).or_default(),
            );
        }
    }

    fn agent_registered(&mut self, t: i64, agent: &Agent) {
        // Registered again: the old stretch ends, and the new one never starts before
        // it (a skewed stamp must not count the same time twice).
        let mut from = t;
        if let Some(old) = self.carried.agents.get_mut(&agent.id) {
            self.clock.close(old, &agent.id, t);
            from = old.since.map_or(t, |s| s.max(t));
        }
        self.carried.agents.insert(
            agent.id.clone(),
            AgentTrack {
                role: agent.role,
                adapter: agent.adapter.clone(),
                state: agent.state,
                paused: agent.paused || self.carried.halted,
                task: agent.task.clone(),
                since: Some(from),
            },
        );
    }

    fn agent_state_changed(
        &mut self,
        t: i64,
        agent: &str,
        state: AgentState,
        task: &Option<String>,
        attempt: Option<u32>,
    ) {
        if let Some(a) = self.carried.agents.get_mut(agent) {
            self.clock.close(a, agent, t);
            a.state = state;
            a.task = task.clone();
        }
        if let (AgentState::Running, Some(task), Some(n)) = (state, task, attempt) {
            let best = self.attempts.entry(task.clone()).or_default();
            *best = (*best).max(n);
        }
    }

    fn agent_paused(&mut self, t: i64, agent: &str, paused: bool) {
        if let Some(a) = self.carried.agents.get_mut(agent) {
            self.clock.close(a, agent, t);
            a.paused = paused;
        }
    }

    fn dispatch_halted(&mut self, t: i64, paused: bool) {
        self.carried.halted = paused;
        for (id, a) in self.carried.agents.iter_mut() {
            self.clock.close(a, id, t);
            a.paused = paused;
        }
    }

    /// The figures: every agent's last stretch closes at `now`, then each family is finished.
    pub(super) fn finish(self) -> Metrics {
        self.figures(
            &self,
            &self.attempts,
            self.m.window,
            &self.m.now.clone(),
            self.now_ms,
        )
    }

    /// [`Tally::finish`] for a fold [`resume`](Tally::resume)d part way: the whole-log figures
    /// (clock skew, unreadable stamps, skewed intervals, open concerns) are `whole`'s, a fold
    /// of the whole log up to the same record, and `attempts` each task's highest attempt
    /// over the whole log (at least for the tasks [`Tally::finished_tasks`] names).
    pub(super) fn finish_with(self, whole: &Tally, attempts: &BTreeMap<String, u32>) -> Metrics {
        self.figures(
            whole,
            attempts,
            self.m.window,
            &self.m.now.clone(),
            self.now_ms,
        )
    }

    /// The tasks whose last terminal status this fold counts: the ones whose attempts
    /// [`Tally::finish_with`] reads.
    pub(super) fn finished_tasks(&self) -> impl Iterator<Item = &String> {
        self.terminal.keys()
    }

    /// The figures of this fold over `window` as of `now` (`now_ms`, at or after every event
    /// folded), its whole-log figures `whole`'s and `attempts`, without changing or copying
    /// the fold (only the figures are made): every agent's last stretch closes at `now` on
    /// the side.
    pub(super) fn figures(
        &self,
        whole: &Tally,
        attempts: &BTreeMap<String, u32>,
        window: Window,
        now: &str,
        now_ms: i64,
    ) -> Metrics {
        let mut m = self.m.clone();
        m.window = window;
        m.now = now.to_string();
        m.clock_skew_events = whole.m.clock_skew_events;
        m.unreadable_timestamps = whole.m.unreadable_timestamps;
        m.skewed_intervals = whole.skew;
        // The stretches closed at `now`: the agents' time so far plus these (running time per
        // task is kept apart, as additions, so the fold's own map is not copied).
        let mut clock = AgentClock {
            now_ms,
            start: self.start,
            util: self.clock.util.clone(),
            task_role_ms: BTreeMap::new(),
        };
        for (id, a) in &self.carried.agents {
            clock.close(&mut a.clone(), id, now_ms);
            if a.state == AgentState::Failed {
                m.agents_failed.push(id.clone());
            }
        }
        let runs = self.qa_runs.iter().cloned().map(RunRow::figures).collect();
        qa_figures(&mut m.qa, runs, self.cycle_ms.clone());
        concern_figures(
            &mut m.concerns,
            &whole.concern_open,
            &self.ack_ms,
            &self.resolve_ms,
        );
        m.merges.success_rate = Ratio::of(m.merges.merged, m.merges.merged + m.merges.conflicted);
        task_figures(
            &mut m.tasks,
            &self.terminal,
            attempts,
            [&self.clock.task_role_ms, &clock.task_role_ms],
        );
        spend_per_task(&mut m.spend);
        utilisation(&mut m.utilisation, clock.util);
        m
    }
}

/// A merge into the integration branch, or a protected branch changed outside Overlord.
fn git_action(
    m: &mut Metrics,
    inside: bool,
    action: &str,
    trigger: &str,
    reference: &str,
    detail: &str,
) {
    if inside && action == "merge" {
        m.merges.merged += 1;
    }
    if inside && trigger == "external" {
        m.policy_breaches.push(format!("{reference}: {detail}"));
    }
}

/// Tokens and cost, by role, adapter and task of the agent that spent them.
fn spend(s: &mut SpendFigures, agent: Option<&AgentTrack>, tokens: u64, cost_micros: u64) {
    s.total.add(tokens, cost_micros);
    if let Some(a) = agent {
        s.by_role
            .entry(a.role)
            .or_default()
            .add(tokens, cost_micros);
        s.by_adapter
            .entry(a.adapter.clone())
            .or_default()
            .add(tokens, cost_micros);
        match &a.task {
            Some(task) => s
                .by_task
                .entry(task.clone())
                .or_default()
                .add(tokens, cost_micros),
            None => s.unattributed.add(tokens, cost_micros),
        }
    } else {
        s.unattributed.add(tokens, cost_micros);
    }
}

/// Milliseconds as seconds.
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn durations(ms: Vec<i64>) -> Option<Durations> {
    Durations::of(ms.into_iter().map(secs).collect())
}

fn qa_figures(qa: &mut QaFigures, qa_runs: Vec<QaRunFigures>, cycle_ms: Vec<i64>) {
    let measured_cov: Vec<f64> = qa_runs.iter().filter_map(|r| r.coverage).collect();
    qa.latest_coverage = measured_cov.last().copied();
    qa.previous_coverage = measured_cov.len().checked_sub(2).map(|i| measured_cov[i]);
    qa.latest_reproducibility = qa_runs.iter().rev().find_map(|r| r.reproducibility);
    if let Some(last) = qa_runs.last() {
        qa.latest_decision = Some(last.decision);
        qa.latest_failed_gates = last.failed_gates.clone();
    }
    let builds: Vec<bool> = qa_runs.iter().filter_map(|r| r.build_passed).collect();
    qa.build_pass_rate = Ratio::of(
        builds.iter().filter(|b| **b).count() as u64,
        builds.len() as u64,
    );
    qa.pass_rate = Ratio::of(
        qa_runs
            .iter()
            .filter(|r| r.decision != QaDecision::Fail)
            .count() as u64,
        qa_runs.len() as u64,
    );
    let (flaky, tests) = qa_runs
        .iter()
        // A run listing more flaky tests than it ran is inconsistent: left out.
        .filter_map(|r| {
            r.tests_total
                .filter(|n| r.flaky <= *n)
                .map(|n| (r.flaky, n))
        })
        .fold((0, 0), |(f, n), (rf, rn)| (f + rf, n + rn));
    qa.flakiness = Ratio::of(flaky, tests);
    qa.cycle = durations(cycle_ms);
    qa.runs = qa_runs;
}

/// Every severity is listed, with or without data.
fn concern_figures(
    concerns: &mut BTreeMap<Severity, ConcernFigures>,
    concern_open: &BTreeMap<String, Severity>,
    ack_ms: &BTreeMap<Severity, Vec<i64>>,
    resolve_ms: &BTreeMap<Severity, Vec<i64>>,
) {
    let of = |ms: &BTreeMap<Severity, Vec<i64>>, sev| ms.get(&sev).cloned().unwrap_or_default();
    for sev in [Severity::Info, Severity::Warning, Severity::Critical] {
        let c = concerns.entry(sev).or_default();
        c.open = concern_open.values().filter(|s| **s == sev).count() as u64;
        c.acknowledged = durations(of(ack_ms, sev));
        c.resolved = durations(of(resolve_ms, sev));
    }
}

fn task_figures(
    tasks: &mut TaskFigures,
    terminal: &BTreeMap<String, TaskStatus>,
    attempts: &BTreeMap<String, u32>,
    // Running time per role and task: the fold's, and what closing at `now` adds.
    task_role_ms: [&BTreeMap<Role, BTreeMap<String, i64>>; 2],
) {
    tasks.passed = terminal
        .values()
        .filter(|s| **s == TaskStatus::Done)
        .count() as u64;
    tasks.failed = terminal
        .values()
        .filter(|s| **s == TaskStatus::Failed)
        .count() as u64;
    tasks.pass_rate = Ratio::of(tasks.passed, tasks.passed + tasks.failed);
    let known: Vec<u32> = terminal
        .keys()
        .filter_map(|t| attempts.get(t).copied())
        .collect();
    tasks.mean_attempts = (!known.is_empty())
        .then(|| known.iter().map(|n| *n as f64).sum::<f64>() / known.len() as f64);
    let [kept, added] = task_role_ms;
    let roles: BTreeSet<Role> = kept.keys().chain(added.keys()).copied().collect();
    let none = BTreeMap::new();
    for role in roles {
        let (k, a) = (
            kept.get(&role).unwrap_or(&none),
            added.get(&role).unwrap_or(&none),
        );
        let r = tasks.by_role.entry(role).or_default();
        r.tasks += (k.len() + a.keys().filter(|t| !k.contains_key(*t)).count()) as u64;
        r.running_secs += secs(k.values().sum::<i64>() + a.values().sum::<i64>());
    }
    for r in tasks.by_role.values_mut() {
        r.mean_secs_per_task = (r.tasks > 0).then(|| r.running_secs / r.tasks as f64);
    }
}

fn spend_per_task(spend: &mut SpendFigures) {
    let n = spend.by_task.len();
    if n > 0 {
        let tokens: u64 = spend.by_task.values().map(|s| s.tokens).sum();
        let cost: u64 = spend.by_task.values().map(|s| s.cost_micros).sum();
        spend.mean_tokens_per_task = Some(tokens as f64 / n as f64);
        spend.mean_cost_micros_per_task = Some(cost as f64 / n as f64);
    }
}

fn utilisation(u: &mut Utilisation, util: BTreeMap<String, AgentMs>) {
    for (id, ms) in util {
        let mut t = AgentTime {
            running_secs: secs(ms.running),
            waiting_secs: secs(ms.waiting),
            paused_secs: secs(ms.paused),
            idle_secs: secs(ms.idle),
            utilisation: None,
        };
        t.finish();
        u.total.running_secs += t.running_secs;
        u.total.waiting_secs += t.waiting_secs;
        u.total.paused_secs += t.paused_secs;
        u.total.idle_secs += t.idle_secs;
        u.by_agent.insert(id, t);
    }
    u.total.finish();
}
