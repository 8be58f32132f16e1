//! The agents' kernel sandbox (issue 19 §3, docs/governance.md "The sandbox"). Every agent CLI
//! is started through `overlord-tui sandbox-exec`, which restricts itself with a Landlock
//! ruleset and then execs the CLI, so the CLI and everything it starts can write only what
//! the ruleset grants: the task's worktree, its branch's ref directory and reflog, the
//! worktree's admin directory, the git object store, a tmp folder of its own, the CLI's
//! state folders, a few device files and configured extra paths. Reading stays broad.
//!
//! `policy` decides what one run may write and how the wrapper is invoked; `kernel` asks the
//! kernel what it supports and applies a policy (the `landlock` crate); `denials` finds, in
//! what an agent printed, the writes the sandbox refused.

pub mod denials;
pub mod kernel;
pub mod policy;

pub use denials::{denied_write, Denials};
pub use kernel::{confine, probe, standing_warning, Confinement, Support, PRETEND_NO_LANDLOCK};
pub use policy::{expand_home, policy_for, wrap, Grants, Policy};
