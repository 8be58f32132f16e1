//! The QA engine's pure parts: the policy file, the parsers of the tools' output, and the
//! evaluation of measured results against the policy. Running the gates (processes, the
//! integration worktree, events) lives in `core::qa`.

pub mod deps_gate;
pub mod evaluate;
pub mod parse;
pub mod policy;
pub mod promotion;
pub mod report;
pub mod results;
