//! The supervisor on real repositories with real child processes: agents are `sh` scripts
//! run through the generic `command` adapter (they print text or Overlord's native event
//! lines), so every path — dispatch order, concurrency, retries with backoff, failures, rate
//! limits and hand-overs, budgets, pause, clarifications, escalation, branch todos, design
//! review — runs for real, end to end through the core.

use std::path::Path;
use std::time::{Duration, Instant};

use overlord::config::Config;
use overlord::core::{Core, Handle};
use overlord::protocol::model::{AgentState, ConcernStatus, Role, TaskStatus};
use overlord::protocol::{parse, Origin, Reply, State};
use overlord::runtime::supervisor::Supervisor;

use crate::common::*;

mod acceptance_per_task;
mod acp;
mod agent_noise;
mod autonomy;
mod code_review;
mod endpoints;
mod rate_limits;
mod telemetry;
mod tickets;

/// A repository with one commit, Overlord set up, and a running core + supervisor.
struct Swarm {
    repo: Repo,
    handle: Handle,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    core: Option<std::thread::JoinHandle<()>>,
}

fn committed() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    repo.workspace().init().unwrap();
    repo
}

/// `[adapters.<name>]` of kind command running `sh -c <script>`.
fn sh_adapter(config: &mut Config, name: &str, script: &str) {
    let text = format!(
        "[adapters.{name}]\nkind = \"command\"\nbinary = \"sh\"\nargs = [\"-c\", {}]\n",
        toml_string(script)
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
}

fn toml_string(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

fn base_config(adapter: &str) -> Config {
    let mut c = Config::default();
    for role in [
        &mut c.roles.pm,
        &mut c.roles.designer,
        &mut c.roles.implementer,
        &mut c.roles.tester,
        &mut c.roles.debugger,
        &mut c.roles.reviewer,
    ] {
        role.adapter = adapter.into();
    }
    c.agents.backoff_secs = 0;
    c.agents.cancel_grace_secs = 1;
    c.agents.flush_ms = 100;
    c.agents.acceptance_command = "off".into();
    c.core.poll_ms = 50;
    c
}

impl Swarm {
    /// The agents run in the sandbox (the kernel's, where it has Landlock): besides their
    /// worktrees they may write only the test's scratch folder (`repo.home`), where these
    /// tests keep the files their scripts and the test share.
    fn start(repo: Repo, mut config: Config) -> Swarm {
        config
            .agents
            .sandbox_extra_write
            .push(format!("{}/", repo.home.path().display()));
        let ws = repo.workspace();
        let core = Core::open(&ws, &config).unwrap();
        let (handle, join) = Handle::spawn(core, Duration::from_millis(50)).unwrap();
        sigint_reaches_children();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let h = handle.clone();
        let done = rt.spawn(async move {
            let sup = Supervisor::new(h, ws, config)
                .await
                .unwrap()
                .with_self_exe(env!("CARGO_BIN_EXE_overlord-tui").into());
            sup.run(async {
                let _ = stop_rx.await;
            })
            .await;
        });
        Swarm {
            repo,
            handle,
            rt,
            stop: Some(stop_tx),
            done: Some(done),
            core: Some(join),
        }
    }

    fn cmd(&self, line: &str) -> Reply {
        let command = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        self.handle.submit_blocking(
            Origin::Cli {
                user: "tester".into(),
            },
            command,
        )
    }

    fn ok(&self, line: &str) -> Reply {
        let r = self.cmd(line);
        assert!(r.ok, "{line}: {}", r.message);
        r
    }

    fn state(&self) -> State {
        self.handle.snapshot_blocking().unwrap()
    }

    /// Waits until `f` holds (the state as the core has it), or fails with `what`.
    fn wait(&self, what: &str, secs: u64, f: impl Fn(&State) -> bool) -> State {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.state();
            if f(&s) {
                return s;
            }
            if Instant::now() > until {
                panic!(
                    "timed out waiting for {what}\nagents: {:#?}\ntasks: {:#?}\nconcerns: {:#?}",
                    s.agents.values().collect::<Vec<_>>(),
                    s.plan.as_ref().map(|p| p
                        .tasks()
                        .map(|t| (t.id.clone(), t.status, t.commentary.clone()))
                        .collect::<Vec<_>>()),
                    s.concerns
                        .values()
                        .map(|c| c.summary.clone())
                        .collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every command the audit trail recorded: who gave it and its name.
    fn audit_commands(&self) -> Vec<(Origin, String)> {
        audit_commands(self.repo.path())
            .into_iter()
            .map(|r| (r.origin, r.command.name().to_string()))
            .collect()
    }

    /// The files at the tip of the session's integration branch.
    fn integrated_files(&self) -> String {
        let (dir, home) = (self.repo.path(), self.repo.home.path());
        let branch = git(
            dir,
            home,
            &[
                "branch",
                "--list",
                "--format=%(refname)",
                "session/*/integration",
            ],
        );
        match branch.lines().next() {
            Some(b) => git(dir, home, &["ls-tree", "--name-only", b.trim()]),
            None => String::new(),
        }
    }

    fn import(&self, plan: &str) -> Reply {
        self.repo.write("plan.json", plan);
        self.ok("/import plan.json")
    }

    /// The last event the supervisor's documents were written through (their header says);
    /// `None` before it first wrote them.
    fn documents_through(&self) -> Option<u64> {
        let text =
            std::fs::read_to_string(self.repo.path().join(".overlord/docs/PROJECT_OVERVIEW.md"))
                .ok()?;
        let rest = text.split("(through event ").nth(1)?;
        rest.split(')').next()?.parse().ok()
    }

    /// Waits until the supervisor has folded event `seq` (one that changes its documents)
    /// into its state and had a tick since: it writes the documents on its tick, just before
    /// it dispatches.
    fn wait_supervisor_saw(&self, what: &str, seq: u64) {
        wait_until(&format!("the supervisor to see {what}"), PATIENCE, || {
            self.documents_through().is_some_and(|s| s >= seq)
        });
    }

    /// Waits until the supervisor runs (its first tick writes the documents).
    fn wait_supervisor_running(&self) {
        wait_until("the supervisor's first tick", PATIENCE, || {
            self.documents_through().is_some()
        });
    }

    fn approve_plan(&self) {
        let s = self.state();
        let a = s
            .pending_approvals()
            .find(|a| a.kind == overlord::protocol::model::ApprovalKind::Plan)
            .expect("plan approval")
            .id;
        self.ok(&format!("/approve {a}"));
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = self.rt.block_on(d);
        }
        self.handle.stop();
        if let Some(j) = self.core.take() {
            let _ = j.join();
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        self.stop();
    }
}

fn task_status(s: &State, id: &str) -> Option<TaskStatus> {
    s.plan.as_ref()?.task(id).map(|t| t.status)
}

/// One implementer task, `a`.
const ONE: &str = r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X",
  "tasks": [{"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#;

const THREE: &str = r#"{
  "todo_list_id": "p", "title": "Three tasks",
  "phases": [{ "id": "ph1", "name": "One", "tasks": [
    { "id": "a", "title": "A", "agent_role": "implementer", "dependencies": [] },
    { "id": "b", "title": "B", "agent_role": "implementer", "dependencies": [] },
    { "id": "c", "title": "C", "agent_role": "implementer", "dependencies": ["a", "b"] }
  ]}]
}"#;

#[test]
fn tasks_run_after_the_plan_is_approved_in_dependency_order_within_the_concurrency_limit() {
    let repo = committed();
    let log = repo.home.path().join("order.log");
    let mut config = base_config("sh");
    config.agents.concurrency = 2;
    // a and b wait (up to 20 s) for each other's start, so they overlap however slowly the
    // machine starts them; c finds both starts there already.
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "echo \"start $OVERLORD_TASK $(date +%s%N)\" >> {log}; n=0; while [ \"$(grep -c '^start' {log})\" -lt 2 ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); done; sleep 0.4; echo \"$OVERLORD_TASK by $OVERLORD_AGENT\" > \"out-$OVERLORD_TASK.txt\"; echo \"end $OVERLORD_TASK $(date +%s%N)\" >> {log}; echo \"did $OVERLORD_TASK\"",
            log = log.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    let imported = swarm.import(THREE);
    swarm.wait_supervisor_saw("the plan", *imported.events.iter().min().unwrap());
    // Not happening is what is tested: three of the supervisor's ticks (200 ms each) go by
    // after it saw the plan, each a chance to dispatch.
    std::thread::sleep(Duration::from_millis(600));
    let s = swarm.state();
    assert!(
        s.agents.is_empty() && task_status(&s, "a") == Some(TaskStatus::Todo),
        "nothing may run before the plan is approved"
    );
    swarm.approve_plan();
    // Done, and the last hand-off (recorded just after the status) in too.
    let s = swarm.wait("every task done", 60, |s| {
        ["a", "b", "c"]
            .iter()
            .all(|t| task_status(s, t) == Some(TaskStatus::Done))
            && s.handoffs
                .iter()
                .filter(|h| h.purpose == "task complete")
                .count()
                == 3
    });
    // Order and concurrency from the agents' own log.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut events: Vec<(u128, bool, String)> = text
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            (p[2].parse().unwrap(), p[0] == "start", p[1].to_string())
        })
        .collect();
    events.sort();
    let (mut running, mut max) = (0, 0);
    for (_, start, _) in &events {
        running += if *start { 1 } else { -1 };
        max = max.max(running);
    }
    assert_eq!(max, 2, "a and b run together, never more than two: {text}");
    let c_start = events.iter().find(|e| e.1 && e.2 == "c").unwrap().0;
    for dep in ["a", "b"] {
        let end = events.iter().find(|e| !e.1 && e.2 == dep).unwrap().0;
        assert!(end < c_start, "c started before {dep} ended: {text}");
    }
    // The work was committed on each task's branch, with Overlord's trailers.
    let sess = s.git.clone().unwrap();
    let msg = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["log", "-1", "--format=%B", &sess.task_branch("c")],
    );
    assert!(msg.contains("Overlord-Task: c"), "{msg}");
    // c's branch has a and b's work merged in.
    let files = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["ls-tree", "--name-only", &sess.task_branch("c")],
    );
    let graph = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["log", "--graph", "--all", "--format=%s %D"],
    );
    for f in ["out-a.txt", "out-b.txt", "out-c.txt"] {
        assert!(
            files.contains(f),
            "{f} missing from c's branch: {files}\n{graph}\n{text}"
        );
    }
    // Hand-offs for the initiation and each task; agents registered with the role.
    assert!(s
        .handoffs
        .iter()
        .any(|h| h.purpose.starts_with("project initiation")));
    assert_eq!(
        s.handoffs
            .iter()
            .filter(|h| h.purpose == "task complete")
            .count(),
        3
    );
    assert!(s.agents.values().all(|a| a.role == Role::Implementer));
    assert!(s
        .agents
        .values()
        .any(|a| a.events > 0 && a.last_output.is_some()));
    // The project documents were written from the state.
    let overview =
        std::fs::read_to_string(swarm.repo.path().join(".overlord/docs/PROJECT_OVERVIEW.md"))
            .unwrap();
    assert!(overview.contains("Human sign-off"), "{overview}");
}

#[test]
fn a_failing_run_is_retried_then_fails_the_task_with_the_message_and_a_concern() {
    let repo = committed();
    let mut config = base_config("sh");
    config.agents.max_attempts = 3;
    sh_adapter(
        &mut config,
        "sh",
        "if [ \"$OVERLORD_TASK\" = a ] && [ \"$OVERLORD_ATTEMPT\" -lt 2 ]; then echo 'flaky start' >&2; exit 3; fi; if [ \"$OVERLORD_TASK\" = b ]; then echo \"broken for good ($OVERLORD_ATTEMPT)\"; exit 4; fi; echo ok",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"},
            {"id": "b", "title": "B", "agent_role": "implementer"}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("a done, b failed with its concern", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && task_status(s, "b") == Some(TaskStatus::Failed)
            && s.concerns.values().any(|c| c.category == "task_failed")
    });
    let b = s.plan.as_ref().unwrap().task("b").unwrap();
    let last = b.commentary.last().unwrap();
    assert!(last.contains("exited with code 4"), "{last}");
    assert!(
        last.contains("broken for good (3)"),
        "three attempts: {last}"
    );
    let attempts = b
        .commentary
        .iter()
        .filter(|c| c.contains("exited with code 4"))
        .count();
    assert_eq!(attempts, 3, "{:?}", b.commentary);
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "task_failed")
        .unwrap();
    assert_eq!(c.task.as_deref(), Some("b"));
    assert_eq!(
        c.to,
        Role::Designer,
        "an implementer's failure goes up the chain"
    );
}

