//! Whether the store may be written: opening it read-only where `.overlord/` cannot be
//! written (permissions, a read-only file system), the check, before every write, that its
//! chain still reaches its anchors (`anchor.rs`), and a human's acceptance of a loss.

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::anchor::Head;
use super::anchor::{self, AnchorError};
use super::chain::{Hash, GENESIS};
use super::mirror::Mirrors;
use super::{NewRecord, Store, StoreError, StorePaths, StoredRecord};

impl Store {
    /// Opens the store without writing anything: no lock file, no schema change, mirrors
    /// left alone. SQLite needs the WAL's `-shm` file; where it cannot create one and no
    /// `-wal` holds records, the file is opened as immutable.
    pub(super) fn open_read_only(paths: &StorePaths, why: String) -> Result<Store, StoreError> {
        let path = paths.db.clone();
        let shown = path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let probe =
            |c: &Connection| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()));
        let mut conn = Connection::open_with_flags(&path, flags).map_err(sql)?;
        if probe(&conn).is_err() && !wal_has_records(&path) {
            conn = Connection::open_with_flags(immutable_uri(&path), flags).map_err(sql)?;
        }
        probe(&conn).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        let mut store = Store {
            path,
            conn,
            head_seq: 0,
            head_hash: GENESIS,
            mirrors: Mirrors::read_only(&paths.audit_dir),
            lock_path: paths.write_lock.clone(),
            lock_file: None,
            read_only: Some(why),
            anchors: anchor::Anchors::new(paths.head_file.clone(), paths.git_dir.clone()),
            mirror_mark: 0,
            mirror_gap: None,
        };
        let version = store.schema_version()?;
        if version < 1 {
            return Err(StoreError::Corrupt {
                path: store.path.display().to_string(),
                message: "the store is empty (it has no tables) and cannot be set up read-only"
                    .into(),
            });
        }
        store.reload_head()?;
        Ok(store)
    }

    /// Why nothing may be written to this store, if so: it is read-only here, or its chain
    /// does not reach its anchors (the head file, the newest checkpoint note).
    pub fn write_blocker(&self) -> Option<StoreError> {
        if let Some(why) = &self.read_only {
            return Some(StoreError::ReadOnly {
                path: self.path.display().to_string(),
                why: why.clone(),
            });
        }
        let accepted = match self.accepted() {
            Ok(a) => a,
            Err(e) => return Some(e),
        };
        let conn = &self.conn;
        let mut anchors = self.anchors.clone();
        // The head as the database has it now (another process may have written since this
        // one opened the store), read after the anchors; the one read at open if it cannot be.
        let head = || head_now(conn).unwrap_or(self.head_seq);
        let verdict = anchors.check_fresh(head, &accepted, |seq| hash_at(conn, seq));
        verdict.err().map(StoreError::Anchor)
    }

    /// The anchors found and whether the chain reaches them (for `audit verify`; the notes
    /// are read afresh).
    pub fn anchor_report(&self) -> (Vec<anchor::AnchorView>, Result<(), AnchorError>) {
        let (mut found, trouble) = self.anchors.clone().all();
        let accepted = self.accepted().unwrap_or_default();
        found.retain(|(h, _)| !accepted.contains(h));
        let views = found.iter().map(|(h, s)| h.view(s.clone())).collect();
        let verdict = match trouble {
            Some(e) => Err(e),
            None => {
                let conn = &self.conn;
                // The head as the database has it now, read after the anchors: another
                // process may have written (and moved the anchors) since this one opened the
                // store, or while `audit verify` walked it.
                let head = head_now(conn).unwrap_or(self.head_seq);
                anchor::judge(head, &found, |seq| hash_at(conn, seq))
            }
        };
        (views, verdict)
    }

    /// Refuses a write when the chain does not reach its anchors.
    pub(super) fn check_anchors(&mut self) -> Result<(), StoreError> {
        let accepted = self.accepted()?;
        let conn = &self.conn;
        Ok(self
            .anchors
            .check(self.head_seq, &accepted, |seq| hash_at(conn, seq))?)
    }

    /// Anchors of a loss a human accepted (`meta('accepted_anchors')`): no longer checked.
    fn accepted(&self) -> Result<Vec<Head>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'accepted_anchors'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        Ok(text.map(|t| anchor::parse_accepted(&t)).unwrap_or_default())
    }

    /// Accepts that the records the anchors name are gone (`audit accept-loss`), in one
    /// transaction under the write lock: the anchors found now are recorded as accepted,
    /// snapshots past the head dropped, the item index unmarked (rebuilt at the next open),
    /// `records` (the acceptance event) appended. The old
    /// mirrors, which may hold lines of the lost records, are moved aside to
    /// `audit.lost-<head+1>-<anchor>/` and rebuilt from the store.
    pub fn accept_loss(&mut self, records: &[NewRecord]) -> Result<Vec<StoredRecord>, StoreError> {
        let (found, trouble) = self.anchors.clone().all();
        if let Some(e) = trouble {
            return Err(e.into());
        }
        let mut accepted = self.accepted()?;
        accepted.extend(found.iter().map(|(h, _)| *h));
        let mut guard = self.begin_unanchored()?;
        let store = &mut *guard.store;
        let head = store.head_seq;
        let to = found.iter().map(|(h, _)| h.seq).max().unwrap_or(head);
        let sql = |store: &Store, e| store.sql_err(e);
        store
            .conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('accepted_anchors', ?1)",
                [anchor::render_accepted(&accepted)],
            )
            .map_err(|e| sql(store, e))?;
        store
            .conn
            .execute("DELETE FROM snapshots WHERE record_seq > ?1", [head as i64])
            .map_err(|e| sql(store, e))?;
        // The item index may name lost records, whose numbers the next records take: it no
        // longer reaches the head, so it is not marked further and the next open that may
        // write rebuilds it from a replay (`items.rs`).
        store
            .conn
            .execute("DELETE FROM meta WHERE key = 'items_through'", [])
            .map_err(|e| sql(store, e))?;
        store
            .conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('mirrored_through', ?1)",
                [head.to_string()],
            )
            .map_err(|e| sql(store, e))?;
        let dir = store.mirrors.dir().to_path_buf();
        let aside = dir.with_file_name(format!("audit.lost-{}-{to}", head + 1));
        let io = |e: std::io::Error| StoreError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        };
        if dir.exists() && !aside.exists() {
            std::fs::rename(&dir, &aside).map_err(io)?;
        }
        store.mirrors = Mirrors::new(&dir).map_err(io)?;
        let kept = store.records_after(0)?;
        store.mirrors.repair(&kept).map_err(io)?;
        store.mirror_mark = head;
        let appended = guard.append(records)?;
        guard.commit(&appended)?;
        Ok(appended)
    }
}

/// The hash of record `seq`, if the store has it.
/// The sequence number of the newest record in the database (0 when it has none).
fn head_now(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|s| s as u64)
}

fn hash_at(conn: &Connection, seq: u64) -> Result<Option<Hash>, String> {
    let hash: Option<Vec<u8>> = conn
        .query_row(
            "SELECT hash FROM records WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())?;
    Ok(hash.and_then(|h| Hash::try_from(h.as_slice()).ok()))
}

/// Whether the WAL file beside the database holds anything (then an immutable open, which
/// ignores it, would miss committed records).
fn wal_has_records(db: &std::path::Path) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0)
}

/// `file:<path>?immutable=1`, with the characters a URI gives meaning to escaped.
pub(super) fn immutable_uri(db: &std::path::Path) -> String {
    let mut uri = String::from("file:");
    for c in db.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => uri.push_str(&format!("%{:02X}", c as u32)),
            _ => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}
