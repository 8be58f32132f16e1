//! A generator of large, honest audit stores: a year of a swarm's work, `n` events long.
//!
//! Everything goes through the core's own parts, never raw SQL: commands are lines of the
//! slash grammar (`protocol::parse`), decided by the core's lifecycle rules
//! (`core::decide::decide`) and recorded as `Core::execute` records them (command, its events,
//! response); what the core's machinery emits (agents' runs and activity lines, QA runs,
//! checkpoints) are typed events recorded as `Core::emit` records them; every event is folded
//! into the state by the reducer as it is made; the records go through the store's append path
//! (hash chain, JSONL mirrors), thousands per transaction. The newest snapshot of the state is
//! written at the end, as a running core would have, the item index is built from one
//! replay (as for a store an older build wrote), and the metrics' running fold is stored.
//!
//! The mix, per task of the plan: the task started and finished, its agent's run (state
//! changes, process start and end, activity lines, the run's report), a third of the tasks
//! raise a concern (most acknowledged and resolved by the human, about one in twenty left
//! open), hand-offs, a QA run every fifth task, a checkpoint every twentieth, an approval asked
//! and given every twenty-fifth, a new plan every 200 tasks. Time runs over a year.

use std::path::Path;

use overlord::config::Config;
use overlord::core::decide::{decide, Context};
use overlord::core::plan::parse_todo_list;
use overlord::protocol::model::{
    AgentProcess, AgentState, Checkpoint, CheckpointKind, ConcernId, GateOutcome, GateResult,
    QaDecision, QaMetrics, QaRun, QaRunId, RunTelemetry, TokenSplit,
};
use overlord::protocol::{
    parse, print, CommandRecord, Event, EventKind, Origin, Reply, State, Topic,
};
use overlord::store::verify::STATE_VERSION;
use overlord::store::{NewRecord, Store, StoreError};
use overlord::workspace::Workspace;

/// Records per transaction.
const BATCH: usize = 20_000;
/// Tasks per imported plan.
const PLAN_TASKS: usize = 200;
const AGENTS: [(&str, &str); 6] = [
    ("implementer-1", "implementer"),
    ("implementer-2", "implementer"),
    ("implementer-3", "implementer"),
    ("tester-1", "tester"),
    ("reviewer-1", "reviewer"),
    ("debugger-1", "debugger"),
];

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub events: u64,
    pub records: u64,
    pub open_concerns: u64,
}

struct Gen {
    store: Store,
    state: State,
    pending: Vec<NewRecord>,
    /// The record number the next record will get.
    next_seq: u64,
    /// The simulated clock, in milliseconds since the Unix epoch, and its step per event.
    clock_ms: i128,
    step_ms: i128,
    discord: overlord::config::DiscordConfig,
}

fn stamp(ms: i128) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
        .expect("a time within range");
    overlord::core::stamp(t)
}

fn human() -> Origin {
    Origin::Cli {
        user: "alice".into(),
    }
}

fn agent(id: &str, role: &str) -> Origin {
    Origin::Agent {
        agent: id.into(),
        role: role.parse().ok(),
    }
}

impl Gen {
    /// Appends the last batch, writes the snapshot of the state as a running core would have,
    /// and builds the item index from one replay (as for a store an older build wrote); the
    /// head record.
    fn finish(&mut self) -> u64 {
        self.flush().expect("append the last batch");
        let (head, _) = self.store.head();
        if head > 0 {
            self.store
                .save_snapshot(head, STATE_VERSION, &mut self.state)
                .expect("save the snapshot");
        }
        self.store.ensure_items().expect("index the items");
        // The metrics' running fold, as the owner's monitor would have stored it.
        overlord::core::metrics_reader::MetricsReader::default()
            .catch_up(&self.store)
            .expect("fold the metrics");
        head
    }

    fn now(&self) -> String {
        stamp(self.clock_ms)
    }

    fn tick(&mut self, events: usize) {
        self.clock_ms += self.step_ms * events.max(1) as i128;
    }