#[test]
fn an_adapter_that_is_not_installed_fails_the_task_at_once_and_says_so() {
    let repo = committed();
    let mut config = base_config("ghost");
    let extra: Config = toml::from_str(
        "[adapters.ghost]\nkind = \"codex\"\nbinary = \"definitely-not-installed-overlord-cli\"\n",
    )
    .unwrap();
    config.adapters.extend(extra.adapters);
    let swarm = Swarm::start(repo, config);
    swarm.import(THREE);
    swarm.approve_plan();
    let s = swarm.wait("a failed with its concern", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Failed)
            && s.concerns
                .values()
                .any(|c| c.category == "adapter_unavailable")
    });
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    assert!(
        a.commentary.last().unwrap().contains("is not installed"),
        "{:?}",
        a.commentary
    );
    assert_eq!(
        task_status(&s, "c"),
        Some(TaskStatus::Todo),
        "c waits for its deps"
    );
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "adapter_unavailable")
        .expect("the human is told");
    assert_eq!(c.to, Role::Human);
    // Set back by hand (after installing the CLI), the task starts afresh: one more attempt,
    // not an immediate failure for having used up its retries.
    let runs = |s: &State| {
        s.plan
            .as_ref()
            .unwrap()
            .task("a")
            .unwrap()
            .commentary
            .iter()
            .filter(|c| c.contains("is not installed"))
            .count()
    };
    let before = runs(&s);
    swarm.ok("/task a todo installed now");
    swarm.wait("a tried again", 30, |s| {
        runs(s) > before && task_status(s, "a") == Some(TaskStatus::Failed)
    });
}

