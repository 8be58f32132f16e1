//! Swarm load, side by side in one run (see docs/PERFORMANCE.md, "Swarm load"): 64 scripted
//! agents (`overlord-tui script-agent`, child processes) each print 50 text events a second
//! for 60 s, through the real supervisor and core, in this process, with the IPC socket
//! served as `overlord-tui run` serves it. Measured:
//!
//! - **no event lost**: once every task is done, `State.agents[*].events` (the supervisor's
//!   coalesced `agent_activity` counts, as the audit trail has them) must add up to what the
//!   scripts printed: `started` + every `emit` line + `finished` per agent;
//! - **command latency**, submit → reply, by a probe thread every 100 ms: `/raise` (a concern
//!   from an agent, written to the audit trail), `/status` (a query) and `/resolve` of that
//!   concern (the human) through the unix socket with `ipc::Client` (the CLI's path), then
//!   `/raise` and `/resolve` through the in-process `Handle`; first with the swarm idle (the
//!   plan imported, not approved: the baseline), then while the agents run; the ratio;
//! - **CPU of the core process**: this process's own user + system time (`/proc/self/stat`;
//!   the agents are child processes and are not in it) over the window in which every agent
//!   is streaming, ÷ wall time, as % of one core; the probe thread runs in this process, so
//!   its share is shown apart (per thread, from `/proc/self/task/*/stat`).
//!
//! Exits non-zero if an event was lost, a task did not finish or a probe command failed.
//!
//! `cargo bench --bench swarm`; quick trials: `OVERLORD_BENCH_AGENTS=8 OVERLORD_BENCH_SECS=10
//! cargo bench --bench swarm` (also `OVERLORD_BENCH_RATE`, `OVERLORD_BENCH_BASELINE_SECS`,
//! `OVERLORD_BENCH_PROBE_MS`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use overlord::config::Config;
use overlord::core::ipc::{self, Client};
use overlord::core::{Core, Handle};
use overlord::protocol::model::{ApprovalKind, Role, TaskStatus};
use overlord::protocol::{parse, Command, Origin, Reply, ReplyData, State};
use overlord::runtime::supervisor::Supervisor;
use overlord::workspace::Workspace;

const MAIN: &str = "main";

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        _ => default,
    }
}

struct Params {
    agents: usize,
    secs: u64,
    rate: u64,
    baseline_secs: u64,
    probe_every: Duration,
}

impl Params {
    fn from_env() -> Params {
        Params {
            agents: env_num("OVERLORD_BENCH_AGENTS", 64),
            secs: env_num("OVERLORD_BENCH_SECS", 60),
            rate: env_num("OVERLORD_BENCH_RATE", 50),
            baseline_secs: env_num("OVERLORD_BENCH_BASELINE_SECS", 10),
            probe_every: Duration::from_millis(env_num("OVERLORD_BENCH_PROBE_MS", 100)),
        }
    }

    /// Text events each agent's script emits.
    fn emitted(&self) -> u64 {
        self.rate * self.secs
    }

    /// Normalized events each agent's run produces: `started`, the emitted texts, `finished`.
    fn per_agent(&self) -> u64 {
        self.emitted() + 2
    }
}

// ---------------------------------------------------------------------------------------------
// The repository

fn git(dir: &Path, args: &[&str]) {
    let out = Proc::new("git")
        .args(["-c", "user.name=B", "-c", "user.email=b@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with one commit on `main` (a README and the agents' script), Overlord
/// initialized, and the plan file: `agents` independent implementer tasks.
fn prepare(root: &Path, p: &Params) -> (PathBuf, PathBuf) {
    let repo = root.join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", MAIN]);
    std::fs::write(repo.join("README.md"), "swarm bench\n").expect("readme");
    std::fs::create_dir(repo.join("scripts")).expect("mkdir");
    std::fs::write(
        repo.join("scripts/default.toml"),
        format!(
            "model = \"scripted-bench\"\nresult = \"streamed\"\n\n[[step]]\nemit = {{ count = {}, per_sec = {} }}\n",
            p.emitted(),
            p.rate
        ),
    )
    .expect("script");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "initial"]);
    Workspace::discover(&repo)
        .expect("discover")
        .init()
        .expect("init");
    let tasks: Vec<serde_json::Value> = (1..=p.agents)
        .map(|k| {
            serde_json::json!({
                "id": format!("t{k:02}"),
                "title": format!("Stream {k}"),
                "agent_role": "implementer",
                "dependencies": [],
            })
        })
        .collect();
    let plan = serde_json::json!({
        "todo_list_id": "swarm-bench",
        "title": "Swarm load",
        "phases": [{ "id": "phase-1", "name": "Everything", "tasks": tasks }],
    });
    let plan_path = root.join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).expect("plan");
    (repo, plan_path)
}

