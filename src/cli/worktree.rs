//! `overlord-tui worktree add|prune`: create (or find) and remove task worktrees
//! (`.overlord/worktrees/<task>`).

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{fail, Outcome};
use super::session::{load_config, workspace};
use crate::core::Core;

#[derive(Subcommand, Debug)]
pub enum WorktreeCmd {
    /// Create (or find) a task's worktree on session/<session>/task/<task>, prepared as
    /// [worktrees] in .overlord/config.toml says; prints its path
    Add { task: String },
    /// Remove a task's worktree (the branch stays); refused, with a concern, when it holds
    /// uncommitted work
    Prune { task: String },
}

pub(super) fn worktree(repo: &Option<PathBuf>, cmd: WorktreeCmd) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let mut core = Core::open(&ws, &config).map_err(fail)?;
    match cmd {
        WorktreeCmd::Add { task } => {
            let wt = core.open_task_worktree(&task).map_err(fail)?;
            println!("{}", wt.path.display());
            eprintln!(
                "{} worktree of {task} on {}",
                if wt.created {
                    "created the"
                } else {
                    "found the"
                },
                wt.branch
            );
            Ok(())
        }
        WorktreeCmd::Prune { task } => {
            core.prune_task_worktree(&task).map_err(fail)?;
            println!("removed the worktree of {task} (its branch stays)");
            Ok(())
        }
    }
}
