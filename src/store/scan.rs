//! The chain walk (`verify_chain`; `audit verify` steps with it in its one pass, `pass.rs`),
//! streamed and on two cores: rows are read in order with a cursor and hashed as they come (nothing of the trail is held), and a long chain is split at
//! a record number into two halves walked at once, each on its own connection; the seam is
//! checked as any other link (the second half's first record against the first half's end).
//! The first bad record it names is the one a single walk from the start names.

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use super::chain::{hash_parts, Hash, GENESIS};
use super::{Store, StoreError};
use crate::protocol::Topic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The audit record concerned, when one is.
    pub seq: Option<u64>,
    /// Where: `records`, `audit/concerns.jsonl line 3`, `snapshot`.
    pub place: String,
    pub problem: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "record {seq} ({}): {}", self.place, self.problem),
            None => write!(f, "{}: {}", self.place, self.problem),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub records: u64,
    pub head: (u64, Hash),
    pub first_break: Option<Finding>,
}

/// Below this many records one walk is quicker than starting a second connection.
const SPLIT_FROM: u64 = 20_000;

/// Where a walk is: the record it expects next, the hash that record must link to, and how
/// many records it found good.
#[derive(Debug, Clone, Copy)]
pub(super) struct Walk {
    expected: u64,
    last_hash: Hash,
    records: u64,
}

impl Walk {
    pub(super) fn start() -> Walk {
        Walk {
            expected: 1,
            last_hash: GENESIS,
            records: 0,
        }
    }

    fn head(&self) -> (u64, Hash) {
        (self.expected.saturating_sub(1), self.last_hash)
    }

    pub(super) fn report(&self, first_break: Option<Finding>) -> ChainReport {
        ChainReport {
            records: self.records,
            head: self.head(),
            first_break,
        }
    }
}

/// One row's columns, as read (borrowed from the cursor, or kept for the seam).
pub(super) struct Row<'a> {
    pub seq: i64,
    pub topic: &'a [u8],
    pub at: &'a [u8],
    pub body: &'a [u8],
    pub prev: Option<Hash>,
    pub hash: Option<Hash>,
}

impl<'a> Row<'a> {
    /// The columns of a row of `SELECT`, borrowed from the cursor.
    pub(super) fn read(r: &'a rusqlite::Row<'_>) -> rusqlite::Result<Row<'a>> {
        let hash_col = |i| -> rusqlite::Result<Option<Hash>> {
            Ok(r.get_ref(i)?.as_blob().ok().and_then(|b| b.try_into().ok()))
        };
        Ok(Row {
            seq: r.get::<_, i64>(0)?,
            topic: r.get_ref(1)?.as_bytes().unwrap_or(b""),
            at: r.get_ref(2)?.as_bytes().unwrap_or(b""),
            body: r.get_ref(3)?.as_bytes().unwrap_or(b""),
            prev: hash_col(4)?,
            hash: hash_col(5)?,
        })
    }
}

/// A row kept past its cursor: the first row of the second half, checked at the seam.
struct OwnedRow {
    seq: i64,
    topic: Vec<u8>,
    at: Vec<u8>,
    body: Vec<u8>,
    prev: Option<Hash>,
    hash: Option<Hash>,
}

impl OwnedRow {
    fn row(&self) -> Row<'_> {
        Row {
            seq: self.seq,
            topic: &self.topic,
            at: &self.at,
            body: &self.body,
            prev: self.prev,
            hash: self.hash,
        }
    }
}

fn finding(seq: u64, problem: String) -> Finding {
    Finding {
        seq: Some(seq),
        place: "records".to_string(),
        problem,
    }
}

/// Checks one row against the walk so far and moves the walk past it; the finding when the
/// chain breaks here.
pub(super) fn step(walk: &mut Walk, row: &Row<'_>) -> Result<(), Finding> {
    let (seq, expected) = (row.seq, walk.expected);
    if seq < 1 || seq as u64 != expected {
        let problem = if seq as u64 > expected {
            if expected == seq as u64 - 1 {
                format!(
                    "record {expected} is missing (deleted): the records jump from {} to {seq}",
                    expected - 1
                )
            } else {
                format!("records {expected} to {} are missing (deleted): the records jump from {} to {seq}", seq - 1, expected - 1)
            }
        } else {
            format!("unexpected sequence number {seq}")
        };
        return Err(finding(expected, problem));
    }
    let seq = seq as u64;
    let (Some(prev), Some(hash)) = (row.prev, row.hash) else {
        return Err(finding(seq, "its hash columns are malformed".into()));
    };
    if Topic::parse(std::str::from_utf8(row.topic).unwrap_or("")).is_none() {
        return Err(finding(
            seq,
            format!("unknown topic '{}'", String::from_utf8_lossy(row.topic)),
        ));
    }
    let own = hash_parts(&prev, seq, row.topic, row.at, row.body);
    if own != hash {
        // Was the row moved here from another position?
        let moved = (seq.saturating_sub(16).max(1)..=seq + 16)
            .filter(|s| *s != seq)
            .find(|s| hash_parts(&prev, *s, row.topic, row.at, row.body) == hash);
        return Err(match moved {
            // Everything from `from` on moved up: records were inserted before this one.
            Some(from) if from < seq => finding(
                from,
                format!("record {from} was inserted: record {seq} holds what was record {from}"),
            ),
            Some(from) => finding(
                seq,
                format!("holds the contents of record {from} (records reordered)"),
            ),
            None => finding(
                seq,
                "its contents do not match its hash (record modified)".to_string(),
            ),
        });
    }
    if prev != walk.last_hash {
        // The row is consistent with itself but does not follow the one before it: the
        // previous row was rewritten with a recomputed hash, or this one was inserted.
        let blamed = seq - 1;
        let problem = if seq == 1 {
            "the first record does not start the chain (records inserted before it)".to_string()
        } else {
            format!(
                "record {blamed} was modified or inserted and its hash recomputed: record {seq} still links to a different hash"
            )
        };
        return Err(finding(blamed.max(1), problem));
    }
    walk.last_hash = hash;
    walk.expected += 1;
    walk.records += 1;
    Ok(())
}

