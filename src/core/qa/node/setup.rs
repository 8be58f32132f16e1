//! A QA run's Node set-up, before its gates: the package manager reached, the dependencies
//! installed in the QA worktree (unless `[worktrees] setup_command` prepares it), the QA
//! hook written next to the run, and the environment every gate gets.

use std::path::Path;

use super::gates::{environment, node_accepts_test_reporters, HOOK};
use super::install::{install, InstallOptions, InstallStep};
use super::pm::resolve;
use super::project::NodeProject;
use crate::core::qa::context::QaContext;

/// What the run's gates need from the Node set-up.
pub struct NodeSetup {
    /// The install step, when there was one to run.
    pub install: Option<InstallStep>,
    /// Every gate's extra environment.
    pub env: Vec<(String, String)>,
}

/// Prepares a Node project's run in `worktree` (the run's files go to `run_dir`); `None`
/// when the checked tree has no readable package.json.
pub fn prepare_run(
    ctx: &QaContext,
    worktree: &Path,
    run_dir: &Path,
    announce: &mut dyn FnMut(&str),
) -> Option<NodeSetup> {
    let project = NodeProject::read_dir(worktree)?;
    let shims = ctx.overlord_dir.join("cache").join("node-bin");
    let resolved = resolve(&project.pm, worktree, &shims);
    let install = if ctx.own_setup {
        None
    } else {
        let dir = run_dir.join("install");
        let _ = std::fs::create_dir_all(&dir);
        if project.has_dependencies() {
            announce(&project.pm.install_command());
        }
        install(
            &project,
            worktree,
            &resolved,
            &InstallOptions {
                timeout: Some(ctx.setup_timeout),
                cancel: ctx.cancel.as_deref(),
                log: Some(&dir.join("output.log")),
            },
        )
    };
    let hook = run_dir.join("overlord-qa-hook.cjs");
    let _ = std::fs::write(&hook, HOOK);
    let env = environment(
        worktree,
        resolved.as_ref().ok(),
        &hook,
        node_accepts_test_reporters(worktree),
    );
    Some(NodeSetup { install, env })
}