    /// A command as `Core::execute` records it: the command, the events the lifecycle rules
    /// decide, the response; the events folded into the state.
    fn command(&mut self, origin: Origin, line: &str, plan_json: Option<&str>) -> Vec<Event> {
        let now = self.now();
        let command = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let ctx = Context {
            now: now.clone(),
            discord: self.discord.clone(),
            plan: plan_json.map(|j| parse_todo_list(j, "plan.json", &now)),
            tickets: None,
            operation: None,
            refusal: None,
            kill_switch_concerns: Vec::new(),
            protected_ref: None,
            auto_save: false,
        };
        let outcome = decide(&self.state, &origin, &command, &ctx)
            .unwrap_or_else(|r| panic!("{line} was refused: {r}"));
        let command_seq = self.next_seq;
        let record = CommandRecord {
            at: now.clone(),
            origin: origin.clone(),
            line: print(&command),
            command,
        };
        self.push(Topic::Command, &now, json(&record));
        let actor = origin.actor();
        let events: Vec<Event> = outcome
            .events
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: self.state.last_event_seq + 1 + i as u64,
                at: now.clone(),
                command_seq: Some(command_seq),
                actor: actor.clone(),
                kind,
            })
            .collect();
        for e in &events {
            self.push(e.kind.topic(), &now, json(e));
            self.state.apply(e);
        }
        let reply = Reply {
            command_seq,
            ok: true,
            message: outcome.message,
            error: None,
            events: events.iter().map(|e| e.seq).collect(),
            data: outcome.data,
        };
        self.push(Topic::Response, &now, json(&reply));
        self.tick(events.len());
        events
    }

    /// Events of the core's machinery, as `Core::emit` records them.
    fn emit(&mut self, actor: &str, kinds: Vec<EventKind>) {
        for kind in kinds {
            let now = self.now();
            let event = Event {
                seq: self.state.last_event_seq + 1,
                at: now.clone(),
                command_seq: None,
                actor: actor.to_string(),
                kind,
            };
            self.push(event.kind.topic(), &now, json(&event));
            self.state.apply(&event);
            self.tick(1);
        }
    }

    fn push(&mut self, topic: Topic, at: &str, body: String) {
        self.pending.push(NewRecord {
            topic,
            at: at.to_string(),
            body,
        });
        self.next_seq += 1;
        if self.pending.len() >= BATCH {
            self.flush().expect("append a batch");
        }
    }

    /// Appends the pending records through the store's write path, in one transaction.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut guard = self.store.begin_write()?;
        let appended = guard.append(&self.pending)?;
        guard.commit(&appended)?;
        self.pending.clear();
        Ok(())
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialize")
}

/// A TodoList of `PLAN_TASKS` tasks in four phases, each task after the one before it.
fn plan_json(n: usize) -> String {
    let mut phases = Vec::new();
    for p in 0..4 {
        let tasks: Vec<serde_json::Value> = (0..PLAN_TASKS / 4)
            .map(|t| {
                let i = p * PLAN_TASKS / 4 + t;
                let role = if i % 7 == 6 { "tester" } else { "implementer" };
                serde_json::json!({
                    "id": format!("p{n}-t{i}"),
                    "title": format!("Plan {n} task {i}: the loader reads format v{i}"),
                    "description": "Read the new format, keep the old one readable, test both.",
                    "agent_role": role,
                    "priority": "medium",
                    "dependencies": if i == 0 { vec![] } else { vec![format!("p{n}-t{}", i - 1)] },
                    "acceptance_criteria": ["the unit tests pass", "the old files still load"],
                    "expected_artifacts": [format!("src/loader/v{i}.rs")],
                })
            })
            .collect();
        phases.push(serde_json::json!({"id": format!("phase-{p}"), "name": format!("Phase {p}"), "tasks": tasks}));
    }
    serde_json::json!({"todo_list_id": format!("plan-{n}"), "title": format!("Release {n}"), "phases": phases})
        .to_string()
}

