//! What a run needs from the core, taken before it starts: the policy (the configured file,
//! or the defaults), the previous checkpoint's metrics, the open critical concerns and the
//! impact of the tasks going in.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::config::QaConfig;
use crate::core::engine::Core;
use crate::protocol::model::{Impact, QaMetrics, Severity};
use crate::qa::policy::{self, Policy};

/// What a caller needs to run the gates (taken from the core before the run).
pub struct QaContext {
    pub root: PathBuf,
    pub qa_dir: PathBuf,
    pub overlord_dir: PathBuf,
    pub config: QaConfig,
    pub policy: Policy,
    pub policy_file: String,
    pub previous: Option<(String, QaMetrics)>,
    pub open_critical: Vec<String>,
    pub impact: Option<(Impact, String)>,
    pub promotion: bool,
    pub cancel: Option<Arc<AtomicBool>>,
    /// The main branch: the dependency gate checks what the run's commit adds since it.
    pub main_branch: Option<String>,
    /// The registries the dependency gate asks (`[deps]`).
    pub registries: crate::deps::Registries,
    /// `[worktrees] setup_command` is set: it prepares the worktree, and Overlord does not
    /// install a Node project's dependencies itself.
    pub own_setup: bool,
    /// `[worktrees] setup_timeout_secs`, for the dependency install.
    pub setup_timeout: std::time::Duration,
}

/// The policy the core runs with: the configured file, or the defaults (with a warning)
/// when it does not exist. A malformed file is an error, located.
pub fn load_policy(core: &Core) -> Result<(Policy, String, Option<String>), String> {
    let rel = core.config.qa.policy.trim();
    let path = core.ws.root.join(if rel.is_empty() {
        ".overlord/QA_POLICY.yaml"
    } else {
        rel
    });
    let shown = core.ws.relative(&path);
    match policy::load_as(&path, &shown) {
        Ok((p, warning)) => Ok((p, shown, warning)),
        Err(errors) => Err(errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

impl QaContext {
    pub fn gather(
        core: &Core,
        promotion: bool,
        impact: Option<(Impact, String)>,
    ) -> Result<(QaContext, Option<String>), String> {
        let (policy, policy_file, warning) = load_policy(core)?;
        let state = core.state();
        let previous = state
            .checkpoints
            .iter()
            .rev()
            .find_map(|c| c.qa_run.map(|r| (c.name.clone(), r)))
            .and_then(|(name, r)| {
                state
                    .qa_runs
                    .iter()
                    .find(|q| q.id == r)
                    .map(|q| (name, q.metrics.clone()))
            });
        let open_critical = state
            .open_concerns()
            .filter(|c| c.severity == Severity::Critical)
            .map(|c| format!("{} ({})", c.id, c.summary))
            .collect();
        Ok((
            QaContext {
                root: core.ws.root.clone(),
                qa_dir: core.ws.dir.join("qa"),
                overlord_dir: core.ws.dir.clone(),
                config: core.config.qa.clone(),
                policy,
                policy_file,
                previous,
                open_critical,
                impact,
                promotion,
                cancel: None,
                main_branch: git2::Repository::open(&core.ws.root)
                    .ok()
                    .and_then(|r| crate::git::detect_main(&r, &core.config.git.main).ok()),
                registries: crate::deps::Registries::from_config(&core.config.deps, &core.ws.dir),
                own_setup: !core.config.worktrees.setup_command.trim().is_empty(),
                setup_timeout: std::time::Duration::from_secs(
                    core.config.worktrees.setup_timeout_secs.max(1),
                ),
            },
            warning,
        ))
    }
}

/// The highest impact among the tasks' high-impact variations and handoffs.
pub fn impact_of(core: &Core, tasks: &[String]) -> Option<(Impact, String)> {
    let state = core.state();
    let mut best: Option<(Impact, String)> = None;
    let mut consider = |i: Impact, what: String| {
        if best.as_ref().is_none_or(|(b, _)| i > *b) {
            best = Some((i, what));
        }
    };
    for v in state.variations.values() {
        if v.affects.iter().any(|a| tasks.contains(a)) {
            consider(v.impact, format!("variation {} ({})", v.id, v.title));
        }
    }
    for h in &state.handoffs {
        if let (Some(i), Some(t)) = (h.impact, &h.task) {
            if tasks.contains(t) {
                consider(i, format!("handoff {} on {t}", h.id));
            }
        }
    }
    best
}
