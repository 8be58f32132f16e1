//! The item index beside the trail (tables `items` and `item_events`, outside the hash
//! chain): for each concern, approval, variation, question and QA run, the records of its
//! events and whether it is finished. Written in the same transaction as the events
//! (`WriteGuard::index_items`), so history the live state has let go of is read on demand,
//! page by page, newest first, without replaying the trail. `meta.items_through` says how far
//! the index reaches; a store written by an older build is indexed again at open
//! (`core::history`), and `audit verify` rebuilds the index from a replay and compares.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError, StoredRecord, WriteGuard};
use crate::protocol::items::item_refs;
use crate::protocol::{Event, State};

/// Creates the index's tables where they are missing (a store from before the index).
const CREATE: &str = "
    CREATE TABLE IF NOT EXISTS items (
        kind         TEXT NOT NULL,
        id           TEXT NOT NULL,
        last_seq     INTEGER NOT NULL,
        finished_seq INTEGER,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS items_finished ON items (kind, finished_seq);
    CREATE TABLE IF NOT EXISTS item_events (
        kind TEXT NOT NULL,
        id   TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        PRIMARY KEY (kind, id, seq)
    ) WITHOUT ROWID;";

/// One row of the index: the record `seq` is an event of item `kind`/`id`, finishing it or not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemRow {
    pub kind: String,
    pub id: String,
    pub seq: u64,
    pub finishes: bool,
}

/// A finished item as the index lists it: its id and the record that finished it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedItem {
    pub id: String,
    pub finished_seq: u64,
}

fn write_rows(conn: &rusqlite::Connection, rows: &[ItemRow]) -> rusqlite::Result<()> {
    let mut event = conn
        .prepare_cached("INSERT OR IGNORE INTO item_events (kind, id, seq) VALUES (?1, ?2, ?3)")?;
    let mut item = conn.prepare_cached(
        "INSERT INTO items (kind, id, last_seq, finished_seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, id) DO UPDATE SET
             last_seq = max(last_seq, excluded.last_seq),
             finished_seq = coalesce(excluded.finished_seq, finished_seq)",
    )?;
    for r in rows {
        event.execute(params![r.kind, r.id, r.seq as i64])?;
        let finished = r.finishes.then_some(r.seq as i64);
        item.execute(params![r.kind, r.id, r.seq as i64, finished])?;
    }
    Ok(())
}

fn mark(conn: &rusqlite::Connection, through: u64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('items_through', ?1)",
        [through.to_string()],
    )
    .map(|_| ())
}

impl WriteGuard<'_> {
    /// Indexes a batch of events just appended (`appended[offset + i]` holds event `i`),
    /// with `state` as it was before them.
    pub fn index_events(
        &mut self,
        state: &State,
        events: &[Event],
        appended: &[StoredRecord],
        offset: usize,
    ) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (appended.first(), appended.last()) else {
            return Ok(());
        };
        let rows: Vec<ItemRow> = item_refs(state, events)
            .into_iter()
            .filter_map(|(i, r)| {
                appended.get(offset + i).map(|rec| ItemRow {
                    kind: r.kind.to_string(),
                    id: r.id,
                    seq: rec.seq,
                    finishes: r.finishes,
                })
            })
            .collect();
        self.index_items(&rows, first.seq, last.seq)
    }

    /// Indexes the rows of records appended in this transaction, and marks the index as
    /// reaching `through` (the last record appended) when it reached the records before them.
    pub fn index_items(
        &mut self,
        rows: &[ItemRow],
        first: u64,
        through: u64,
    ) -> Result<(), StoreError> {
        let store = &*self.store;
        let reached = store.items_through()?;
        let conn = store.conn();
        write_rows(conn, rows).map_err(|e| store.sql_err(e))?;
        if reached.is_some_and(|r| r + 1 >= first) {
            mark(conn, through).map_err(|e| store.sql_err(e))?;
        }
        Ok(())
    }
}

impl Store {
    /// Creates the index's tables where they are missing. No new schema version, so an older
    /// build still opens the store (its writes leave the index behind, which is noticed).
    pub(super) fn create_item_tables(&self) -> Result<(), StoreError> {
        self.conn.execute_batch(CREATE).map_err(|e| self.sql_err(e))
    }

    /// Rebuilds the index from a replay where it does not reach the head (a store from before
    /// the index, or written by an older build since). Nothing to do on a store that cannot be
    /// written: its history is then read from a replay (`core::history`).
    pub fn ensure_items(&mut self) -> Result<(), StoreError> {
        let head = self.head().0;
        if self.items_through()? == Some(head) || self.write_blocker().is_some() {
            return Ok(());
        }
        let mut state = State::default();
        let mut index = Replayed::default();
        for (seq, body) in self.event_bodies_after(0)? {
            let event = Event::from_json(&body).map_err(|e| StoreError::Corrupt {
                path: self.path.display().to_string(),
                message: format!("record {seq} cannot be read as an event ({e})"),
            })?;
            index.add(&state, &event, seq);
            state.apply(&event);
        }
        let rows = index.rows();
        tracing::info!(rows = rows.len(), head, "item index rebuilt from the trail");
        self.rebuild_items(&rows, head)
    }

