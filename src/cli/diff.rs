//! `overlord-tui diff`: what changed — HEAD vs the working tree, a task branch vs its base,
//! or two revisions, branches, task ids or checkpoints — as a unified diff, a stat or JSON.
//! The files are diffed on all cores and the patch and the JSON are printed file by file as
//! they are done (in git's order), never built whole first.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;

use super::output::{fail, json_started, Outcome, JSON_SCHEMA_VERSION};
use super::session::workspace;
use crate::core::diff::{self, json, stream, unified, Detail, Side};
use crate::protocol::diff::FileDiff;

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

/// Bytes of output gathered before each write to stdout.
const OUT_BUFFER: usize = 256 << 10;

pub(super) fn diff(repo: &Option<PathBuf>, args: DiffArgs) -> Outcome {
    let DiffArgs {
        from,
        to,
        stat,
        json,
    } = args;
    let ws = workspace(repo)?;
    // Reading a blob need not hash it again to check its id (git does not either): on a
    // 100,000-line file that check was a tenth of the whole process.
    git2::opts::strict_hash_verification(false);
    let git = git2::Repository::open(&ws.root).map_err(|e| fail(e.message()))?;
    let (a, b) = diff::sides(&git, from.as_deref(), to.as_deref()).map_err(fail)?;
    if json {
        print_json(&git, &a, &b)
    } else if stat {
        // The stat's column widths need every file: the counts (no hunks, no word spans) are
        // gathered first.
        let files = stream::collect(&git, &a, &b, Detail::Counts).map_err(fail)?;
        // File names come from agents: shown visibly, like everything the CLI prints.
        print!("{}", unified::stat(&diff::set_of(&a, &b, files)));
        Ok(())
    } else {
        print_patch(&git, &a, &b)
    }
}

/// The unified patch (no word spans: it does not show them), each file's text rendered on a
/// worker thread and made visible there (file names and contents come from agents; `--json`
/// has the exact bytes).
fn print_patch(git: &git2::Repository, a: &Side, b: &Side) -> Outcome {
    let render = |f: FileDiff| {
        let mut text = String::new();
        unified::write_file(&mut text, &f);
        match crate::protocol::visible::text(&text) {
            Cow::Borrowed(_) => text.into_bytes(),
            Cow::Owned(shown) => shown.into_bytes(),
        }
    };
    let mut out = BufWriter::with_capacity(OUT_BUFFER, std::io::stdout().lock());
    let written = stream::for_each_file(git, a, b, Detail::Patch, render, |bytes| {
        keep_on(out.write_all(&bytes))
    });
    // A closed pipe is nobody left to tell, as for everything the CLI prints.
    let _ = out.flush();
    written.map_err(fail)
}

/// The whole model (hunks with word spans) as one JSON document, streamed file by file.
fn print_json(git: &git2::Repository, a: &Side, b: &Side) -> Outcome {
    json_started();
    let mut out = BufWriter::with_capacity(OUT_BUFFER, std::io::stdout().lock());
    let Ok(mut doc) = json::JsonWriter::start(&mut out, JSON_SCHEMA_VERSION, a, b) else {
        return Ok(());
    };
    let mut open = true;
    let render = |f: FileDiff| json::file_element(&f);
    let written = stream::for_each_file(git, a, b, Detail::Lines, render, |element| {
        let kept = keep_on(doc.file(&mut out, &element));
        open = kept.is_continue();
        kept
    });
    written.map_err(fail)?;
    if open {
        let _ = doc.finish(&mut out);
    }
    let _ = out.flush();
    Ok(())
}

fn keep_on(written: std::io::Result<()>) -> ControlFlow<()> {
    match written {
        Ok(()) => ControlFlow::Continue(()),
        Err(_) => ControlFlow::Break(()),
    }
}
