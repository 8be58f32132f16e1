//! `overlord-tui qa`: run the QA gates and print each gate with its threshold, measured value
//! and outcome, and the decision (exit 0 only on auto_merge); `qa show <run>` re-checks a
//! stored run; `qa check-policy [FILE]` validates a policy file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Subcommand;

use super::output::{fail, print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{load_config, workspace};
use crate::core::qa::{self as core_qa, Headless, Shown};
use crate::core::Core;
use crate::protocol::EventKind;
use crate::workspace::Workspace;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct QaArgs {
    #[command(subcommand)]
    pub cmd: Option<QaCmd>,
    /// Apply the promotion policy (e2e tests, documents, reproducibility) on main's tip, as
    /// `/promote` does; the decision then always asks the human, which the human's `/promote`
    /// answers: exit 0 when a promotion would pass (no gate failed)
    #[arg(long)]
    pub promotion: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum QaCmd {
    /// Show a stored QA run and re-check it: the record against the audit trail's digest,
    /// each gate's stored output re-read, the verdict re-evaluated
    Show {
        /// The run id (`QA-3` or `3`)
        run: String,
        #[arg(long)]
        json: bool,
    },
    /// Validate a QA policy file without running anything (default: the configured one,
    /// .overlord/QA_POLICY.yaml)
    CheckPolicy {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn qa(repo: &Option<PathBuf>, args: QaArgs) -> Outcome {
    match args.cmd {
        Some(QaCmd::CheckPolicy { file, json }) => check_policy(repo, file, json),
        Some(QaCmd::Show { run, json }) => show(repo, &run, json),
        None => run_gates(repo, args.promotion, args.json),
    }
}

/// `qa check-policy [FILE]`: exit 0 when valid, 2 with every problem when not.
fn check_policy(repo: &Option<PathBuf>, file: Option<PathBuf>, json: bool) -> Outcome {
    let (path, shown) = policy_file(repo, file)?;
    let result = match std::fs::read_to_string(&path) {
        Ok(text) => crate::qa::policy::parse(&text, &shown),
        Err(e) => return Err(fail(format!("{shown}: {e}"))),
    };
    match result {
        Ok(policy) => {
            if json {
                print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION, "ok": true, "file": shown, "policy": policy
                }))?;
            } else {
                println!("{shown}: valid");
            }
            Ok(())
        }
        Err(errors) => {
            if json {
                let list: Vec<_> = errors
                    .iter()
                    .map(|e| serde_json::json!({"file": e.file, "line": e.line, "column": e.column, "message": e.message}))
                    .collect();
                print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION, "ok": false, "file": shown, "errors": list
                }))?;
            } else {
                for e in &errors {
                    eprintln!("{e}");
                }
                eprintln!("{shown}: {} problem(s)", errors.len());
            }
            Err(Failed(2))
        }
    }
}

/// The policy file to check and how to name it: FILE as given, else the configured one.
fn policy_file(repo: &Option<PathBuf>, file: Option<PathBuf>) -> Result<(PathBuf, String), Failed> {
    Ok(match file {
        Some(f) => (f.clone(), f.display().to_string()),
        None => {
            let ws = workspace(repo)?;
            let config = load_config(&ws);
            let p = ws.root.join(config.qa.policy.trim());
            let shown = ws.relative(&p);
            (p, shown)
        }
    })
}

/// `qa show <run>`: the stored run and its re-check; exit 1 when the re-check finds anything.
fn show(repo: &Option<PathBuf>, run: &str, json: bool) -> Outcome {
    let id = parse_run_id(run)?;
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let core = Core::open(&ws, &config).map_err(fail)?;
    let shown = core_qa::show(&core, id).map_err(fail)?;
    let r = &shown.record;
    if json {
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "run": r.id.to_string(),
            "ok": shown.findings.is_empty(),
            "findings": shown.findings,
            "record": r,
        }))?;
    } else {
        print_shown(&ws, &shown);
    }
    if shown.findings.is_empty() {
        Ok(())
    } else {
        Err(Failed(1))
    }
}

/// A stored run in words: where and how it ran, its commands, its gates and the re-check.
fn print_shown(ws: &Workspace, shown: &Shown) {
    let r = &shown.record;
    println!(
        "{} on {} (tree {}), {} → {}",
        r.id,
        crate::git::short(&r.commit),
        crate::git::short(&r.tree),
        r.started_at,
        r.finished_at
    );
    println!(
        "policy: {}{}",
        r.policy_file,
        if r.promotion { " (promotion)" } else { "" }
    );
    println!(
        "project: {}",
        if r.project.is_empty() {
            "none detected".into()
        } else {
            r.project.join(", ")
        }
    );
    for (tool, v) in &r.tools {
        println!("  {tool}: {v}");
    }
    println!("commands:");
    print_attempts(&ws.root, shown);
    println!("gates:");
    print_verdict(&r.evaluation);
    if shown.findings.is_empty() {
        println!("re-checked: the stored outputs give the recorded results and the same decision; the record matches the audit trail's digest");
    } else {
        for f in &shown.findings {
            println!("re-check FAILED: {f}");
        }
    }
}