    /// How far the item index reaches (`None`: a store from before the index, or one a build
    /// without it wrote to since).
    pub fn items_through(&self) -> Result<Option<u64>, StoreError> {
        let v: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'items_through'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    /// Replaces the whole index with `rows`, reaching `through` (one transaction).
    pub fn rebuild_items(&mut self, rows: &[ItemRow], through: u64) -> Result<(), StoreError> {
        self.write_derived(|tx| {
            tx.execute_batch("DELETE FROM items; DELETE FROM item_events;")?;
            write_rows(tx, rows)?;
            mark(tx, through)
        })
    }

    /// Finished items of `kind`, the most recently finished first: `limit` of them after
    /// skipping `offset`. An indexed walk, whatever the length of the history.
    pub fn finished_items(
        &self,
        kind: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<FinishedItem>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT id, finished_seq FROM items WHERE kind = ?1 AND finished_seq IS NOT NULL
                 ORDER BY finished_seq DESC LIMIT ?2 OFFSET ?3",
            )
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map(params![kind, limit as i64, offset as i64], |r| {
                Ok(FinishedItem {
                    id: r.get(0)?,
                    finished_seq: r.get::<_, i64>(1)? as u64,
                })
            })
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_err(e))
    }

    /// How many items of `kind` are finished.
    pub fn finished_count(&self, kind: &str) -> Result<u64, StoreError> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM items WHERE kind = ?1 AND finished_seq IS NOT NULL",
                [kind],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.sql_err(e))
    }

    /// The event bodies of one item, oldest first.
    pub fn item_event_bodies(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT r.seq, r.body FROM item_events e JOIN records r ON r.seq = e.seq
                 WHERE e.kind = ?1 AND e.id = ?2 ORDER BY e.seq",
            )
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map(params![kind, id], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_err(e))
    }

    /// Every row of the index, sorted (for `audit verify`'s comparison with a replay).
    pub fn item_rows(&self) -> Result<Vec<ItemRow>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT e.kind, e.id, e.seq, i.finished_seq FROM item_events e
                 JOIN items i ON i.kind = e.kind AND i.id = e.id",
            )
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let seq = r.get::<_, i64>(2)? as u64;
                let finished: Option<i64> = r.get(3)?;
                Ok(ItemRow {
                    kind: r.get(0)?,
                    id: r.get(1)?,
                    seq,
                    finishes: finished == Some(seq as i64),
                })
            })
            .map_err(|e| self.sql_err(e))?;
        let mut out: Vec<ItemRow> = rows
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql_err(e))?;
        out.sort();
        Ok(out)
    }
}

/// The index a replay of the trail gives, gathered event by event (`audit verify` and the
/// rebuild of a store written by an older build).
#[derive(Debug, Default)]
pub struct Replayed {
    rows: Vec<ItemRow>,
}

impl Replayed {
    /// Adds the references of `event` (record `seq`), with `state` as it is before it.
    pub fn add(&mut self, state: &State, event: &Event, seq: u64) {
        for (_, r) in item_refs(state, std::slice::from_ref(event)) {
            self.rows.push(ItemRow {
                kind: r.kind.to_string(),
                id: r.id,
                seq,
                finishes: r.finishes,
            });
        }
    }

    /// The rows, sorted, each item finished only by the last of its finishing events (as the
    /// table keeps it).
    pub fn rows(mut self) -> Vec<ItemRow> {
        let mut last: BTreeMap<(String, String), u64> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| r.finishes) {
            last.insert((r.kind.clone(), r.id.clone()), r.seq);
        }
        for r in &mut self.rows {
            r.finishes = r.finishes && last.get(&(r.kind.clone(), r.id.clone())) == Some(&r.seq);
        }
        self.rows.sort();
        self.rows
    }

    /// Where the stored index disagrees with the replay: the first differing row.
    pub fn compare(self, store: &Store) -> Result<Option<String>, StoreError> {
        Ok(self.compare_rows(store.item_rows()?))
    }

    /// Where `stored` (the index's rows, sorted) disagrees with the replay.
    pub fn compare_rows(self, stored: Vec<ItemRow>) -> Option<String> {
        let replayed = self.rows();
        let first = stored.iter().zip(&replayed).find(|(a, b)| a != b);
        let say = |r: &ItemRow| {
            let done = if r.finishes { ", finishing it" } else { "" };
            format!("{} {} at record {}{done}", r.kind, r.id, r.seq)
        };
        match first {
            Some((s, r)) => Some(format!("the index has {}, a replay {}", say(s), say(r))),
            None if stored.len() > replayed.len() => Some(format!(
                "the index has {} more than a replay (first: {})",
                stored.len() - replayed.len(),
                say(&stored[replayed.len()])
            )),
            None if replayed.len() > stored.len() => Some(format!(
                "the index lacks {} that a replay has (first: {})",
                replayed.len() - stored.len(),
                say(&replayed[stored.len()])
            )),
            None => None,
        }
    }
}
