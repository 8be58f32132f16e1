//! A whole QA run: the gates in order (build first; a failed build skips the rest), the tests
//! repeated for reproducibility, the documents looked up in the tree, then the evaluation,
//! the record and the reports.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::context::QaContext;
use super::detect::{Planned, Prepared};
use super::node::InstallStep;
use super::record::{redacted_env, QaOutput, RunRecord};
use super::reports::{write_reports, OWN_REPORTS};
use super::runner::{skipped, Runner};
use crate::core::clock::now;
use crate::protocol::event::EventKind;
use crate::protocol::model::{QaRun, QaRunId};
use crate::qa::evaluate::{self, Evidence, Measure};

/// Runs every gate on `commit` (checked out in `worktree`) and evaluates the evidence.
/// Emits the run's progress events through `sink` (not `QaRunRecorded`: the caller records
/// the returned run).
pub fn run(
    ctx: &QaContext,
    prepared: Prepared,
    worktree: &Path,
    commit: &str,
    tree: &str,
    id: QaRunId,
    sink: &mut dyn FnMut(EventKind),
) -> Result<QaOutput, String> {
    let started_at = now();
    let run_dir = fresh_run_dir(ctx, id)?;
    sink(EventKind::QaStarted {
        run: id,
        tree: tree.to_string(),
        gates: evaluate::GATES.iter().map(|g| g.to_string()).collect(),
        promotion: ctx.promotion,
    });
    let Prepared {
        kinds: project,
        planned,
        tools,
    } = prepared;
    let node = if project.iter().any(|k| k == "node") && planned_runs(&planned) {
        super::node::setup::prepare_run(ctx, worktree, &run_dir, &mut |command| {
            sink(EventKind::QaGateStarted {
                run: id,
                gate: "install".into(),
                command: Some(command.to_string()),
                attempt: 1,
            })
        })
    } else {
        None
    };
    let (install, extra_env) = node.map(|n| (n.install, n.env)).unwrap_or_default();
    let mut r = Runner {
        ctx,
        worktree,
        run_dir: run_dir.clone(),
        id,
        attempts: Vec::new(),
        sink,
        extra_env,
    };
    let required_docs = required_docs(ctx);
    let mut evidence = no_evidence_yet(ctx);
    match install.as_ref().filter(|i| i.failed()) {
        Some(i) => install_failed(&mut r, &mut evidence, i),
        None => run_gates(&mut r, ctx, &planned, &mut evidence),
    }

    // Documents, in the tree that was checked (the run's own reports count as present).
    evidence.docs = required_docs
        .iter()
        .map(|d| {
            let present = OWN_REPORTS.contains(&d.as_str()) || doc_in_tree(&ctx.root, commit, d);
            (d.clone(), present)
        })
        .collect();
    evidence.dependencies = super::dependencies::measure(ctx, commit);
    for g in ["drift", "docs", "concerns", "dependencies"] {
        r.finished(&evidence, g);
    }
    let attempts = std::mem::take(&mut r.attempts);
    let evaluation = evaluate::evaluate(&ctx.policy, &evidence);
    let finished_at = now();
    let record = RunRecord {
        version: 1,
        id,
        commit: commit.to_string(),
        tree: tree.to_string(),
        worktree: worktree
            .strip_prefix(&ctx.root)
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_else(|_| worktree.to_string_lossy().to_string()),
        started_at: started_at.clone(),
        finished_at: finished_at.clone(),
        promotion: ctx.promotion,
        policy_file: ctx.policy_file.clone(),
        policy: ctx.policy.clone(),
        project,
        tools,
        environment: redacted_env(),
        planned,
        install,
        attempts,
        evidence,
        evaluation,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
    std::fs::write(run_dir.join("run.json"), &json)
        .map_err(|e| format!("{}: {e}", run_dir.display()))?;
    write_reports(ctx, &run_dir, &record)?;
    Ok(QaOutput {
        run: recorded_run(ctx, &record, &json),
        record,
        dir: run_dir,
    })
}

/// The run's directory, empty.
fn fresh_run_dir(ctx: &QaContext, id: QaRunId) -> Result<PathBuf, String> {
    let run_dir = ctx.qa_dir.join(id.to_string());
    if run_dir.exists() {
        // A run that was interrupted before it was recorded left this behind.
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
    Ok(run_dir)
}

/// The documents the policy requires (and, for a promotion, those it adds).
fn required_docs(ctx: &QaContext) -> Vec<String> {
    let mut d = ctx.policy.auto_merge_if.docs_required.clone();
    if ctx.promotion {
        for x in &ctx.policy.promotion.docs_required {
            if !d.contains(x) {
                d.push(x.clone());
            }
        }
    }
    d
}

/// The evidence before any gate ran: what the context already knows.
fn no_evidence_yet(ctx: &QaContext) -> Evidence {
    Evidence {
        build: skipped("not run yet"),
        tests: Vec::new(),
        lint: skipped("not run yet"),
        coverage: skipped("not run yet"),
        e2e: skipped("not run yet"),
        dependencies: skipped("not run yet"),
        docs: Vec::new(),
        open_critical: ctx.open_critical.clone(),
        impact: ctx.impact.clone(),
        promotion: ctx.promotion,
        previous: ctx.previous.clone(),
    }
}

/// Whether any planned gate runs a command.
fn planned_runs(planned: &[Planned]) -> bool {
    planned
        .iter()
        .any(|p| p.unavailable.is_none() && p.command.is_some())
}

/// A failed dependency install: no gate runs, each says why (the install, not the build).
fn install_failed(r: &mut Runner<'_>, evidence: &mut Evidence, install: &InstallStep) {
    let why = format!("not run: the dependency install failed: {}", install.line());
    evidence.build = skipped(&why);
    evidence.tests = vec![skipped(&why)];
    evidence.lint = skipped(&why);
    evidence.coverage = skipped(&why);
    evidence.e2e = skipped(&why);
    for g in [
        "build",
        "tests",
        "reproducibility",
        "lint",
        "coverage",
        "e2e",
    ] {
        r.finished(evidence, g);
    }
}

/// The planned gate `g`.
fn planned_gate(planned: &[Planned], g: &str) -> Planned {
    planned
        .iter()
        .find(|p| p.gate == g)
        .cloned()
        .expect("planned gate")
}

/// The gates that run a command, in order: build first (a failed build skips the others),
/// then tests (with their repeats), lint, coverage and e2e.
fn run_gates(r: &mut Runner<'_>, ctx: &QaContext, planned: &[Planned], evidence: &mut Evidence) {
    let by = |g: &str| planned_gate(planned, g);
    evidence.build = r.attempt(&by("build"), 1).build();
    r.finished(evidence, "build");
    let build_failed = matches!(&evidence.build, Measure::Measured(b) if !b.passed)
        || matches!(&evidence.build, Measure::Errored(..));
    let skip_why = "not run: the build failed";

    if build_failed {
        evidence.tests = vec![skipped(skip_why)];
    } else {
        run_tests(r, ctx, &by("tests"), evidence);
    }
    r.finished(evidence, "tests");
    r.finished(evidence, "reproducibility");
    evidence.lint = if build_failed {
        skipped(skip_why)
    } else {
        r.attempt(&by("lint"), 1).lint()
    };
    r.finished(evidence, "lint");
    evidence.coverage = if build_failed {
        skipped(skip_why)
    } else {
        r.attempt(&by("coverage"), 1).coverage()
    };
    r.finished(evidence, "coverage");
    let e2e = by("e2e");
    evidence.e2e = if e2e.unavailable.is_some() && !ctx.promotion {
        skipped(e2e.unavailable.as_deref().unwrap_or(""))
    } else if build_failed {
        skipped(skip_why)
    } else {
        r.attempt(&e2e, 1).tests()
    };
    r.finished(evidence, "e2e");
}

/// The tests gate and, when its first run was complete, the repeats the reproducibility
/// gate compares (`reproducibility_runs`); a repeat that does not complete stops them.
fn run_tests(r: &mut Runner<'_>, ctx: &QaContext, tests: &Planned, evidence: &mut Evidence) {
    let first = r.attempt(tests, 1).tests();
    let repeat = matches!(&first, Measure::Measured(t) if t.complete && !t.tests.is_empty());
    evidence.tests.push(first);
    r.finished(evidence, "tests");
    if repeat {
        for k in 2..=ctx.policy.gates.reproducibility_runs.max(1) {
            let again = r.attempt(tests, k).tests();
            let stop = !matches!(&again, Measure::Measured(t) if t.complete);
            evidence.tests.push(again);
            if stop {
                break;
            }
        }
    }
}

/// The run as the audit store records it, with the digest of its `run.json`.
fn recorded_run(ctx: &QaContext, record: &RunRecord, json: &[u8]) -> QaRun {
    QaRun {
        id: record.id,
        tree: record.tree.clone(),
        started_at: record.started_at.clone(),
        finished_at: record.finished_at.clone(),
        gates: record.evaluation.gates.clone(),
        decision: record.evaluation.decision,
        reasons: record.evaluation.reasons.clone(),
        commit: Some(record.commit.clone()),
        metrics: record.evaluation.metrics.clone(),
        flaky: record.evaluation.flaky.clone(),
        promotion: ctx.promotion,
        record_sha256: Some(hex::encode(Sha256::digest(json))),
    }
}

/// Whether the document is in the checked tree: at `path`, or — for a bare file name — in
/// `docs/`, where Overlord itself commits the project documents (so the default
/// `docs_required: [PROJECT_OVERVIEW.md, …]` holds on a project Overlord manages).
fn doc_in_tree(root: &Path, commit: &str, path: &str) -> bool {
    let Ok(repo) = git2::Repository::open(root) else {
        return false;
    };
    let Some(c) = git2::Oid::from_str(commit)
        .ok()
        .and_then(|o| repo.find_commit(o).ok())
    else {
        return false;
    };
    let Ok(tree) = c.tree() else {
        return false;
    };
    let bare = !path.contains('/');
    tree.get_path(Path::new(path)).is_ok()
        || (bare && tree.get_path(&Path::new("docs").join(path)).is_ok())
}
