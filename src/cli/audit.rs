//! `overlord-tui audit verify|summary|export`: re-check, summarize or export the audit
//! trail, and the verification in words that the demo prints too.

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{fail, print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{open_store_for_audit, workspace};
use crate::protocol::State;
use crate::store::{verify, Store};
use crate::workspace::Workspace;

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Re-check the hash chain, the JSONL mirrors and the materialized state
    Verify {
        /// Also check that the audit trail and the repository agree (checkpoint tags and
        /// notes, and main where the last Save or rollback left it)
        #[arg(long)]
        git: bool,
        #[arg(long)]
        json: bool,
    },
    /// Counts of records, events by kind, concerns, and the chain head
    Summary {
        #[arg(long)]
        json: bool,
    },
    /// Write every record as JSON lines (to stdout, or --output FILE)
    Export {
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Accept that the audit trail lost records for good (no copy to put back): writes
    /// resume, ids go on after every one handed out (human only, with no owner running)
    AcceptLoss {
        /// Confirm: the lost records are gone for good
        #[arg(long)]
        yes: bool,
    },
}

pub(super) fn audit(repo: &Option<PathBuf>, cmd: AuditCmd) -> Outcome {
    let ws = workspace(repo)?;
    if let AuditCmd::AcceptLoss { yes } = cmd {
        return accept_loss(&ws, yes);
    }
    let store = open_store_for_audit(&ws)?;
    match cmd {
        AuditCmd::Verify { git, json } => check(&ws, &store, git, json),
        AuditCmd::Summary { json } => summary(&store, json),
        AuditCmd::Export { output } => export(&store, output),
        AuditCmd::AcceptLoss { .. } => Ok(()),
    }
}

/// `audit accept-loss --yes`: the human's way on when no copy of the lost records exists.
fn accept_loss(ws: &Workspace, yes: bool) -> Outcome {
    ws.require_initialized().map_err(fail)?;
    let origin = super::session::origin();
    if !origin.is_human() {
        return Err(fail(
            "only a human may accept a loss of audit records; nothing was changed",
        ));
    }
    if crate::core::ipc::Client::connect(&ws.socket_path()).is_some() {
        return Err(fail(
            "an overlord-tui owns this repository; stop it first (nothing was changed)",
        ));
    }
    let config = super::session::load_config(ws);
    let mut core = crate::core::Core::open(ws, &config).map_err(fail)?;
    // Who speaks is this process's ancestry, as for every command: an agent's process that
    // unset its variables is still the agent (as far as the records that are left tell).
    let origin = crate::core::identity::local(core.state(), origin).origin;
    if !origin.is_human() {
        return Err(fail(format!(
            "only a human may accept a loss of audit records ({} is not one); nothing was changed",
            origin.actor()
        )));
    }
    let (anchors, verdict) = core.store().anchor_report();
    let Err(lost) = verdict else {
        println!("nothing to accept: the audit trail reaches its anchors");
        return Ok(());
    };
    if !yes {
        eprintln!("{lost}");
        for a in &anchors {
            eprintln!("anchor: {} says record {} was committed", a.source, a.seq);
        }
        return Err(fail(
            "if no copy of the store holds the lost records, run `overlord-tui audit accept-loss --yes` to accept that they are gone for good (nothing was changed)",
        ));
    }
    match core.accept_audit_loss(&origin.actor()).map_err(fail)? {
        Some(event) => {
            if let crate::protocol::EventKind::AuditLossAccepted { from, to, ids_from } = event.kind
            {
                println!(
                    "accepted the loss of records {from}..{to} (audit event {}); ids go on after {ids_from}; the old mirror files were moved aside to .overlord/audit.lost-…/",
                    event.seq
                );
            }
            Ok(())
        }
        None => {
            println!("nothing to accept: the audit trail reaches its anchors");
            Ok(())
        }
    }
}

/// `audit verify [--git]`: the verification in words, or as JSON.
fn check(ws: &Workspace, store: &Store, git: bool, json: bool) -> Outcome {
    let report = verify::verify(store).map_err(fail)?;
    let git_report = if git {
        Some(verify_git(ws, store)?)
    } else {
        None
    };
    let git_ok = git_report.as_ref().is_none_or(|r| r.ok);
    if json && git_report.is_none() {
        print_json(&report)?;
        return if report.ok { Ok(()) } else { Err(Failed(1)) };
    }
    if json {
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "ok": report.ok && git_ok,
            "audit": report,
            "git": git_report,
        }))?;
        return if report.ok && git_ok {
            Ok(())
        } else {
            Err(Failed(1))
        };
    }
    if print_verification(&report, git_report.as_ref()) {
        Ok(())
    } else {
        Err(Failed(1))
    }
}

