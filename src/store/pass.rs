//! The one pass of `audit verify` over the records: each row read once, in order, with a
//! cursor on a connection of its own (memory-mapped reads), and checked as it comes — its link
//! in the hash chain (`scan.rs`), its mirror line byte for byte (`mirror::LineCheck`), and for
//! an event, its body handed to the replay on the other core (`replay.rs`) in batches through
//! a bounded channel. When the replay is behind (the channel full), the pass parses a batch
//! itself before handing it over, so the two cores share the parsing as they are free. The
//! replay sends the batches back emptied, and the pass fills them again.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use super::mirror::LineCheck;
use super::replay::{Batch, Parsed, RawBatch, BATCH};
use super::scan::{step, ChainReport, Row, Walk, SELECT};
use crate::protocol::Topic;

/// What the pass found: the chain's walk, and the mirrored topics whose file differs.
pub(super) struct Pass {
    pub chain: ChainReport,
    pub differing: BTreeSet<Topic>,
}

/// Reads of the whole file through a memory map instead of a `pread` and a copy per page
/// (SQLite caps it at its own limit; pages in the WAL are still read).
const MMAP: &str = "PRAGMA mmap_size = 4294967296";

/// Batches of event bodies on their way to the replay, and the emptied batches it sent
/// back, to be filled again.
struct Feed {
    tx: Option<SyncSender<Batch>>,
    raw: RawBatch,
    spares: Receiver<Batch>,
    raws: Vec<RawBatch>,
    rooms: Vec<Vec<Parsed>>,
}

impl Feed {
    fn new(tx: SyncSender<Batch>, spares: Receiver<Batch>) -> Feed {
        Feed {
            tx: Some(tx),
            raw: RawBatch::with_room(),
            spares,
            raws: Vec::new(),
            rooms: Vec::new(),
        }
    }

    fn push(&mut self, seq: u64, body: &[u8]) {
        if self.tx.is_none() {
            return;
        }
        self.raw.push(seq, body);
        if self.raw.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.tx.is_none() || self.raw.len() == 0 {
            return;
        }
        while let Ok(spare) = self.spares.try_recv() {
            match spare {
                Batch::Raw(raw) => self.raws.push(raw),
                Batch::Parsed(room) => self.rooms.push(room),
            }
        }
        let next = self.raws.pop().unwrap_or_else(RawBatch::with_room);
        let raw = std::mem::replace(&mut self.raw, next);
        let Some(tx) = &self.tx else {
            return;
        };
        let sent = match offer(tx, raw, &mut self.rooms) {
            Offer::Taken => true,
            // Parsed here, on this core: now wait for room.
            Offer::Behind(parsed, emptied) => {
                self.raws.push(emptied);
                tx.send(Batch::Parsed(parsed)).is_ok()
            }
            Offer::Gone => false,
        };
        if !sent {
            // The replay stopped at a bad event: it needs nothing more.
            self.tx = None;
        }
    }
}

/// What became of a batch offered to the replay.
enum Offer {
    /// Taken as it is: the replay parses it.
    Taken,
    /// The replay is behind (the channel full): the batch's events, parsed here, still to
    /// hand over, and its bodies' buffers emptied.
    Behind(Vec<Parsed>, RawBatch),
    /// The replay stopped.
    Gone,
}

/// Offers a batch of bodies to the replay without waiting; when the replay is behind, the
/// bodies are parsed into one of the empty lists of `rooms` (or a new one).
fn offer(tx: &SyncSender<Batch>, raw: RawBatch, rooms: &mut Vec<Vec<Parsed>>) -> Offer {
    match tx.try_send(Batch::Raw(raw)) {
        Ok(()) => Offer::Taken,
        Err(TrySendError::Full(batch)) => {
            let room = rooms.pop().unwrap_or_default();
            let (parsed, emptied) = batch.into_parsed(room);
            Offer::Behind(parsed, emptied)
        }
        Err(TrySendError::Disconnected(_)) => Offer::Gone,
    }
}

