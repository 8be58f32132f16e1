//! No agent outlives its owner, with the real binary: `overlord-tui run` runs `sh` agents
//! through the `command` adapter; the test stops the owner (SIGTERM) or kills it (SIGKILL) and
//! looks at the agents' processes in `/proc` and at what the store recorded of them.

use std::path::{Path, PathBuf};
use std::process::Child;

use overlord::protocol::{Event, EventKind};
use serde_json::Value;

use crate::common::*;

/// A running `overlord-tui run` in a repository.
struct Owner {
    child: Option<Child>,
    log: PathBuf,
}

impl Owner {
    fn start(repo: &Repo, n: u32) -> Owner {
        let log = repo.home.path().join(format!("run-{n}.log"));
        Owner {
            child: Some(spawn_run(repo, &log, &[])),
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    /// Waits for the owner to exit; its exit status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let child = self.child.as_mut().unwrap();
        let status = wait_for("overlord-tui run to exit", PATIENCE, || {
            child.try_wait().unwrap()
        });
        self.child = None;
        status
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn state(repo: &Repo) -> Value {
    let o = repo.run(&["status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str::<Value>(&stdout(&o)).unwrap()["state"].clone()
}

/// Imports the plan and approves it (the owner is listening).
fn approve_plan(repo: &Repo, owner: &Owner) {
    wait_until("run to listen", PATIENCE, || {
        repo.path().join(".overlord/overlord.sock").exists()
    });
    let o = repo.run(&["plan", "import", "plan.json"]);
    assert!(o.status.success(), "{}{}", stderr(&o), owner.log());
    let s = state(repo);
    let id = s["approvals"]
        .as_object()
        .unwrap()
        .values()
        .find(|a| a["kind"] == "plan" && a["decision"].is_null())
        .expect("the plan awaits approval")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = repo.run(&["cmd", &format!("/approve {id}")]);
    assert!(o.status.success(), "{}{}", stderr(&o), owner.log());
}

/// Whether `pid` runs (a zombie waiting for its reaper has ended).
fn running(pid: u32) -> bool {
    overlord::runtime::procs::read(pid).is_some_and(|p| !p.exited())
}

/// The pids written to `path`, one a line (complete lines only).
fn pids(path: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Every event the store holds.
fn events(repo: &Repo) -> Vec<Event> {
    let store =
        overlord::store::Store::open_without_repair(&repo.workspace().store_paths()).unwrap();
    store
        .event_bodies_after(0)
        .unwrap()
        .into_iter()
        .filter_map(|(_, body)| serde_json::from_str(&body).ok())
        .collect()
}

fn process_started(events: &[Event]) -> Vec<(String, u32, u64, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AgentProcessStarted { agent, process } => Some((
                agent.clone(),
                process.pid,
                process.start_ticks,
                process.task.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn process_ended(events: &[Event]) -> Vec<(String, u32)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AgentProcessEnded { agent, pid } => Some((agent.clone(), *pid)),
            _ => None,
        })
        .collect()
}

/// The recorded process of the agent working on task `a`, from `status --json`.
fn recorded_pid(s: &Value) -> Option<u32> {
    s["agents"].as_object()?.values().find_map(|a| {
        let p = &a["process"];
        (p["task"] == "a").then(|| p["pid"].as_u64().map(|p| p as u32))?
    })
}

#[test]
fn sigterm_of_run_stops_the_agent_and_its_setsid_grandchild_and_records_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let grand = dir.path().join("grandchild.pid");
    let agent = dir.path().join("agent.pid");
    // The grandchild leaves the agent's session and process group; the agent waits.
    let repo = repo_with_sh_agent(&format!(
        "setsid sleep 1000 & echo $! > {g}.tmp; mv {g}.tmp {g}; echo $$ > {a}.tmp; mv {a}.tmp {a}; sleep 1000",
        g = grand.display(),
        a = agent.display()
    ), dir.path());
    let mut owner = Owner::start(&repo, 1);
    approve_plan(&repo, &owner);
    let g = wait_for("the grandchild's pid", PATIENCE, || pids(&grand).pop());
    let a = wait_for("the agent's pid", PATIENCE, || pids(&agent).pop());
    let gp = overlord::runtime::procs::read(g).expect("the grandchild runs");
    assert_eq!(gp.session, g, "the grandchild has a session of its own");
    assert_ne!(gp.pgrp, a, "and is out of the agent's process group");
    // The store names the agent's CLI process while it runs.
    let s = state(&repo);
    assert_eq!(recorded_pid(&s), Some(a), "{:#}", s["agents"]);

    owner.signal(rustix::process::Signal::TERM);
    let status = owner.wait_exit();
    assert!(
        status.success(),
        "run exited with {status}: {}",
        owner.log()
    );
    // Everything was stopped before `run` exited: nothing of the tree is left.
    assert!(!running(a), "the agent {a} outlived run");
    assert!(!running(g), "the setsid grandchild {g} outlived run");

    let evs = events(&repo);
    let started = process_started(&evs);
    assert_eq!(started.len(), 1, "{started:?}");
    let (name, pid, ticks, task) = &started[0];
    assert_eq!(*pid, a);
    assert_eq!(task.as_deref(), Some("a"));
    assert!(*ticks > 0, "the start time is recorded");
    assert_eq!(process_ended(&evs), vec![(name.clone(), a)]);
    let s = state(&repo);
    assert!(
        s["agents"][name]["process"].is_null(),
        "{:#}",
        s["agents"][name]
    );
}

#[test]
fn after_kill_9_of_run_the_restart_stops_the_leftover_agent_before_starting_the_task_again() {
    let dir = tempfile::tempdir().unwrap();
    let starts = dir.path().join("starts");
    let clis = dir.path().join("clis");
    let overlap = dir.path().join("overlap");
    // Each run of the agent first looks whether an earlier run's work on the task still runs
    // (a zombie does not), then starts its work (a sleep in its process group) and records
    // the work's pid and its own.
    let repo = repo_with_sh_agent(&format!(
        "for p in $(cat {s} 2>/dev/null); do st=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); if [ -n \"$st\" ] && [ \"$st\" != Z ]; then echo \"$$ started while $p ran\" >> {o}; fi; done; sleep 1000 & echo $! >> {s}; echo $$ >> {c}; wait",
        s = starts.display(),
        c = clis.display(),
        o = overlap.display()
    ), dir.path());
    let mut first = Owner::start(&repo, 1);
    approve_plan(&repo, &first);
    let old_cli = wait_for("the first run of the task", PATIENCE, || {
        pids(&clis).first().copied()
    });
    let old = pids(&starts)[0];
    wait_until("the first run's process recorded", PATIENCE, || {
        recorded_pid(&state(&repo)) == Some(old_cli)
    });
    first.signal(rustix::process::Signal::KILL);
    first.wait_exit();
    // The CLI itself dies with its owner (the sandbox wrapper's PR_SET_PDEATHSIG), but what
    // it started runs on: the precondition of this test.
    wait_until("the CLI dies with its owner", PATIENCE, || {
        !running(old_cli)
    });
    assert!(
        running(old),
        "the agent's work died with its owner; nothing to test"
    );
    assert_eq!(recorded_pid(&state(&repo)), Some(old_cli));

    let mut second = Owner::start(&repo, 2);
    let deadline = std::time::Instant::now() + PATIENCE;
    let new = loop {
        if let Some(p) = pids(&starts).get(1).copied() {
            break p;
        }
        if std::time::Instant::now() > deadline {
            let s = state(&repo);
            panic!(
                "the task never ran again\n--- agents ---\n{:#}\n--- plan ---\n{:#}\n--- run log ---\n{}",
                s["agents"],
                s["plan"],
                second.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_ne!(new, old);
    // The second run saw no earlier run alive when it started, and the old one is gone.
    assert!(
        !overlap.exists(),
        "two runs of the task at once: {}\n{}",
        std::fs::read_to_string(&overlap).unwrap_or_default(),
        second.log()
    );
    assert!(!running(old), "the leftover {old} still runs");
    let s = wait_for("the new run recorded", PATIENCE, || {
        let s = state(&repo);
        (recorded_pid(&s) == pids(&clis).get(1).copied()).then_some(s)
    });
    let on_a: Vec<&String> = s["agents"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, a)| a["state"] == "running" && a["task"] == "a")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(on_a.len(), 1, "one agent on the task: {:#}", s["agents"]);
    // The human is told what was stopped.
    let concern = s["concerns"]
        .as_object()
        .unwrap()
        .values()
        .find(|c| c["category"] == "orphan_processes")
        .expect("a concern about the leftover");
    let summary = concern["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("pid {old_cli}")) && summary.contains("before dispatching again"),
        "{summary}"
    );
    // The store: the old process started and ended (recorded by the restart), before the
    // new one started.
    let evs = events(&repo);
    let pos_old_end = evs.iter().position(
        |e| matches!(&e.kind, EventKind::AgentProcessEnded { pid, .. } if *pid == old_cli),
    );
    let new_cli = pids(&clis)[1];
    let pos_new_start = evs.iter().position(
        |e| matches!(&e.kind, EventKind::AgentProcessStarted { process, .. } if process.pid == new_cli),
    );
    assert!(
        pos_old_end.is_some() && pos_old_end < pos_new_start,
        "{:?}",
        evs.iter().map(|e| e.kind.name()).collect::<Vec<_>>()
    );
    assert_eq!(
        process_started(&evs)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![old_cli, new_cli]
    );

    second.signal(rustix::process::Signal::TERM);
    assert!(second.wait_exit().success(), "{}", second.log());
    assert!(!running(new));
}
