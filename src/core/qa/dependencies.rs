//! The dependency gate's measurement in a QA run: what the run's commit adds or changes in
//! its manifests since it left the main branch (or, on the main branch itself, since its
//! parent), each dependency looked up in its registry (`deps::check`).

use super::context::QaContext;
use crate::config::HallucinationCheck;
use crate::deps::check::{changed_dependencies, check_change, Target};
use crate::deps::DepsReport;
use crate::qa::evaluate::Measure;

pub fn measure(ctx: &QaContext, commit: &str) -> Measure<DepsReport> {
    let mode = ctx.config.hallucination_check;
    if mode == HallucinationCheck::Off {
        return Measure::NotMeasured("off ([qa] hallucination_check)".into());
    }
    let base = match base_of(ctx, commit) {
        Ok(b) => b,
        Err(why) => return Measure::NotMeasured(why),
    };
    match changed_dependencies(&ctx.root, &base.0, Target::Commit(commit)) {
        Ok(change) => Measure::Measured(check_change(&ctx.registries, mode, &base.1, change)),
        Err(e) => Measure::NotMeasured(format!("the change could not be read: {e}")),
    }
}

/// The commit to compare with, and how to name it.
fn base_of(ctx: &QaContext, commit: &str) -> Result<(String, String), String> {
    let repo = git2::Repository::open(&ctx.root).map_err(|e| e.message().to_string())?;
    let head = git2::Oid::from_str(commit).map_err(|e| e.message().to_string())?;
    let main = ctx
        .main_branch
        .clone()
        .ok_or_else(|| "no main branch to compare with".to_string())?;
    let tip = repo
        .revparse_single(&format!("refs/heads/{main}"))
        .and_then(|o| o.peel_to_commit())
        .map_err(|_| format!("no branch {main} to compare with"))?;
    let base = repo
        .merge_base(head, tip.id())
        .map_err(|e| e.message().to_string())?;
    if base != head {
        return Ok((base.to_string(), main));
    }
    // The commit is on the main branch: what it added itself.
    let c = repo
        .find_commit(head)
        .map_err(|e| e.message().to_string())?;
    match c.parent_id(0) {
        Ok(p) => Ok((
            p.to_string(),
            format!("{}'s parent", &commit[..commit.len().min(8)]),
        )),
        Err(_) => Err("a root commit: nothing to compare with".into()),
    }
}
