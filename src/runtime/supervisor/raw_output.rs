//! The raw output of every agent: the last lines of each, kept for the console's log view.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Raw output lines kept per agent for the log view.
pub const RAW_LINES: usize = 1000;

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
}
