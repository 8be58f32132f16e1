//! `audit verify`: re-checks the hash chain record by record, the JSONL mirrors against the
//! database, and the materialized state (the newest snapshot) against a replay of the
//! events. Names the first bad record and what is wrong with it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::mpsc::{Receiver, Sender};

use serde::{Deserialize, Serialize};

use super::anchor::{AnchorError, AnchorView};
use super::items::{ItemRow, Replayed};
use super::replay::{Batch, Fold, Replay};
pub use super::scan::{verify_chain_parallel, ChainReport, Finding};
use super::snapshot::Snapshot;
use super::{Store, StoreError};
use crate::protocol::Topic;

/// Bump when `State`'s shape changes, so older snapshots are replayed instead of loaded.
/// 10: snapshots in two parts, the concerns apart (`snapshot.rs`).
/// 11: the checkpoints before the newest 50 in a third part.
pub const STATE_VERSION: i64 = 11;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub records: u64,
    pub events: u64,
    pub head_hash: Option<String>,
    pub mirrors_checked: Vec<String>,
    pub state_checked: bool,
    /// Problems found, the first bad record first.
    pub findings: Vec<Finding>,
    /// The anchors outside the store the chain was checked against (`.overlord/audit-head`,
    /// the newest checkpoint note): a chain that does not reach one has lost records.
    #[serde(default)]
    pub anchors: Vec<AnchorView>,
    /// Why writes are refused, when the chain does not reach its anchors.
    #[serde(default)]
    pub writes_refused: Option<String>,
}

/// Walks the chain from the first record, in one pass on this thread (the chain-only check
/// the monitor runs and `benches/audit.rs` times). Stops at the first break.
pub fn verify_chain(store: &Store) -> Result<ChainReport, StoreError> {
    super::scan::walk_all(store)
}

#[derive(Deserialize)]
struct MirrorLine<'a> {
    seq: u64,
    hash: String,
    at: String,
    topic: String,
    #[serde(borrow)]
    record: &'a serde_json::value::RawValue,
}

/// The highest record number any mirror file has a line for (0 when none): after a loss, a
/// bound on the ids handed out that the store no longer shows.
pub fn highest_mirrored_seq(dir: &std::path::Path) -> u64 {
    let mut highest = 0;
    for name in Topic::ALL.iter().filter_map(|t| t.mirror_file()) {
        let Ok(f) = File::open(dir.join(name)) else {
            continue;
        };
        for line in BufReader::new(f).lines().map_while(Result::ok) {
            if let Ok(m) = serde_json::from_str::<MirrorLine>(&line) {
                highest = highest.max(m.seq);
            }
        }
    }
    highest
}

/// Compares every mirror file with the records of its topic, in order: one streamed scan
/// comparing each line byte for byte with the line the store renders for its record; a file
/// that differs is then read closely to say where and how.
pub fn verify_mirrors(store: &Store) -> Result<(Vec<String>, Vec<Finding>), StoreError> {
    let dir = store.mirror_dir().to_path_buf();
    let differing = super::mirror::differing(store.conn(), &dir).map_err(|e| store.sql_err(e))?;
    mirror_findings(store, &differing)
}

/// The mirror files checked, and what is wrong with each of the `differing` ones.
fn mirror_findings(
    store: &Store,
    differing: &BTreeSet<Topic>,
) -> Result<(Vec<String>, Vec<Finding>), StoreError> {
    let mut checked = Vec::new();
    let mut findings = Vec::new();
    for topic in Topic::ALL {
        let Some(name) = topic.mirror_file() else {
            continue;
        };
        checked.push(format!("audit/{name}"));
        if differing.contains(&topic) {
            findings.extend(check_mirror(store, topic, name)?);
        }
    }
    Ok((checked, findings))
}