/// One task's life: started, its agent's run with activity lines, maybe a concern, done.
fn task_cycle(g: &mut Gen, plan: usize, t: usize, open: &mut Vec<ConcernId>) {
    let task = format!("p{plan}-t{t}");
    let (who, role) = AGENTS[t % AGENTS.len()];
    g.command(
        Origin::System,
        &format!("/task {task} in_progress started by {who}"),
        None,
    );
    let pid = 10_000 + (t as u32 % 50_000);
    g.emit(
        "system",
        vec![
            EventKind::AgentStateChanged {
                agent: who.into(),
                state: AgentState::Running,
                task: Some(task.clone()),
                detail: None,
                attempt: Some(1),
                session_id: Some(format!("session-{plan}-{t}")),
                until: None,
            },
            EventKind::AgentProcessStarted {
                agent: who.into(),
                process: AgentProcess {
                    pid,
                    start_ticks: 1_000 + t as u64,
                    task: Some(task.clone()),
                    worktree: Some(format!(".overlord/worktrees/{task}")),
                },
            },
        ],
    );
    for line in 0..8u64 {
        g.emit(
            "system",
            vec![EventKind::AgentActivity {
                agent: who.into(),
                events: 3 + line,
                tokens: 1_200 + 37 * line,
                cost_micros: 4_000 + 90 * line,
                last_output: Some(format!(
                    "Edited src/loader/v{t}.rs: read the header, then the records ({line}/8)"
                )),
                files: vec![format!("src/loader/v{t}.rs")],
                session_id: Some(format!("session-{plan}-{t}")),
            }],
        );
    }
    let run = RunTelemetry {
        adapter: "claude".into(),
        model: Some("claude-sonnet-4-5".into()),
        ok: true,
        tool_calls: 14,
        tools: [("Edit".to_string(), 9), ("Bash".to_string(), 5)].into(),
        failed_tools: Vec::new(),
        files: vec![format!("src/loader/v{t}.rs")],
        tokens_unknown: false,
        tokens: TokenSplit {
            input: 9_000,
            cached_input: 30_000,
            output: 2_500,
            reasoning: 0,
        },
        cost_micros: 41_000,
        cost_source: Default::default(),
    };
    g.emit(
        "system",
        vec![
            EventKind::AgentRunReported {
                agent: who.into(),
                task: Some(task.clone()),
                run,
            },
            EventKind::AgentProcessEnded {
                agent: who.into(),
                pid,
            },
            EventKind::AgentStateChanged {
                agent: who.into(),
                state: AgentState::Idle,
                task: None,
                detail: Some("finished".into()),
                attempt: None,
                session_id: None,
                until: None,
            },
        ],
    );
    if t.is_multiple_of(3) {
        let severity = if t.is_multiple_of(30) {
            "critical"
        } else {
            "warning"
        };
        let events = g.command(
            agent(who, role),
            &format!("/raise --severity {severity} --category test_failure --task {task} --details \"3 of 14 unit tests fail after the loader change\" Regression tests failing after {task}"),
            None,
        );
        open.extend(events.iter().filter_map(|e| match &e.kind {
            EventKind::ConcernRaised { concern } => Some(concern.id),
            _ => None,
        }));
    }
    // The human works through the concerns a few tasks later; about one in twenty stays open.
    if open.len() > 3 {
        let id = open.remove(0);
        if t % 20 != 7 {
            g.command(human(), &format!("/ack {id}"), None);
            g.command(human(), &format!("/resolve {id} fixed in the loader"), None);
        }
    }
    if t % 4 == 1 {
        g.command(
            agent(who, role),
            &format!("/handoff --from {role} --to tester --purpose \"verify the loader\" --output src/loader/v{t}.rs --task {task} {task} ready for testing"),
            None,
        );
    }
    g.command(
        Origin::System,
        &format!("/task {task} done acceptance passed"),
        None,
    );
}

/// The QA gates on the integration branch, and sometimes a checkpoint and an approval.
fn after_task(g: &mut Gen, plan: usize, t: usize) {
    let n = plan * PLAN_TASKS + t;
    if n % 5 == 4 {
        let id = QaRunId(g.state.qa_runs.len() as u64 + 1);
        let tree = format!("{:040x}", n as u128 * 7_919);
        let gates = ["build", "tests", "coverage", "lint"];
        let mut kinds = vec![EventKind::QaStarted {
            run: id,
            tree: tree.clone(),
            gates: gates.iter().map(|s| s.to_string()).collect(),
            promotion: false,
        }];
        let results: Vec<GateResult> = gates
            .iter()
            .map(|gate| GateResult {
                gate: gate.to_string(),
                threshold: None,
                measured: Some("ok".into()),
                outcome: GateOutcome::Pass,
                reason: None,
                required: true,
                errored: false,
            })
            .collect();
        for r in &results {
            kinds.push(EventKind::QaGateFinished {
                run: id,
                result: r.clone(),
            });
        }
        let now = g.now();
        kinds.push(EventKind::QaRunRecorded {
            run: QaRun {
                id,
                tree,
                started_at: now.clone(),
                finished_at: now,
                gates: results,
                decision: QaDecision::AutoMerge,
                reasons: Vec::new(),
                commit: None,
                metrics: QaMetrics {
                    tests_total: Some(1_400 + n as u64 / 50),
                    tests_passed: Some(1_400 + n as u64 / 50),
                    tests_failed: Some(0),
                    coverage: Some(81.5),
                    ..Default::default()
                },
                flaky: Vec::new(),
                promotion: false,
                record_sha256: None,
            },
        });
        g.emit("system", kinds);
    }
    if n % 20 == 19 {
        let commit = format!("{:040x}", n as u128 * 104_729);
        let name = format!("checkpoint/2026{:04}-{:03}", n / 1000 % 10_000, n % 1000);
        g.emit(
            "system",
            vec![
                EventKind::GitAction {
                    action: "merge".into(),
                    reference: "refs/heads/main".into(),
                    old: None,
                    new: Some(commit.clone()),
                    source: Some("overlord/integration".into()),
                    trigger: "save".into(),
                    detail: "fast-forward main to the integration branch".into(),
                },
                EventKind::CheckpointCreated {
                    checkpoint: Checkpoint {
                        name,
                        kind: CheckpointKind::Save,
                        commit,
                        created_at: g.now(),
                        qa_run: None,
                        summary: "20 tasks integrated".into(),
                        restores: None,
                        tag_object: None,
                        previous: None,
                        tasks: Vec::new(),
                        audit_ids: Vec::new(),
                        undoes: None,
                    },
                },
            ],
        );
    }
    if n % 25 == 24 {
        let events = g.command(
            agent("implementer-1", "implementer"),
            &format!(
                "/request design_spec docs/design-{n}.md --from designer the loader's format v{t}"
            ),
            None,
        );
        let approval = events.iter().find_map(|e| match &e.kind {
            EventKind::ApprovalRequested { approval } => Some(approval.id),
            _ => None,
        });
        if let Some(id) = approval {
            g.command(human(), &format!("/approve {id} looks right"), None);
        }
    }
}

