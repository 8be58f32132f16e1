//! The raw output of every agent: the last lines of each, kept for the console's log view,
//! and rebuilt at start from the agents' run logs (so a restarted console shows what the
//! agents last printed).

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Raw output lines kept per agent for the log view.
pub const RAW_LINES: usize = 1000;

/// The most of an agent's run logs read back at start (from their ends): the newest lines
/// are found without reading a long history.
const RESTORE_BYTES: u64 = 4 << 20;

/// The raw output of every agent (a ring buffer each), shared with the console.
#[derive(Clone, Default)]
pub struct RawOutput(Arc<Mutex<BTreeMap<String, VecDeque<String>>>>);

impl RawOutput {
    pub(super) fn push(&self, agent: &str, line: &str) {
        if line.is_empty() {
            return;
        }
        if let Ok(mut m) = self.0.lock() {
            let ring = m.entry(agent.to_string()).or_default();
            if ring.len() == RAW_LINES {
                ring.pop_front();
            }
            ring.push_back(line.to_string());
        }
    }

    /// The last lines of an agent's raw output, oldest first.
    pub fn lines(&self, agent: &str) -> Vec<String> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(agent).map(|r| r.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// The raw output as the agents' run logs under `dir` (`<dir>/<agent>/NNN-….log`, the
    /// `out` lines) left it: the last [`RAW_LINES`] of each agent's newest runs. Only the
    /// ends of the newest logs are read. Call it before any run of this process writes.
    pub fn from_logs<'a>(dir: &Path, agents: impl IntoIterator<Item = &'a String>) -> RawOutput {
        let raw = RawOutput::default();
        if let Ok(mut m) = raw.0.lock() {
            for agent in agents {
                let lines = last_output(&dir.join(agent), RAW_LINES);
                if !lines.is_empty() {
                    m.insert(agent.clone(), lines);
                }
            }
        }
        raw
    }
}

/// The last `n` output lines of the run logs in `dir`, oldest first: the newest log first,
/// each read backwards from its end, until `n` lines or [`RESTORE_BYTES`] in all.
fn last_output(dir: &Path, n: usize) -> VecDeque<String> {
    let mut logs: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    // Newest first; the run counter starts again in each process, so names do not order them.
    logs.sort_by(|a, b| b.cmp(a));
    let mut out = VecDeque::new();
    let mut budget = RESTORE_BYTES;
    for (_, path) in logs {
        if out.len() >= n || budget == 0 {
            break;
        }
        let (lines, read) = tail_lines(&path, n - out.len(), budget);
        budget = budget.saturating_sub(read);
        for l in lines.into_iter().rev() {
            out.push_front(l);
        }
    }
    out
}

/// Up to `n` of the last `out` lines of one run log (oldest first), reading at most `budget`
/// bytes from its end; and how many bytes were read.
fn tail_lines(path: &Path, n: usize, budget: u64) -> (Vec<String>, u64) {
    let Ok(mut f) = std::fs::File::open(path) else {
        return (Vec::new(), 0);
    };
    let Ok(len) = f.seek(SeekFrom::End(0)) else {
        return (Vec::new(), 0);
    };
    const CHUNK: u64 = 64 << 10;
    let mut end = len;
    let mut read = 0u64;
    // Bytes after the last newline seen so far (the start of a line not yet complete).
    let mut partial: Vec<u8> = Vec::new();
    let mut found: Vec<String> = Vec::new();
    while end > 0 && found.len() < n && read < budget {
        let size = CHUNK.min(end).min(budget - read);
        let start = end - size;
        let mut chunk = vec![0u8; size as usize];
        if f.seek(SeekFrom::Start(start)).is_err() || f.read_exact(&mut chunk).is_err() {
            break;
        }
        read += size;
        end = start;
        chunk.extend_from_slice(&partial);
        let mut pieces: Vec<&[u8]> = chunk.split(|b| *b == b'\n').collect();
        // The first piece may continue in the chunk before this one.
        partial = if end > 0 {
            pieces.remove(0).to_vec()
        } else {
            Vec::new()
        };
        for line in pieces.into_iter().rev() {
            if found.len() >= n {
                break;
            }
            if let Some(out) = String::from_utf8_lossy(line).strip_prefix("out ") {
                if !out.is_empty() {
                    found.push(out.to_string());
                }
            }
        }
    }
    found.reverse();
    (found, read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_output_lines_come_from_the_newest_logs_read_from_their_ends() {
        let dir = tempfile::tempdir().unwrap();
        let agent = dir.path().join("implementer-1");
        std::fs::create_dir_all(&agent).unwrap();
        let mut old = String::from("--- scripted (pid 1)\n");
        for i in 0..300 {
            old.push_str(&format!("out old {i}\nerr noise {i}\n"));
        }
        std::fs::write(agent.join("001-t1.log"), old).unwrap();
        // Written later: the newer run, whatever its name.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut new = String::new();
        // Long enough to need several chunks.
        for i in 0..20_000 {
            new.push_str(&format!("out new {i} {}\n", "x".repeat(10)));
        }
        new.push_str("--- ended: exit 0\n");
        std::fs::write(agent.join("001-t2.log"), new).unwrap();

        let lines = last_output(&agent, 25_000);
        assert_eq!(lines.len(), 20_300);
        assert_eq!(lines[0], "old 0");
        assert_eq!(lines[299], "old 299");
        assert_eq!(lines[300], format!("new 0 {}", "x".repeat(10)));
        assert_eq!(lines[20_299], format!("new 19999 {}", "x".repeat(10)));

        let raw = RawOutput::from_logs(dir.path(), &["implementer-1".to_string()]);
        let kept = raw.lines("implementer-1");
        assert_eq!(kept.len(), RAW_LINES);
        assert_eq!(kept[RAW_LINES - 1], format!("new 19999 {}", "x".repeat(10)));
        assert_eq!(kept[0], format!("new 19000 {}", "x".repeat(10)));
        assert!(raw.lines("nobody").is_empty());
    }
}
