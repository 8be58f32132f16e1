//! Running the QA gates: detecting the project's tools, running each gate's command in the
//! integration worktree (timeouts, cancellation, live progress), reading the results from
//! the tools' own output, and keeping everything a run needs to be re-checked later under
//! `.overlord/qa/QA-<n>/` (`run.json`, each attempt's output and reports, the Markdown
//! reports). The verdict itself is `qa::evaluate`, which is pure.
//!
//! Rooms: `detect` (the project and each gate's command), `context` (what a run needs from
//! the core), `runner` (one attempt of a gate), `results` (reading what it left), `run` (a
//! whole run, with the reproducibility repeats), `record` (what is kept), `reports`, `show`
//! (re-checking a stored run), `headless` (`overlord-tui qa`), `concerns` (the tester's
//! concerns after a run).

mod concerns;
mod context;
mod dependencies;
mod detect;
mod format;
mod headless;
pub mod node;
mod record;
mod reports;
mod results;
mod run;
mod runner;
mod show;

pub(crate) use concerns::after_qa_run;
pub use context::{impact_of, load_policy, QaContext};
pub use detect::{detect, detect_in_commit, prepare, tests_command, Format, Planned, Prepared};
pub use headless::{Headless, QaOptions};
pub use record::{Attempt, QaOutput, RunRecord};
pub use reports::{summary, OWN_REPORTS};
pub use results::{read_attempt, ParsedAttempt};
pub use run::run;
pub use show::{show, Shown};