/// Each command a stored run ran: gate, attempt, format, how it ended and where its output is.
fn print_attempts(root: &Path, shown: &Shown) {
    for a in &shown.record.attempts {
        let status = match (&a.stopped, a.exit, a.signal) {
            (Some(s), _, _) => s.clone(),
            (None, Some(c), _) => format!("exit {c}"),
            (None, None, Some(sig)) => format!("signal {sig}"),
            _ => "?".into(),
        };
        println!(
            "  {} #{} [{}] `{}` → {status} in {:.1}s ({})",
            a.gate,
            a.attempt,
            a.format.name(),
            a.command,
            a.duration_secs,
            shown
                .dir
                .join(&a.dir)
                .strip_prefix(root)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
}

/// `qa [--promotion]`: the gates run now, their progress on stderr; exit 0 only when the
/// decision is auto_merge (with `--promotion`: when a promotion would pass, as `/promote`
/// judges it), 2 when the run could not be made.
fn run_gates(repo: &Option<PathBuf>, promotion: bool, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let mut core = Core::open(&ws, &config).map_err(fail)?;
    let cancel = cancel_on_ctrl_c();
    let mut rx = core.subscribe();
    let printer = std::thread::spawn(move || {
        while let Ok(e) = rx.blocking_recv() {
            print_gate_progress(&e.kind);
        }
    });
    let result = core.run_qa(core_qa::QaOptions {
        promotion,
        cancel: Some(cancel),
    });
    drop(core);
    let _ = printer.join();
    let done = match result {
        Ok(d) => d,
        Err(why) => {
            eprintln!("error: {why}");
            return Err(Failed(2));
        }
    };
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
    print_run(&ws, &done, json)?;
    let passed = match &done.promotion {
        Some(v) => v.passed,
        None => {
            done.output.record.evaluation.decision == crate::protocol::model::QaDecision::AutoMerge
        }
    };
    if passed {
        Ok(())
    } else {
        Err(Failed(1))
    }
}

/// Ctrl-C stops the running gate (its whole process group) and records the run.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("cancelling the QA run…");
                    cancel.store(true, Ordering::Relaxed);
                }
            });
        });
    }
    cancel
}

/// A run's progress line on stderr: the run starting, each gate's command, its tests counted,
/// its outcome.
fn print_gate_progress(kind: &EventKind) {
    match kind {
        EventKind::QaStarted { run, .. } => eprintln!("{run}: running the gates"),
        EventKind::QaGateStarted {
            gate,
            command: Some(c),
            attempt,
            ..
        } => {
            if *attempt > 1 {
                eprintln!("  {gate} (run {attempt}): {c}");
            } else {
                eprintln!("  {gate}: {c}");
            }
        }
        EventKind::QaGateProgress {
            gate, done, total, ..
        } => match total {
            Some(t) => eprintln!("  {gate}: {done}/{t} tests"),
            None => eprintln!("  {gate}: {done} tests"),
        },
        EventKind::QaGateFinished { result, .. } => {
            eprintln!("  {} → {}", result.gate, result.outcome.as_str())
        }
        _ => {}
    }
}

/// The finished run on stdout: its verdict and report, in words or as JSON.
fn print_run(ws: &Workspace, done: &Headless, json: bool) -> Outcome {
    let r = &done.output.record;
    let report = ws.relative(&done.output.dir.join("QA_REPORT.md"));
    if json {
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "run": r.id.to_string(),
            "target": done.target,
            "commit": r.commit,
            "tree": r.tree,
            "project": r.project,
            "install": r.install,
            "promotion": r.promotion,
            "decision": r.evaluation.decision,
            "reasons": r.evaluation.reasons,
            "gates": r.evaluation.gates,
            "metrics": r.evaluation.metrics,
            "flaky": r.evaluation.flaky,
            "drift": r.evaluation.drift,
            "report": report,
            "warnings": done.warnings,
            "promotion_verdict": done.promotion,
        }))?;
    } else {
        println!("{} on {}", r.id, done.target);
        if let Some(i) = &r.install {
            println!("  dependencies: {}", i.line());
        }
        print_verdict(&r.evaluation);
        if let Some(v) = &done.promotion {
            println!("promotion: {}", v.line());
        }
        println!("report: {report}");
    }
    Ok(())
}

fn gate_line(g: &crate::protocol::model::GateResult) -> String {
    let mut line = format!(
        "  {:<16} {:<13} threshold: {:<22} measured: {}",
        g.gate,
        g.outcome.as_str(),
        g.threshold.as_deref().unwrap_or("—"),
        g.measured.as_deref().unwrap_or("—")
    );
    if let Some(r) = &g.reason {
        line.push_str(&format!("\n  {:<16} {r}", ""));
    }
    if !g.required && g.outcome != crate::protocol::model::GateOutcome::Reported {
        line.push_str(" (does not count)");
    }
    line
}

/// Every gate, the quarantined tests and the decision with its reasons.
fn print_verdict(ev: &crate::qa::evaluate::Evaluation) {
    for g in &ev.gates {
        println!("{}", gate_line(g));
    }
    if !ev.flaky.is_empty() {
        println!("flaky (quarantined): {}", ev.flaky.join(", "));
    }
    println!("decision: {}", ev.decision.as_str());
    for reason in &ev.reasons {
        println!("  - {reason}");
    }
}

fn parse_run_id(s: &str) -> Result<crate::protocol::model::QaRunId, Failed> {
    let n = s.trim().trim_start_matches("QA-").trim_start_matches("qa-");
    n.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(crate::protocol::model::QaRunId)
        .ok_or_else(|| {
            fail(format!(
                "'{s}' is not a QA run id (expected QA-<n>, e.g. QA-3)"
            ))
        })
}