#[test]
fn a_rate_limit_pauses_with_a_countdown_then_hands_the_task_to_the_fallback_adapter() {
    let repo = committed();
    let mut config = base_config("limited");
    config.agents.rate_limit_retries = 1;
    config.agents.fallback = vec!["spare".into()];
    sh_adapter(
        &mut config,
        "limited",
        r#"echo '{"type":"started","session_id":"s-1","model":null}'; echo '{"type":"finished","ok":false,"result_text":null,"error":{"kind":"rate_limited","retry_after_ms":700,"message":"429 Too Many Requests","code":null}}'; exit 1"#,
    );
    sh_adapter(&mut config, "spare", "echo \"spare did $OVERLORD_TASK\"");
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("rate-limited", 30, |s| {
        s.agents
            .values()
            .any(|a| a.state == AgentState::RateLimited && a.rate_limited_until.is_some())
    });
    let a = s.agents.values().next().unwrap();
    assert!(a.detail.as_deref().unwrap().contains("429"), "{a:?}");
    let s = swarm.wait("a done by the spare adapter", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let owner = s
        .plan
        .as_ref()
        .unwrap()
        .task("a")
        .unwrap()
        .owner
        .clone()
        .unwrap();
    assert_eq!(s.agents[&owner].adapter, "spare");
    assert!(s
        .handoffs
        .iter()
        .any(|h| h.purpose == "hand-over to adapter spare"));
}

#[test]
fn a_task_over_its_token_budget_pauses_the_agent_and_tells_the_human() {
    let repo = committed();
    let mut config = base_config("spender");
    config.agents.task_budget_tokens = 1000;
    let marker = repo.home.path().join("resumed");
    let pidfile = repo.home.path().join("pid");
    // It works on (and finishes) once the test says so: it would race its pause otherwise.
    let go = repo.home.path().join("go");
    sh_adapter(
        &mut config,
        "spender",
        &format!(
            r#"echo $$ > {}; echo '{{"type":"usage","input":900,"cached_input":0,"output":400,"reasoning":0,"cost_usd":null}}'; while [ ! -f {} ]; do sleep 0.05; done; touch {}; echo done"#,
            pidfile.display(),
            go.display(),
            marker.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("paused by the budget", 30, |s| {
        s.agents.values().any(|a| a.paused)
            && s.concerns.values().any(|c| c.category == "budget_exceeded")
    });
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "budget_exceeded")
        .unwrap();
    assert!(c.summary.contains("1300 tokens"), "{}", c.summary);
    assert_eq!(c.to, Role::Human);
    // Suspended: its process is stopped, and it does not finish while paused, even told to.
    let pid = read_pid(&pidfile);
    wait_stopped("the paused agent's process to stop", pid);
    std::fs::write(&go, "").unwrap();
    // Not happening is what is tested: a running agent would see the go-ahead within 50 ms
    // and finish; 1.2 s is ample.
    std::thread::sleep(Duration::from_millis(1200));
    assert!(!marker.exists(), "a paused agent kept working");
    assert_eq!(
        task_status(&swarm.state(), "a"),
        Some(TaskStatus::InProgress)
    );
    let agent = s.agents.values().find(|a| a.paused).unwrap().id.clone();
    swarm.ok(&format!("/resume {agent}"));
    swarm.wait("done after resume", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    assert!(marker.exists());
}

#[test]
fn the_kill_switch_suspends_running_agents_and_stops_dispatch() {
    let repo = committed();
    let mut config = base_config("slow");
    config.agents.concurrency = 1;
    let pids = repo.home.path().join("pids");
    // Each run finishes once the test says so: a runs until the kill switch is on.
    let go = repo.home.path().join("go");
    sh_adapter(
        &mut config,
        "slow",
        &format!(
            "echo $$ >> {}; while [ ! -f {} ]; do sleep 0.05; done; echo done",
            pids.display(),
            go.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(THREE);
    swarm.approve_plan();
    swarm.wait("a run", 30, |s| {
        s.agents
            .values()
            .any(|a| a.state == AgentState::Running && a.attempt == 1)
    });
    let pid = read_pid(&pids);
    swarm.ok("/pause all");
    wait_stopped("the agent's process to be stopped", pid);
    // Let a go on: it stays stopped.
    std::fs::write(&go, "").unwrap();
    // Not happening is what is tested: a running agent would finish within 50 ms of the
    // go-ahead and the next task start within a tick (200 ms); 2 s is ample.
    std::thread::sleep(Duration::from_millis(2000));
    let s = swarm.state();
    assert_eq!(
        std::fs::read_to_string(&pids).unwrap().lines().count(),
        1,
        "nothing new was dispatched"
    );
    assert!(s
        .plan
        .as_ref()
        .unwrap()
        .tasks()
        .all(|t| t.status != TaskStatus::Done));
    swarm.ok("/resume all");
    swarm.wait("all done after resume", 60, |s| {
        ["a", "b", "c"]
            .iter()
            .all(|t| task_status(s, t) == Some(TaskStatus::Done))
    });
}

#[test]
fn a_clarification_is_asked_in_the_agents_session_and_the_answer_recorded() {
    let repo = committed();
    let mut config = base_config("sh");
    // The command adapter gets the prompt as its last argument ($0 of sh -c).
    sh_adapter(&mut config, "sh", "echo \"answer to: $0\"");
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let agent = s.agents.keys().next().unwrap().clone();
    swarm.ok(&format!("/clarify {agent} which error type do you return?"));
    let s = swarm.wait("answered", 30, |s| {
        s.clarifications.values().any(|c| c.answer.is_some())
    });
    let c = s.clarifications.values().next().unwrap();
    assert_eq!(
        c.answer.as_deref(),
        Some("answer to: which error type do you return?")
    );
}

#[test]
fn an_unacknowledged_concern_climbs_the_chain_until_someone_acknowledges_it() {
    let repo = committed();
    let mut config = base_config("sh");
    config.agents.escalate_after_secs = 1;
    sh_adapter(&mut config, "sh", "echo ok");
    let swarm = Swarm::start(repo, config);
    let r = swarm.handle.submit_blocking(
        Origin::Agent {
            agent: "implementer-9".into(),
            role: Some(Role::Implementer),
        },
        parse("/raise --severity warning --category spec_ambiguity the spec says two things")
            .unwrap(),
    );
    assert!(r.ok, "{}", r.message);
    let s = swarm.wait("escalated to the PM", 20, |s| {
        s.concerns.values().any(|c| c.to == Role::ProjectManager)
    });
    let c = s.concerns.values().next().unwrap();
    assert_eq!(c.escalations, vec![Role::Designer, Role::ProjectManager]);
    let s = swarm.wait("escalated to the human", 20, |s| {
        s.concerns.values().any(|c| c.to == Role::Human)
    });
    let id = s.concerns.keys().next().unwrap().to_string();
    swarm.ok(&format!("/ack {id}"));
    // Not happening is what is tested: escalate_after_secs (1 s) and a tick more go by, time
    // for another escalation to come if it would.
    std::thread::sleep(Duration::from_millis(1500));
    let s = swarm.state();
    let c = s.concerns.values().next().unwrap();
    assert_eq!(c.status, ConcernStatus::Acknowledged);
    assert_eq!(c.escalations.len(), 3, "no escalation past the human");
}

#[test]
fn a_failed_acceptance_check_opens_a_branch_todo_whose_fix_completes_the_task() {
    let repo = committed();
    let mut config = base_config("sh");
    config.agents.acceptance_command = "test -f fixed.txt".into();
    sh_adapter(
        &mut config,
        "sh",
        "case \"$OVERLORD_TASK\" in *-fix-*) echo fixed > fixed.txt; echo \"fixed for $OVERLORD_TASK\";; *) echo 'wrote the code';; esac",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done through its fix", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let fix = s
        .plan
        .as_ref()
        .unwrap()
        .task("a-fix-1")
        .expect("branch todo");
    assert!(fix.is_temporary);
    assert_eq!(fix.parent_id.as_deref(), Some("a"));
    assert_eq!(fix.role, Role::Debugger);
    assert_eq!(fix.branch_reason.as_deref(), Some("implementation_bug"));
    assert!(fix
        .debug_instructions
        .as_deref()
        .unwrap()
        .contains("test -f fixed.txt"));
    assert_eq!(fix.status, TaskStatus::Done);
    let sess = s.git.clone().unwrap();
    let files = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["ls-tree", "--name-only", &sess.task_branch("a")],
    );
    assert!(
        files.contains("fixed.txt"),
        "the fix is on a's branch: {files}"
    );
}

#[test]
fn a_design_spec_waits_for_the_human_and_a_rejection_sends_it_back_with_the_reason() {
    let repo = committed();
    let mut config = base_config("sh");
    let prompts = repo.home.path().join("prompts.log");
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "mkdir -p design; echo \"spec v$OVERLORD_ATTEMPT\" > design/DESIGN_SPEC.md; printf '%s\\n---\\n' \"$0\" >> {}; echo 'wrote the spec'",
            prompts.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "design", "title": "Design", "agent_role": "designer",
             "expected_artifacts": ["design/DESIGN_SPEC.md"]},
            {"id": "impl", "title": "Impl", "agent_role": "implementer", "dependencies": ["design"]}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("design spec awaiting review", 30, |s| {
        task_status(s, "design") == Some(TaskStatus::NeedsReview)
            && s.pending_approvals().any(|p| p.subject == "design")
    });
    let a = s
        .pending_approvals()
        .find(|a| a.subject == "design")
        .unwrap()
        .id;
    // Not happening is what is tested: the supervisor recorded the review itself, and two of
    // its ticks (200 ms each) go by, each a chance to dispatch impl.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(task_status(&swarm.state(), "impl"), Some(TaskStatus::Todo));
    swarm.ok(&format!("/reject {a} the error types are missing"));
    let s = swarm.wait("design back for review", 30, |s| {
        task_status(s, "design") == Some(TaskStatus::NeedsReview)
            && s.pending_approvals().any(|p| p.subject == "design")
    });
    let text = std::fs::read_to_string(&prompts).unwrap();
    assert!(
        text.contains("The human rejected your design_spec")
            && text.contains("the error types are missing"),
        "{text}"
    );
    let a2 = s
        .pending_approvals()
        .find(|a| a.subject == "design")
        .unwrap()
        .id;
    swarm.ok(&format!("/approve {a2}"));
    swarm.wait("impl done", 30, |s| {
        task_status(s, "impl") == Some(TaskStatus::Done)
    });
    let overview = std::fs::read_to_string(Path::new(
        &swarm.repo.path().join(".overlord/docs/PROJECT_OVERVIEW.md"),
    ))
    .unwrap();
    assert!(overview.contains("Rejected by"), "{overview}");
    assert!(overview.contains("Approved by Human"), "{overview}");
}

/// `[adapters.<name>]` driving the fake CLI as a real CLI of `kind`, replaying a fixture.
fn fake_adapter(config: &mut Config, name: &str, kind: &str, fixture: &str, extra_env: &str) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agent-cli")
        .join(fixture);
    let text = format!(
        "[adapters.{name}]\nkind = \"{kind}\"\nbinary = {}\nenv = {{ FAKE_AGENT_FIXTURE = {}, FAKE_AGENT_DELAY_MS = \"5\", FAKE_AGENT_STDIN = \"null\"{extra_env} }}\n",
        toml_string(env!("CARGO_BIN_EXE_overlord-fake-agent")),
        toml_string(&fixture.display().to_string())
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
}

#[test]
fn a_codex_api_error_fails_the_task_with_the_apis_message() {
    let repo = committed();
    let mut config = base_config("codex-fake");
    config.agents.max_attempts = 2;
    fake_adapter(
        &mut config,
        "codex-fake",
        "codex",
        "codex-0.169.0/exec_api_error.jsonl",
        "",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a failed with its concern", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Failed)
            && s.concerns.values().any(|c| c.category == "task_failed")
    });
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    let last = a.commentary.last().unwrap();
    assert!(last.contains("fake bad request"), "{:?}", a.commentary);
    let agent = &s.agents[a.owner.as_ref().unwrap()];
    assert_eq!(agent.state, AgentState::Failed);
    assert_eq!(agent.attempt, 2, "retried once before failing");
    // The thread id of codex's `thread.started` is the agent's session.
    assert!(agent.session_id.is_some(), "{agent:?}");
    assert!(s
        .concerns
        .values()
        .any(|c| c.category == "task_failed" && c.summary.contains("fake bad request")));
}

#[test]
fn codex_usage_is_counted_and_priced_from_the_configured_table() {
    let repo = committed();
    let mut config = base_config("codex-fake");
    fake_adapter(
        &mut config,
        "codex-fake",
        "codex",
        "codex-0.169.0/exec_tool_call.jsonl",
        "",
    );
    let prices: Config = toml::from_str(
        "[adapters.codex-fake.prices]\ninput_per_mtok = 1000.0\noutput_per_mtok = 2000.0\ncached_input_per_mtok = 100.0\n",
    )
    .unwrap();
    config.adapters.get_mut("codex-fake").unwrap().prices = prices.adapters["codex-fake"].prices;
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let agent = s.agents.values().next().unwrap();
    // The fixture's own totals, priced with the table above.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/agent-cli/codex-0.169.0/exec_tool_call.jsonl"),
    )
    .unwrap();
    let usage = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "turn.completed")
        .unwrap()["usage"]
        .clone();
    let input = usage["input_tokens"].as_u64().unwrap();
    let cached = usage["cached_input_tokens"].as_u64().unwrap();
    let output = usage["output_tokens"].as_u64().unwrap();
    assert_eq!(agent.tokens, input + output);
    let cost =
        ((input - cached) as f64 * 1000.0 + cached as f64 * 100.0 + output as f64 * 2000.0) / 1e6;
    assert_eq!(agent.cost_micros, (cost * 1e6).round() as u64);
}

fn pid_alive(pid: &str) -> bool {
    // A zombie waiting for its reaper is as good as gone.
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            != Some("Z")
    })
}