/// What is wrong with one mirror file, line by line against the records of its topic.
fn check_mirror(store: &Store, topic: Topic, name: &str) -> Result<Option<Finding>, StoreError> {
    let conn = store.conn();
    let err = |e| store.sql_err(e);
    let place_name = format!("audit/{name}");
    let path = store.mirror_dir().join(name);
    let mut lines = match File::open(&path) {
        Ok(f) => BufReader::new(f).lines().enumerate().peekable(),
        Err(e) => {
            return Ok(Some(Finding {
                seq: None,
                place: place_name,
                problem: format!("cannot be read: {e}"),
            }));
        }
    };
    let mut stmt = conn
        .prepare("SELECT seq, at, body, hash FROM records WHERE topic = ?1 ORDER BY seq")
        .map_err(err)?;
    let mut rows = stmt.query([topic.as_str()]).map_err(err)?;
    let mut problem: Option<Finding> = None;
    while let Some(row) = rows.next().map_err(err)? {
        let seq = row.get::<_, i64>(0).map_err(err)? as u64;
        let at: String = row.get(1).map_err(err)?;
        let body: String = row.get(2).map_err(err)?;
        let hash: Vec<u8> = row.get(3).map_err(err)?;
        let at_line = |n: usize, p: String| Finding {
            seq: Some(seq),
            place: format!("{place_name} line {}", n + 1),
            problem: p,
        };
        let Some((n, line)) = lines.next() else {
            // Every line so far matched: the mirror stops short of the store. Mirrors are
            // written after the store's commit, so a process stopped in between (a crash,
            // kill -9) leaves exactly this; the next write repairs it.
            let mut last = seq;
            let mut missing = 1u64;
            while let Some(row) = rows.next().map_err(err)? {
                last = row.get::<_, i64>(0).map_err(err)? as u64;
                missing += 1;
            }
            let which = if missing == 1 {
                format!("its last line (record {seq}) is missing")
            } else {
                format!("its last {missing} lines (records {seq}–{last}) are missing")
            };
            problem = Some(Finding {
                    seq: Some(seq),
                    place: place_name.clone(),
                    problem: format!(
                        "the mirror stops short of the store: {which} — what a process stopped between the store's commit and the mirror's write leaves (a crash left-over); the next overlord-tui that opens the store to write repairs it"
                    ),
                });
            break;
        };
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                problem = Some(at_line(n, format!("unreadable: {e}")));
                break;
            }
        };
        let parsed: MirrorLine = match serde_json::from_str(&line) {
            Ok(p) => p,
            Err(e) if lines.peek().is_none() => {
                // A torn last line: the write was cut short (a crash left-over).
                problem = Some(at_line(
                        n,
                        format!(
                            "the mirror's last line is cut short ({e}) — a write stopped midway (a crash left-over); the next overlord-tui that opens the store to write repairs it"
                        ),
                    ));
                break;
            }
            Err(e) => {
                problem = Some(at_line(n, format!("not a valid mirror line: {e}")));
                break;
            }
        };
        if parsed.seq != seq {
            problem = Some(at_line(
                    n,
                    format!(
                        "the mirror has record {} where the store has record {seq} (line missing, added or out of order)",
                        parsed.seq
                    ),
                ));
            break;
        }
        if parsed.hash != hex::encode(&hash)
            || parsed.at != at
            || parsed.topic != topic.as_str()
            || parsed.record.get() != body
        {
            problem = Some(at_line(
                n,
                "the mirror line disagrees with the store".into(),
            ));
            break;
        }
    }
    if problem.is_none() {
        if let Some((n, line)) = lines.next() {
            let seq = line
                .ok()
                .and_then(|l| serde_json::from_str::<MirrorLine>(&l).ok().map(|m| m.seq));
            problem = Some(Finding {
                    seq,
                    place: format!("{place_name} line {}", n + 1),
                    problem: "the mirror has a line the store does not have (record deleted from the store, or line added)".into(),
                });
        }
    }
    Ok(problem)
}

/// Replays every event through the reducer and compares the result with the newest snapshot
/// of the materialized state; also checks that event sequence numbers have no gaps. In one
/// pass on this thread (`verify` replays beside its pass over the records).
pub fn verify_state(store: &Store) -> Result<(u64, Vec<Finding>), StoreError> {
    let snapshot = store.latest_snapshot()?;
    let (events, mut findings, index) =
        replay_here(store.conn(), snapshot).map_err(|e| store.sql_err(e))?;
    check_index(index, stored_items(store)?, &mut findings);
    Ok((events, findings))
}

/// The rows of the store's item index where it reaches the head (only then is it compared).
fn stored_items(store: &Store) -> Result<Option<Vec<ItemRow>>, StoreError> {
    if store.items_through()? != Some(store.head().0) {
        return Ok(None);
    }
    store.item_rows().map(Some)
}

/// Compares the store's item index (where it reaches the head) with the one a whole replay
/// gave (none: the replay stopped at a bad record).
fn check_index(index: Option<Replayed>, stored: Option<Vec<ItemRow>>, findings: &mut Vec<Finding>) {
    let (Some(index), Some(stored)) = (index, stored) else {
        return;
    };
    if let Some(problem) = index.compare_rows(stored) {
        findings.push(Finding {
            seq: None,
            place: "item index".into(),
            problem: format!(
                "the item index disagrees with a replay of the audit trail: {problem}"
            ),
        });
    }
}

