//! The audit store: the store of record. One SQLite file (WAL, `synchronous=FULL`) holding
//! every command, response and event as a hash-chained record, plus snapshots of the
//! materialized state so that opening a large store does not replay everything. The JSONL
//! mirrors under `audit/` are written after each commit.
//!
//! Writers serialize on an exclusive file lock and `BEGIN IMMEDIATE`; a writer first catches
//! up with records other processes appended, so two processes can never fork the chain.

pub mod anchor;
pub mod bridge;
mod chain;
mod head_file;
pub mod items;
pub mod metric_folds;
mod mirror;
mod pass;
mod record;
mod replay;
mod scan;
pub mod snapshot;
pub mod summary;
pub mod verify;
mod writable;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub use anchor::AnchorError;
pub use chain::{hash_record, Hash, GENESIS};
use mirror::Mirrors;
pub use record::{NewRecord, StoredRecord};

use crate::protocol::Topic;

/// Bump when the schema changes; `migrate` brings older files forward.
pub const SCHEMA_VERSION: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("audit store {path}: {}", sqlite_message(.source, .path))]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("audit store {path}: {message}")]
    Io { path: String, message: String },
    #[error("audit store {path} was written by a newer overlord-tui (schema {found}, this build knows {known})")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("audit store {path} is corrupt: {message} (run `overlord-tui audit verify`)")]
    Corrupt { path: String, message: String },
    /// The chain does not reach its anchors (`anchor.rs`): nothing may be written.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
    #[error("audit store {path} is read-only here ({why}); nothing can be written")]
    ReadOnly { path: String, why: String },
}

/// What SQLite's error means to the user. A full disk shows up as "database or disk is full"
/// or, when a write of the WAL fails, as a bare "disk I/O error": both say the disk is full
/// when it is.
fn sqlite_message(e: &rusqlite::Error, path: &str) -> String {
    use rusqlite::ErrorCode;
    if let rusqlite::Error::SqliteFailure(f, _) = e {
        let full = match f.code {
            ErrorCode::DiskFull => true,
            ErrorCode::SystemIoFailure => free_bytes(Path::new(path)) == Some(0),
            _ => false,
        };
        if full {
            return "the disk is full; nothing was written (free some space and try again)"
                .to_string();
        }
    }
    e.to_string()
}

/// The bytes an unprivileged writer may still use on the file system holding `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    let dir = path.parent().filter(|d| d.exists()).unwrap_or(path);
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

pub struct Store {
    path: PathBuf,
    conn: Connection,
    head_seq: u64,
    head_hash: Hash,
    mirrors: Mirrors,
    lock_path: PathBuf,
    /// `.overlord/write.lock`, kept open; `flock`ed for the length of each write. `None` when
    /// the store was opened read-only.
    lock_file: Option<File>,
    /// Why this store cannot be written, when it was opened read-only.
    read_only: Option<String>,
    /// The head file and the checkpoint notes the chain must reach before any write.
    anchors: anchor::Anchors,
    /// The last `mirrored_through` mark written (it is only a lower bound, so it is written
    /// every `MIRROR_MARK_EVERY` records rather than on every append).
    mirror_mark: u64,
    /// The first record whose mirror lines could not be written (disk full, permissions);
    /// the next write repairs from there before claiming the mirrors are complete.
    mirror_gap: Option<u64>,
}

/// Everything the store needs on disk, all under `.overlord/`.
#[derive(Debug, Clone)]
pub struct StorePaths {
    pub db: PathBuf,
    pub audit_dir: PathBuf,
    pub write_lock: PathBuf,
    /// `.overlord/audit-head`: the last committed record, outside the database.
    pub head_file: PathBuf,
    /// The repository's git directory, whose checkpoint notes also anchor the chain.
    pub git_dir: Option<PathBuf>,
}

impl StorePaths {
    pub fn under(dir: &Path) -> StorePaths {
        StorePaths {
            db: dir.join("overlord.db"),
            audit_dir: dir.join("audit"),
            write_lock: dir.join("write.lock"),
            head_file: dir.join(anchor::HEAD_FILE),
            git_dir: None,
        }
    }
}

/// Held while a write is under way: the cross-process file lock and an open
/// `BEGIN IMMEDIATE` transaction.
pub struct WriteGuard<'s> {
    store: &'s mut Store,
    open: bool,
}

/// The newest events, newest first (`?1` of them): SQLite walks the records' key backwards
/// and stops after that many events.
const LAST_EVENTS: &str = "SELECT seq, body FROM records WHERE topic IN ('event','concern','handoff','git') ORDER BY seq DESC LIMIT ?1";

