//! The documents commit of a Save: the PM's status documents (`docs/PROJECT_*.md`), generated
//! from the state, and the daily reports, committed on the integration branch.

use git2::{Oid, Repository};

use super::step::OpResult;
use crate::core::doc_trees::{documents_tree, reports_tree};
use crate::core::engine::Core;
use crate::git;
use crate::protocol::model::{ApprovalKind, Decision, GitSession, Operation, Role};

/// Writes `docs/PROJECT_OVERVIEW.md`, `PROJECT_DETAIL.md` and `PROJECT_VARIATIONS.md` from
/// the state as a commit on `parent`; `None` when they are already up to date.
pub(super) fn commit_documents(
    core: &Core,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    parent: Oid,
) -> OpResult<Option<Oid>> {
    // The human approved a QA run of this very integration with its documents: commit that
    // run's tree again, so the Save publishes exactly the tree that was checked.
    let parent_tree = repo.find_commit(parent)?.tree_id();
    let state = core.state();
    let mut approved_tree = None;
    for a in state.approvals.values().rev() {
        let approved = matches!(
            a.decision,
            Some(Decision::Approved) | Some(Decision::ApprovedWithConditions)
        );
        if a.kind != ApprovalKind::Merge || !approved {
            continue;
        }
        approved_tree = state
            .qa_runs
            .iter()
            .filter(|r| r.id.to_string() == a.subject)
            .filter_map(|r| r.commit.as_deref().and_then(|c| Oid::from_str(c).ok()))
            .filter_map(|c| repo.find_commit(c).ok())
            .find(|c| {
                c.parent_count() == 1
                    && c.summary().is_some_and(|s| s.starts_with("docs: "))
                    && c.parent(0).is_ok_and(|p| p.tree_id() == parent_tree)
            })
            .map(|c| c.tree_id());
        if approved_tree.is_some() {
            break;
        }
    }
    let parent_commit = repo.find_commit(parent)?;
    let root = parent_commit.tree()?;
    let docs = documents_tree(repo, &root, &core.state)?;
    let mut changed = approved_tree.is_some_and(|t| t != root.id())
        || Some(docs) != root.get_name("docs").map(|e| e.id());
    // The daily digests (`.overlord/reports/`): the integration branch they were committed on
    // is rebuilt from main by this Save, so they come along here.
    let reports = reports_tree(repo, Some(&root), &core.ws.dir.join("reports"))?;
    let reports_changed = reports.is_some() && reports != root.get_name("reports").map(|e| e.id());
    changed |= reports_changed;
    if !changed {
        return Ok(None);
    }
    let tree = match approved_tree {
        Some(t) => t,
        None => {
            let mut top = repo.treebuilder(Some(&root))?;
            top.insert("docs", docs, 0o040000)?;
            if let Some(r) = reports.filter(|_| reports_changed) {
                top.insert("reports", r, 0o040000)?;
            }
            top.write()?
        }
    };
    let message = format!(
        "docs: project overview, detail and variations{} at Save {}\n\n{}",
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