/// The replay of `verify_state` on this thread: the events read in order with a cursor on
/// `conn` and folded as they come (none is kept).
fn replay_here(
    conn: &rusqlite::Connection,
    snapshot: Option<Snapshot>,
) -> rusqlite::Result<Replay> {
    let mut fold = Fold::new(snapshot, STATE_VERSION);
    let mut stmt = conn.prepare(
        "SELECT seq, body FROM records WHERE topic IN ('event','concern','handoff','git') ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let body = row.get_ref(1)?.as_bytes()?;
        let parsed = super::replay::parse(body);
        if !fold.event(seq, parsed.as_ref().map_err(String::as_str)) {
            break;
        }
    }
    Ok(fold.finish())
}

/// The replay of `verify` on a thread of its own: folds the batches the pass sends, in order,
/// parsing those the pass did not, and sends each back emptied (`spares`) to be filled
/// again; stops taking them at a bad event.
fn replay_batches(
    events: Receiver<Batch>,
    spares: Sender<Batch>,
    snapshot: Option<Snapshot>,
) -> Replay {
    let mut fold = Fold::new(snapshot, STATE_VERSION);
    for mut batch in events {
        if !batch.fold_into(&mut fold) {
            return fold.finish();
        }
        // Back to the pass, to be filled again (dropped here once the pass is done).
        let _ = spares.send(batch);
    }
    fold.finish()
}

/// How many batches may wait for the replay before the pass parses the next one itself.
const WAITING: usize = 16;

/// The whole check: chain, mirrors, state, on both cores — one pass over the records on this
/// thread (each record read once: its link in the chain, its mirror line, and for an event
/// its body handed over), the replay of the state on a thread of its own, the two sharing
/// the events' parsing (`pass.rs`). The first finding names the first bad record.
pub fn verify(store: &Store) -> Result<VerifyReport, StoreError> {
    let snapshot = store.latest_snapshot()?;
    let (path, dir) = (store.path(), store.mirror_dir());
    let (tx, rx) = std::sync::mpsc::sync_channel(WAITING);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel();
    let (pass, replayed, stored) = std::thread::scope(|s| {
        let replay = s.spawn(move || replay_batches(rx, spare_tx, snapshot));
        let pass = super::pass::run(path, dir, tx, spare_rx);
        // While the replay finishes: the stored item index, to compare with the replay's.
        let stored = stored_items(store);
        (pass, replay.join(), stored)
    });
    let pass = pass.map_err(|e| store.sql_err(e))?;
    let chain = pass.chain;
    let (mirrors_checked, mirror_findings) = mirror_findings(store, &pass.differing)?;
    let (events, state_findings) = match replayed {
        Ok((events, mut findings, index)) => {
            check_index(index, stored?, &mut findings);
            (events, findings)
        }
        // The replay's thread panicked: replay here, where the panic is the caller's.
        Err(_) => verify_state(store)?,
    };
    let mut findings: Vec<Finding> = chain.first_break.iter().cloned().collect();
    findings.extend(mirror_findings);
    findings.extend(state_findings);
    let (anchors, verdict) = store.anchor_report();
    let writes_refused = verdict.as_ref().err().map(|e| e.to_string());
    if let Err(e) = verdict {
        findings.push(anchor_finding(&e, chain.head.0));
    }
    // Order by record so the first bad record comes first, whatever found it.
    let mut by_seq: BTreeMap<(u64, usize), Finding> = BTreeMap::new();
    for (i, f) in findings.into_iter().enumerate() {
        by_seq.insert((f.seq.unwrap_or(u64::MAX), i), f);
    }
    let findings: Vec<Finding> = by_seq.into_values().collect();
    Ok(VerifyReport {
        ok: findings.is_empty(),
        records: chain.records,
        events,
        head_hash: (chain.head.0 > 0).then(|| hex::encode(chain.head.1)),
        mirrors_checked,
        state_checked: true,
        findings,
        anchors,
        writes_refused,
    })
}

/// What a chain that does not reach its anchors means, in words.
fn anchor_finding(e: &AnchorError, head: u64) -> Finding {
    match e {
        AnchorError::Lost { from, to, anchor } => Finding {
            seq: Some(*from),
            place: anchor.clone(),
            problem: format!(
                "the audit trail has lost records {from}..{to}: {anchor} records that record {to} was committed, but the store ends at record {head} (the store was emptied, truncated, replaced by an older copy or its last records were deleted); writes are refused"
            ),
        },
        AnchorError::Replaced { seq, anchor } => Finding {
            seq: Some(*seq),
            place: anchor.clone(),
            problem: format!(
                "record {seq} is not the record {anchor} records (the chain was replaced or rewritten); writes are refused"
            ),
        },
        AnchorError::Unreadable { path, message } => Finding {
            seq: None,
            place: path.clone(),
            problem: format!("the audit head file cannot be read ({message}); writes are refused until it is removed or repaired"),
        },
    }
}
