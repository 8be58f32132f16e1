//! One test binary (link time on 2 cores matters); each module is one area.

mod common;

mod cli;
mod concurrency;
mod diff;
mod grammar;
mod layering;
mod lifecycle;
mod plan;
mod save;
mod store;
mod worktree;