fn summary(store: &Store, json: bool) -> Outcome {
    let summary = crate::store::summary::summarize(store).map_err(fail)?;
    if json {
        print_json(&summary)
    } else {
        print!("{}", summary.render_text());
        Ok(())
    }
}

fn export(store: &Store, output: Option<PathBuf>) -> Outcome {
    let result = match &output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| fail(format!("{}: {e}", path.display())))?;
            let mut w = std::io::BufWriter::new(file);
            crate::store::summary::export(store, &mut w)
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            crate::store::summary::export(store, &mut w)
        }
    };
    let n = result.map_err(fail)?;
    if let Some(path) = output {
        eprintln!("exported {n} records to {}", path.display());
    }
    Ok(())
}

/// The state as the audit trail has it (replayed, read-only), checked against the repository.
pub(super) fn verify_git(
    ws: &Workspace,
    store: &Store,
) -> Result<crate::core::verify_git::GitReport, Failed> {
    let mut state = State::default();
    for (seq, body) in store.event_bodies_after(0).map_err(fail)? {
        let event: crate::protocol::Event = serde_json::from_str(&body)
            .map_err(|e| fail(format!("audit record {seq} is not an event: {e}")))?;
        state.apply(&event);
    }
    let repo = crate::git::open(&ws.root).map_err(fail)?;
    crate::core::verify_git::verify_git(&state, &repo).map_err(|e| fail(e.message()))
}

/// `audit verify [--git]` in words: agreement on stdout, findings on stderr. Whether both
/// checks passed.
pub(super) fn print_verification(
    report: &verify::VerifyReport,
    git_report: Option<&crate::core::verify_git::GitReport>,
) -> bool {
    let git_ok = git_report.is_none_or(|r| r.ok);
    if let Some(g) = git_report {
        if g.ok {
            println!(
                "git agrees: {} checkpoint(s) with their tags and notes{}",
                g.checkpoints,
                match (&g.main, &g.main_at) {
                    (Some(m), Some(at)) => format!(
                        "; {m} at {} where Overlord left it",
                        &at[..at.len().min(10)]
                    ),
                    _ => String::new(),
                }
            );
        } else {
            eprintln!("git and the audit trail DISAGREE:");
            for f in &g.findings {
                eprintln!("  {f}");
            }
        }
        for n in &g.notes {
            eprintln!("  note: {n}");
        }
    }
    if report.ok {
        println!(
            "audit trail OK: {} records, {} events, chain head {}; mirrors agree ({}); state matches a replay",
            report.records,
            report.events,
            report.head_hash.as_deref().map(|h| &h[..16]).unwrap_or("(empty)"),
            report.mirrors_checked.join(", ")
        );
        print_anchors(report);
    } else {
        eprintln!("audit trail FAILED verification:");
        for f in &report.findings {
            eprintln!("  {f}");
        }
        if let Some(first) = report.findings.first() {
            match first.seq {
                Some(seq) => eprintln!("first bad record: {seq}"),
                None => eprintln!("first problem: {}", first.place),
            }
        }
        if let Some(refused) = &report.writes_refused {
            print_anchors(report);
            eprintln!("writes are refused: {refused}");
            eprintln!("{LOSS_HELP}");
        }
    }
    report.ok && git_ok
}

/// What to do about a store that lost records (also in docs/audit.md, "The anchors").
const LOSS_HELP: &str = "what to do: stop every overlord-tui of this repository, then put back .overlord/overlord.db (with its -wal file, if any) from a backup or copy that holds every record up to the anchored one, and run `overlord-tui audit verify` again. Nothing was written since the loss was noticed. See docs/audit.md, \"When the store lost records\".";

/// The anchors the chain was checked against, one line each.
fn print_anchors(report: &verify::VerifyReport) {
    if report.anchors.is_empty() {
        println!("anchors: none yet (no audit head file, no checkpoint note with an audit head)");
    }
    for a in &report.anchors {
        println!(
            "anchor: {} says record {} (hash {}) was committed",
            a.source,
            a.seq,
            &a.hash[..a.hash.len().min(16)]
        );
    }
}
