//! The orchestrator core: owns the state and the audit store. Every command goes through
//! `Core::execute`: take the write lock, catch up with what other processes appended,
//! decide (the lifecycle rules in `decide`), append command + events + response as one
//! transaction, then fold the events into the state and publish them. The core knows nothing
//! of any front end.
//!
//! Layers, lowest first (a module uses only those below it):
//! - `clock`, `failpoint`, `shell`, `worktree`, `plan`, `verify_git`, `diff`: leaves;
//! - `engine` (the `Core`: state, store, `emit`), `lock` (the operation lock), `concern`
//!   (raising a concern as the system), `doc_trees` (the status documents' and reports' trees);
//! - `qa` (running the gates) and `ops` (Save, rollback, recovery);
//! - `decide` (the lifecycle rules) and `execute` (`Core::execute`);
//! - `handle` (the core as an actor), `monitor`, `digest`, `ipc`, `metrics_serve`.

mod clock;
mod concern;
pub mod decide;
pub mod diff;
pub mod digest;
pub mod discovery;
mod doc_trees;
mod engine;
mod execute;
pub mod failpoint;
pub mod handle;
pub mod history;
pub mod identity;
pub mod ipc;
pub mod janitor;
pub mod lock;
pub mod metrics_reader;
pub mod metrics_serve;
pub mod monitor;
pub mod ops;
pub mod plan;
pub mod qa;
pub mod shell;
pub mod tickets;
pub mod verify_git;
pub mod worktree;

pub use clock::{now, parse_stamp, stamp};
pub use engine::{reads_concerns, Core, CoreError};
pub use handle::Handle;
