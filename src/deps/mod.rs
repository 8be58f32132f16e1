//! Dependencies: what the project's manifests declare (`manifest`, `version`), what the public
//! registries say about them (`registry`, `http`, with an on-disk cache for offline answers),
//! the hallucinated-dependency check of a change (`check`), the watchdog's findings
//! (`watchdog`) and the janitor that updates them one at a time (`janitor`).

pub mod check;
pub mod cron;
mod http;
pub mod janitor;
pub mod manifest;
pub mod registry;
pub mod version;
pub mod watchdog;

pub use check::{check_change, CheckedDep, DepsReport, Verdict};
pub use manifest::{Dependency, Ecosystem};
pub use registry::{Answer, Lookup, Package, Published, Registries};