pub(super) const SELECT: &str = "SELECT seq, topic, at, body, prev, hash FROM records";

/// What one half found: where its walk ended and the first break, and for the second half
/// its first row (not checked until the first half's end is known).
struct Half {
    walk: Walk,
    first_break: Option<Finding>,
    first_row: Option<OwnedRow>,
}

/// Walks the records with `seq` in `from..=to` in order. With `seam`, the first row is kept
/// for the seam and the walk goes on from it as if it linked.
fn walk_range(conn: &Connection, from: i64, to: i64, seam: bool) -> rusqlite::Result<Half> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq"
    ))?;
    let mut rows = stmt.query([from, to])?;
    let mut half = Half {
        walk: Walk::start(),
        first_break: None,
        first_row: None,
    };
    while let Some(r) = rows.next()? {
        let row = Row::read(r)?;
        if seam && half.first_row.is_none() {
            half.first_row = Some(OwnedRow {
                seq: row.seq,
                topic: row.topic.to_vec(),
                at: row.at.to_vec(),
                body: row.body.to_vec(),
                prev: row.prev,
                hash: row.hash,
            });
            let (Ok(seq), Some(hash)) = (u64::try_from(row.seq), row.hash) else {
                // The seam's check names what is wrong with it.
                return Ok(half);
            };
            half.walk = Walk {
                expected: seq + 1,
                last_hash: hash,
                records: 0,
            };
            continue;
        }
        if let Err(f) = step(&mut half.walk, &row) {
            half.first_break = Some(f);
            break;
        }
    }
    Ok(half)
}

/// Walks the whole chain from the first record, stopping at the first break: in one pass on
/// this thread for a short chain, in two halves on two threads for a long one.
pub fn verify_chain_parallel(store: &Store) -> Result<ChainReport, StoreError> {
    let err = |e| store.sql_err(e);
    let conn = store.conn();
    let (low, high): (Option<i64>, Option<i64>) = conn
        .query_row("SELECT min(seq), max(seq) FROM records", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(err)?;
    let (Some(low), Some(high)) = (low, high) else {
        return Ok(Walk::start().report(None));
    };
    if high.saturating_sub(low) < SPLIT_FROM as i64 {
        let half = walk_range(conn, i64::MIN, i64::MAX, false).map_err(err)?;
        return Ok(half.walk.report(half.first_break));
    }
    let mid = low + (high - low) / 2;
    let path = store.path().to_path_buf();
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(move || {
            let conn = open_reader(&path)?;
            walk_range(&conn, mid + 1, i64::MAX, true)
        });
        let first = walk_range(conn, i64::MIN, mid, false);
        (first, second.join())
    });
    let first = first.map_err(err)?;
    let second = match second {
        Ok(r) => r.map_err(err)?,
        Err(_) => {
            // The second walk panicked: walk it here instead.
            walk_range(conn, mid + 1, i64::MAX, true).map_err(err)?
        }
    };
    Ok(join(first, second))
}

/// The two halves as one walk: the first half's break, else the seam, else the second's.
fn join(first: Half, second: Half) -> ChainReport {
    if first.first_break.is_some() {
        return first.walk.report(first.first_break);
    }
    let mut walk = first.walk;
    let Some(seam) = second.first_row else {
        return walk.report(None);
    };
    if let Err(f) = step(&mut walk, &seam.row()) {
        return walk.report(Some(f));
    }
    // The second half's walk went on from its first row as the seam's check just did.
    let end = second.walk;
    ChainReport {
        records: walk.records + end.records,
        head: end.head(),
        first_break: second.first_break,
    }
}

/// A second read-only connection to the store's file, for a walk on another thread (opened
/// as immutable where SQLite cannot make the WAL's shared-memory file, as the store was).
pub(super) fn open_reader(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let probe = |c: &Connection| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()));
    let conn = Connection::open_with_flags(path, flags)?;
    if probe(&conn).is_ok() {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        return Ok(conn);
    }
    let conn = Connection::open_with_flags(super::writable::immutable_uri(path), flags)?;
    probe(&conn)?;
    Ok(conn)
}

/// The walk of `verify_chain` (one pass from the first record), for the sequential check.
pub(super) fn walk_all(store: &Store) -> Result<ChainReport, StoreError> {
    let half = walk_range(store.conn(), i64::MIN, i64::MAX, false).map_err(|e| store.sql_err(e))?;
    Ok(half.walk.report(half.first_break))
}
