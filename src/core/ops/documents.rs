//! The documents commit of a Save: the PM's status documents (`docs/PROJECT_*.md`), generated
//! from the state once the QA gate has given its verdict, with that run's reports
//! (`docs/QA_REPORT.md`, `docs/TEST_RESULTS.md`, `docs/TEST_RESULTS_DETAIL.md`) and the daily
//! reports, committed on the integration branch just before the checkpoint is published.

use git2::{Oid, Repository};

use super::step::OpResult;
use crate::core::doc_trees::{documents_tree, reports_tree};
use crate::core::engine::Core;
use crate::git;
use crate::protocol::documents::Checkpointing;
use crate::protocol::model::{GitSession, Operation, Role};

/// Writes the status documents, as of the checkpoint `cp` describes (its own QA run), and that
/// run's reports under `docs/`, as a commit on `parent`; `None` when they are already up to
/// date. Only `docs/` and `reports/` change: the code is the tree the gate checked (or the
/// human approved).
pub(super) fn commit_documents(
    core: &Core,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    parent: Oid,
    cp: &Checkpointing<'_>,
) -> OpResult<Option<Oid>> {
    let parent_commit = repo.find_commit(parent)?;
    let root = parent_commit.tree()?;
    let run_dir = core.ws.dir.join("qa").join(cp.qa_run.to_string());
    let cp = Checkpointing {
        reports: crate::core::qa::OWN_REPORTS
            .iter()
            .any(|n| run_dir.join(n).is_file()),
        ..*cp
    };
    let docs = documents_tree(repo, &root, &core.state, Some(&cp), Some(&run_dir))?;
    let mut changed = Some(docs) != root.get_name("docs").map(|e| e.id());
    // The daily digests (`.overlord/reports/`): the integration branch they were committed on
    // is rebuilt from main by this Save, so they come along here.
    let reports = reports_tree(repo, Some(&root), &core.ws.dir.join("reports"))?;
    let reports_changed = reports.is_some() && reports != root.get_name("reports").map(|e| e.id());
    changed |= reports_changed;
    if !changed {
        return Ok(None);
    }
    let mut top = repo.treebuilder(Some(&root))?;
    top.insert("docs", docs, 0o040000)?;
    if let Some(r) = reports.filter(|_| reports_changed) {
        top.insert("reports", r, 0o040000)?;
    }
    let tree = top.write()?;
    let message = format!(
        "docs: project overview, detail and variations with QA {}{} at Save {}\n\n{}",
        cp.qa_run,
        if reports_changed {
            ", daily reports"
        } else {
            ""
        },
        op.id,
        git::trailers(Role::ProjectManager, op.audit_id, &sess.id)
    );
    let author = git::signature(Some(Role::ProjectManager))?;
    Ok(Some(git::commit(repo, tree, &[parent], &message, &author)?))
}