/// Reads every record of the store at `path` once, in order: walks the chain (stopping the
/// walk at its first break, not the pass), compares the mirrors under `mirror_dir`, and sends
/// the events to `events` (the emptied batches come back through `spares`).
pub(super) fn run(
    path: &Path,
    mirror_dir: &Path,
    events: SyncSender<Batch>,
    spares: Receiver<Batch>,
) -> rusqlite::Result<Pass> {
    let conn = super::scan::open_reader(path)?;
    // A hint: where SQLite cannot map the file it reads it as before.
    let _ = conn.query_row(MMAP, [], |_| Ok(()));
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    let mut walk = Walk::start();
    let mut first_break = None;
    let mut lines = LineCheck::open(mirror_dir);
    let mut feed = Feed::new(events, spares);
    while let Some(r) = rows.next()? {
        let row = Row::read(r)?;
        if first_break.is_none() {
            if let Err(f) = step(&mut walk, &row) {
                first_break = Some(f);
            }
        }
        let Some(topic) = std::str::from_utf8(row.topic).ok().and_then(Topic::parse) else {
            continue;
        };
        if matches!(
            topic,
            Topic::Event | Topic::Concern | Topic::Handoff | Topic::Git
        ) {
            feed.push(row.seq as u64, row.body);
        }
        if topic.mirror_file().is_some() {
            let at = r.get_ref(2)?.as_str().unwrap_or("");
            let hash = r.get_ref(5)?.as_blob().unwrap_or(b"");
            lines.row(topic, row.seq, at, row.body, hash);
        }
    }
    feed.flush();
    Ok(Pass {
        chain: walk.report(first_break),
        differing: lines.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Event, EventKind};

    fn body(seq: u64) -> Vec<u8> {
        let event = Event {
            seq,
            at: "2026-12-07T12:00:00.000Z".into(),
            command_seq: None,
            actor: "human:ada".into(),
            kind: EventKind::DispatchResumed,
        };
        serde_json::to_vec(&event).unwrap()
    }

    fn batch(bodies: &[(u64, &[u8])]) -> RawBatch {
        let mut raw = RawBatch::with_room();
        for (seq, body) in bodies {
            raw.push(*seq, body);
        }
        raw
    }

    /// With room in the channel the bodies go over as they are (the replay parses them); with
    /// the replay behind, the pass parses the batch itself; with the replay gone, it stops
    /// handing events over. The batches the replay sends back are filled again.
    #[test]
    fn the_pass_parses_a_batch_itself_only_when_the_replay_is_behind() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let mut rooms = Vec::new();
        let taken = offer(&tx, batch(&[(3, &body(1))]), &mut rooms);
        assert!(matches!(taken, Offer::Taken));
        // The replay has not taken that one yet: the next is parsed on the pass's side.
        let two = batch(&[(5, &body(2)), (6, b"{not an event")]);
        let Offer::Behind(parsed, emptied) = offer(&tx, two, &mut rooms) else {
            panic!("a batch that finds the channel full is parsed by the pass");
        };
        assert_eq!((parsed.len(), emptied.len()), (2, 0));
        assert_eq!((parsed[0].0, parsed[0].1.as_ref().unwrap().seq), (5, 2));
        assert!(parsed[1].1.as_ref().is_err_and(|e| e.contains("line 1")));
        let Ok(Batch::Raw(raw)) = rx.try_recv() else {
            panic!("a batch with room to wait goes over unparsed");
        };
        let mut parsed = Vec::new();
        raw.parse_into(&mut parsed);
        assert_eq!(parsed.len(), 1);
        assert_eq!((parsed[0].0, parsed[0].1.as_ref().unwrap().seq), (3, 1));

        // A whole feed: what it hands over arrives in order, in the batches the replay sent
        // back; then the replay stops (its end of the channel dropped) and nothing more is
        // handed over.
        let (spare_tx, spare_rx) = std::sync::mpsc::channel();
        let mut feed = Feed::new(tx, spare_rx);
        spare_tx.send(Batch::Raw(RawBatch::with_room())).unwrap();
        spare_tx.send(Batch::Parsed(parsed)).unwrap();
        for n in 0..BATCH as u64 {
            feed.push(100 + n, &body(10 + n));
        }
        let Ok(Batch::Raw(raw)) = rx.try_recv() else {
            panic!("a full batch goes over");
        };
        assert_eq!(raw.len(), BATCH);
        // The spare bodies' batch is being filled; the spare list waits for a batch the pass
        // parses.
        assert_eq!((feed.raws.len(), feed.rooms.len()), (0, 1));
        drop(rx);
        feed.push(7, &body(3));
        feed.flush();
        assert!(feed.tx.is_none());
        feed.push(8, &body(4));
        assert_eq!(feed.raw.len(), 0);
    }
}
