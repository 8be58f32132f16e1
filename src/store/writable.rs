//! Whether the store may be written: opening it read-only where `.overlord/` cannot be
//! written (permissions, a read-only file system), and the check, before every write, that
//! its chain still reaches its anchors (`anchor.rs`).

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::anchor::{self, AnchorError};
use super::chain::{Hash, GENESIS};
use super::mirror::Mirrors;
use super::{Store, StoreError, StorePaths, SCHEMA_VERSION};

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
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| store.sql_err(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: store.path.display().to_string(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
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
        let conn = &self.conn;
        let mut anchors = self.anchors.clone();
        let verdict = anchors.check(self.head_seq, |seq| hash_at(conn, seq));
        verdict.err().map(StoreError::Anchor)
    }

    /// The anchors found and whether the chain reaches them (for `audit verify`; the notes
    /// are read afresh).
    pub fn anchor_report(&self) -> (Vec<anchor::AnchorView>, Result<(), AnchorError>) {
        let (found, trouble) = self.anchors.clone().all();
        let views = found.iter().map(|(h, s)| h.view(s.clone())).collect();
        let verdict = match trouble {
            Some(e) => Err(e),
            None => {
                let conn = &self.conn;
                anchor::judge(self.head_seq, &found, |seq| hash_at(conn, seq))
            }
        };
        (views, verdict)
    }

    /// Refuses a write when the chain does not reach its anchors.
    pub(super) fn check_anchors(&mut self) -> Result<(), StoreError> {
        let conn = &self.conn;
        Ok(self
            .anchors
            .check(self.head_seq, |seq| hash_at(conn, seq))?)
    }
}

/// The hash of record `seq`, if the store has it.
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
fn immutable_uri(db: &std::path::Path) -> String {
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