fn config(p: &Params) -> Config {
    let mut c = Config::default();
    for role in [
        &mut c.roles.pm,
        &mut c.roles.designer,
        &mut c.roles.implementer,
        &mut c.roles.tester,
        &mut c.roles.debugger,
        &mut c.roles.reviewer,
    ] {
        role.adapter = "scripted".into();
    }
    c.agents.concurrency = p.agents;
    c.agents.acceptance_command = "off".into();
    // Everything else as shipped: flush_ms = 1000, poll_ms = 250, snapshot_every = 1000.
    c
}

// ---------------------------------------------------------------------------------------------
// CPU time

/// Clock ticks of `/proc/*/stat` (USER_HZ).
fn clock_ticks() -> f64 {
    Proc::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The fields of a `stat` file after the command name: (comm, fields from `state` on).
fn stat_fields(path: &Path) -> Option<(String, Vec<u64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let fields = text[close + 1..]
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Some((comm, fields))
}

/// CPU time of this process so far, in ticks: (own user + system, waited-for children's).
fn process_ticks() -> (u64, u64) {
    let (_, f) = stat_fields(Path::new("/proc/self/stat")).expect("/proc/self/stat");
    // After `state`: ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    // utime stime cutime cstime.
    (f[10] + f[11], f[12] + f[13])
}

/// Context switches of a thread so far (voluntary + involuntary), from its `status`.
fn switches(task: &Path) -> u64 {
    std::fs::read_to_string(task.join("status"))
        .map(|text| {
            text.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// Each live thread: tid → (name, user + system ticks, context switches).
fn thread_ticks() -> BTreeMap<u64, (String, u64, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u64>() else {
            continue;
        };
        if let Some((comm, f)) = stat_fields(&entry.path().join("stat")) {
            out.insert(tid, (comm, f[10] + f[11], switches(&entry.path())));
        }
    }
    out
}

/// Every other process on the machine: pid → (parent pid, user + system ticks). Per-process
/// times are the scheduler's exact run time; `/proc/stat`'s per-CPU counters are sampled at
/// the timer tick and, on this VM, miss most of this workload's short bursts (they read a
/// few % while this process alone measured ~10%), so they are not used.
fn other_processes() -> BTreeMap<u64, (u64, u64)> {
    let me = u64::from(std::process::id());
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u64>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Some((_, f)) = stat_fields(&entry.path().join("stat")) {
            // After `state`: ppid, …, utime (11th), stime (12th).
            out.insert(pid, (f[0], f[10] + f[11]));
        }
    }
    out
}

#[derive(Clone)]
struct CpuMark {
    at: Instant,
    own: u64,
    children: u64,
    processes: BTreeMap<u64, (u64, u64)>,
    threads: BTreeMap<u64, (String, u64, u64)>,
}

fn mark() -> CpuMark {
    let threads = thread_ticks();
    let (own, children) = process_ticks();
    CpuMark {
        at: Instant::now(),
        own,
        children,
        processes: other_processes(),
        threads,
    }
}

struct CpuUse {
    wall: Duration,
    /// % of one core.
    own: f64,
    /// Our child processes (the agents; git): the live ones' run time in the window, plus
    /// those that ended in it (reaped: counted in our `cutime`/`cstime`) minus what they had
    /// used before it.
    children: f64,
    /// Every other process on the machine (live at the end of the window; what a process
    /// that ended inside it used is missed): the noise of a shared machine.
    others: f64,
    /// Context switches of this process's threads per second (threads that ended in the
    /// window are missed).
    switches: f64,
    /// Thread name → % of one core (threads that ended in the window: "(ended threads)").
    by_thread: BTreeMap<String, f64>,
}

fn cpu_between(a: &CpuMark, b: &CpuMark, hz: f64) -> CpuUse {
    let wall = b.at - a.at;
    let pct = |ticks: u64| ticks as f64 / hz / wall.as_secs_f64() * 100.0;
    let mut by_thread: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = 0;
    let main = u64::from(std::process::id());
    let mut switched = 0;
    for (tid, (name, t, sw)) in &b.threads {
        let (before, sw_before) = a
            .threads
            .get(tid)
            .map(|(_, t, sw)| (*t, *sw))
            .unwrap_or((0, 0));
        switched += sw.saturating_sub(sw_before);
        let d = t.saturating_sub(before);
        seen += d;
        let name = if *tid == main {
            "main (the bench: setup, state polling)".to_string()
        } else {
            name.clone()
        };
        *by_thread.entry(name).or_default() += d;
    }
    let own = b.own.saturating_sub(a.own);
    let me = u64::from(std::process::id());
    let (mut children, mut others) = (0u64, 0u64);
    for (pid, (ppid, t)) in &b.processes {
        let d = t.saturating_sub(a.processes.get(pid).map(|(_, t)| *t).unwrap_or(0));
        if *ppid == me {
            children += d;
        } else {
            others += d;
        }
    }
    // Children that ended in the window: their whole life is in the reaped total.
    let ended_before: u64 = a
        .processes
        .iter()
        .filter(|(pid, (ppid, _))| *ppid == me && !b.processes.contains_key(pid))
        .map(|(_, (_, t))| *t)
        .sum();
    children += b
        .children
        .saturating_sub(a.children)
        .saturating_sub(ended_before);
    by_thread.insert("(ended threads)".into(), own.saturating_sub(seen));
    CpuUse {
        wall,
        own: pct(own),
        children: pct(children),
        others: pct(others),
        switches: switched as f64 / wall.as_secs_f64(),
        by_thread: by_thread.into_iter().map(|(k, v)| (k, pct(v))).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// The probe

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Probe {
    SocketRaise,
    SocketResolve,
    SocketStatus,
    HandleRaise,
    HandleResolve,
}

impl Probe {
    const ALL: [Probe; 5] = [
        Probe::SocketRaise,
        Probe::SocketResolve,
        Probe::SocketStatus,
        Probe::HandleRaise,
        Probe::HandleResolve,
    ];

    fn label(self) -> &'static str {
        match self {
            Probe::SocketRaise => "/raise via socket (ipc::Client)",
            Probe::SocketResolve => "/resolve via socket",
            Probe::SocketStatus => "/status via socket",
            Probe::HandleRaise => "/raise via in-process Handle",
            Probe::HandleResolve => "/resolve via Handle",
        }
    }

    /// A command written to the audit trail (not a query).
    fn writes(self) -> bool {
        self != Probe::SocketStatus
    }
}

struct Sample {
    at: Instant,
    probe: Probe,
    took: Duration,
}

#[derive(Default)]
struct ProbeLog {
    samples: Vec<Sample>,
    failures: Vec<String>,
}

fn probe_origin() -> Origin {
    Origin::Agent {
        agent: "bench-probe".into(),
        role: Some(Role::Implementer),
    }
}

fn human() -> Origin {
    Origin::Cli {
        user: "bench".into(),
    }
}

/// The concern a `/raise` reply created, as the `/resolve` that closes it.
fn resolve_of(reply: &Result<Reply, String>) -> Option<Command> {
    match reply {
        Ok(Reply {
            data: ReplyData::Concern(c),
            ..
        }) => Some(parse(&format!("/resolve {}", c.id)).expect("resolve")),
        _ => None,
    }
}

/// Every `every`, each timed from submit to reply: through the socket, a `/raise` (from an
/// agent), the `/status` (a query), the `/resolve` of that concern (from the human); then
/// the same `/raise` and `/resolve` through the handle. Every concern is resolved at once, so
/// the state does not grow with the probe (the status report lists every open concern).
fn probe_loop(
    socket: PathBuf,
    handle: Handle,
    every: Duration,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<ProbeLog>>,
) {
    let mut client = Client::connect(&socket).expect("connect to the socket");
    let mut n = 0u64;
    let mut next = Instant::now();
    let record = |probe: Probe, at: Instant, reply: &Result<Reply, String>| {
        let took = at.elapsed();
        let mut l = log.lock().expect("probe log");
        match reply {
            Ok(r) if r.ok => l.samples.push(Sample { at, probe, took }),
            Ok(r) => l.failures.push(format!("{probe:?}: {}", r.message)),
            Err(e) => l.failures.push(format!("{probe:?}: {e}")),
        }
    };
    let mut socket_call = |probe: Probe, origin: Origin, command: Command| {
        let at = Instant::now();
        let r = client.submit(origin, command).map_err(|e| e.to_string());
        record(probe, at, &r);
        r
    };
    let handle_call = |probe: Probe, origin: Origin, command: Command| {
        let at = Instant::now();
        let r = Ok(handle.submit_blocking(origin, command));
        record(probe, at, &r);
        r
    };
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let raise = parse(&format!(
            "/raise --severity info --category bench probe {n}"
        ))
        .expect("raise");
        let raised = socket_call(Probe::SocketRaise, probe_origin(), raise.clone());
        let _ = socket_call(Probe::SocketStatus, probe_origin(), Command::Status);
        if let Some(resolve) = resolve_of(&raised) {
            let _ = socket_call(Probe::SocketResolve, human(), resolve);
        }
        let raised = handle_call(Probe::HandleRaise, probe_origin(), raise);
        if let Some(resolve) = resolve_of(&raised) {
            let _ = handle_call(Probe::HandleResolve, human(), resolve);
        }

        next += every;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

struct Stats {
    n: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut v: Vec<Duration>) -> Option<Stats> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    // Nearest rank.
    let q = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Some(Stats {
        n: v.len(),
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        max: *v.last().expect("not empty"),
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

// ---------------------------------------------------------------------------------------------
// The run

fn tasks_with(s: &State, status: TaskStatus) -> usize {
    s.plan
        .as_ref()
        .map(|p| p.tasks().filter(|t| t.status == status).count())
        .unwrap_or(0)
}

fn events_counted(s: &State) -> u64 {
    s.agents.values().map(|a| a.events).sum()
}

fn main() {
    let p = Params::from_env();
    let hz = clock_ticks();
    let home = tempfile::tempdir().expect("home");
    // Git (ours, libgit2's, the agents') reads no host configuration.
    std::env::set_var("HOME", home.path());
    std::env::set_var("XDG_CONFIG_HOME", home.path().join(".config"));
    std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
    for v in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "OVERLORD_AGENT",
        "OVERLORD_ROLE",
        "OVERLORD_TASK",
    ] {
        std::env::remove_var(v);
    }
    let root = tempfile::Builder::new()
        .prefix("ovl-swarm")
        .tempdir()
        .expect("tempdir");
    eprintln!(
        "swarm bench: {} agents × {} events/s × {} s; baseline {} s; a probe every {} ms",
        p.agents,
        p.rate,
        p.secs,
        p.baseline_secs,
        p.probe_every.as_millis()
    );
    let (repo, plan_path) = prepare(root.path(), &p);
    let ws = Workspace::discover(&repo).expect("discover");
    let config = config(&p);

    // The core, its socket and the supervisor, as `overlord-tui run` starts them.
    let core = Core::open(&ws, &config).expect("open core");
    let poll = Duration::from_millis(config.core.poll_ms.max(10));
    let (handle, core_thread) = Handle::spawn(core, poll).expect("core thread");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let socket = ws.socket_path();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let listener = rt
        .block_on(async { ipc::bind(&socket) })
        .expect("bind the socket");
    let server = rt.spawn(ipc::serve(
        listener,
        handle.clone(),
        None,
        stopped(stop_rx.clone()),
    ));
    let supervisor = {
        let (h, ws, config) = (handle.clone(), ws.clone(), config.clone());
        let rx = stop_rx.clone();
        rt.spawn(async move {
            let sup = Supervisor::new(h, ws, config)
                .await
                .expect("supervisor")
                .with_self_exe(env!("CARGO_BIN_EXE_overlord-tui").into());
            sup.run(stopped(rx)).await;
        })
    };

    let run = |line: &str| {
        let r = handle.submit_blocking(human(), parse(line).expect(line));
        assert!(r.ok, "{line}: {}", r.message);
        r
    };
    run(&format!("/import {}", plan_path.display()));
    let snapshot = || handle.snapshot_blocking().expect("the core has stopped");
    std::thread::sleep(Duration::from_millis(500));

    // Baseline: the supervisor idle (the plan waits for approval), the probe running.
    let probe_stop = Arc::new(AtomicBool::new(false));
    let probe_log = Arc::new(Mutex::new(ProbeLog::default()));
    let probe = {
        let (socket, handle, stop, log) = (
            socket.clone(),
            handle.clone(),
            probe_stop.clone(),
            probe_log.clone(),
        );
        let every = p.probe_every;
        std::thread::Builder::new()
            .name("bench-probe".into())
            .spawn(move || probe_loop(socket, handle, every, stop, log))
            .expect("probe thread")
    };
    let base_start = mark();
    std::thread::sleep(Duration::from_secs(p.baseline_secs));
    let base_end = mark();

    // Load: approve; the steady window is from when every agent streams (every task in
    // progress, every agent's activity counted) to when the first task leaves `in_progress`.
    let approval = snapshot()
        .pending_approvals()
        .find(|a| a.kind == ApprovalKind::Plan)
        .expect("the plan's approval")
        .id;
    let load_start = mark();
    run(&format!("/approve {approval}"));
    let all = p.agents;
    let mut steady: Option<(CpuMark, u64)> = None;
    let mut steady_end: Option<(CpuMark, u64)> = None;
    let deadline = Instant::now() + Duration::from_secs(p.secs * 2 + 180);
    loop {
        // Until every agent streams, often enough that a short quick-mode run (CI: 8 agents
        // × 10 s, a debug build on two busy cores) still sees that moment; then twice a
        // second, as the window's own load.
        let poll = if steady.is_none() { 100 } else { 500 };
        std::thread::sleep(Duration::from_millis(poll));
        let s = snapshot();
        let in_progress = tasks_with(&s, TaskStatus::InProgress);
        let done = tasks_with(&s, TaskStatus::Done);
        if steady.is_none()
            && in_progress == all
            && s.agents.len() >= all
            && s.agents.values().all(|a| a.events > 0)
        {
            steady = Some((mark(), events_counted(&s)));
            eprintln!(
                "every agent streaming after {:.1} s",
                load_start.at.elapsed().as_secs_f64()
            );
        }
        if steady.is_some() && steady_end.is_none() && in_progress < all {
            steady_end = Some((mark(), events_counted(&s)));
            eprintln!(
                "first task finished after {:.1} s",
                load_start.at.elapsed().as_secs_f64()
            );
        }
        // A failed task would keep the swarm from finishing: stop there too.
        let failed = tasks_with(&s, TaskStatus::Failed) + tasks_with(&s, TaskStatus::Blocked);
        if done + failed == all || Instant::now() > deadline {
            break;
        }
    }
    let load_end = mark();
    probe_stop.store(true, Ordering::Relaxed);
    probe.join().expect("probe thread");
    let _ = stop_tx.send(true);
    let _ = rt.block_on(supervisor);
    let _ = rt.block_on(server);
    let final_state = snapshot();
    handle.stop();
    let _ = core_thread.join();
    drop(rt);

    // ---- Report
    let mut failed = Vec::new();
    let done = tasks_with(&final_state, TaskStatus::Done);
    if done != all {
        failed.push(format!("only {done} of {all} tasks are done"));
    }
    let expected = p.per_agent() * all as u64;
    let counted = events_counted(&final_state);
    if counted != expected {
        failed.push(format!(
            "events: {counted} counted, {expected} emitted ({} lost)",
            expected as i64 - counted as i64
        ));
    }
    let agents = final_state.agents.len();
    if agents != all {
        failed.push(format!("{agents} agents registered, expected {all}"));
    }
    for a in final_state.agents.values() {
        if a.events != p.per_agent() {
            failed.push(format!(
                "{}: {} events counted, {} emitted",
                a.id,
                a.events,
                p.per_agent()
            ));
        }
    }
    let log = probe_log.lock().expect("probe log");
    if !log.failures.is_empty() {
        failed.push(format!(
            "{} probe commands failed, first: {}",
            log.failures.len(),
            log.failures[0]
        ));
    }
    let Some(((steady_mark, steady_events), (end_mark, end_events))) = steady.zip(steady_end)
    else {
        eprintln!("no steady window: the agents never all streamed at once");
        eprintln!("{}", failed.join("\n"));
        std::process::exit(1);
    };

    let window = end_mark.at - steady_mark.at;
    let in_window = |s: &Sample, a: Instant, b: Instant| s.at >= a && s.at + s.took <= b;
    let pick = |probe: Probe, a: Instant, b: Instant| {
        stats(
            log.samples
                .iter()
                .filter(|s| s.probe == probe && in_window(s, a, b))
                .map(|s| s.took)
                .collect(),
        )
    };

    println!();
    println!("## Swarm load");
    println!();
    println!(
        "{} scripted agents × {} events/s × {} s (steady window: {:.1} s, every agent streaming; whole load: {:.1} s from approval to the last task done)",
        all,
        p.rate,
        p.secs,
        window.as_secs_f64(),
        (load_end.at - load_start.at).as_secs_f64()
    );
    println!();
    println!("| | |");
    println!("|---|---|");
    let rate = (end_events - steady_events) as f64 / window.as_secs_f64();
    println!(
        "| events/s counted in the steady window (target {}) | {rate:.0} |",
        all as u64 * p.rate,
    );
    println!("| events emitted (started + emitted + finished per agent) | {expected} |");
    println!("| events counted (sum of `State.agents[*].events`) | {counted} |");
    println!("| tasks done | {done} / {all} |");
    println!();
    println!("| probe | phase | n | p50 ms | p95 ms | p99 ms | max ms | p99 ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut p99_load = Duration::ZERO;
    for probe in Probe::ALL {
        let base = pick(probe, base_start.at, base_end.at);
        let load = pick(probe, steady_mark.at, end_mark.at);
        let whole = pick(probe, load_start.at, load_end.at);
        let ratio = match (&base, &load) {
            (Some(b), Some(l)) => format!(
                "**{:.2}×**",
                l.p99.as_secs_f64() / b.p99.as_secs_f64().max(1e-9)
            ),
            _ => "-".into(),
        };
        for (phase, s, r) in [
            ("baseline (idle)", &base, String::new()),
            ("steady load", &load, ratio),
            ("whole load", &whole, String::new()),
        ] {
            if let Some(s) = s {
                println!(
                    "| {} | {phase} | {} | {} | {} | {} | {} | {r} |",
                    probe.label(),
                    s.n,
                    ms(s.p50),
                    ms(s.p95),
                    ms(s.p99),
                    ms(s.max)
                );
            }
        }
        if probe.writes() {
            if let Some(l) = &load {
                p99_load = p99_load.max(l.p99);
            }
        }
    }
    println!();
    let base_cpu = cpu_between(&base_start, &base_end, hz);
    let load_cpu = cpu_between(&steady_mark, &end_mark, hz);
    let whole_cpu = cpu_between(&load_start, &load_end, hz);
    let probe_pct = |c: &CpuUse| c.by_thread.get("bench-probe").copied().unwrap_or(0.0);
    println!("| CPU, % of one core | baseline (idle) | steady load | whole load |");
    println!("|---|---|---|---|");
    println!(
        "| this process (core, supervisor, IPC, probe) | {:.1} | {:.1} | {:.1} |",
        base_cpu.own, load_cpu.own, whole_cpu.own
    );
    println!(
        "| of which the probe thread | {:.1} | {:.1} | {:.1} |",
        probe_pct(&base_cpu),
        probe_pct(&load_cpu),
        probe_pct(&whole_cpu)
    );
    println!(
        "| **without the probe thread** | {:.1} | **{:.1}** | {:.1} |",
        base_cpu.own - probe_pct(&base_cpu),
        load_cpu.own - probe_pct(&load_cpu),
        whole_cpu.own - probe_pct(&whole_cpu)
    );
    println!(
        "| child processes (the agents; git) | {:.1} | {:.1} | {:.1} |",
        base_cpu.children, load_cpu.children, whole_cpu.children
    );
    println!(
        "| every other process on the machine (noise) | {:.1} | {:.1} | {:.1} |",
        base_cpu.others, load_cpu.others, whole_cpu.others
    );
    println!();
    println!(
        "Threads of this process in the steady window ({:.1} s), % of one core:",
        load_cpu.wall.as_secs_f64()
    );
    for (name, pct) in &load_cpu.by_thread {
        println!("- {name}: {pct:.1}");
    }
    println!();
    println!(
        "Context switches of this process's threads: {:.0}/s idle, {:.0}/s in the steady window ({:.2} per event counted); CPU per event counted in the steady window: {:.1} µs",
        base_cpu.switches,
        load_cpu.switches,
        load_cpu.switches / rate.max(1.0),
        (load_cpu.own - probe_pct(&load_cpu)) / 100.0 / rate.max(1.0) * 1e6
    );
    println!();
    let core_pct = load_cpu.own - probe_pct(&load_cpu);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "targets: no event lost: {}; p99 submit → reply ≤ 50 ms under load (/raise and /resolve, both paths): {} ({} ms); core CPU ≤ 25% of one core: {} ({core_pct:.1}%)",
        verdict(counted == expected),
        verdict(p99_load <= Duration::from_millis(50)),
        ms(p99_load),
        verdict(core_pct <= 25.0)
    );
    if !failed.is_empty() {
        eprintln!("FAILED:\n{}", failed.join("\n"));
        std::process::exit(1);
    }
}
