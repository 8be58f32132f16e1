//! The replay of `audit verify`: event bodies handed over in batches by the one pass over the
//! records (`pass.rs`), parsed on whichever core is free (on the fold's, each body is folded
//! as soon as it is parsed), and folded in order through the
//! reducer (the item index gathered beside it); the materialized state (the newest snapshot,
//! both parts) compared when the replay passes it, and event numbers checked for gaps.

use super::items::Replayed;
use super::scan::Finding;
use super::snapshot::Snapshot;
use crate::protocol::{Event, State};

/// Event bodies per batch handed from the pass to the fold: small enough that a batch's
/// buffers stay under glibc's 64 KiB mark, where freeing a chunk consolidates the heap (with
/// 1,024 a batch, `unlink_chunk` and `malloc_consolidate` took a tenth of the run).
pub(super) const BATCH: usize = 128;

/// An event as parsed: the event, or why it cannot be read.
pub(super) type Parsed = (u64, Result<Event, String>);

/// Event bodies in record order: the text of each, one after another, and where each ends.
#[derive(Default)]
pub(super) struct RawBatch {
    text: Vec<u8>,
    ends: Vec<(u64, usize)>,
}

impl RawBatch {
    /// An empty batch with room for a batch of bodies of the usual size.
    pub(super) fn with_room() -> RawBatch {
        RawBatch {
            text: Vec::with_capacity(BATCH * 384),
            ends: Vec::with_capacity(BATCH),
        }
    }

    pub(super) fn push(&mut self, seq: u64, body: &[u8]) {
        self.text.extend_from_slice(body);
        self.ends.push((seq, self.text.len()));
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each body parsed as an event, into `out`.
    pub(super) fn parse_into(&self, out: &mut Vec<Parsed>) {
        let mut start = 0;
        out.extend(self.ends.iter().map(|&(seq, end)| {
            let body = &self.text[start..end];
            start = end;
            (seq, parse(body))
        }));
    }

    /// Each body parsed and folded in order as it is parsed (no event waits in a list);
    /// false once the fold stopped at a bad event.
    fn fold(&self, fold: &mut Fold) -> bool {
        let mut start = 0;
        for &(seq, end) in &self.ends {
            let body = &self.text[start..end];
            start = end;
            if !fold.event(seq, parse(body).as_ref().map_err(String::as_str)) {
                return false;
            }
        }
        true
    }

    /// Empty again, its room kept.
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }
}

/// An event body parsed: checked as UTF-8 once, then read as text (quicker than a parse of
/// bytes, which checks each string again), its kind tag first (`Event::from_json`).
pub(super) fn parse(body: &[u8]) -> Result<Event, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8 text ({e})"))?;
    Event::from_json(text).map_err(|e| e.to_string())
}

/// What the pass hands to the fold: bodies still to parse, or (when the fold was behind and
/// the pass parsed them itself) events.
pub(super) enum Batch {
    Raw(RawBatch),
    Parsed(Vec<Parsed>),
}

impl Batch {
    /// Folds the batch's events in order, parsing the bodies not parsed yet; false once the
    /// fold stopped. The batch is left empty with its room kept, to be sent back to the pass
    /// and filled again: its buffers (tens of KiB, over glibc's 64 KiB mark for a batch of
    /// parsed events) are not freed and allocated again for every batch.
    pub(super) fn fold_into(&mut self, fold: &mut Fold) -> bool {
        match self {
            Batch::Raw(raw) => {
                let go = raw.fold(fold);
                raw.clear();
                go
            }
            Batch::Parsed(parsed) => {
                let go = parsed
                    .iter()
                    .all(|(seq, p)| fold.event(*seq, p.as_ref().map_err(String::as_str)));
                parsed.clear();
                go
            }
        }
    }

    /// The batch's events parsed (into `room`, emptied first), and its bodies' buffers
    /// emptied to be filled again.
    pub(super) fn into_parsed(self, mut room: Vec<Parsed>) -> (Vec<Parsed>, RawBatch) {
        match self {
            Batch::Raw(mut raw) => {
                room.clear();
                raw.parse_into(&mut room);
                raw.clear();
                (room, raw)
            }
            Batch::Parsed(parsed) => (parsed, RawBatch::with_room()),
        }
    }
}

/// The replay so far.
pub(super) struct Fold {
    state: State,
    events: u64,
    findings: Vec<Finding>,
    index: Replayed,
    /// The snapshot to compare, while the replay has not passed it.
    snap: Option<Snapshot>,
    stopped: bool,
}

/// What a replay found: the events folded, the findings, and the item index it gathered
/// (none when it stopped at a bad event).
pub(super) type Replay = (u64, Vec<Finding>, Option<Replayed>);

impl Fold {
    /// A replay from the first event; `snapshot` is compared where it was taken when it is
    /// of `version`, the state's (an older one is not: it is replayed instead at open).
    pub(super) fn new(snapshot: Option<Snapshot>, version: i64) -> Fold {
        Fold {
            state: State::default(),
            events: 0,
            findings: Vec::new(),
            index: Replayed::default(),
            snap: snapshot.filter(|s| s.version == version),
            stopped: false,
        }
    }

    /// Folds the event of record `seq`; false once the replay stopped at a bad event (what
    /// follows is not needed).
    pub(super) fn event(&mut self, seq: u64, parsed: Result<&Event, &str>) -> bool {
        if self.stopped {
            return false;
        }
        if self.snap.as_ref().is_some_and(|s| seq > s.seq) {
            self.compare();
        }
        let event = match parsed {
            Ok(e) => e,
            Err(e) => {
                return self.stop(seq, format!("the event cannot be read: {e}"));
            }
        };
        if event.seq != self.state.last_event_seq + 1 {
            let problem = format!(
                "event number {} follows event {} (events missing or out of order)",
                event.seq, self.state.last_event_seq
            );
            return self.stop(seq, problem);
        }
        self.index.add(&self.state, event, seq);
        self.state.apply(event);
        self.events += 1;
        true
    }

    fn stop(&mut self, seq: u64, problem: String) -> bool {
        self.findings.push(Finding {
            seq: Some(seq),
            place: "records".into(),
            problem,
        });
        self.stopped = true;
        false
    }

    /// Compares the state replayed so far with the snapshot (once).
    fn compare(&mut self) {
        let Some(snap) = self.snap.take() else {
            return;
        };
        let problem = match snap.decode() {
            Ok(s) if s == self.state => return,
            Ok(_) => "the materialized state disagrees with a replay of the audit trail".into(),
            Err(e) => format!("the materialized state cannot be read: {e}"),
        };
        self.findings.push(Finding {
            seq: Some(snap.seq),
            place: "snapshot".into(),
            problem,
        });
    }

    /// The replay's result once every event was folded (or it stopped).
    pub(super) fn finish(mut self) -> Replay {
        if self.stopped {
            return (self.events, self.findings, None);
        }
        self.compare();
        (self.events, self.findings, Some(self.index))
    }
}
