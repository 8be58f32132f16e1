//! The operation lock (`.overlord/operation.lock`): one Save, rollback, QA run or digest
//! commit at a time, across processes.

use std::fs::File;
use std::time::Duration;

use crate::workspace::Workspace;

/// How long `/save`, `/rollback` and `qa` wait for the operation lock before saying another
/// operation is running (see `OperationLock::acquire`).
pub const LOCK_GRACE: Duration = Duration::from_secs(1);

/// Holds `.overlord/operation.lock` for as long as an operation runs.
#[derive(Debug)]
pub struct OperationLock {
    _file: File,
}

impl OperationLock {
    /// Like [`OperationLock::try_acquire`], but a lock that frees up within `grace` is taken.
    /// A child this process is starting (a gate command, an agent) holds a copy of the lock
    /// file's descriptor from `fork` until its `exec` closes it, and `flock` locks belong to the
    /// open file: for that instant after an operation ends, the lock still looks held.
    pub fn acquire(ws: &Workspace, grace: Duration) -> std::io::Result<Option<OperationLock>> {
        let until = std::time::Instant::now() + grace;
        loop {
            match OperationLock::try_acquire(ws)? {
                Some(lock) => return Ok(Some(lock)),
                None if std::time::Instant::now() >= until => return Ok(None),
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// `Ok(None)` when another process holds it.
    pub fn try_acquire(ws: &Workspace) -> std::io::Result<Option<OperationLock>> {
        let path = ws.dir.join("operation.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(OperationLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}
