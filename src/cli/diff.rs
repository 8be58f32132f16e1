//! `overlord-tui diff`: what changed — HEAD vs the working tree, a task branch vs its base,
//! or two revisions, branches, task ids or checkpoints — as a unified diff, a stat or JSON.

use std::path::PathBuf;

use clap::Args;

use super::output::{fail, print_json, Outcome, JSON_SCHEMA_VERSION};
use super::session::workspace;

// No doc comment here: the subcommand's help is the `Sub::Diff` variant's.
#[derive(Args, Debug)]
pub struct DiffArgs {
    from: Option<String>,
    to: Option<String>,
    /// Only the changed files with their counts
    #[arg(long)]
    stat: bool,
    #[arg(long)]
    json: bool,
}

pub(super) fn diff(repo: &Option<PathBuf>, args: DiffArgs) -> Outcome {
    use crate::core::diff;
    let DiffArgs {
        from,
        to,
        stat,
        json,
    } = args;
    let (from, to) = (from.as_deref(), to.as_deref());
    let ws = workspace(repo)?;
    let git = git2::Repository::open(&ws.root).map_err(|e| fail(e.message()))?;
    let (a, b) = diff::sides(&git, from, to).map_err(fail)?;
    // The stat needs the counts only, the patch no word spans; JSON is the whole model.
    let set = if json {
        diff::diff(&git, &a, &b)
    } else if stat {
        diff::diff_stat(&git, &a, &b)
    } else {
        diff::diff_patch(&git, &a, &b)
    }
    .map_err(fail)?;
    if json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "diff": set,
        }));
    }
    let text = if stat {
        diff::unified::stat(&set)
    } else {
        diff::unified::unified(&set)
    };
    // File names and contents come from agents: shown visibly, like everything the CLI
    // prints (`--json` has the exact bytes).
    print!("{text}");
    Ok(())
}
