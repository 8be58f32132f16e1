//! What `/promote <phase>` would tag and move, checked against the repository before anything
//! is decided: the version tag (`[git] version_tag`, a valid name that does not exist yet) and
//! the release branch (`[git] release_branch`, a valid name, created or fast-forwarded to
//! main's tip, never rewound, not checked out in the user's work tree). Every problem is
//! named; the phase's own rules (tasks integrated, no critical concern) are `decide`'s.

use git2::{Oid, Repository};

use crate::core::engine::Core;
use crate::git;
use crate::protocol::model::{CheckpointKind, GitSession, PromotionTarget};

/// The default `[git] version_tag` (seed 000 §14: `v0.1.0-phase0`, `v0.2.0-phase1-qa`).
pub const DEFAULT_VERSION_TAG: &str = "v0.{n}.0-{phase}";

/// The version tag for the `n`th promotion, of `phase`.
pub fn version_tag(template: &str, n: usize, phase: &str) -> String {
    let t = template.trim();
    let t = if t.is_empty() { DEFAULT_VERSION_TAG } else { t };
    t.replace("{n}", &n.to_string()).replace("{phase}", phase)
}

/// The promotion's target and every reason the repository refuses it.
pub(super) fn check(
    core: &Core,
    repo: &Repository,
    session: &GitSession,
    main_tip: Oid,
    phase: &str,
) -> (PromotionTarget, Vec<String>) {
    let mut refusals = Vec::new();
    let n = core
        .state
        .checkpoints
        .iter()
        .filter(|c| c.kind == CheckpointKind::Promotion)
        .count()
        + 1;
    let tag = version_tag(&core.config.git.version_tag, n, phase);
    check_tag(repo, &tag, &mut refusals);
    let configured = core.config.git.release_branch.trim();
    let release_branch = if configured.is_empty() {
        session.main.clone()
    } else {
        configured.to_string()
    };
    let release_before = if release_branch == session.main {
        Some(main_tip.to_string())
    } else {
        check_release(repo, &release_branch, main_tip, &mut refusals)
    };
    (
        PromotionTarget {
            phase: phase.to_string(),
            commit: main_tip.to_string(),
            tag,
            release_branch,
            release_before,
        },
        refusals,
    )
}

fn check_tag(repo: &Repository, tag: &str, refusals: &mut Vec<String>) {
    let refname = format!("refs/tags/{tag}");
    if !git2::Reference::is_valid_name(&refname) || tag.starts_with('-') {
        refusals.push(format!(
            "the version tag '{}' is not a valid tag name (check `[git] version_tag`)",
            tag.escape_debug()
        ));
        return;
    }
    if tag.starts_with("checkpoint/") {
        refusals.push(format!(
            "the version tag '{tag}' would be taken for a checkpoint tag (check `[git] version_tag`)"
        ));
        return;
    }
    if let Ok(Some(at)) = git::ref_target(repo, &refname) {
        let commit = repo
            .find_object(at, None)
            .and_then(|o| o.peel_to_commit())
            .map(|c| git::short(&c.id().to_string()).to_string())
            .unwrap_or_else(|_| git::short(&at.to_string()).to_string());
        refusals.push(format!(
            "the tag {tag} already exists (on {commit}); Overlord never moves or replaces a tag: delete it yourself or change `[git] version_tag`"
        ));
    }
}

/// A release branch other than main: where it is now (`None`: it is created).
fn check_release(
    repo: &Repository,
    branch: &str,
    main_tip: Oid,
    refusals: &mut Vec<String>,
) -> Option<String> {
    if let Err(e) = git::check_branch_name(branch) {
        refusals.push(format!(
            "the release branch is not a usable branch name ({e}; check `[git] release_branch`)"
        ));
        return None;
    }
    if let Ok(Some(head)) = git::head_branch(repo) {
        if head == branch {
            refusals.push(format!(
                "the release branch {branch} is checked out in your work tree; switch to another branch first (its files would not follow)"
            ));
        }
    }
    let before = match git::branch_tip(repo, branch) {
        Ok(b) => b,
        Err(e) => {
            refusals.push(format!("the release branch {branch} cannot be read: {e}"));
            return None;
        }
    };
    if let Some(b) = before {
        let behind = b == main_tip || repo.graph_descendant_of(main_tip, b).unwrap_or(false);
        if !behind {
            refusals.push(format!(
                "the release branch {branch} ({}) has commits main does not have: moving it to main would rewind it, which Overlord never does; merge them into main or move {branch} yourself",
                git::short(&b.to_string())
            ));
        }
    }
    before.map(|b| b.to_string())
}