#[test]
fn assign_redirects_a_running_agent_which_starts_again_with_the_new_instructions() {
    let repo = committed();
    let mut config = base_config("sh");
    let prompts = repo.home.path().join("prompts.log");
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "printf '%s\\n---\\n' \"$0\" >> {p}; case \"$0\" in *Redirected*) echo redirected;; *) sleep 30;; esac",
            p = prompts.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a running", 30, |s| {
        s.agents
            .values()
            .any(|a| a.state == AgentState::Running && a.attempt == 1)
    });
    wait_until("the agent's first prompt", PATIENCE, || prompts.exists());
    let agent = s.agents.keys().next().unwrap().clone();
    swarm.ok(&format!("/assign {agent} use the streaming parser instead"));
    let s = swarm.wait("a done after the redirection", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let text = std::fs::read_to_string(&prompts).unwrap();
    assert_eq!(text.matches("\n---\n").count(), 2, "{text}");
    assert!(
        text.contains("Redirected by the human governor: use the streaming parser instead"),
        "{text}"
    );
    let a = &s.agents[&agent];
    assert_eq!(
        a.assignment.as_deref(),
        Some("use the streaming parser instead")
    );
    assert_eq!(
        s.plan.as_ref().unwrap().task("a").unwrap().owner.as_deref(),
        Some(agent.as_str())
    );
}

