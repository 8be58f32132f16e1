//! An agent's process tree: the CLI's process group plus every descendant a scan of `/proc`
//! has seen (pid + start time), remembered even after its parent exited and it was
//! reparented, or after it left the group and the session (`setsid`). Signals go to the group,
//! to each remembered descendant still alive with the same start time, and to the groups those
//! descendants lead. Also: finding what a crashed owner's agent left running, and stopping it.
//!
//! Signals go through rustix, never through `kill(1)`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::procs::{self, Proc};

/// Remembered descendants at most (a fork bomb does not grow our memory without bound).
const MAX_KNOWN: usize = 4096;

/// The CLI (`root`, which leads its own process group) and what it started.
#[derive(Debug, Clone)]
pub struct ProcTree {
    root: u32,
    /// The root's start time (0: unknown, `/proc` could not be read).
    root_start: u64,
    /// Descendants seen by a scan: pid → start time.
    known: BTreeMap<u32, u64>,
}

impl ProcTree {
    /// The tree of `root` (just spawned, in a group of its own): its start time is read now.
    pub fn new(root: u32) -> ProcTree {
        ProcTree {
            root,
            root_start: procs::read(root).map_or(0, |p| p.start_ticks),
            known: BTreeMap::new(),
        }
    }

    /// A tree recorded by an earlier owner (`pid` + `start_ticks` from the store).
    pub fn recorded(pid: u32, start_ticks: u64) -> ProcTree {
        ProcTree {
            root: pid,
            root_start: start_ticks,
            known: BTreeMap::new(),
        }
    }

    pub fn root(&self) -> u32 {
        self.root
    }

    /// The root's start time (clock ticks since boot; 0 when unknown).
    pub fn root_start(&self) -> u64 {
        self.root_start
    }

    /// Descendants remembered so far (alive or not).
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// Whether the root is still the process we started (alive, same start time).
    fn root_alive(&self) -> bool {
        self.root_start != 0 && procs::alive(self.root, self.root_start)
    }

    /// Whether the root's group is still ours: the root itself runs, or it is gone and the
    /// group still has members (a pid is not reused while a group of that id has members, so
    /// they are the root's). A reused pid leading a group of its own is not ours.
    fn group_ours(&self, all: Option<&[Proc]>) -> bool {
        match procs::read(self.root) {
            Some(p) if !p.exited() => p.start_ticks == self.root_start,
            _ => match all {
                Some(all) => all.iter().any(|p| p.pgrp == self.root && !p.exited()),
                None => procs::group_running(self.root).unwrap_or(false),
            },
        }
    }

    /// Looks at `/proc` once: every process descending (by parent links) from the root or
    /// from a remembered descendant is remembered; descendants that are gone are forgotten.
    /// Returns the processes seen, for callers that want them.
    pub fn scan(&mut self) -> Option<Vec<Proc>> {
        let all = procs::all()?;
        self.absorb(&all);
        Some(all)
    }

    fn absorb(&mut self, all: &[Proc]) {
        let live: BTreeMap<u32, &Proc> = all
            .iter()
            .filter(|p| !p.exited())
            .map(|p| (p.pid, p))
            .collect();
        // Forget the ones that ended (or whose pid now names another process).
        self.known
            .retain(|pid, start| live.get(pid).is_some_and(|p| p.start_ticks == *start));
        let mut children: BTreeMap<u32, Vec<&Proc>> = BTreeMap::new();
        for p in live.values() {
            children.entry(p.ppid).or_default().push(p);
        }
        let mut frontier: Vec<u32> = self.known.keys().copied().collect();
        if self.root_alive() || self.root_start == 0 {
            frontier.push(self.root);
        }
        // Members of the root's group count too (their parent may have been reaped between
        // two scans), as long as the group is still ours.
        if self.group_ours(Some(all)) {
            for p in live.values().filter(|p| p.pgrp == self.root) {
                if p.pid != self.root
                    && self.known.len() < MAX_KNOWN
                    && self.known.insert(p.pid, p.start_ticks).is_none()
                {
                    frontier.push(p.pid);
                }
            }
        }
        let mut seen: BTreeSet<u32> = frontier.iter().copied().collect();
        while let Some(pid) = frontier.pop() {
            for c in children.get(&pid).into_iter().flatten() {
                if c.pid == self.root || !seen.insert(c.pid) {
                    continue;
                }
                if self.known.len() >= MAX_KNOWN {
                    return;
                }
                self.known.insert(c.pid, c.start_ticks);
                frontier.push(c.pid);
            }
        }
    }

    /// Remembered descendants that still run as the processes that were seen.
    fn live_known(&self) -> Vec<Proc> {
        self.known
            .iter()
            .filter_map(|(pid, start)| procs::read(*pid).filter(|p| p.start_ticks == *start))
            .filter(|p| !p.exited())
            .collect()
    }

