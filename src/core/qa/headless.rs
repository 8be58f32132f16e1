//! A headless QA run (`overlord-tui qa`): on the integration branch's tip (or, with no
//! session yet, on HEAD, in a detached worktree; a promotion run on main's tip), under the
//! operation lock, recorded with its concerns. `/promote` runs its gates through the same
//! `qa_on`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::concerns;
use super::context::QaContext;
use super::detect::prepare;
use super::record::QaOutput;
use super::run::run;
use crate::core::engine::Core;
use crate::protocol::event::EventKind;
use crate::protocol::model::QaRunId;

/// How a headless QA run goes (`overlord-tui qa`).
#[derive(Default)]
pub struct QaOptions {
    /// Apply the promotion policy on main's tip (the decision then always asks the human,
    /// and `qa::promotion::verdict` says whether a promotion would pass).
    pub promotion: bool,
    /// Set to stop the running gate (Ctrl-C).
    pub cancel: Option<Arc<AtomicBool>>,
}

/// A headless run's result and what the user should know about it.
pub struct Headless {
    pub output: QaOutput,
    /// What was checked (`integration branch …`, `HEAD …`).
    pub target: String,
    pub warnings: Vec<String>,
    /// For a promotion run: whether a promotion of this tree passes (`qa::promotion`).
    pub promotion: Option<crate::qa::promotion::PromotionVerdict>,
}

/// A worktree of `commit` at `.overlord/integration`, detached (no session yet).
fn detached_worktree(
    core: &Core,
    repo: &git2::Repository,
    commit: git2::Oid,
) -> Result<PathBuf, String> {
    let path = core.ws.dir.join("integration");
    let open = git2::Repository::open(&path)
        .ok()
        .filter(|r| r.is_worktree());
    let fresh = open.is_none();
    let wt = match open {
        Some(r) => r,
        None => {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            let name = "overlord-qa";
            if let Ok(old) = repo.find_worktree(name) {
                let mut o = git2::WorktreePruneOptions::new();
                o.valid(true).working_tree(true);
                let _ = old.prune(Some(&mut o));
            }
            // libgit2 adds a worktree on a branch; the branch is dropped once it is detached.
            let branch_name = "overlord-qa-worktree";
            let c = repo.find_commit(commit).map_err(|e| e.to_string())?;
            let branch = repo
                .branch(branch_name, &c, true)
                .map_err(|e| e.to_string())?;
            let mut opts = git2::WorktreeAddOptions::new();
            opts.reference(Some(branch.get()));
            let added = repo
                .worktree(name, &path, Some(&opts))
                .map_err(|e| e.to_string());
            let wt = added.and_then(|_| git2::Repository::open(&path).map_err(|e| e.to_string()));
            if let Ok(wt) = &wt {
                let _ = wt.set_head_detached(commit);
            }
            if let Ok(mut b) = repo.find_branch(branch_name, git2::BranchType::Local) {
                let _ = b.delete();
            }
            wt?
        }
    };
    let target = wt.find_commit(commit).map_err(|e| e.to_string())?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.force().remove_untracked(true);
    wt.checkout_tree(target.as_object(), Some(&mut co))
        .map_err(|e| e.to_string())?;
    wt.set_head_detached(commit).map_err(|e| e.to_string())?;
    if fresh {
        crate::core::worktree::run_setup(
            &core.ws.root,
            "integration",
            &path,
            &core.config.worktrees.setup(),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(path)
}

impl Core {
    /// Runs the QA gates headlessly on the integration branch's tip (or, with no session
    /// yet, on HEAD), records the run and raises its concerns. A promotion run checks main's
    /// tip, as `/promote` does.
    pub fn run_qa(&mut self, opts: QaOptions) -> Result<Headless, String> {
        let _lock = crate::core::lock::OperationLock::acquire(&self.ws, crate::core::lock::LOCK_GRACE)
            .map_err(|e| format!("cannot take the operation lock: {e}"))?
            .ok_or("another operation (a Save, a rollback or a QA run) is running; try again when it finishes")?;
        let _ = self.refresh();
        let repo = crate::git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let session = self.state().git.clone();
        let main_tip = |s: &crate::protocol::model::GitSession| {
            crate::git::ref_target(&repo, &s.main_ref())
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the main branch {} has no commit", s.main))
        };
        let (commit, target) = match &session {
            Some(s) if opts.promotion => (
                main_tip(s)?,
                format!("{} (what a promotion promotes)", s.main),
            ),
            Some(s) => {
                let integ = format!("refs/heads/{}", s.integration_branch());
                match crate::git::ref_target(&repo, &integ).map_err(|e| e.to_string())? {
                    Some(c) => (
                        c,
                        format!("the integration branch {}", s.integration_branch()),
                    ),
                    None => (main_tip(s)?, format!("{} (nothing integrated yet)", s.main)),
                }
            }
            None => {
                let head = repo
                    .head()
                    .ok()
                    .and_then(|h| h.peel_to_commit().ok())
                    .ok_or("the repository has no commit to check (HEAD is unborn)")?;
                (head.id(), "HEAD (no session yet)".to_string())
            }
        };
        self.qa_on(&repo, commit, target, opts)
    }

    /// The QA gates on `commit`, recorded with their concerns; the caller holds the
    /// operation lock (`run_qa`, or the promotion operation that runs them).
    pub(crate) fn qa_on(
        &mut self,
        repo: &git2::Repository,
        commit: git2::Oid,
        target: String,
        opts: QaOptions,
    ) -> Result<Headless, String> {
        let session = self.state().git.clone();
        let tree = repo
            .find_commit(commit)
            .map_err(|e| e.to_string())?
            .tree_id()
            .to_string();
        let promotion = opts.promotion;
        let (mut ctx, warning) = QaContext::gather(self, promotion, None)?;
        ctx.cancel = opts.cancel;
        let prepared = prepare(&ctx, &commit.to_string());
        // The integration worktree follows the integration branch: with none yet (no Save),
        // a detached one.
        let integrated = session.as_ref().filter(|s| {
            crate::git::branch_tip(repo, &s.integration_branch())
                .ok()
                .flatten()
                .is_some()
        });
        let dir = match integrated {
            _ if !prepared.runs_anything() => self.ws.root.clone(),
            Some(s) => crate::core::ops::integration_worktree(self, repo, s, commit)
                .map_err(|e| e.to_string())?,
            None => detached_worktree(self, repo, commit)?,
        };
        let id = QaRunId(self.state().counters.qa_runs + 1);
        let mut failed_emit = None;
        let output = run(
            &ctx,
            prepared,
            &dir,
            &commit.to_string(),
            &tree,
            id,
            &mut |ev| {
                if let Err(e) = self.emit(crate::core::ops::ACTOR, vec![ev]) {
                    failed_emit.get_or_insert(e.to_string());
                }
            },
        )?;
        if let Some(e) = failed_emit {
            tracing::error!(error = %e, "could not record QA progress");
        }
        self.emit(
            crate::core::ops::ACTOR,
            vec![EventKind::QaRunRecorded {
                run: output.run.clone(),
            }],
        )
        .map_err(|e| e.to_string())?;
        concerns::after_qa_run(self, &output.run, &format!("QA on {target}"));
        Ok(Headless {
            promotion: promotion.then(|| crate::qa::promotion::verdict(&output.record.evaluation)),
            output,
            target: format!("{target} at {}", crate::git::short(&commit.to_string())),
            warnings: warning.into_iter().collect(),
        })
    }
}