#[test]
fn a_run_past_its_timeout_is_stopped_with_its_children_and_the_task_fails_after_its_attempts() {
    let repo = committed();
    let mut config = base_config("sh");
    config.agents.max_attempts = 2;
    let pids = repo.home.path().join("child-pids");
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "sleep 300 & echo $! >> {}; echo working; sleep 300",
            pids.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer", "timeout_seconds": 1}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("a failed", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Failed)
    });
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    assert!(
        a.commentary.last().unwrap().contains("timed out after 1s"),
        "{:?}",
        a.commentary
    );
    let text = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(text.lines().count(), 2, "two attempts: {text}");
    for pid in text.lines() {
        assert!(!pid_alive(pid), "the agent's child {pid} outlived its run");
    }
}

#[test]
fn a_cli_that_leaves_a_process_behind_has_it_stopped_and_the_human_told() {
    let repo = committed();
    let mut config = base_config("sh");
    let pids = repo.home.path().join("child-pids");
    sh_adapter(
        &mut config,
        "sh",
        &format!("sleep 300 & echo $! >> {}; echo done", pids.display()),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done and the concern", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && s.concerns
                .values()
                .any(|c| c.category == "orphan_processes")
    });
    let pid = std::fs::read_to_string(&pids).unwrap();
    assert!(!pid_alive(&pid), "the leftover {pid} still runs");
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "orphan_processes")
        .unwrap();
    assert_eq!(c.task.as_deref(), Some("a"));
    assert_eq!(c.to, Role::Human);
}

