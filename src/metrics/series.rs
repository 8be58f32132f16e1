//! The figures per checkpoint, for the console's sparklines: one point per checkpoint, each
//! from the stretch of the log since the checkpoint before it. Pure, like `compute`: the same
//! events, window and `now` always give the same points, and a point with nothing to compute a
//! figure from says so (`None`) instead of carrying the previous value or a zero forward.
//!
//! A stretch is the events after the previous `checkpoint_created` (in log order) up to and
//! including this one; the first checkpoint's stretch starts at the beginning. `docs/metrics.md`
//! ("Per checkpoint") defines each figure.

use serde::{Deserialize, Serialize};

use super::{parse_ms, window_start, Ratio, Window};
use crate::protocol::model::{CheckpointKind, QaDecision, Timestamp};
use crate::protocol::{Event, EventKind};

/// The figures of one checkpoint's stretch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointPoint {
    /// The checkpoint's name (`checkpoint/<YYYYMMDD>-<NNN>`).
    pub checkpoint: String,
    pub kind: CheckpointKind,
    /// The `at` of its `checkpoint_created` event.
    pub at: Timestamp,
    /// QA runs recorded in the stretch (a run id recorded twice counts once).
    pub qa_runs: u64,
    /// Coverage (%) of the newest run of the stretch that measured it.
    pub coverage: Option<f64>,
    /// Runs of the stretch whose decision is not `fail`, of the runs of the stretch.
    pub qa_pass_rate: Option<Ratio>,
    /// Σ `cost_micros` of the stretch's `agent_activity` (`None`: no activity recorded).
    pub cost_micros: Option<u64>,
    /// Σ tokens of the same events (0 when there were none).
    pub tokens: u64,
}

/// The QA runs and spending seen since the last checkpoint.
#[derive(Default)]
struct Stretch {
    /// (run id, decision, coverage), oldest first.
    runs: Vec<(String, QaDecision, Option<f64>)>,
    cost_micros: Option<u64>,
    tokens: u64,
}

/// One point per checkpoint created in `window` (as of `now`), oldest first. Events stamped
/// after `now` (or unreadable) are left out; a checkpoint counts when its event's `at` is in the
/// window, and its stretch may begin before the window (as intervals do in `compute`). `None`
/// when `now` cannot be read.
pub fn per_checkpoint(events: &[Event], window: Window, now: &str) -> Option<Vec<CheckpointPoint>> {
    let now_ms = parse_ms(now)?;
    let start = window_start(events, window, now_ms);
    let mut points = Vec::new();
    let mut stretch = Stretch::default();
    for e in events {
        let Some(t) = parse_ms(&e.at) else {
            continue;
        };
        if t > now_ms {
            continue;
        }
        match &e.kind {
            EventKind::QaRunRecorded { run } => {
                let id = run.id.to_string();
                // A run recorded again replaces its earlier record.
                stretch.runs.retain(|(r, _, _)| *r != id);
                stretch.runs.push((id, run.decision, run.metrics.coverage));
            }
            EventKind::AgentActivity {
                tokens,
                cost_micros,
                ..
            } => {
                stretch.cost_micros = Some(
                    stretch
                        .cost_micros
                        .unwrap_or(0)
                        .saturating_add(*cost_micros),
                );
                stretch.tokens = stretch.tokens.saturating_add(*tokens);
            }
            EventKind::CheckpointCreated { checkpoint } => {
                let s = std::mem::take(&mut stretch);
                if start.is_some_and(|s| t < s) {
                    continue;
                }
                let passed = s
                    .runs
                    .iter()
                    .filter(|(_, d, _)| *d != QaDecision::Fail)
                    .count() as u64;
                points.push(CheckpointPoint {
                    checkpoint: checkpoint.name.clone(),
                    kind: checkpoint.kind,
                    at: e.at.clone(),
                    qa_runs: s.runs.len() as u64,
                    coverage: s.runs.iter().rev().find_map(|(_, _, c)| *c),
                    qa_pass_rate: Ratio::of(passed, s.runs.len() as u64),
                    cost_micros: s.cost_micros,
                    tokens: s.tokens,
                });
            }
            _ => {}
        }
    }
    Some(points)
}