/// How many records may pass before the `mirrored_through` mark is moved forward.
const MIRROR_MARK_EVERY: u64 = 256;

impl Store {
    /// Opens (creating if needed) the store, brings its schema up to date and repairs the
    /// mirrors after a crash.
    pub fn open(paths: &StorePaths) -> Result<Store, StoreError> {
        let mut store = Store::open_without_repair(paths)?;
        if store.read_only.is_none() {
            store.repair_mirrors()?;
        }
        Ok(store)
    }

    /// Opens the store as it is, without touching the mirrors (for `audit verify`, which
    /// must see them exactly as found). Where `.overlord/` cannot be written (permissions, a
    /// read-only file system) the store opens read-only: reads work, writes are refused.
    pub fn open_without_repair(paths: &StorePaths) -> Result<Store, StoreError> {
        let dir = paths.db.parent().unwrap_or(Path::new("."));
        match Store::open_writable(paths) {
            Err(StoreError::ReadOnly { why, .. }) if paths.db.exists() => {
                Store::open_read_only(paths, why)
            }
            // A read-only directory with writable files: SQLite cannot create the WAL's files.
            Err(StoreError::Sqlite { .. } | StoreError::Io { .. })
                if paths.db.exists() && !anchor::writable(dir) =>
            {
                Store::open_read_only(paths, format!("{} cannot be written", dir.display()))
            }
            other => other,
        }
    }