#[test]
fn deferring_a_design_spec_asks_its_author_for_an_update_and_the_same_approval_is_decided_again() {
    let repo = committed();
    let mut config = base_config("sh");
    let prompts = repo.home.path().join("prompts.log");
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "mkdir -p design; echo \"spec v$OVERLORD_ATTEMPT\" > design/DESIGN_SPEC.md; printf '%s\\n---\\n' \"$0\" >> {}; echo \"delta: v$OVERLORD_ATTEMPT adds the error types\"",
            prompts.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "design", "title": "Design", "agent_role": "designer",
             "expected_artifacts": ["design/DESIGN_SPEC.md"]}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("the spec's review", 30, |s| {
        task_status(s, "design") == Some(TaskStatus::NeedsReview)
            && s.pending_approvals().any(|p| p.subject == "design")
    });
    let a = s
        .pending_approvals()
        .find(|a| a.subject == "design")
        .unwrap()
        .id;
    swarm.ok(&format!("/defer {a} which errors can parse() return?"));
    let s = swarm.wait("the updated spec's review", 30, |s| {
        task_status(s, "design") == Some(TaskStatus::NeedsReview)
            && s.handoffs
                .iter()
                .filter(|h| h.purpose == "review design_spec")
                .count()
                == 2
    });
    let text = std::fs::read_to_string(&prompts).unwrap();
    assert!(
        text.contains("clarification or an update of your design_spec")
            && text.contains("which errors can parse() return?")
            && text.contains("delta summary"),
        "{text}"
    );
    let pending: Vec<_> = s.pending_approvals().map(|p| p.id).collect();
    assert_eq!(pending, vec![a], "the deferred approval is decided again");
    let review = s
        .handoffs
        .iter()
        .rfind(|h| h.purpose == "review design_spec")
        .unwrap();
    assert!(review.summary.contains("delta: v2"), "{}", review.summary);
    swarm.ok(&format!("/approve {a}"));
    swarm.wait("design done", 30, |s| {
        task_status(s, "design") == Some(TaskStatus::Done)
    });
}

