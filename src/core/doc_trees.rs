//! The trees a Save's documents commit and the daily digest's commit write: `docs/` with the
//! status documents (`docs/PROJECT_*.md`) generated from the state and, with a Save, its QA
//! run's reports (`docs/QA_REPORT.md`, `docs/TEST_RESULTS*.md`), and `reports/` with what
//! `.overlord/reports/` holds.

use std::path::Path;

use git2::{Oid, Repository, Tree};

/// The directory `name` of `tree`, when it has one.
fn subtree<'r>(
    repo: &'r Repository,
    tree: Option<&Tree<'_>>,
    name: &str,
) -> Result<Option<Tree<'r>>, git2::Error> {
    tree.and_then(|t| t.get_name(name))
        .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
        .map(|e| repo.find_tree(e.id()))
        .transpose()
}

/// The `docs/` tree: `root`'s with the status documents (`docs/PROJECT_*.md`) generated from
/// `state` written over it — as of the checkpoint `cp` describes, when there is one — and the
/// QA run's reports (`QA_REPORT.md`, `TEST_RESULTS.md`, `TEST_RESULTS_DETAIL.md`) that
/// `qa_run_dir` holds (`.overlord/qa/<run>/`), when given.
pub(crate) fn documents_tree(
    repo: &Repository,
    root: &Tree<'_>,
    state: &crate::protocol::State,
    cp: Option<&crate::protocol::documents::Checkpointing<'_>>,
    qa_run_dir: Option<&Path>,
) -> Result<Oid, git2::Error> {
    let old = subtree(repo, Some(root), "docs")?;
    let mut docs = repo.treebuilder(old.as_ref())?;
    for (name, text) in crate::protocol::documents::render_at(state, cp) {
        docs.insert(name, repo.blob(text.as_bytes())?, 0o100644)?;
    }
    for name in crate::core::qa::OWN_REPORTS {
        let Some(path) = qa_run_dir.map(|d| d.join(name)).filter(|p| p.is_file()) else {
            continue;
        };
        docs.insert(name, repo.blob_path(&path)?, 0o100644)?;
    }
    docs.write()
}

/// The `reports/` tree: `base`'s (when it has one) with every file of `.overlord/reports/`
/// (`DAILY_*.md` and `audit/AUDIT_*.jsonl`) written over it. `None` when there is nothing.
pub(crate) fn reports_tree(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    dir: &Path,
) -> Result<Option<Oid>, git2::Error> {
    let old = subtree(repo, base, "reports")?;
    let old_audit = subtree(repo, old.as_ref(), "audit")?;
    let mut top = repo.treebuilder(old.as_ref())?;
    let mut audit = repo.treebuilder(old_audit.as_ref())?;
    let files = |d: &Path, prefix: &str, suffix: &str| -> Vec<(String, std::path::PathBuf)> {
        let mut out: Vec<_> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                (name.starts_with(prefix) && name.ends_with(suffix) && e.path().is_file())
                    .then(|| (name, e.path()))
            })
            .collect();
        out.sort();
        out
    };
    for (name, path) in files(dir, "DAILY_", ".md") {
        let blob = repo.blob_path(&path)?;
        top.insert(&name, blob, 0o100644)?;
    }
    for (name, path) in files(&dir.join("audit"), "AUDIT_", ".jsonl") {
        let blob = repo.blob_path(&path)?;
        audit.insert(&name, blob, 0o100644)?;
    }
    if !audit.is_empty() {
        let t = audit.write()?;
        top.insert("audit", t, 0o040000)?;
    }
    if top.is_empty() {
        return Ok(None);
    }
    Ok(Some(top.write()?))
}