    /// Sends `sig` to the root's group (while it is ours), to every remembered descendant
    /// still alive, and to the groups those descendants lead (a `setsid` grandchild's own
    /// children). Returns how many processes or groups were signalled.
    pub fn signal(&self, sig: Signal) -> usize {
        let mut sent = 0;
        if self.group_ours(None) {
            if let Some(p) = Pid::from_raw(self.root as i32) {
                if rustix::process::kill_process_group(p, sig).is_ok() {
                    sent += 1;
                }
            }
        }
        for d in self.live_known() {
            let Some(p) = Pid::from_raw(d.pid as i32) else {
                continue;
            };
            if d.pgrp == d.pid && d.pid != self.root {
                let _ = rustix::process::kill_process_group(p, sig);
            }
            if rustix::process::kill_process(p, sig).is_ok() {
                sent += 1;
            }
        }
        sent
    }

    /// Whether anything of the tree still runs (zombies aside). Without `/proc`, a signal
    /// test of the group answers.
    pub fn running(&self) -> bool {
        let group = match procs::group_running(self.root) {
            Some(g) => g && self.group_ours(None),
            None => Pid::from_raw(self.root as i32)
                .is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok()),
        };
        group || !self.live_known().is_empty()
    }

    /// Stops the whole tree: a scan, SIGTERM, up to `grace` for it to end, then SIGKILL and a
    /// moment for the kernel. Returns whether nothing of it runs any more.
    pub async fn stop(&mut self, grace: Duration) -> bool {
        self.scan();
        if !self.running() {
            return true;
        }
        for (sig, wait) in [
            (Signal::TERM, grace),
            (Signal::KILL, Duration::from_secs(5)),
        ] {
            self.scan();
            self.signal(sig);
            let until = Instant::now() + wait;
            while self.running() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !self.running() {
                return true;
            }
        }
        false
    }
}

/// What an owner that crashed (kill -9) left of an agent's recorded CLI process: its tree when
/// something of it still runs (the CLI itself with the same start time, or members of its
/// group), else `None`.
pub fn leftover(pid: u32, start_ticks: u64) -> Option<ProcTree> {
    let mut tree = ProcTree::recorded(pid, start_ticks);
    tree.scan();
    tree.running().then_some(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn wait_gone(pid: u32) {
        let until = Instant::now() + Duration::from_secs(30);
        while procs::read(pid).is_some_and(|p| !p.exited()) {
            assert!(Instant::now() < until, "{pid} still runs");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn read_pid(path: &std::path::Path) -> u32 {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(pid) = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            assert!(Instant::now() < until, "no pid in {}", path.display());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_setsid_grandchild_is_remembered_after_its_parent_exits_and_stopped_with_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let gate = dir.path().join("gate");
        // The CLI starts a grandchild in a session of its own, then waits for the gate
        // before exiting: its grandchild is then reparented away from the tree.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "setsid sleep 300 & echo $! > {p}.tmp; mv {p}.tmp {p}; while [ ! -e {g} ]; do sleep 0.01; done",
                p = pidfile.display(),
                g = gate.display()
            ))
            .process_group(0)
            .spawn()
            .unwrap();
        let mut tree = ProcTree::new(child.id());
        assert!(tree.root_start() > 0);
        let grandchild = read_pid(&pidfile);
        let until = Instant::now() + Duration::from_secs(30);
        while procs::read(grandchild).is_none_or(|p| p.session != grandchild) {
            assert!(
                Instant::now() < until,
                "the grandchild never left the session"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        tree.scan();
        assert!(tree.known() >= 1, "the scan found the grandchild");
        std::fs::write(&gate, "").unwrap();
        child.wait().unwrap();
        // The CLI is gone; its grandchild lives on in another session and group.
        let g = procs::read(grandchild).unwrap();
        assert!(!g.exited());
        assert_ne!(g.pgrp, child.id());
        tree.scan();
        assert!(tree.running(), "the remembered grandchild still runs");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(rt.block_on(tree.stop(Duration::from_secs(5))));
        wait_gone(grandchild);
        assert!(!tree.running());
        assert!(leftover(child.id(), tree.root_start()).is_none());
    }

    #[test]
    fn a_recorded_process_that_still_runs_is_a_leftover_and_a_reused_pid_is_not() {
        let mut child = std::process::Command::new("sleep")
            .arg("300")
            .process_group(0)
            .spawn()
            .unwrap();
        let start = procs::read(child.id()).unwrap().start_ticks;
        assert!(
            leftover(child.id(), start + 1).is_none(),
            "another start time is another process"
        );
        let mut tree = leftover(child.id(), start).expect("it runs");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(rt.block_on(tree.stop(Duration::from_secs(5))));
        child.wait().unwrap();
        assert!(leftover(child.id(), start).is_none());
    }

    #[test]
    fn scanning_proc_is_cheap_enough_to_repeat() {
        let mut tree = ProcTree::new(std::process::id());
        let n = 20;
        let t = Instant::now();
        for _ in 0..n {
            tree.scan();
        }
        let each = t.elapsed() / n;
        let count = procs::all().map_or(0, |a| a.len());
        eprintln!("one scan of {count} processes: {each:?}");
        assert!(each < Duration::from_millis(500), "{each:?} a scan");
    }
}