#[test]
fn every_event_reaches_a_subscriber_once_and_in_order() {
    let repo = committed();
    let mut config = base_config("sh");
    sh_adapter(&mut config, "sh", "echo ok");
    let swarm = Swarm::start(repo, config);
    let mut rx = swarm.handle.subscribe();
    swarm.import(THREE);
    swarm.approve_plan();
    swarm.wait("all done", 60, |s| {
        ["a", "b", "c"]
            .iter()
            .all(|t| task_status(s, t) == Some(TaskStatus::Done))
    });
    let mut seqs = Vec::new();
    while let Ok(e) = rx.try_recv() {
        seqs.push(e.seq);
    }
    // Taken after the events were read: work goes on (the finished tasks are integrated).
    let s = swarm.state();
    let first = seqs[0];
    let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "duplicated or missing events");
    assert!(*seqs.last().unwrap() <= s.last_event_seq);
}

#[test]
fn an_agent_quiet_past_stall_secs_shows_as_stalled_until_it_speaks_again() {
    let repo = committed();
    let mut config = base_config("sh");
    config.agents.stall_secs = 1;
    // It stays quiet until the test has seen it stalled (a fixed pause would race the look).
    let go = repo.home.path().join("go");
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "echo starting; while [ ! -f {} ]; do sleep 0.05; done; echo back",
            go.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("stalled", 30, |s| {
        s.agents.values().any(|a| {
            a.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("stalled"))
        })
    });
    assert_eq!(s.agents.values().next().unwrap().state, AgentState::Running);
    std::fs::write(&go, "").unwrap();
    let s = swarm.wait("done", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let a = s.agents.values().next().unwrap();
    assert!(
        !a.detail.as_deref().unwrap_or("").starts_with("stalled"),
        "{a:?}"
    );
}

#[test]
fn an_agent_registered_by_hand_answers_its_clarifications_itself() {
    let repo = committed();
    let mut config = base_config("sh");
    sh_adapter(&mut config, "sh", "echo ok");
    let swarm = Swarm::start(repo, config);
    swarm.wait_supervisor_running();
    swarm.ok("/agent bob --role implementer");
    swarm.ok("/clarify bob which parser?");
    // Not happening is what is tested: four of the running supervisor's ticks (200 ms each)
    // go by, each a chance to take the question to bob.
    std::thread::sleep(Duration::from_millis(800));
    let s = swarm.state();
    assert_eq!(
        s.agents["bob"].state,
        AgentState::Idle,
        "the supervisor leaves bob alone"
    );
    assert!(s.clarifications.values().all(|c| c.answer.is_none()));
    let r = swarm.handle.submit_blocking(
        Origin::Agent {
            agent: "bob".into(),
            role: Some(Role::Implementer),
        },
        parse("/answer Q-1 the streaming one").unwrap(),
    );
    assert!(r.ok, "{}", r.message);
}

