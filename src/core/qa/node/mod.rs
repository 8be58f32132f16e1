//! JavaScript and TypeScript projects in the QA engine: the project's root read
//! (`project`), its package manager detected and reached (`pm`), its dependencies installed
//! in Overlord's worktrees (`install`), the gates' default commands and environment
//! (`gates`), and the per-test results the QA hook (`hook.cjs`) collected (`runs`).

pub mod gates;
pub mod install;
pub mod pm;
pub mod project;
pub mod runs;
pub mod setup;

pub use install::{install_worktree, InstallStep};
pub use project::NodeProject;
