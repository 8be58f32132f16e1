//! What `/proc` says about processes: a process's state, parent, group and session, and the
//! live members of a process group. A zombie (`<defunct>`) has exited and runs nothing: it
//! waits only for its parent to reap it, so it never counts as a process left running.

use std::path::Path;

/// One process as `/proc/<pid>/stat` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    /// `R`, `S`, `D`, `T`, `Z` (zombie), `X` (dead), …
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    /// When it started, in clock ticks since boot (field 22): with the pid, names one process
    /// for good (a pid is reused after its process ends; the pair is not).
    pub start_ticks: u64,
}

impl Proc {
    /// Exited (a zombie or dead): nothing of it runs any more.
    pub fn exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so the fields are read after its last `)`.
pub fn parse_stat(pid: u32, text: &str) -> Option<Proc> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    // Fields 7..=21 (tty_nr … itrealvalue) lie between the session and the start time.
    let start_ticks = fields.nth(15).and_then(|f| f.parse().ok()).unwrap_or(0);
    Some(Proc {
        pid,
        state,
        ppid,
        pgrp,
        session,
        start_ticks,
    })
}

/// The process `pid`, if it exists (and `/proc` is mounted).
pub fn read(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

/// Whether the process `pid` that started at `start_ticks` is still there (and not a zombie).
pub fn alive(pid: u32, start_ticks: u64) -> bool {
    read(pid).is_some_and(|p| p.start_ticks == start_ticks && !p.exited())
}

/// `pid` and its ancestors up to (not including) pid 1, nearest first, at most 256 deep; empty
/// when `pid` does not exist or `/proc` cannot be read.
pub fn lineage(pid: u32) -> Vec<Proc> {
    let mut chain = Vec::new();
    let mut next = pid;
    while next > 1 && chain.len() < 256 {
        let Some(p) = read(next) else { break };
        next = p.ppid;
        chain.push(p);
    }
    chain
}

/// Whether the process runs with `no_new_privs` (`NoNewPrivs: 1` in `/proc/<pid>/status`): set
/// for good by the agents' exec wrapper (Landlock needs it), inherited by every descendant and
/// impossible to clear — so it marks a process of an agent's tree even after it left the
/// tree (a double-forked daemon reparented to init). `None`: unknown.
pub fn no_new_privs(pid: u32) -> Option<bool> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("NoNewPrivs:"))?;
    Some(line["NoNewPrivs:".len()..].trim() == "1")
}

/// Every process `/proc` lists (`None`: `/proc` cannot be read).
pub fn all() -> Option<Vec<Proc>> {
    let entries = std::fs::read_dir(Path::new("/proc")).ok()?;
    Some(
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(read)
            .collect(),
    )
}

/// Whether a process of group `pgid` is still running (zombies aside). `None` when `/proc`
/// cannot be read: the caller falls back to signalling the group.
pub fn group_running(pgid: u32) -> Option<bool> {
    Some(all()?.iter().any(|p| p.pgrp == pgid && !p.exited()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        let p = parse_stat(
            42,
            "42 (my (odd) cmd) Z 7 42 40 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0",
        )
        .unwrap();
        assert_eq!(
            p,
            Proc {
                pid: 42,
                state: 'Z',
                ppid: 7,
                pgrp: 42,
                session: 40,
                start_ticks: 98765,
            }
        );
        assert!(p.exited());
        assert_eq!(parse_stat(1, "1 (init"), None);
        assert_eq!(parse_stat(1, "1 (x) S notanumber 1 1"), None);
        // A short line (no start time) still parses; the start time is then unknown (0).
        assert_eq!(
            parse_stat(3, "3 (x) S 1 3 3").map(|p| p.start_ticks),
            Some(0)
        );
    }

    #[test]
    fn this_process_lineage_starts_with_itself_and_reads_its_start_time() {
        let me = std::process::id();
        let chain = lineage(me);
        assert_eq!(chain.first().map(|p| p.pid), Some(me));
        let start = chain[0].start_ticks;
        assert!(start > 0, "the start time is field 22 of /proc/self/stat");
        assert!(alive(me, start));
        assert!(
            !alive(me, start + 1),
            "another start time is another process"
        );
        if chain.len() > 1 {
            assert_eq!(chain[1].pid, chain[0].ppid);
        }
    }

    #[test]
    fn a_zombie_is_not_a_running_group_member() {
        let mut child = std::process::Command::new("true");
        std::os::unix::process::CommandExt::process_group(&mut child, 0);
        let mut child = child.spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: it stays a zombie of its own group until `wait`.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while read(pid).is_some_and(|p| !p.exited()) {
            assert!(std::time::Instant::now() < deadline, "`true` never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(read(pid).map(|p| p.state), Some('Z'));
        assert_eq!(group_running(pid), Some(false));
        child.wait().unwrap();
    }
}
