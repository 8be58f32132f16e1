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
    Some(Proc {
        pid,
        state,
        ppid,
        pgrp,
        session,
    })
}

/// The process `pid`, if it exists (and `/proc` is mounted).
pub fn read(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
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
        let p = parse_stat(42, "42 (my (odd) cmd) Z 7 42 40 0 -1 4194560 0").unwrap();
        assert_eq!(
            p,
            Proc {
                pid: 42,
                state: 'Z',
                ppid: 7,
                pgrp: 42,
                session: 40
            }
        );
        assert!(p.exited());
        assert_eq!(parse_stat(1, "1 (init"), None);
        assert_eq!(parse_stat(1, "1 (x) S notanumber 1 1"), None);
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