    fn open_writable(paths: &StorePaths) -> Result<Store, StoreError> {
        let path = paths.db.clone();
        let shown = path.display().to_string();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
        }
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&paths.write_lock)
            .map_err(|e| match anchor::read_only_error(&e) {
                true => StoreError::ReadOnly {
                    path: paths.write_lock.display().to_string(),
                    why: format!("cannot open {}: {e}", paths.write_lock.display()),
                },
                false => StoreError::Io {
                    path: paths.write_lock.display().to_string(),
                    message: e.to_string(),
                },
            })?;
        let sql = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        // `journal_mode` answers with a row; a file that is not a database fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    StoreError::Corrupt {
                        path: shown.clone(),
                        message: "the file is not an SQLite database".into(),
                    }
                }
                e => sql(e),
            })?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Io {
                path: shown,
                message: format!("could not switch to WAL journal (got {mode})"),
            });
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(sql)?;
        let mut store = Store {
            path,
            conn,
            head_seq: 0,
            head_hash: GENESIS,
            mirrors: Mirrors::new(&paths.audit_dir).map_err(|e| StoreError::Io {
                path: paths.audit_dir.display().to_string(),
                message: e.to_string(),
            })?,
            lock_path: paths.write_lock.clone(),
            lock_file: Some(lock_file),
            read_only: None,
            anchors: anchor::Anchors::new(paths.head_file.clone(), paths.git_dir.clone()),
            mirror_mark: 0,
            mirror_gap: None,
        };
        store.migrate()?;
        store.reload_head()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn sql_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The file's schema version; one newer than this build knows is refused.
    fn schema_version(&self) -> Result<i64, StoreError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.sql_err(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.display().to_string(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        Ok(version)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version = self.schema_version()?;
        if version < 1 {
            self.conn
                .execute_batch(
                    "BEGIN IMMEDIATE;
                     CREATE TABLE IF NOT EXISTS records (
                         seq   INTEGER PRIMARY KEY,
                         topic TEXT NOT NULL,
                         at    TEXT NOT NULL,
                         body  TEXT NOT NULL,
                         prev  BLOB NOT NULL,
                         hash  BLOB NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS snapshots (
                         record_seq    INTEGER PRIMARY KEY,
                         state_version INTEGER NOT NULL,
                         state         TEXT NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS meta (
                         key   TEXT PRIMARY KEY,
                         value TEXT NOT NULL
                     );
                     PRAGMA user_version = 1;
                     COMMIT;",
                )
                .map_err(|e| self.sql_err(e))?;
        }
        // The item index came later, beside the records (`items.rs`), and the snapshots'
        // second part (`snapshot.rs`).
        self.create_item_tables()?;
        self.create_snapshot_parts()
    }

    fn reload_head(&mut self) -> Result<(), StoreError> {
        let head: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        match head {
            None => {
                self.head_seq = 0;
                self.head_hash = GENESIS;
            }
            Some((seq, hash)) => {
                self.head_seq = seq as u64;
                self.head_hash = hash
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt {
                        path: self.path.display().to_string(),
                        message: format!("record {seq} has a hash of {} bytes", hash.len()),
                    })?;
            }
        }
        Ok(())
    }

    /// The sequence number and hash of the last record.
    pub fn head(&self) -> (u64, Hash) {
        (self.head_seq, self.head_hash)
    }

    /// The cross-process write lock (an exclusive `flock` on `.overlord/write.lock`): held
    /// for a whole append, from catching up to the last mirror line.
    fn lock(&self) -> Result<(), StoreError> {
        let Some(lock_file) = &self.lock_file else {
            return Err(StoreError::ReadOnly {
                path: self.path.display().to_string(),
                why: self.read_only.clone().unwrap_or_default(),
            });
        };
        lock_file.lock().map_err(|e| StoreError::Io {
            path: self.lock_path.display().to_string(),
            message: format!("could not take the write lock: {e}"),
        })
    }

    fn unlock(&self) {
        let Some(lock_file) = &self.lock_file else {
            return;
        };
        if let Err(e) = lock_file.unlock() {
            tracing::warn!(error = %e, "could not release the write lock");
        }
    }

    /// Takes the write lock (waiting for other writers) and opens the write transaction.
    /// Refused when the chain does not reach its anchors (`anchor.rs`).
    pub fn begin_write(&mut self) -> Result<WriteGuard<'_>, StoreError> {
        let guard = self.begin_unanchored()?;
        guard.store.check_anchors()?;
        Ok(guard)
    }

    /// `begin_write` without the anchor check: only for accepting a loss (`writable.rs`).
    fn begin_unanchored(&mut self) -> Result<WriteGuard<'_>, StoreError> {
        self.lock()?;
        // From here on the guard's `Drop` releases the lock, whatever fails.
        let mut guard = WriteGuard {
            store: self,
            open: false,
        };
        guard
            .store
            .conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| guard.store.sql_err(e))?;
        guard.open = true;
        guard.store.reload_head()?;
        if let Some(gap) = guard.store.mirror_gap {
            let records = guard.store.records_after(gap.saturating_sub(1))?;
            if guard.store.mirrors.repair(&records).is_ok() {
                guard.store.mirror_gap = None;
            }
        }
        Ok(guard)
    }

    /// Records with `seq > after`, oldest first.
    pub fn records_after(&self, after: u64) -> Result<Vec<StoredRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, topic, at, body, prev, hash FROM records WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([after as i64], row_to_record)
            .map_err(|e| self.sql_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let record = row.map_err(|e| self.sql_err(e))?;
            out.push(record.map_err(|message| StoreError::Corrupt {
                path: self.path.display().to_string(),
                message,
            })?);
        }
        Ok(out)
    }

    /// Events stored after record `after`, for catching up and replay.
    pub fn event_bodies_after(&self, after: u64) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body FROM records WHERE seq > ?1 AND topic IN ('event','concern','handoff','git') ORDER BY seq",
            )
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([after as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_err(e))
    }

    /// The newest `n` events, newest first: a reverse scan of the records' key that stops
    /// after `n` events, however long the history (the console's activity log at start).
    pub fn last_event_bodies(&self, n: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(LAST_EVENTS)
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([n.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_err(e))
    }

    /// Writes data derived from the trail (a snapshot, the item index) in one transaction of
    /// its own, where the store may be written at all.
    pub(crate) fn write_derived(
        &mut self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        if let Some(e) = self.write_blocker() {
            return Err(e);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Sqlite {
                path: self.path.display().to_string(),
                source: e,
            })?;
        let res = write(&tx).and_then(|()| tx.commit());
        res.map_err(|e| self.sql_err(e))
    }

    pub fn record_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sql_err(e))
    }

    pub fn mirror_dir(&self) -> &Path {
        self.mirrors.dir()
    }

    /// Brings the JSONL mirrors level with the database after a crash between a commit and
    /// its mirror write (or a writer that died): appends what is missing, drops a torn line.
    pub fn repair_mirrors(&mut self) -> Result<(), StoreError> {
        // Under the lock: a writer between its commit and its mirror lines must finish first.
        self.lock()?;
        let result = self.repair_mirrors_locked();
        self.unlock();
        result
    }

    fn repair_mirrors_locked(&mut self) -> Result<(), StoreError> {
        self.reload_head()?;
        let through: u64 = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'mirrored_through'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.mirror_mark = through;
        if through >= self.head_seq {
            return Ok(());
        }
        let records = self.records_after(through)?;
        self.mirrors.repair(&records).map_err(|e| StoreError::Io {
            path: self.mirrors.dir().display().to_string(),
            message: e.to_string(),
        })
    }
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredRecord, String>> {
    let seq = r.get::<_, i64>(0)? as u64;
    let topic: String = r.get(1)?;
    let prev: Vec<u8> = r.get(4)?;
    let hash: Vec<u8> = r.get(5)?;
    let Some(topic) = Topic::parse(&topic) else {
        return Ok(Err(format!("record {seq} has an unknown topic '{topic}'")));
    };
    let (Ok(prev), Ok(hash)) = (
        <Hash>::try_from(prev.as_slice()),
        <Hash>::try_from(hash.as_slice()),
    ) else {
        return Ok(Err(format!("record {seq} has a malformed hash")));
    };
    Ok(Ok(StoredRecord {
        seq,
        topic,
        at: r.get(2)?,
        body: r.get(3)?,
        prev,
        hash,
    }))
}