/// Builds a store of about `events` events in `dir` (a new git repository with Overlord set
/// up), as a year of work; its events end within one task of `events`.
pub fn generate(dir: &Path, events: u64) -> Generated {
    std::fs::create_dir_all(dir).expect("create the directory");
    git2::Repository::init(dir).expect("git init");
    let ws = Workspace::discover(dir).expect("workspace");
    ws.init().expect("overlord init");
    let store = Store::open(&ws.store_paths()).expect("open the store");
    let start: i128 = 1_765_098_000_000; // 2025-12-07T09:00:00Z
    let year_ms: i128 = 365 * 24 * 3_600 * 1_000;
    let mut g = Gen {
        next_seq: store.head().0 + 1,
        store,
        state: State::default(),
        pending: Vec::new(),
        clock_ms: start,
        step_ms: (year_ms / events.max(1) as i128).max(1),
        discord: Config::default().discord,
    };
    for (id, role) in AGENTS {
        g.command(
            Origin::System,
            &format!("/agent {id} --role {role} --adapter claude"),
            None,
        );
    }
    let mut open = Vec::new();
    let mut plan = 0;
    'year: loop {
        let text = plan_json(plan);
        let imported = g.command(Origin::System, "/import plan.json", Some(&text));
        // The human approves each plan it is asked to.
        for e in &imported {
            if let EventKind::ApprovalRequested { approval } = &e.kind {
                g.command(human(), &format!("/approve {} go ahead", approval.id), None);
            }
        }
        for t in 0..PLAN_TASKS {
            task_cycle(&mut g, plan, t, &mut open);
            after_task(&mut g, plan, t);
            if g.state.last_event_seq >= events {
                break 'year;
            }
        }
        plan += 1;
    }
    let head = g.finish();
    Generated {
        events: g.state.last_event_seq,
        records: head,
        open_concerns: g
            .state
            .concerns
            .values()
            .filter(|c| c.status != overlord::protocol::model::ConcernStatus::Resolved)
            .count() as u64,
    }
}

/// A store in `dir` (a new repository) whose only history is `open` concerns raised by the
/// tester and left open, through the same command path.
pub fn generate_open_concerns(dir: &Path, open: u64) {
    std::fs::create_dir_all(dir).expect("create the directory");
    git2::Repository::init(dir).expect("git init");
    let ws = Workspace::discover(dir).expect("workspace");
    ws.init().expect("overlord init");
    let store = Store::open(&ws.store_paths()).expect("open the store");
    let mut g = Gen {
        next_seq: store.head().0 + 1,
        store,
        state: State::default(),
        pending: Vec::new(),
        clock_ms: 1_765_098_000_000,
        step_ms: 60_000,
        discord: Config::default().discord,
    };
    for i in 0..open {
        g.command(
            agent("tester-1", "tester"),
            &format!("/raise --severity warning --category test_failure Flaky test number {i} in the loader suite"),
            None,
        );
    }
    g.finish();
}
