//! The history a Save (or an integration) needs of each finished task branch, walked once
//! per task and never down the integration branch it builds.
//!
//! Merging task after task makes the integration branch a growing chain of merge commits;
//! asking git for `merge_base(integration, tip)` and for the commits `tip` brings in over
//! the integration branch walks down that chain for every task (the Save's cost then grew
//! with the square of the branch count). When no two tasks share a commit outside main,
//! the integration branch adds to main's history only the other tasks' own commits and
//! merge commits, none an ancestor of `tip`: the common ancestors of the integration
//! branch and `tip` are then those of main as the Save found it and `tip`, and what `tip`
//! brings in is its own commits. So each task's own commits (`tip`, hiding main) are walked
//! once, and the merge bases taken against main. When two tasks share a commit (a task
//! that merged another's branch), or a task has several merge bases with main (a
//! criss-cross, where the first of them could be another one), that task is merged the
//! general way, against the integration branch as it stands.

use std::collections::HashMap;

use git2::{Oid, Repository};

/// What merging one task branch needs: the merge bases to merge against and the commits the
/// branch brings in (newest first, as `git log` lists them).
pub(super) struct TaskHistory {
    /// The merge bases; empty when the tip is already in (nothing new).
    pub(super) bases: Vec<Oid>,
    /// The commits the tip brings in; empty when it is already in.
    pub(super) commits: Vec<Oid>,
}

/// Each task's own commits over `main_before` (the tip, hiding main), or `None` when two
/// tasks share one: then the bases must be taken against the integration branch.
pub(super) fn own_commits(
    repo: &Repository,
    main_before: Oid,
    tips: &[Oid],
) -> Result<Option<Vec<Vec<Oid>>>, git2::Error> {
    let mut owner: HashMap<Oid, usize> = HashMap::new();
    let mut all = Vec::with_capacity(tips.len());
    for (i, &tip) in tips.iter().enumerate() {
        let commits = walk(repo, tip, main_before)?;
        for &c in &commits {
            if owner.insert(c, i).is_some() {
                return Ok(None);
            }
        }
        all.push(commits);
    }
    Ok(Some(all))
}

/// The history of task `tip` against the integration branch at `integ`: from its own
/// commits (`own`, from [`own_commits`]) when no task shares one, else walked against
/// `integ` itself.
pub(super) fn task_history(
    repo: &Repository,
    main_before: Oid,
    integ: Oid,
    tip: Oid,
    own: Option<&[Oid]>,
) -> Result<TaskHistory, git2::Error> {
    if let Some(own) = own {
        if own.is_empty() {
            // An ancestor of main, so of the integration branch: nothing new.
            return Ok(TaskHistory {
                bases: Vec::new(),
                commits: Vec::new(),
            });
        }
        let bases = merge_bases(repo, main_before, tip)?;
        if bases.len() == 1 {
            return Ok(TaskHistory {
                bases,
                commits: own.to_vec(),
            });
        }
    }
    // The general way, down the integration branch.
    let base = repo.merge_base(integ, tip)?;
    if base == tip {
        return Ok(TaskHistory {
            bases: Vec::new(),
            commits: Vec::new(),
        });
    }
    let mut bases = merge_bases(repo, integ, tip)?;
    // The base git names first leads (as `git merge-base` answers).
    bases.retain(|&b| b != base);
    bases.insert(0, base);
    Ok(TaskHistory {
        bases,
        commits: walk(repo, tip, integ)?,
    })
}

fn merge_bases(repo: &Repository, a: Oid, b: Oid) -> Result<Vec<Oid>, git2::Error> {
    match repo.merge_bases(a, b) {
        Ok(bases) => Ok(bases.iter().copied().collect()),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The commits reachable from `tip` and not from `hide`, in `git log`'s order.
fn walk(repo: &Repository, tip: Oid, hide: Oid) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    walk.hide(hide)?;
    walk.collect()
}