impl WriteGuard<'_> {
    pub fn store(&self) -> &Store {
        self.store
    }

    /// The head as the database has it now (other processes may have appended).
    pub fn head(&self) -> (u64, Hash) {
        self.store.head()
    }

    /// Appends records to the chain inside the open transaction; returns them as stored.
    pub fn append(&mut self, records: &[NewRecord]) -> Result<Vec<StoredRecord>, StoreError> {
        let store = &mut *self.store;
        let mut stmt = store
            .conn
            .prepare_cached(
                "INSERT INTO records (seq, topic, at, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(|e| StoreError::Sqlite {
                path: store.path.display().to_string(),
                source: e,
            })?;
        let mut out = Vec::with_capacity(records.len());
        let (mut seq, mut prev) = (store.head_seq, store.head_hash);
        for r in records {
            seq += 1;
            let hash = hash_record(&prev, seq, r.topic, &r.at, &r.body);
            stmt.execute(params![
                seq as i64,
                r.topic.as_str(),
                r.at,
                r.body,
                &prev[..],
                &hash[..]
            ])
            .map_err(|e| StoreError::Sqlite {
                path: store.path.display().to_string(),
                source: e,
            })?;
            out.push(StoredRecord {
                seq,
                topic: r.topic,
                at: r.at.clone(),
                body: r.body.clone(),
                prev,
                hash,
            });
            prev = hash;
        }
        drop(stmt);
        store.head_seq = seq;
        store.head_hash = prev;
        Ok(out)
    }

    /// Makes the appended records durable, then writes their JSONL mirror lines (still under
    /// the lock, so mirror lines from two processes never interleave out of order). Once the
    /// database has committed, the write has happened: a mirror that cannot be written is
    /// logged and repaired by the next write or the next open, never reported as a failure.
    pub fn commit(mut self, appended: &[StoredRecord]) -> Result<(), StoreError> {
        let first = appended
            .first()
            .map(|r| r.seq)
            .unwrap_or(self.store.head_seq + 1);
        let complete_through = first - 1;
        if self.store.mirror_gap.is_none()
            && complete_through >= self.store.mirror_mark + MIRROR_MARK_EVERY
        {
            // The mirrors were complete before this write (catch-up repairs them under the
            // lock), so this transaction can record that without an extra sync.
            self.store.mirror_mark = complete_through;
            self.store
                .conn
                .execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('mirrored_through', ?1)",
                    [complete_through.to_string()],
                )
                .map_err(|e| self.store.sql_err(e))?;
        }
        self.store
            .conn
            .execute_batch("COMMIT")
            .map_err(|e| self.store.sql_err(e))?;
        self.open = false;
        let (seq, hash) = (self.store.head_seq, self.store.head_hash);
        self.store.anchors.record(&anchor::Head { seq, hash });
        if let Err(e) = self.store.mirrors.append(appended) {
            tracing::warn!(error = %e, first, "could not write the JSONL mirrors; will repair");
            self.store.mirror_gap.get_or_insert(first);
        }
        Ok(())
    }

    /// Repairs mirrors for records another process appended (it may have died before writing
    /// its mirror lines).
    pub fn repair_mirrors_for(&mut self, records: &[StoredRecord]) -> Result<(), StoreError> {
        self.store
            .mirrors
            .repair(records)
            .map_err(|e| StoreError::Io {
                path: self.store.mirrors.dir().display().to_string(),
                message: e.to_string(),
            })
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing was committed: undo the transaction and forget the appended head.
            let _ = self.store.conn.execute_batch("ROLLBACK");
            let _ = self.store.reload_head();
        }
        self.store.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The newest events come from a reverse walk of the records' key, never a sort of the
    /// whole table, whatever its size.
    #[test]
    fn the_newest_events_are_read_without_sorting_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorePaths::under(dir.path())).unwrap();
        let plan: Vec<String> = store
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {LAST_EVENTS}"))
            .unwrap()
            .query_map([5], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(plan.contains("SCAN records"), "{plan}");
    }
}