#[test]
fn a_run_does_not_start_on_a_task_a_live_recorded_process_holds_until_that_process_is_stopped() {
    use overlord::protocol::model::AgentProcess;
    use overlord::protocol::EventKind;
    use std::os::unix::process::CommandExt;

    let repo = committed();
    let mut config = base_config("sh");
    // Shared with the script in the test's scratch folder (the sandbox keeps .overlord/ out
    // of the agents' reach).
    let ghost_file = repo.home.path().join("ghost-pid");
    let starts = repo.home.path().join("starts");
    let overlap = repo.home.path().join("overlap");
    // The agent first looks whether the process holding its task still runs (a zombie does
    // not), then records its start.
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "p=$(cat {g}); st=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); if [ -n \"$st\" ] && [ \"$st\" != Z ]; then echo \"$$ started while $p ran\" >> {o}; fi; echo $$ >> {s}; echo done",
            g = ghost_file.display(),
            o = overlap.display(),
            s = starts.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    // The start's recovery is over: what is recorded from now on is only seen by dispatch.
    swarm.wait_supervisor_running();
    let mut ghost = std::process::Command::new("sleep")
        .arg("1000")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = ghost.id();
    let start_ticks = overlord::runtime::procs::read(pid).unwrap().start_ticks;
    std::fs::write(&ghost_file, pid.to_string()).unwrap();
    swarm.ok("/agent ghost --role tester");
    swarm
        .rt
        .block_on(swarm.handle.emit(
            "test",
            vec![EventKind::AgentProcessStarted {
                agent: "ghost".into(),
                process: AgentProcess {
                    pid,
                    start_ticks,
                    task: Some("a".into()),
                    worktree: None,
                },
            }],
        ))
        .unwrap();
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done and the concern", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && s.concerns
                .values()
                .any(|c| c.category == "orphan_processes")
    });
    assert!(
        !overlap.exists(),
        "the task ran while its holder ran: {}",
        std::fs::read_to_string(&overlap).unwrap_or_default()
    );
    // The holder was stopped (by a signal) and its end recorded.
    let status = ghost.wait().unwrap();
    assert!(status.code().is_none(), "{status}");
    assert_eq!(s.agents["ghost"].process, None);
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "orphan_processes")
        .unwrap();
    assert!(
        c.summary.contains(&format!("pid {pid}")) && c.summary.contains("still held its task"),
        "{}",
        c.summary
    );
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    assert!(
        a.commentary.iter().any(|n| n.contains(&format!(
            "not started: ghost's process (pid {pid}) still runs on task a"
        ))),
        "{:?}",
        a.commentary
    );
    let text = std::fs::read_to_string(&starts).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}

/// A retry of the scripted agent replays its script's steps — those of the new attempt — as a
/// real CLI redoes the work (it used to resume the session and only answer questions, so
/// retries, fallbacks and regenerations never ran a step).
#[test]
fn a_scripted_agent_replays_its_script_on_a_retry() {
    let repo = committed();
    repo.write(
        ".overlord/scripts/default.toml",
        r#"
[[step]]
fail = { times = 1, kind = "crash", message = "the first try breaks" }

[[step]]
write = { path = "replayed.txt", content = "attempt 2 ran its steps" }

[[step]]
say = "done on the second try"
"#,
    );
    let mut config = base_config("scripted");
    config.agents.max_attempts = 2;
    let extra: Config =
        toml::from_str("[adapters.scripted]\nscript_dir = \".overlord/scripts\"\n").unwrap();
    config.adapters.extend(extra.adapters);
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("a done on its second attempt", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    assert!(
        a.commentary
            .iter()
            .any(|c| c.contains("the first try breaks")),
        "{:?}",
        a.commentary
    );
    let agent = s
        .agents
        .values()
        .find(|g| g.id.starts_with("implementer"))
        .unwrap();
    assert_eq!(agent.attempt, 2, "{agent:?}");
    // The second attempt's write step ran and was committed on the task's branch.
    let log = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["log", "--all", "--format=%H", "--", "replayed.txt"],
    );
    assert!(!log.trim().is_empty(), "replayed.txt was never committed");
}

/// A re-imported plan's new tasks wait for its new approval, while the tasks the human
/// already approved go on (a new task used to run and finish before the approval).
#[test]
fn a_reimported_plan_runs_new_tasks_only_once_approved_while_the_approved_ones_go_on() {
    let repo = committed();
    let gate = repo.home.path().join("gate");
    let mut config = base_config("sh");
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "if [ \"$OVERLORD_TASK\" = a ]; then while [ ! -f {} ]; do sleep 0.05; done; fi; echo ok",
            gate.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    let v1 = r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"},
            {"id": "c", "title": "C", "agent_role": "implementer", "dependencies": ["a"]}]}]}"#;
    swarm.import(v1);
    swarm.approve_plan();
    swarm.wait("a running", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::InProgress)
    });
    // The human re-imports the plan with a new task b while a runs.
    let v2 = v1.replace(
        r#"{"id": "a", "title": "A", "agent_role": "implementer"},"#,
        r#"{"id": "a", "title": "A", "agent_role": "implementer"},
            {"id": "b", "title": "B", "agent_role": "implementer"},"#,
    );
    let r = swarm.import(&v2);
    assert!(
        r.message.contains("awaits the human's approval"),
        "{}",
        r.message
    );
    std::fs::write(&gate, "go").unwrap();
    // The approved plan goes on: a finishes, then c (approved, dispatched after the
    // re-import) runs and finishes — and b has not started.
    let s = swarm.wait("a and c done", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && task_status(s, "c") == Some(TaskStatus::Done)
    });
    let b = s.plan.as_ref().unwrap().task("b").unwrap();
    assert_eq!(b.status, TaskStatus::Todo, "{:?}", b.commentary);
    assert!(b.owner.is_none() && b.commentary.is_empty(), "{b:?}");
    // Approved: b runs.
    swarm.approve_plan();
    swarm.wait("b done", 60, |s| {
        task_status(s, "b") == Some(TaskStatus::Done)
    });
}
