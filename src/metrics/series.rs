//! The figures per checkpoint, for the console's sparklines: one point per checkpoint, each
//! from the stretch of the log since the checkpoint before it. Pure, like `compute`: the same
//! events, window and `now` always give the same points, and a point with nothing to compute a
//! figure from says so (`None`) instead of carrying the previous value or a zero forward.
//!
//! A stretch is the events after the previous `checkpoint_created` (in log order) up to and
//! including this one; the first checkpoint's stretch starts at the beginning. `docs/metrics.md`
//! ("Per checkpoint") defines each figure.

use serde::{Deserialize, Serialize};

use super::{parse_ms, window_start, Exact, Ratio, Window};
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Stretch {
    /// (run id, decision, coverage), oldest first.
    runs: Vec<(String, QaDecision, Option<Exact>)>,
    cost_micros: Option<u64>,
    tokens: u64,
}

/// A checkpoint's point as the fold keeps it (figures bit for bit, the time in ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    t: i64,
    checkpoint: String,
    kind: CheckpointKind,
    at: Timestamp,
    runs: u64,
    passed: u64,
    coverage: Option<Exact>,
    cost_micros: Option<u64>,
    tokens: u64,
}

/// Every checkpoint's point so far and the stretch since the last one, folded one event at a
/// time (events stamped after `now_ms` left out). Plain data, so `running` keeps it as events
/// are appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SeriesFold {
    now_ms: i64,
    points: Vec<Point>,
    stretch: Stretch,
}

impl SeriesFold {
    pub(super) fn new(now_ms: i64) -> SeriesFold {
        SeriesFold {
            now_ms,
            points: Vec::new(),
            stretch: Stretch::default(),
        }
    }

    pub(super) fn event(&mut self, e: &Event) {
        let Some(t) = parse_ms(&e.at) else {
            return;
        };
        if t > self.now_ms {
            return;
        }
        let stretch = &mut self.stretch;
        match &e.kind {
            EventKind::QaRunRecorded { run } => {
                let id = run.id.to_string();
                // A run recorded again replaces its earlier record.
                stretch.runs.retain(|(r, _, _)| *r != id);
                stretch
                    .runs
                    .push((id, run.decision, run.metrics.coverage.map(Exact)));
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
                let s = std::mem::take(stretch);
                let passed = s
                    .runs
                    .iter()
                    .filter(|(_, d, _)| *d != QaDecision::Fail)
                    .count() as u64;
                self.points.push(Point {
                    t,
                    checkpoint: checkpoint.name.clone(),
                    kind: checkpoint.kind,
                    at: e.at.clone(),
                    runs: s.runs.len() as u64,
                    passed,
                    coverage: s.runs.iter().rev().find_map(|(_, _, c)| *c),
                    cost_micros: s.cost_micros,
                    tokens: s.tokens,
                });
            }
            _ => {}
        }
    }

    /// The points of the checkpoints created at or after `start`, oldest first.
    pub(super) fn points(&self, start: Option<i64>) -> Vec<CheckpointPoint> {
        self.points
            .iter()
            .filter(|p| start.is_none_or(|s| p.t >= s))
            .map(|p| CheckpointPoint {
                checkpoint: p.checkpoint.clone(),
                kind: p.kind,
                at: p.at.clone(),
                qa_runs: p.runs,
                coverage: p.coverage.map(|c| c.0),
                qa_pass_rate: Ratio::of(p.passed, p.runs),
                cost_micros: p.cost_micros,
                tokens: p.tokens,
            })
            .collect()
    }
}

/// One point per checkpoint created in `window` (as of `now`), oldest first. Events stamped
/// after `now` (or unreadable) are left out; a checkpoint counts when its event's `at` is in the
/// window, and its stretch may begin before the window (as intervals do in `compute`). `None`
/// when `now` cannot be read.
pub fn per_checkpoint(events: &[Event], window: Window, now: &str) -> Option<Vec<CheckpointPoint>> {
    let now_ms = parse_ms(now)?;
    let start = window_start(events, window, now_ms);
    let mut fold = SeriesFold::new(now_ms);
    for e in events {
        fold.event(e);
    }
    Some(fold.points(start))
}
