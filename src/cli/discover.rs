//! `overlord-tui discover [--analyst coverage|logs|dependencies] [--input PATH]… [--json]`: runs the
//! discovery analysts on demand and files what they find as tickets (deduplicated against the
//! open ones by the core), in the ready-for-robot queue.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::output::{fail, print_json, Outcome};
use super::session::{load_config, workspace, Session};
use crate::core::discovery::{self, analysts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Analyst {
    /// Files under `[discovery] coverage_threshold` → "write tests for X"
    Coverage,
    /// Recurring errors in log files and JSON-lines exports → bug tickets
    Logs,
    /// The dependency watchdog: outdated, yanked, deprecated or vulnerable (OSV exports given
    /// as --input) dependencies → chore tickets
    Dependencies,
}

impl Analyst {
    fn core(self) -> analysts::Analyst {
        match self {
            Analyst::Coverage => analysts::Analyst::Coverage,
            Analyst::Logs => analysts::Analyst::Logs,
            Analyst::Dependencies => analysts::Analyst::Dependencies,
        }
    }
}

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    /// The analyst to run (default: every analyst with configured inputs)
    #[arg(long, value_enum)]
    analyst: Option<Analyst>,
    /// Its input instead of the configured ones (coverage reports; log files; OSV exports for
    /// the dependency watchdog), repeatable
    #[arg(long, value_name = "PATH")]
    input: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub(super) fn discover(repo: &Option<PathBuf>, args: DiscoverArgs) -> Outcome {
    let ws = workspace(repo)?;
    let config = load_config(&ws);
    if args.analyst.is_none() && !args.input.is_empty() {
        return Err(fail(
            "--input needs --analyst coverage, logs or dependencies (which analyst reads it)",
        ));
    }
    let chosen: Vec<analysts::Analyst> = match args.analyst {
        Some(a) => vec![a.core()],
        None => analysts::ALL.to_vec(),
    };
    let mut session = Session::open(&ws)?;
    let mut results = Vec::new();
    for analyst in chosen {
        let files = analysts::inputs(analyst, &args.input, &config, &ws.root);
        if !analysts::has_inputs(analyst, &files, &config, &ws.root) {
            if args.analyst.is_some() {
                return Err(fail(format!(
                    "the {} analyst has no input: give --input PATH or configure [discovery] {}",
                    analyst.name(),
                    analyst.config_key()
                )));
            }
            continue;
        }
        let drafts = analysts::drafts(analyst, &files, &config, &ws.root, &ws.dir).map_err(fail)?;
        let before: Vec<String> = session.state()?.tickets.keys().cloned().collect();
        let message = match discovery::drafts_command(&ws, analyst.name(), &drafts).map_err(fail)? {
            None => "nothing found".to_string(),
            Some((_, command)) => {
                let reply = session.submit(command)?;
                if !reply.ok {
                    return Err(fail(reply.message));
                }
                reply.message
            }
        };
        let filed: Vec<String> = session
            .state()?
            .tickets
            .keys()
            .filter(|k| !before.contains(k))
            .cloned()
            .collect();
        results.push((analyst, files, drafts.len(), filed, message));
    }
    report(&results, args.json)
}

type Ran = (analysts::Analyst, Vec<PathBuf>, usize, Vec<String>, String);

fn report(results: &[Ran], json: bool) -> Outcome {
    if json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|(a, files, drafted, filed, message)| {
                serde_json::json!({
                    "analyst": a.name(),
                    "inputs": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                    "drafted": drafted,
                    "filed": filed,
                    "message": message,
                })
            })
            .collect();
        return print_json(&serde_json::json!({
            "schema_version": super::JSON_SCHEMA_VERSION,
            "ok": true,
            "analysts": rows,
        }));
    }
    if results.is_empty() {
        println!("No analyst has inputs: configure [discovery] or give --analyst and --input");
        return Ok(());
    }
    for (a, files, drafted, _, message) in results {
        println!(
            "{}: {} from {}: {message}",
            a.name(),
            crate::protocol::report::plural(*drafted, "draft"),
            crate::protocol::report::plural(files.len(), "input")
        );
    }
    Ok(())
}
