//! Save and rollback: the long-running operations that move protected refs.
//!
//! `/save` and `/rollback` are decided like every command (and refused with nothing changed
//! when the repository is not fit: detached HEAD, dirty tree on main, locked index, missing
//! task branch, unknown checkpoint…). Once accepted, a [`Job`] carries the operation out,
//! step by step, each step an audit event so front ends show progress:
//!
//! Save: freeze dispatch → flush finished tasks' uncommitted output (committed with
//! trailers) → merge each finished task branch into `session/<s>/integration` on git
//! objects only (trivial conflicts by policy; a conflicting branch is left out with a
//! concern) → gate (the configured test command, run in `.overlord/integration`) → write the
//! tag and note objects → record the refs about to move → move `main`, the tag and the notes
//! ref together → record the checkpoint → optional post-merge verification, which rolls the
//! Save back and raises a critical concern when it fails.
//!
//! One operation runs at a time (`.overlord/operation.lock`). A process killed at any step
//! leaves `main` where it was, or fully published: [`recover`] (run before the next
//! operation and when a console or `serve` starts) finishes or cleans up from the audit trail.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use git2::{Oid, Repository};

use super::failpoint;
use super::shell;
use super::worktree;
use super::{Core, CoreError};
use crate::config::non_empty;
use crate::git::{self, merge, GitError, Protection, Publish, RefMoves};
use crate::protocol::command::ConcernDraft;
use crate::protocol::model::{
    ApprovalKind, Checkpoint, CheckpointKind, Concern, Decision, GateOutcome, GateResult,
    GitSession, Operation, OperationKind, OperationOutcome, PublishPlan, QaDecision, QaRun,
    QaRunId, Role, RollbackTarget, SessionStatus, Severity, TaskBranch, TaskStatus,
};
use crate::protocol::report::OperationReport;
use crate::protocol::state::step_line;
use crate::protocol::{Command, EventKind, Origin, RejectCode, Rejection, ReplyData, State};
use crate::workspace::Workspace;

/// The actor named on the events an operation emits.
pub const ACTOR: &str = "overlord";
/// How long `/save`, `/rollback` and `qa` wait for the operation lock before saying another
/// operation is running (see `OperationLock::acquire`).
pub const LOCK_GRACE: Duration = Duration::from_secs(1);

/// Holds `.overlord/operation.lock` for as long as an operation runs.
#[derive(Debug)]
pub struct OperationLock {
    _file: File,
}

impl OperationLock {
    /// Like [`OperationLock::try_acquire`], but a lock that frees up within `grace` is taken.
    /// A child this process is starting (a gate command, an agent) holds a copy of the lock
    /// file's descriptor from `fork` until its `exec` closes it, and `flock` locks belong to the
    /// open file: for that instant after an operation ends, the lock still looks held.
    pub fn acquire(ws: &Workspace, grace: Duration) -> std::io::Result<Option<OperationLock>> {
        let until = std::time::Instant::now() + grace;
        loop {
            match OperationLock::try_acquire(ws)? {
                Some(lock) => return Ok(Some(lock)),
                None if std::time::Instant::now() >= until => return Ok(None),
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// `Ok(None)` when another process holds it.
    pub fn try_acquire(ws: &Workspace) -> std::io::Result<Option<OperationLock>> {
        let path = ws.dir.join("operation.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(OperationLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// An accepted operation, to be carried out (inline, or on its own thread).
#[derive(Debug)]
pub struct Job {
    pub(crate) id: u64,
    /// What the recovery of an interrupted operation did before this one was accepted.
    pub(crate) recovered: Option<String>,
    pub(crate) _lock: OperationLock,
}

impl Job {
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// What `prepare` found, handed to `decide` (which stays pure).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub new_session: Option<GitSession>,
    pub session: GitSession,
    pub main_before: String,
    pub tasks: Vec<TaskBranch>,
    pub rollback: Option<RollbackTarget>,
}

fn reject(code: RejectCode, e: impl std::fmt::Display) -> Rejection {
    Rejection::new(code, format!("{e}; nothing was changed"))
}

fn git_reject(e: GitError) -> Rejection {
    let code = match e {
        GitError::Git(_) => RejectCode::Storage,
        GitError::Protected(_) => RejectCode::Unauthorized,
        GitError::Dirty { .. }
        | GitError::InTheWay { .. }
        | GitError::IndexLocked(_)
        | GitError::InProgress(_)
        | GitError::Moved { .. } => RejectCode::Conflict,
        _ => RejectCode::InvalidInput,
    };
    reject(code, e)
}

/// A new session id: the day and a few hex digits of the clock (branch-name safe, and unlikely
/// to meet branches an earlier `.overlord/` left behind).
fn new_session_id(now: &str) -> String {
    let day: String = now.chars().filter(|c| c.is_ascii_digit()).take(8).collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    format!("{day}-{:04x}", nanos & 0xffff)
}

/// The git session, starting one (not yet recorded) when there is none.
pub(crate) fn session_for(
    state: &State,
    repo: &Repository,
    configured_main: &str,
    now: &str,
) -> Result<(GitSession, bool), GitError> {
    if let Some(s) = &state.git {
        return Ok((s.clone(), false));
    }
    let main = git::detect_main(repo, configured_main)?;
    Ok((
        GitSession {
            id: new_session_id(now),
            main,
            started_at: now.to_string(),
        },
        true,
    ))
}

/// Checks the repository for `/save` or `/rollback` and gathers what the operation needs.
pub(crate) fn prepare(core: &Core, command: &Command, now: &str) -> Result<Prepared, Rejection> {
    let state = &core.state;
    if let Command::Rollback {
        checkpoint,
        branch,
        reason,
    } = command
    {
        // The timeline first: an unknown checkpoint is the clearer error.
        rollback_target(state, None, checkpoint, branch, reason)?;
    }
    let repo = git::open(&core.ws.root).map_err(git_reject)?;
    let (session, is_new) =
        session_for(state, &repo, &core.config.git.main, now).map_err(git_reject)?;
    let main_before = git::branch_tip(&repo, &session.main)
        .map_err(git_reject)?
        .ok_or_else(|| git_reject(GitError::NoBranch(session.main.clone())))?;
    let mut prepared = Prepared {
        new_session: is_new.then(|| session.clone()),
        session: session.clone(),
        main_before: main_before.to_string(),
        tasks: Vec::new(),
        rollback: None,
    };
    match command {
        Command::Save => {
            git::check_user_tree(&repo, &session.main).map_err(git_reject)?;
            prepared.tasks = finished_branches(state, &repo, &session).map_err(git_reject)?;
        }
        Command::Rollback {
            checkpoint,
            branch,
            reason,
        } => {
            let target = rollback_target(state, Some(&repo), checkpoint, branch, reason)?;
            match &target.branch {
                Some(b) => {
                    git::check_branch_name(b).map_err(git_reject)?;
                    let refname = format!("refs/heads/{b}");
                    if protection(core, &session).is_protected(&refname) {
                        return Err(git_reject(GitError::Protected(refname)));
                    }
                    if git::branch_tip(&repo, b).map_err(git_reject)?.is_some() {
                        return Err(reject(
                            RejectCode::Conflict,
                            format!("branch {b} already exists; pick another --branch name"),
                        ));
                    }
                }
                None => {
                    git::check_user_tree(&repo, &session.main).map_err(git_reject)?;
                }
            }
            prepared.rollback = Some(target);
        }
        _ => {}
    }
    Ok(prepared)
}

pub(crate) fn protection(core: &Core, session: &GitSession) -> Protection {
    Protection {
        main: session.main.clone(),
        branches: core.config.git.protected.clone(),
    }
}

/// Finished tasks and their branches, in plan order. A finished task whose branch is gone is
/// an error: its work would be silently lost.
fn finished_branches(
    state: &State,
    repo: &Repository,
    session: &GitSession,
) -> Result<Vec<TaskBranch>, GitError> {
    let Some(plan) = &state.plan else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    // A branch todo works on its parent's branch, so it has none of its own.
    for task in plan
        .tasks()
        .filter(|t| t.status == TaskStatus::Done && !t.is_temporary)
    {
        let branch = session.task_branch(&task.id);
        match git::branch_tip(repo, &branch)? {
            Some(tip) => out.push(TaskBranch {
                task: task.id.clone(),
                branch,
                tip: tip.to_string(),
                role: task.role,
            }),
            None => {
                return Err(GitError::MissingTaskBranch {
                    task: task.id.clone(),
                    branch,
                })
            }
        }
    }
    Ok(out)
}

/// Resolves `/rollback <checkpoint|undo>` against the timeline.
fn rollback_target(
    state: &State,
    repo: Option<&Repository>,
    checkpoint: &str,
    branch: &Option<String>,
    reason: &Option<String>,
) -> Result<RollbackTarget, Rejection> {
    let reason = reason
        .clone()
        .unwrap_or_else(|| "requested by the governor".into());
    if checkpoint == "undo" {
        let Some(last) = state.checkpoints.last() else {
            return Err(reject(
                RejectCode::InvalidInput,
                "there is no checkpoint yet, so no rollback to undo",
            ));
        };
        if last.kind != CheckpointKind::Rollback {
            return Err(reject(
                RejectCode::InvalidInput,
                format!(
                    "the latest timeline entry ({}) is not a rollback, so there is nothing to undo",
                    last.name
                ),
            ));
        }
        let Some(previous) = last.previous.clone() else {
            return Err(reject(
                RejectCode::InvalidInput,
                format!("{} does not record where main was before it", last.name),
            ));
        };
        return Ok(RollbackTarget {
            checkpoint: last.name.clone(),
            commit: previous,
            reason,
            branch: branch.clone(),
            undoes: Some(last.name.clone()),
        });
    }
    let wanted = if checkpoint.starts_with("checkpoint/") {
        checkpoint.to_string()
    } else {
        format!("checkpoint/{checkpoint}")
    };
    let Some(cp) = state.checkpoints.iter().find(|c| c.name == wanted) else {
        let names: Vec<&str> = state.checkpoints.iter().map(|c| c.name.as_str()).collect();
        let known = match names.last() {
            Some(_) if names.len() > 5 => format!(
                "the latest checkpoints are {}",
                names[names.len() - 5..].join(", ")
            ),
            Some(_) => format!("the checkpoints are {}", names.join(", ")),
            None => "there are no checkpoints yet: /save makes one".to_string(),
        };
        let mut r = Rejection::new(
            RejectCode::UnknownId,
            format!("unknown checkpoint '{checkpoint}' ({known}); nothing was changed"),
        );
        r.suggestion = crate::protocol::suggest(checkpoint, names.iter().copied());
        return Err(r);
    };
    let commit = Oid::from_str(&cp.commit)
        .ok()
        .filter(|id| repo.is_none_or(|r| r.find_commit(*id).is_ok()))
        .ok_or_else(|| {
            reject(
                RejectCode::UnknownId,
                format!(
                    "the commit of {} ({}) is not in the repository",
                    cp.name,
                    git::short(&cp.commit)
                ),
            )
        })?;
    Ok(RollbackTarget {
        checkpoint: cp.name.clone(),
        commit: commit.to_string(),
        reason,
        branch: branch.clone(),
        undoes: None,
    })
}

/// The events that start an accepted operation (`decide` calls this).
pub(crate) fn start_events(
    state: &State,
    kind: OperationKind,
    prepared: &Prepared,
    requested_by: &str,
    now: &str,
) -> (Vec<EventKind>, Operation) {
    let mut events = Vec::new();
    if let Some(s) = &prepared.new_session {
        events.push(EventKind::GitSessionStarted { session: s.clone() });
    }
    let status = match kind {
        OperationKind::Save => SessionStatus::Saving,
        OperationKind::Rollback => SessionStatus::RollingBack,
    };
    events.push(EventKind::SessionStatusChanged { status });
    let operation = Operation {
        id: state.counters.operations + 1,
        kind,
        requested_by: requested_by.to_string(),
        started_at: now.to_string(),
        audit_id: state.last_event_seq + events.len() as u64 + 1,
        main_before: prepared.main_before.clone(),
        tasks: prepared.tasks.clone(),
        rollback: prepared.rollback.clone(),
        publish: None,
        steps: Vec::new(),
    };
    events.push(EventKind::OperationStarted {
        operation: operation.clone(),
    });
    (events, operation)
}

/// How an operation ended.
#[derive(Debug, Clone)]
pub struct Finish {
    pub outcome: OperationOutcome,
    pub message: String,
    pub checkpoint: Option<Checkpoint>,
    pub status: SessionStatus,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Other(String),
}

impl From<git2::Error> for OpError {
    fn from(e: git2::Error) -> Self {
        OpError::Git(e.into())
    }
}

pub(crate) type OpResult<T> = Result<T, OpError>;

/// Carries an accepted operation out and records how it ended.
pub fn run(core: &mut Core, job: Job) -> OperationReport {
    let id = job.id;
    let Some(op) = core.state.operation.clone().filter(|o| o.id == id) else {
        return OperationReport {
            id,
            kind: OperationKind::Save,
            outcome: Some(OperationOutcome::Aborted),
            checkpoint: None,
            steps: Vec::new(),
            message: format!("operation {id} is not in progress"),
        };
    };
    let mut progress = Progress::new();
    let result = match op.kind {
        OperationKind::Save => save(core, &op, &mut progress),
        OperationKind::Rollback => rollback(core, &op, &mut progress),
    };
    let finish = match result {
        Ok(f) => f,
        Err(e) => {
            let current = core.state.operation.clone().filter(|o| o.id == id);
            match current.filter(|o| o.publish.is_some()) {
                // The refs were about to move: find out whether they did, and finish the
                // job or take back what moved, as a recovery after a crash would.
                Some(now) => match recover_refs(core, &now) {
                    Ok(mut f) => {
                        f.message = format!("{} hit an error while publishing ({e}); {}", op.kind, f.message);
                        f
                    }
                    Err(e2) => Finish {
                        outcome: OperationOutcome::Aborted,
                        message: format!("{} stopped while publishing: {e}; then {e2}; run `overlord-tui audit verify --git`", op.kind),
                        checkpoint: None,
                        status: SessionStatus::AwaitingReview,
                    },
                },
                None => Finish {
                    outcome: OperationOutcome::Aborted,
                    message: format!("{} stopped: {e}; main was not moved", op.kind),
                    checkpoint: None,
                    status: SessionStatus::Active,
                },
            }
        }
    };
    let mut steps = core
        .state
        .operation
        .as_ref()
        .map(|o| o.steps.clone())
        .unwrap_or_default();
    steps.extend(progress.pending.iter().filter_map(|e| match e {
        EventKind::OperationStep { step, detail, .. } => Some(step_line(step, detail)),
        _ => None,
    }));
    if let Err(e) = finish_events(core, &op, &finish, std::mem::take(&mut progress.pending)) {
        tracing::error!(error = %e, "could not record the end of operation {id}");
    }
    drop(job);
    OperationReport {
        id,
        kind: op.kind,
        outcome: Some(finish.outcome),
        checkpoint: finish.checkpoint,
        steps,
        message: finish.message,
    }
}

/// The end of an operation, written with whatever progress was still pending (one
/// transaction).
fn finish_events(
    core: &mut Core,
    op: &Operation,
    finish: &Finish,
    mut events: Vec<EventKind>,
) -> Result<(), CoreError> {
    events.extend([
        EventKind::OperationFinished {
            id: op.id,
            kind: op.kind,
            outcome: finish.outcome,
            message: finish.message.clone(),
        },
        EventKind::SessionStatusChanged {
            status: finish.status,
        },
    ]);
    core.emit(ACTOR, events)?;
    Ok(())
}

/// How long progress events may wait to be written together: a step that takes longer shows
/// at once, while a burst of fast steps (32 merges in 70 ms) costs one transaction, not 32.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Progress events of an operation, written in batches (see `PROGRESS_EVERY`). Flushed
/// before any ref moves, so every ref move is preceded by its audit trail.
struct Progress {
    pending: Vec<EventKind>,
    last: std::time::Instant,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            pending: Vec::new(),
            last: std::time::Instant::now(),
        }
    }

    fn push(&mut self, core: &mut Core, kind: EventKind) -> OpResult<()> {
        self.pending.push(kind);
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.flush(core)?;
        }
        Ok(())
    }

    fn step(
        &mut self,
        core: &mut Core,
        op: &Operation,
        step: &str,
        detail: impl Into<String>,
    ) -> OpResult<()> {
        self.push(
            core,
            EventKind::OperationStep {
                id: op.id,
                step: step.to_string(),
                detail: detail.into(),
            },
        )
    }

    fn flush(&mut self, core: &mut Core) -> OpResult<()> {
        if !self.pending.is_empty() {
            core.emit(ACTOR, std::mem::take(&mut self.pending))?;
        }
        self.last = std::time::Instant::now();
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn git_action(
    action: &str,
    reference: &str,
    old: Option<Oid>,
    new: Option<Oid>,
    source: Option<String>,
    trigger: &str,
    detail: impl Into<String>,
) -> EventKind {
    EventKind::GitAction {
        action: action.to_string(),
        reference: reference.to_string(),
        old: old.map(|o| o.to_string()),
        new: new.map(|o| o.to_string()),
        source,
        trigger: trigger.to_string(),
        detail: detail.into(),
    }
}

fn session(core: &Core) -> OpResult<GitSession> {
    core.state
        .git
        .clone()
        .ok_or_else(|| OpError::Other("no git session".into()))
}

fn oid(s: &str) -> OpResult<Oid> {
    Oid::from_str(s).map_err(|e| OpError::Other(format!("bad object id {s}: {}", e.message())))
}

fn raise(
    core: &mut Core,
    severity: Severity,
    category: &str,
    summary: String,
    details: String,
    task: Option<String>,
) {
    raise_draft(
        core,
        ConcernDraft {
            from: Some(Role::ProjectManager),
            to: Some(Role::Human),
            severity,
            category: category.to_string(),
            summary,
            details: Some(details),
            task,
        },
    );
}

/// Raises a concern as the system; the concern, or `None` (logged) when it was refused.
fn raise_draft(core: &mut Core, draft: ConcernDraft) -> Option<Concern> {
    let reply = core.execute(Origin::System, Command::RaiseConcern(draft));
    match reply.data {
        ReplyData::Concern(c) => Some(*c),
        _ => {
            tracing::error!(message = %reply.message, "could not raise a concern");
            None
        }
    }
}

/// A concern from the tester to the project manager about a QA run.
fn tester_concern(category: &str, summary: String, details: String) -> ConcernDraft {
    ConcernDraft {
        from: Some(Role::Tester),
        to: Some(Role::ProjectManager),
        severity: Severity::Warning,
        category: category.to_string(),
        summary,
        details: Some(details),
        task: None,
    }
}

pub(crate) fn after_qa_run(core: &mut Core, run: &QaRun, what: &str) {
    if run.decision == QaDecision::Fail {
        // A failed run goes to the PM, who routes the fix, and reaches the human at once.
        let why = run.reasons.join("; ");
        let raised = raise_draft(
            core,
            tester_concern(
                "qa_gate",
                format!("{what}: QA {} failed ({why})", run.id),
                format!(
                    "The gates ran on {} (tree {}). The report is .overlord/qa/{}/QA_REPORT.md; the evidence is in .overlord/qa/{}/ (`overlord-tui qa show {}`).",
                    run.commit.as_deref().map(git::short).unwrap_or_default(),
                    git::short(&run.tree),
                    run.id,
                    run.id,
                    run.id
                ),
            ),
        );
        if let Some(c) = raised.filter(|c| !c.escalations.contains(&Role::Human)) {
            let escalate = vec![EventKind::ConcernEscalated {
                id: c.id,
                to: Role::Human,
                reason: "a failed QA run reaches the human".into(),
            }];
            if let Err(e) = core.emit(ACTOR, escalate) {
                tracing::error!(error = %e, "could not escalate a concern");
            }
        }
    }
    if !run.flaky.is_empty() {
        let mut names = run
            .flaky
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if run.flaky.len() > 10 {
            names.push_str(&format!(" and {} more", run.flaky.len() - 10));
        }
        raise_draft(
            core,
            tester_concern(
                "flaky_tests",
                format!("{} flaky test(s) in {}: {names}", run.flaky.len(), run.id),
                format!(
                    "Their outcome differed between the repeated runs of {}; they are quarantined in .overlord/qa/{}/QA_REPORT.md and do not count in the tests gate.",
                    run.id, run.id
                ),
            ),
        );
    }
}

struct Verdict {
    run: QaRun,
    /// The merge approval a human gave for exactly this tree.
    approved: Option<String>,
}

/// A QA run on `tree` whose merge the human approved.
fn approved_run(core: &Core, tree: &str) -> Option<(QaRun, String)> {
    let state = core.state();
    state.approvals.values().rev().find_map(|a| {
        let approved = matches!(
            a.decision,
            Some(Decision::Approved) | Some(Decision::ApprovedWithConditions)
        );
        if a.kind != ApprovalKind::Merge || !approved {
            return None;
        }
        state
            .qa_runs
            .iter()
            .find(|r| r.id.to_string() == a.subject && r.tree == tree)
            .map(|r| (r.clone(), a.id.to_string()))
    })
}

/// The QA gates on the integrated tree (or the human's approval of exactly this tree).
/// `Err(finish)`: the Save stops there (a malformed policy runs nothing).
#[allow(clippy::too_many_arguments)]
fn qa_gate(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    integ: Oid,
    tasks: &[String],
) -> OpResult<Result<Verdict, Finish>> {
    let tree = repo.find_commit(integ)?.tree_id().to_string();
    if let Some((run, approval)) = approved_run(core, &tree) {
        progress.step(
            core,
            op,
            "gate",
            format!("{} on this tree was approved by the human ({approval}); the gates are not run again", run.id),
        )?;
        return Ok(Ok(Verdict {
            run,
            approved: Some(approval),
        }));
    }
    let impact = super::qa::impact_of(core, tasks);
    let (ctx, warning) = match super::qa::QaContext::gather(core, false, impact) {
        Ok(x) => x,
        Err(why) => {
            progress.flush(core)?;
            raise(
                core,
                Severity::Warning,
                "qa_policy",
                "the QA policy is malformed: Save held".into(),
                why.clone(),
                None,
            );
            return Ok(Err(Finish {
                outcome: OperationOutcome::GateFailed,
                message: format!(
                    "the QA policy is malformed, so no gate ran and main was not moved:\n{why}"
                ),
                checkpoint: None,
                status: SessionStatus::Active,
            }));
        }
    };
    if let Some(w) = warning {
        progress.step(core, op, "gate", w)?;
    }
    progress.step(
        core,
        op,
        "gate",
        format!("QA gates on {}", git::short(&integ.to_string())),
    )?;
    progress.flush(core)?;
    let prepared = super::qa::prepare(&ctx, &integ.to_string());
    // Check the tree out only when some gate has a command to run in it.
    let dir = if prepared.runs_anything() {
        integration_worktree(core, repo, sess, integ)?
    } else {
        core.ws.root.clone()
    };
    let id = QaRunId(core.state.counters.qa_runs + 1);
    let out = super::qa::run(
        &ctx,
        prepared,
        &dir,
        &integ.to_string(),
        &tree,
        id,
        &mut |ev| {
            if let Err(e) = progress.push(core, ev) {
                tracing::error!(error = %e, "could not record QA progress");
            }
        },
    )
    .map_err(OpError::Other)?;
    progress.push(
        core,
        EventKind::QaRunRecorded {
            run: out.run.clone(),
        },
    )?;
    progress.flush(core)?;
    after_qa_run(core, &out.run, &format!("Save {} held", op.id));
    Ok(Ok(Verdict {
        run: out.run,
        approved: None,
    }))
}

// ---------------------------------------------------------------------------------------------
// Save

fn save(core: &mut Core, op: &Operation, progress: &mut Progress) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let main_before = oid(&op.main_before)?;
    progress.step(
        core,
        op,
        "frozen",
        "task dispatch waits until the Save ends",
    )?;
    failpoint::hit("save.frozen");

    // A hand-made commit on main since Overlord last moved it: report it, build on it.
    note_if_moved(core, &repo, &sess, main_before)?;

    // Flush: finished tasks' uncommitted output is committed on their branches.
    let mut tasks = op.tasks.clone();
    let mut flushed = 0;
    for tb in tasks.iter_mut() {
        if let Some(new) = flush_task(core, progress, &sess, op, tb)? {
            tb.tip = new.to_string();
            flushed += 1;
        }
    }
    progress.step(
        core,
        op,
        "flushed",
        format!(
            "{} finished task branch{}, {flushed} with uncommitted output committed",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "es" }
        ),
    )?;
    failpoint::hit("save.flushed");

    // Integrate.
    let mut integ = main_before;
    let mut merged: Vec<String> = Vec::new();
    let mut conflicted = Vec::new();
    for tb in &tasks {
        let tip = oid(&tb.tip)?;
        // One history walk per branch: the tip is already in when it is the merge base.
        let base = repo.merge_base(integ, tip)?;
        if base == tip {
            progress.step(core, op, "skipped", format!("{}: nothing new", tb.task))?;
            continue;
        }
        let outcome = merge_task(&repo, &sess, op, tb, base, integ, tip)?;
        match outcome {
            Ok((commit, detail)) => {
                progress.push(
                    core,
                    git_action(
                        "merge",
                        &format!("refs/heads/{}", sess.integration_branch()),
                        Some(integ),
                        Some(commit),
                        Some(tb.branch.clone()),
                        "save",
                        format!("{}: {detail}", tb.task),
                    ),
                )?;
                progress.step(core, op, "merged", format!("{}: {detail}", tb.task))?;
                integ = commit;
                merged.push(tb.task.clone());
                failpoint::hit("save.merged");
            }
            Err(conflicts) => {
                let files: Vec<String> = conflicts
                    .iter()
                    .map(|c| format!("{} ({})", c.path, c.kind))
                    .collect();
                progress.step(
                    core,
                    op,
                    "conflict",
                    format!("{}: {}", tb.task, files.join(", ")),
                )?;
                conflicted.push((tb.clone(), conflicts));
            }
        }
    }
    if !conflicted.is_empty() {
        // The steps come before the concerns they explain.
        progress.flush(core)?;
    }
    for (tb, conflicts) in &conflicted {
        conflict_concern(core, tb, conflicts, &merged);
    }
    if merged.is_empty() {
        let (outcome, message) = if conflicted.is_empty() {
            (
                OperationOutcome::NothingToSave,
                if tasks.is_empty() {
                    "nothing to save: no task is done yet".to_string()
                } else {
                    "nothing to save: every finished task is already on main".to_string()
                },
            )
        } else {
            (
                OperationOutcome::Conflicted,
                format!(
                    "nothing integrated: {} conflicted (see the concerns); main was not moved",
                    names(conflicted.iter().map(|(t, _)| t.task.as_str()))
                ),
            )
        };
        return Ok(Finish {
            outcome,
            message,
            checkpoint: None,
            status: SessionStatus::Active,
        });
    }

    // The PM's documents, generated from the state, go in with the checkpoint.
    if let Some(commit) = commit_documents(core, &repo, &sess, op, integ)? {
        progress.push(
            core,
            git_action(
                "commit",
                &format!("refs/heads/{}", sess.integration_branch()),
                Some(integ),
                Some(commit),
                None,
                "save",
                "project documents (docs/PROJECT_*.md) brought up to date".to_string(),
            ),
        )?;
        progress.step(core, op, "documents", "docs/PROJECT_*.md updated")?;
        integ = commit;
    }

    // The integration branch (Overlord's own, unprotected) now holds the merges.
    let integ_ref = format!("refs/heads/{}", sess.integration_branch());
    let integ_old = git::ref_target(&repo, &integ_ref)?;
    repo.reference(&integ_ref, integ, true, "overlord: save integration")?;
    progress.push(
        core,
        git_action(
            "update_ref",
            &integ_ref,
            integ_old,
            Some(integ),
            Some(merged.join(", ")),
            "save",
            format!("{} task branch(es) merged", merged.len()),
        ),
    )?;
    progress.flush(core)?;
    failpoint::hit("save.integrated");

    // Gate.
    let verdict = match qa_gate(core, progress, &repo, &sess, op, integ, &merged)? {
        Ok(v) => v,
        Err(finish) => return Ok(finish),
    };
    let run = verdict.run;
    failpoint::hit("save.gated");
    match run.decision {
        QaDecision::AutoMerge => {}
        QaDecision::RequireHuman if verdict.approved.is_some() => {}
        QaDecision::RequireHuman => {
            progress.flush(core)?;
            let why = run.reasons.join("; ");
            let reply = core.execute(
                Origin::System,
                Command::RequestApproval {
                    kind: ApprovalKind::Merge,
                    subject: run.id.to_string(),
                    from: Some(Role::ProjectManager),
                    summary: format!(
                        "Save {}: merge {} ({}) into {}? QA {} asks for the human: {why}. Report: .overlord/qa/{}/QA_REPORT.md",
                        op.id,
                        merged.join(", "),
                        git::short(&integ.to_string()),
                        sess.main,
                        run.id,
                        run.id
                    ),
                },
            );
            let approval = match &reply.data {
                ReplyData::Approval(a) => a.id.to_string(),
                _ => {
                    tracing::error!(message = %reply.message, "could not request the merge approval");
                    "(not recorded)".to_string()
                }
            };
            return Ok(Finish {
                outcome: OperationOutcome::AwaitingApproval,
                message: format!(
                    "QA {} asks for the human ({why}); main was not moved. `/approve {approval}` then `/save` publishes exactly this tree",
                    run.id
                ),
                checkpoint: None,
                status: SessionStatus::AwaitingReview,
            });
        }
        QaDecision::Fail => {
            progress.flush(core)?;
            let why = run.reasons.join("; ");
            return Ok(Finish {
                outcome: OperationOutcome::GateFailed,
                message: format!(
                    "QA {} failed ({why}); main was not moved and the session awaits review",
                    run.id
                ),
                checkpoint: None,
                status: SessionStatus::AwaitingReview,
            });
        }
    }

    // Publish.
    let tasks_in = merged;
    let summary = match &verdict.approved {
        Some(a) => format!(
            "{} (approved by the human as {a})",
            super::qa::summary(&run)
        ),
        None => super::qa::summary(&run),
    };
    let tag_message = format!(
        "Overlord checkpoint (Save {})\n\nTasks: {}\nQA {}: {}\n{}",
        op.id,
        tasks_in.join(", "),
        run.id,
        summary,
        conflict_line(&conflicted)
    );
    let cp = publish_checkpoint(
        core,
        progress,
        &repo,
        &sess,
        op,
        Publishing {
            expected_main: main_before,
            new_main: integ,
            kind: CheckpointKind::Save,
            tag_message,
            summary: summary.clone(),
            qa_run: Some(run.id),
            tasks: tasks_in.clone(),
            restores: None,
            undoes: None,
            trigger: "save",
        },
    )?;
    let mut message = format!(
        "{} created: {} integrated, main at {}",
        cp.name,
        tasks_in.join(", "),
        git::short(&cp.commit)
    );
    if !conflicted.is_empty() {
        message.push_str(&format!(
            "; left out with conflicts: {}",
            names(conflicted.iter().map(|(t, _)| t.task.as_str()))
        ));
    }

    // The merged tasks' worktrees are done with (flush left them clean); a worktree that
    // somehow has new work is kept and reported.
    for t in &tasks_in {
        if worktree::worktree_path(&core.ws.root, t).exists() {
            progress.flush(core)?;
            let _ = core.prune_task_worktree(t);
        }
    }

    // Post-merge verification.
    if let Some(verify) = non_empty(&core.config.qa.verify_command) {
        let check = gate(
            core,
            progress,
            &repo,
            &sess,
            op,
            integ,
            Some(&verify),
            "post-merge verification",
        )?;
        failpoint::hit("save.verified");
        if check.decision == QaDecision::Fail {
            let why = check.reasons.join("; ");
            // Back to where this Save found main (named by its checkpoint when it has one).
            let target_name = core
                .state
                .checkpoints
                .iter()
                .rev()
                .find(|c| c.commit == op.main_before)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| {
                    format!("main before {} ({})", cp.name, git::short(&op.main_before))
                });
            let target = RollbackTarget {
                checkpoint: target_name.clone(),
                commit: op.main_before.clone(),
                reason: format!("post-merge verification of {} failed: {why}", cp.name),
                branch: None,
                undoes: None,
            };
            let (back, _) = rollback_main(
                core,
                progress,
                &repo,
                &sess,
                op,
                &target,
                integ,
                Some(&cp.name),
            )?;
            progress.flush(core)?;
            raise(
                core,
                Severity::Critical,
                "regression",
                format!("{} failed post-merge verification and was rolled back", cp.name),
                format!(
                    "`{verify}` failed on the new main ({why}). Overlord rolled main back to {target_name} as {} (a new commit; {} is still reachable). Output: .overlord/logs/qa-{}.log.",
                    back.name, cp.name, check.id.0
                ),
                None,
            );
            return Ok(Finish {
                outcome: OperationOutcome::GateFailed,
                message: format!(
                    "{} failed post-merge verification ({why}) and was rolled back automatically as {}; the session awaits review",
                    cp.name, back.name
                ),
                checkpoint: Some(back),
                status: SessionStatus::AwaitingReview,
            });
        }
    }
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message,
        checkpoint: Some(cp),
        status: SessionStatus::Active,
    })
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

fn conflict_line(conflicted: &[(TaskBranch, Vec<merge::Conflict>)]) -> String {
    if conflicted.is_empty() {
        String::new()
    } else {
        format!(
            "Left out (conflicts): {}\n",
            names(conflicted.iter().map(|(t, _)| t.task.as_str()))
        )
    }
}

/// Commits uncommitted output in a finished task's worktree; the new tip, if it did.
/// Writes `docs/PROJECT_OVERVIEW.md`, `PROJECT_DETAIL.md` and `PROJECT_VARIATIONS.md` from
/// the state as a commit on `parent`; `None` when they are already up to date.
fn commit_documents(
    core: &Core,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    parent: Oid,
) -> OpResult<Option<Oid>> {
    // The human approved a QA run of this very integration with its documents: commit that
    // run's tree again, so the Save publishes exactly the tree that was checked.
    let parent_tree = repo.find_commit(parent)?.tree_id();
    let state = core.state();
    let mut approved_tree = None;
    for a in state.approvals.values().rev() {
        let approved = matches!(
            a.decision,
            Some(Decision::Approved) | Some(Decision::ApprovedWithConditions)
        );
        if a.kind != ApprovalKind::Merge || !approved {
            continue;
        }
        approved_tree = state
            .qa_runs
            .iter()
            .filter(|r| r.id.to_string() == a.subject)
            .filter_map(|r| r.commit.as_deref().and_then(|c| Oid::from_str(c).ok()))
            .filter_map(|c| repo.find_commit(c).ok())
            .find(|c| {
                c.parent_count() == 1
                    && c.summary().is_some_and(|s| s.starts_with("docs: "))
                    && c.parent(0).is_ok_and(|p| p.tree_id() == parent_tree)
            })
            .map(|c| c.tree_id());
        if approved_tree.is_some() {
            break;
        }
    }
    let parent_commit = repo.find_commit(parent)?;
    let root = parent_commit.tree()?;
    let docs = super::digest::documents_tree(repo, &root, &core.state)?;
    let mut changed = approved_tree.is_some_and(|t| t != root.id())
        || Some(docs) != root.get_name("docs").map(|e| e.id());
    // The daily digests (`.overlord/reports/`): the integration branch they were committed on
    // is rebuilt from main by this Save, so they come along here.
    let reports = super::digest::reports_tree(repo, Some(&root), &core.ws.dir.join("reports"))?;
    let reports_changed = reports.is_some() && reports != root.get_name("reports").map(|e| e.id());
    changed |= reports_changed;
    if !changed {
        return Ok(None);
    }
    let tree = match approved_tree {
        Some(t) => t,
        None => {
            let mut top = repo.treebuilder(Some(&root))?;
            top.insert("docs", docs, 0o040000)?;
            if let Some(r) = reports.filter(|_| reports_changed) {
                top.insert("reports", r, 0o040000)?;
            }
            top.write()?
        }
    };
    let message = format!(
        "docs: project overview, detail and variations{} at Save {}\n\n{}",
        if reports_changed {
            ", daily reports"
        } else {
            ""
        },
        op.id,
        git::trailers(Role::ProjectManager, op.audit_id, &sess.id)
    );
    let author = git::signature(Some(Role::ProjectManager))?;
    Ok(Some(git::commit(repo, tree, &[parent], &message, &author)?))
}

fn flush_task(
    core: &mut Core,
    progress: &mut Progress,
    sess: &GitSession,
    op: &Operation,
    tb: &TaskBranch,
) -> OpResult<Option<Oid>> {
    let path = worktree::worktree_path(&core.ws.root, &tb.task);
    if !path.exists() {
        return Ok(None);
    }
    let dirty = worktree::uncommitted(&path).map_err(|e| OpError::Other(e.to_string()))?;
    if dirty.is_empty() {
        return Ok(None);
    }
    let wt = Repository::open(&path)?;
    let head = wt.head()?;
    if head.name() != Some(&format!("refs/heads/{}", tb.branch)) {
        return Err(OpError::Other(format!(
            "the worktree of {} is not on {}; nothing was committed",
            tb.task, tb.branch
        )));
    }
    let parent = head.peel_to_commit()?;
    let mut index = wt.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.update_all(["*"], None)?;
    index.write()?;
    let tree = index.write_tree()?;
    let message = format!(
        "chore({}): output left uncommitted when Save {} began\n\nFiles: {}\n\n{}",
        tb.task,
        op.id,
        dirty.join(", "),
        git::trailers(tb.role, op.audit_id, &sess.id)
    );
    let author = git::signature(Some(tb.role))?;
    let committer = git::signature(None)?;
    let new = wt.commit(
        Some("HEAD"),
        &author,
        &committer,
        &message,
        &wt.find_tree(tree)?,
        &[&parent],
    )?;
    progress.push(
        core,
        git_action(
            "commit",
            &format!("refs/heads/{}", tb.branch),
            Some(parent.id()),
            Some(new),
            None,
            "flush",
            format!("{} file(s) the agent left uncommitted", dirty.len()),
        ),
    )?;
    progress.flush(core)?;
    Ok(Some(new))
}

/// The tree to merge `integ` and `tip` against. Usually the tree of their merge base; when
/// they have several (a task branch that merged its dependencies, which Save merged into the
/// integration branch too: a criss-cross), the bases merged into one virtual base as git's
/// recursive strategy does — with just one of them, the changes behind the others would count
/// as made on both sides and conflict. If the bases themselves conflict, `base` alone.
fn base_tree(repo: &Repository, base: Oid, integ: Oid, tip: Oid) -> Result<Oid, git2::Error> {
    let tree_of = |c: Oid| -> Result<Oid, git2::Error> { Ok(repo.find_commit(c)?.tree_id()) };
    let bases = repo.merge_bases(integ, tip)?;
    if bases.len() < 2 {
        return tree_of(base);
    }
    let first = bases.first().copied().unwrap_or(base);
    let mut virtual_base = tree_of(first)?;
    for &other in bases.iter().skip(1) {
        let under = repo.merge_base(first, other)?;
        let out = merge::merge_trees(
            repo,
            tree_of(under)?,
            virtual_base,
            tree_of(other)?,
            "base",
            "base",
        )?;
        match out.tree {
            Some(t) => virtual_base = t,
            None => return tree_of(base),
        }
    }
    Ok(virtual_base)
}

/// Merges one task branch into `integ`: the merge commit and a one-line summary, or the
/// conflicts.
fn merge_task(
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    tb: &TaskBranch,
    base: Oid,
    integ: Oid,
    tip: Oid,
) -> OpResult<Result<(Oid, String), Vec<merge::Conflict>>> {
    let tree_of = |c: Oid| -> Result<Oid, git2::Error> { Ok(repo.find_commit(c)?.tree_id()) };
    let out = merge::merge_trees(
        repo,
        base_tree(repo, base, integ, tip)?,
        tree_of(integ)?,
        tree_of(tip)?,
        &sess.integration_branch(),
        &tb.branch,
    )?;
    let Some(tree) = out.tree else {
        return Ok(Err(out.conflicts));
    };
    let (lines, total) = git::commits_between(repo, integ, tip, 50)?;
    let mut message = format!(
        "Merge task {} ({}) into {}\n\nBrings in {total} commit{}:\n",
        tb.task,
        tb.branch,
        sess.integration_branch(),
        if total == 1 { "" } else { "s" }
    );
    for l in &lines {
        message.push_str(&format!("  {l}\n"));
    }
    if total > lines.len() {
        message.push_str(&format!("  … and {} more\n", total - lines.len()));
    }
    let trivial: Vec<String> = out
        .trivial
        .iter()
        .map(|t| format!("{} ({})", t.path, t.kind))
        .collect();
    if !trivial.is_empty() {
        message.push_str("\nResolved by policy:\n");
        for t in &trivial {
            message.push_str(&format!("  {t}\n"));
        }
    }
    message.push('\n');
    message.push_str(&git::trailers(tb.role, op.audit_id, &sess.id));
    let author = git::signature(Some(tb.role))?;
    let commit = git::commit(repo, tree, &[integ, tip], &message, &author)?;
    let mut detail = format!("{total} commit{}", if total == 1 { "" } else { "s" });
    if !trivial.is_empty() {
        detail.push_str(&format!("; resolved by policy: {}", trivial.join(", ")));
    }
    Ok(Ok((commit, detail)))
}

fn conflict_concern(
    core: &mut Core,
    tb: &TaskBranch,
    conflicts: &[merge::Conflict],
    merged: &[String],
) {
    let mut details = format!(
        "{} ({}) conflicts with the integration branch and was left out of this Save, untouched.\n",
        tb.task, tb.branch
    );
    if !merged.is_empty() {
        details.push_str(&format!("Integrated before it: {}.\n", merged.join(", ")));
    }
    for c in conflicts {
        details.push_str(&format!("\n{} ({})\n", c.path, c.kind));
        for h in &c.hunks {
            details.push_str(h);
            details.push('\n');
        }
    }
    let files: Vec<&str> = conflicts.iter().map(|c| c.path.as_str()).collect();
    raise(
        core,
        Severity::Warning,
        "merge_conflict",
        format!(
            "{} conflicts on {}; left out of the Save",
            tb.task,
            files.join(", ")
        ),
        details,
        Some(tb.task.clone()),
    );
}

/// The integration worktree, where the gates run (`.overlord/integration`).
pub(crate) fn integration_worktree(
    core: &Core,
    repo: &Repository,
    sess: &GitSession,
    commit: Oid,
) -> OpResult<PathBuf> {
    let path = core.ws.dir.join("integration");
    let branch = sess.integration_branch();
    let refname = format!("refs/heads/{branch}");
    let name = format!("overlord-integration-{}", sess.id);
    let usable = Repository::open(&path)
        .ok()
        .and_then(|r| r.head().ok().and_then(|h| h.name().map(str::to_string)))
        .is_some_and(|h| h == refname);
    if !usable {
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| OpError::Other(format!("{}: {e}", path.display())))?;
        }
        if let Ok(old) = repo.find_worktree(&name) {
            let mut o = git2::WorktreePruneOptions::new();
            o.valid(true).working_tree(true);
            let _ = old.prune(Some(&mut o));
        }
        let reference = repo.find_reference(&refname)?;
        let mut opts = git2::WorktreeAddOptions::new();
        opts.reference(Some(&reference));
        repo.worktree(&name, &path, Some(&opts))?;
    }
    let wt = Repository::open(&path)?;
    let target = wt.find_commit(commit)?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.force().remove_untracked(true);
    wt.checkout_tree(target.as_object(), Some(&mut co))?;
    wt.set_head(&refname)?;
    if !usable {
        // A fresh checkout gets what task worktrees get (`.env`, `npm ci`, ...), so the
        // gates find the project as its own worktrees do.
        worktree::run_setup(
            &core.ws.root,
            "integration",
            &path,
            &core.config.worktrees.setup(),
        )
        .map_err(|e| OpError::Other(e.to_string()))?;
    }
    Ok(path)
}

/// Runs a gate command on `commit`'s tree and records the QA run.
#[allow(clippy::too_many_arguments)]
fn gate(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    commit: Oid,
    command: Option<&str>,
    gate_name: &str,
) -> OpResult<QaRun> {
    let id = QaRunId(core.state.counters.qa_runs + 1);
    let started = super::now();
    let tree = repo.find_commit(commit)?.tree_id().to_string();
    let (result, decision, reasons) = match command {
        None => (
            GateResult {
                gate: gate_name.to_string(),
                threshold: None,
                measured: None,
                outcome: GateOutcome::NotMeasured,
                reason: Some("no command is configured".into()),
                required: true,
                errored: false,
            },
            QaDecision::AutoMerge,
            vec!["no gate configured".to_string()],
        ),
        Some(cmd) => {
            progress.step(
                core,
                op,
                "gate",
                format!(
                    "{gate_name}: `{cmd}` on {}",
                    git::short(&commit.to_string())
                ),
            )?;
            progress.flush(core)?;
            let dir = integration_worktree(core, repo, sess, commit)?;
            let log = core.ws.log_dir().join(format!("qa-{}.log", id.0));
            let _ = std::fs::create_dir_all(core.ws.log_dir());
            let timeout = Duration::from_secs(core.config.qa.timeout_secs.max(1));
            let run = shell::run(
                cmd,
                &dir,
                &[
                    ("OVERLORD_GATE", gate_name),
                    ("OVERLORD_SESSION", sess.id.as_str()),
                ],
                Some(timeout),
                Some(&log),
            )
            .map_err(|e| OpError::Other(format!("cannot run `{cmd}`: {e}")))?;
            let ok = run.success();
            let measured = format!("{} in {:.1}s", run.describe(), run.elapsed.as_secs_f64());
            let reason = if ok {
                None
            } else {
                Some(format!("`{cmd}` {}: {}", run.describe(), run.tail_lines(3)))
            };
            (
                GateResult {
                    gate: gate_name.to_string(),
                    threshold: Some("exit 0".into()),
                    measured: Some(measured.clone()),
                    outcome: if ok {
                        GateOutcome::Pass
                    } else {
                        GateOutcome::Fail
                    },
                    reason: reason.clone(),
                    required: true,
                    errored: run.status.is_none(),
                },
                if ok {
                    QaDecision::AutoMerge
                } else {
                    QaDecision::Fail
                },
                vec![reason.unwrap_or_else(|| format!("`{cmd}` passed ({measured})"))],
            )
        }
    };
    let run = QaRun {
        id,
        tree,
        started_at: started,
        finished_at: super::now(),
        gates: vec![result],
        decision,
        reasons,
        commit: Some(commit.to_string()),
        metrics: Default::default(),
        flaky: Vec::new(),
        promotion: false,
        record_sha256: None,
    };
    progress.push(core, EventKind::QaRunRecorded { run: run.clone() })?;
    if command.is_some() {
        progress.flush(core)?;
    }
    Ok(run)
}

impl Core {
    /// For a running console: when the protected main branch moved outside Overlord (a commit
    /// made by hand), records it, raises a concern and rebases the integration branch onto
    /// it. Does nothing while an operation runs. Returns whether it found such a change.
    pub fn watch_main(&mut self) -> Result<bool, String> {
        let (Some(sess), Some(known)) = (self.state.git.clone(), self.state.main_head.clone())
        else {
            return Ok(false);
        };
        if self.state.operation.is_some() {
            return Ok(false);
        }
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let Some(now_at) = git::ref_target(&repo, &sess.main_ref()).map_err(|e| e.to_string())?
        else {
            return Ok(false);
        };
        if now_at.to_string() == known {
            return Ok(false);
        }
        // Another process may be running an operation that is about to record this move.
        let Ok(Some(_lock)) = OperationLock::try_acquire(&self.ws) else {
            return Ok(false);
        };
        self.refresh().map_err(|e| e.to_string())?;
        if self.state.main_head.as_deref() != Some(known.as_str()) || self.state.operation.is_some()
        {
            return Ok(false);
        }
        note_outside_commit(self, &repo, &sess, &known, now_at).map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// Reports main having moved since Overlord last left it (`main_head`) to `now_at`.
fn note_if_moved(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    now_at: Oid,
) -> OpResult<()> {
    match core.state.main_head.clone() {
        Some(known) if known != now_at.to_string() => {
            note_outside_commit(core, repo, sess, &known, now_at)
        }
        _ => Ok(()),
    }
}

/// Records a commit someone made on main outside Overlord: a concern, main's new place, and
/// the integration branch rebased onto it (it holds nothing main does not, after a Save; a
/// held Save's merges are rebuilt from the task branches by the next one).
fn note_outside_commit(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    known: &str,
    now_at: Oid,
) -> OpResult<()> {
    let known_id = oid(known)?;
    let (lines, total) = if repo.graph_descendant_of(now_at, known_id).unwrap_or(false) {
        git::commits_between(repo, known_id, now_at, 10)?
    } else {
        (
            vec![format!(
                "{} replaced {} (history rewritten)",
                git::short(&now_at.to_string()),
                git::short(known)
            )],
            1,
        )
    };
    let mut actions = vec![git_action(
        "external_commit",
        &sess.main_ref(),
        Some(known_id),
        Some(now_at),
        None,
        "external",
        format!(
            "{total} commit(s) made outside Overlord: {}",
            lines.join("; ")
        ),
    )];
    let integ_ref = format!("refs/heads/{}", sess.integration_branch());
    if let Some(old) = git::ref_target(repo, &integ_ref)? {
        if old != now_at {
            repo.reference_matching(
                &integ_ref,
                now_at,
                true,
                old,
                "overlord: rebase integration onto main",
            )?;
            actions.push(git_action(
                "rebase_integration",
                &integ_ref,
                Some(old),
                Some(now_at),
                Some(sess.main.clone()),
                "external",
                format!("integration branch rebuilt on {}", sess.main),
            ));
        }
    }
    core.emit(ACTOR, actions)?;
    raise(
        core,
        Severity::Warning,
        "protected_branch",
        format!("{} was changed outside Overlord ({total} commit(s))", sess.main),
        format!(
            "Overlord left {} at {}; it is now at {}:\n{}\nThe integration branch is rebuilt on it.",
            sess.main,
            git::short(known),
            git::short(&now_at.to_string()),
            lines.join("\n")
        ),
        None,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Publishing a checkpoint (Save and rollback)

struct Publishing {
    expected_main: Oid,
    new_main: Oid,
    kind: CheckpointKind,
    tag_message: String,
    summary: String,
    qa_run: Option<QaRunId>,
    tasks: Vec<String>,
    restores: Option<String>,
    undoes: Option<String>,
    trigger: &'static str,
}

fn publish_checkpoint(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    p: Publishing,
) -> OpResult<Checkpoint> {
    let main_ref = sess.main_ref();
    // Main moves only from where the operation found it (the refs' compare-and-swap in
    // `git::publish` enforces it), so a commit made meanwhile is never dropped.
    let main_before = p.expected_main;
    let user = git::check_user_tree(repo, &sess.main)?;
    let changed = git::changed_paths(
        repo,
        repo.find_commit(main_before)?.tree_id(),
        repo.find_commit(p.new_main)?.tree_id(),
    )?;
    if user.on_main {
        let in_the_way = git::untracked_in_the_way(repo, &changed)?;
        if !in_the_way.is_empty() {
            return Err(GitError::InTheWay {
                what: format!("the new {}", sess.main),
                files: in_the_way,
            }
            .into());
        }
    }
    let now = super::now();
    let taken: Vec<String> = core
        .state
        .checkpoints
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let name = git::next_checkpoint_name(repo, &now, &taken)?;
    let tagger = git::signature(None)?;
    let target = repo.find_object(p.new_main, None)?;
    let tag_object = repo.tag_annotation_create(&name, &target, &tagger, &p.tag_message)?;
    let notes_before = git::ref_target(repo, git::NOTES_REF)?;
    let op_events: Vec<u64> = audit_ids(core, op);
    let note = format!(
        "Overlord {name}\nOperation: {} {}\nAudit-IDs: {}\nOverlord-Session: {}\nTasks: {}\n",
        op.kind,
        op.id,
        op_events
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        sess.id,
        if p.tasks.is_empty() {
            "-".to_string()
        } else {
            p.tasks.join(" ")
        }
    );
    let notes_after = git::notes_commit(
        repo,
        notes_before,
        &[p.new_main, tag_object],
        &note,
        &format!("overlord: notes for {name}"),
    )?;
    let plan = PublishPlan {
        main_before: main_before.to_string(),
        commit: p.new_main.to_string(),
        tag: name.clone(),
        tag_object: tag_object.to_string(),
        notes_commit: notes_after.to_string(),
        notes_before: notes_before.map(|o| o.to_string()),
        kind: Some(p.kind),
        restores: p.restores.clone(),
    };
    // The refs about to move go into the trail (with any pending progress) before they move.
    progress.push(
        core,
        EventKind::OperationPublishing {
            id: op.id,
            plan: plan.clone(),
        },
    )?;
    progress.flush(core)?;
    failpoint::hit(&format!("{}.publishing", p.trigger));
    let moves = RefMoves {
        main_ref: main_ref.clone(),
        main_before,
        main_after: p.new_main,
        tag_ref: format!("refs/tags/{name}"),
        tag_object,
        notes_before,
        notes_after,
    };
    git::publish(
        repo,
        &Publish::grant(),
        &moves,
        &format!("overlord: {} {}", op.kind, name),
    )?;
    failpoint::hit(&format!("{}.published", p.trigger));
    let mut follow_warning = None;
    if user.on_main {
        if let Err(e) = git::follow_main(repo, &changed, p.new_main) {
            follow_warning = Some(e.to_string());
        }
    }
    let checkpoint = Checkpoint {
        name: name.clone(),
        kind: p.kind,
        commit: p.new_main.to_string(),
        created_at: now,
        qa_run: p.qa_run,
        summary: p.summary,
        restores: p.restores,
        tag_object: Some(tag_object.to_string()),
        previous: Some(main_before.to_string()),
        tasks: p.tasks,
        audit_ids: op_events,
        undoes: p.undoes,
    };
    for e in record_published(sess, &moves, &checkpoint, p.trigger) {
        progress.push(core, e)?;
    }
    if let Some(w) = follow_warning {
        progress.step(
            core,
            op,
            "work tree",
            format!(
                "your work tree could not follow {}: {w}; run `git reset --keep`",
                sess.main
            ),
        )?;
    }
    Ok(checkpoint)
}

/// The audit ids an operation's note lists: its start and every event recorded since.
fn audit_ids(core: &Core, op: &Operation) -> Vec<u64> {
    (op.audit_id..=core.state.last_event_seq.max(op.audit_id)).collect()
}

/// The events that record a publish: the ref moves and the checkpoint.
fn record_published(
    sess: &GitSession,
    moves: &RefMoves,
    checkpoint: &Checkpoint,
    trigger: &str,
) -> Vec<EventKind> {
    let action = match checkpoint.kind {
        CheckpointKind::Save => "fast_forward",
        _ => "rollback_commit",
    };
    vec![
        git_action(
            action,
            &moves.main_ref,
            Some(moves.main_before),
            Some(moves.main_after),
            Some(if checkpoint.tasks.is_empty() {
                checkpoint.restores.clone().unwrap_or_default()
            } else {
                sess.integration_branch()
            }),
            trigger,
            format!("{} moved to {}", sess.main, checkpoint.name),
        ),
        git_action(
            "tag",
            &moves.tag_ref,
            None,
            Some(moves.tag_object),
            Some(moves.main_after.to_string()),
            trigger,
            checkpoint.summary.clone(),
        ),
        git_action(
            "note",
            git::NOTES_REF,
            moves.notes_before,
            Some(moves.notes_after),
            Some(checkpoint.name.clone()),
            trigger,
            "audit ids attached to the checkpoint's commit and tag".to_string(),
        ),
        EventKind::CheckpointCreated {
            checkpoint: checkpoint.clone(),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Rollback

fn rollback(core: &mut Core, op: &Operation, progress: &mut Progress) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let target = op
        .rollback
        .clone()
        .ok_or_else(|| OpError::Other("rollback without a target".into()))?;
    progress.step(
        core,
        op,
        "frozen",
        "task dispatch waits until the rollback ends",
    )?;
    failpoint::hit("rollback.frozen");
    if let Some(branch) = &target.branch {
        let path = restore_branch(core, &repo, &sess, &target, branch)?;
        return Ok(Finish {
            outcome: OperationOutcome::BranchCreated,
            message: format!(
                "{} restored on branch {branch} in {}; {} was not moved",
                target.checkpoint,
                core.ws.relative(&path),
                sess.main
            ),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    }
    let main_before = oid(&op.main_before)?;
    note_if_moved(core, &repo, &sess, main_before)?;
    let target_tree = repo.find_commit(oid(&target.commit)?)?.tree_id();
    if repo.find_commit(main_before)?.tree_id() == target_tree {
        return Ok(Finish {
            outcome: OperationOutcome::NothingToSave,
            message: format!(
                "nothing to roll back: {} already has the tree of {}",
                sess.main, target.checkpoint
            ),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    }
    let (cp, flagged) =
        rollback_main(core, progress, &repo, &sess, op, &target, main_before, None)?;
    let status = if core.state.session == SessionStatus::AwaitingReview {
        SessionStatus::AwaitingReview
    } else {
        SessionStatus::Active
    };
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message: format!(
            "{} {} {} on {} (new commit {}; history kept){}",
            cp.name,
            if target.undoes.is_some() {
                "undoes"
            } else {
                "restores"
            },
            target.checkpoint,
            sess.main,
            git::short(&cp.commit),
            if flagged > 0 {
                format!("; {flagged} task branch(es) flagged")
            } else {
                String::new()
            }
        ),
        checkpoint: Some(cp),
        status,
    })
}

/// A new commit on main whose tree is the target's, tagged as a rollback checkpoint; task
/// branches built on the commits it takes out are flagged.
#[allow(clippy::too_many_arguments)]
fn rollback_main(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    target: &RollbackTarget,
    parent: Oid,
    after_save: Option<&str>,
) -> OpResult<(Checkpoint, usize)> {
    let main_now = parent;
    let target_commit = oid(&target.commit)?;
    let tree = repo.find_commit(target_commit)?.tree_id();
    let what = if target.undoes.is_some() {
        format!("Undo rollback {}", target.checkpoint)
    } else {
        format!("Roll back to {}", target.checkpoint)
    };
    let restores = if target.undoes.is_some() {
        format!("the tree {} had before {}", sess.main, target.checkpoint)
    } else {
        format!("the tree of {}", target.checkpoint)
    };
    let message = format!(
        "{what}\n\n{}\n\nRestores {restores} ({}); {} before this commit was {}.\n\nOverlord-Rollback-To: {}\nOverlord-Rollback-Reason: {}\n{}",
        target.reason,
        git::short(&target.commit),
        sess.main,
        git::short(&main_now.to_string()),
        target.checkpoint,
        target.reason.replace('\n', " "),
        git::trailers(Role::ProjectManager, op.audit_id, &sess.id)
    );
    let author = git::signature(Some(Role::ProjectManager))?;
    let commit = git::commit(repo, tree, &[main_now], &message, &author)?;
    let trigger = if after_save.is_some() {
        "auto_rollback"
    } else {
        "rollback"
    };
    let cp = publish_checkpoint(
        core,
        progress,
        repo,
        sess,
        op,
        Publishing {
            expected_main: parent,
            new_main: commit,
            kind: CheckpointKind::Rollback,
            tag_message: format!("Overlord rollback: {what}\n\nReason: {}\n", target.reason),
            summary: format!("{what}: {}", target.reason),
            qa_run: None,
            tasks: Vec::new(),
            restores: Some(target.checkpoint.clone()),
            undoes: target.undoes.clone(),
            trigger,
        },
    )?;
    let flags = flag_task_branches(core, repo, sess, target_commit, main_now, &cp.name)?;
    let flagged = flags.len();
    for e in flags {
        progress.push(core, e)?;
    }
    Ok((cp, flagged))
}

/// Flags task branches whose history includes commits the rollback took out of main.
fn flag_task_branches(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    target: Oid,
    old_main: Oid,
    rollback_name: &str,
) -> OpResult<Vec<EventKind>> {
    let Some(plan) = core.state.plan.clone() else {
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    for task in plan.tasks() {
        let branch = sess.task_branch(&task.id);
        let Some(tip) = git::branch_tip(repo, &branch)? else {
            continue;
        };
        let Ok(mb) = repo.merge_base(tip, old_main) else {
            continue;
        };
        let kept = mb == target || repo.graph_descendant_of(target, mb)?;
        if !kept {
            events.push(EventKind::TaskBranchFlagged {
                task: task.id.clone(),
                branch,
                reason: format!(
                    "builds on {} which {rollback_name} took out of {}; rework or rebase it",
                    git::short(&mb.to_string()),
                    sess.main
                ),
            });
        }
    }
    Ok(events)
}

/// `/rollback <checkpoint> --branch <name>`: the checkpoint on a new branch and worktree.
fn restore_branch(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    target: &RollbackTarget,
    branch: &str,
) -> OpResult<PathBuf> {
    let commit = repo.find_commit(oid(&target.commit)?)?;
    let refname = format!("refs/heads/{branch}");
    git::update_ref(
        repo,
        &protection(core, sess),
        None,
        &refname,
        commit.id(),
        None,
        &format!("overlord: restore {}", target.checkpoint),
    )?;
    let dir_name = branch.replace('/', "-");
    let path = core.ws.dir.join("restore").join(&dir_name);
    if path.exists() {
        return Err(OpError::Other(format!(
            "{} exists; move it away first",
            path.display()
        )));
    }
    std::fs::create_dir_all(path.parent().unwrap_or(&core.ws.dir))
        .map_err(|e| OpError::Other(e.to_string()))?;
    let reference = repo.find_reference(&refname)?;
    let mut opts = git2::WorktreeAddOptions::new();
    opts.reference(Some(&reference));
    repo.worktree(&format!("overlord-restore-{dir_name}"), &path, Some(&opts))?;
    core.emit(
        ACTOR,
        vec![git_action(
            "branch",
            &refname,
            None,
            Some(commit.id()),
            Some(target.checkpoint.clone()),
            "rollback",
            format!("worktree {}", core.ws.relative(&path)),
        )],
    )?;
    Ok(path)
}

// ---------------------------------------------------------------------------------------------
// Recovery

/// Finishes or cleans up an operation a killed process left in the audit trail. The caller
/// holds the operation lock, so nothing else is running it. Returns what it did.
pub fn recover(core: &mut Core) -> Result<Option<String>, CoreError> {
    let Some(op) = core.state.operation.clone() else {
        return Ok(None);
    };
    let finish = match recover_refs(core, &op) {
        Ok(f) => f,
        Err(e) => Finish {
            outcome: OperationOutcome::Aborted,
            message: format!(
                "{} {} was interrupted and could not be inspected ({e}); main was left as found",
                op.kind, op.id
            ),
            checkpoint: None,
            status: SessionStatus::AwaitingReview,
        },
    };
    let message = finish.message.clone();
    finish_events(core, &op, &finish, Vec::new())?;
    Ok(Some(message))
}

fn recover_refs(core: &mut Core, op: &Operation) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let interrupted = format!("{} {} was interrupted", op.kind, op.id);
    if let Some(branch) = op.rollback.as_ref().and_then(|r| r.branch.clone()) {
        let there = git::branch_tip(&repo, &branch)?;
        return Ok(Finish {
            outcome: if there.is_some() {
                OperationOutcome::BranchCreated
            } else {
                OperationOutcome::Aborted
            },
            message: format!(
                "{interrupted}; branch {branch} {}",
                if there.is_some() {
                    "exists"
                } else {
                    "was not created"
                }
            ),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    }
    let Some(plan) = op.publish.clone() else {
        return Ok(Finish {
            outcome: OperationOutcome::Aborted,
            message: format!("{interrupted} before publishing; main was not moved (run it again)"),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    };
    let main_ref = sess.main_ref();
    let tag_ref = format!("refs/tags/{}", plan.tag);
    let main_now = git::ref_target(&repo, &main_ref)?;
    let tag_now = git::ref_target(&repo, &tag_ref)?;
    let notes_now = git::ref_target(&repo, git::NOTES_REF)?;
    let commit = oid(&plan.commit)?;
    let tag_object = oid(&plan.tag_object)?;
    let notes_after = oid(&plan.notes_commit)?;
    let notes_before = plan.notes_before.as_deref().map(oid).transpose()?;
    let main_before = oid(if plan.main_before.is_empty() {
        &op.main_before
    } else {
        &plan.main_before
    })?;
    let authority = Publish::grant();
    let protection = protection(core, &sess);
    if main_now == Some(commit) {
        // main moved: complete the tag and the note if they did not, then record it all.
        if tag_now.is_none() {
            git::update_ref(
                &repo,
                &protection,
                Some(&authority),
                &tag_ref,
                tag_object,
                None,
                "overlord: recovery",
            )?;
        }
        if notes_now == notes_before {
            git::update_ref(
                &repo,
                &protection,
                Some(&authority),
                git::NOTES_REF,
                notes_after,
                notes_before,
                "overlord: recovery",
            )?;
        }
        let kind = plan.kind.unwrap_or(match op.kind {
            OperationKind::Save => CheckpointKind::Save,
            OperationKind::Rollback => CheckpointKind::Rollback,
        });
        let qa_run = core.state.qa_runs.last().map(|r| r.id);
        let checkpoint = Checkpoint {
            name: plan.tag.clone(),
            kind,
            commit: plan.commit.clone(),
            created_at: super::now(),
            qa_run: if kind == CheckpointKind::Save {
                qa_run
            } else {
                None
            },
            summary: format!("recovered after an interrupted {}", op.kind),
            restores: plan
                .restores
                .clone()
                .or_else(|| op.rollback.as_ref().map(|r| r.checkpoint.clone())),
            tag_object: Some(plan.tag_object.clone()),
            previous: Some(main_before.to_string()),
            tasks: if kind == CheckpointKind::Save {
                op.tasks.iter().map(|t| t.task.clone()).collect()
            } else {
                Vec::new()
            },
            audit_ids: vec![op.audit_id],
            undoes: op.rollback.as_ref().and_then(|r| r.undoes.clone()),
        };
        let moves = RefMoves {
            main_ref,
            main_before,
            main_after: commit,
            tag_ref,
            tag_object,
            notes_before,
            notes_after,
        };
        let mut events = record_published(&sess, &moves, &checkpoint, "recovery");
        if let Err(e) = git::catch_up_user_tree(&repo, &sess.main, main_before, commit) {
            tracing::warn!(error = %e, "the work tree could not follow main after recovery");
        }
        if let Some(target) = op.rollback.as_ref() {
            events.extend(flag_task_branches(
                core,
                &repo,
                &sess,
                oid(&target.commit)?,
                main_before,
                &plan.tag,
            )?);
        }
        core.emit(ACTOR, events)?;
        return Ok(Finish {
            outcome: OperationOutcome::Checkpointed,
            message: format!(
                "{interrupted} after {} moved; finished: {} recorded",
                sess.main, plan.tag
            ),
            checkpoint: Some(checkpoint),
            status: SessionStatus::Active,
        });
    }
    // main did not move: take back whatever else did.
    if tag_now == Some(tag_object) {
        repo.find_reference(&tag_ref)?.delete()?;
    }
    if notes_now == Some(notes_after) {
        match notes_before {
            Some(b) => {
                repo.reference_matching(
                    git::NOTES_REF,
                    b,
                    true,
                    notes_after,
                    "overlord: recovery",
                )?;
            }
            None => repo.find_reference(git::NOTES_REF)?.delete()?,
        }
    }
    let moved_elsewhere = main_now != Some(main_before);
    Ok(Finish {
        outcome: OperationOutcome::Aborted,
        message: if moved_elsewhere {
            format!("{interrupted}; {} was moved by someone else meanwhile, so nothing was published (run it again)", sess.main)
        } else {
            format!(
                "{interrupted} before {} moved; cleaned up, main was not moved (run it again)",
                sess.main
            )
        },
        checkpoint: None,
        status: SessionStatus::Active,
    })
}

// ---------------------------------------------------------------------------------------------
// Task worktrees

impl Core {
    /// The git session, starting (and recording) one when there is none.
    pub fn git_session(&mut self) -> Result<GitSession, String> {
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let main = self.config.git.main.clone();
        let mut found: Result<Option<GitSession>, String> = Ok(None);
        // Decided under the write lock: two processes opening worktrees at once must not
        // start two sessions.
        self.emit_with(ACTOR, |state| {
            match session_for(state, &repo, &main, &super::now()) {
                Ok((s, new)) => {
                    found = Ok(Some(s.clone()));
                    if new {
                        vec![EventKind::GitSessionStarted { session: s }]
                    } else {
                        Vec::new()
                    }
                }
                Err(e) => {
                    found = Err(e.to_string());
                    Vec::new()
                }
            }
        })
        .map_err(|e| e.to_string())?;
        found?.ok_or_else(|| "no git session".to_string())
    }

    /// Creates (or finds) a task's worktree on `session/<s>/task/<task>`, branching from the
    /// main branch, prepared as `[worktrees]` says.
    pub fn open_task_worktree(&mut self, task: &str) -> Result<worktree::TaskWorktree, String> {
        let known = self
            .state
            .plan
            .as_ref()
            .is_some_and(|p| p.tasks().any(|t| t.id == task));
        if !known {
            return Err(format!(
                "unknown task '{task}' (import a plan first: overlord-tui plan import FILE)"
            ));
        }
        let sess = self.git_session()?;
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let setup = self.config.worktrees.setup();
        let wt = worktree::create(&repo, &self.ws.root, &sess.id, task, &sess.main, &setup)
            .map_err(|e| e.to_string())?;
        if wt.created {
            let tip = git::branch_tip(&repo, &wt.branch).ok().flatten();
            self.emit(
                ACTOR,
                vec![git_action(
                    "worktree",
                    &format!("refs/heads/{}", wt.branch),
                    None,
                    tip,
                    Some(sess.main.clone()),
                    "task",
                    format!("worktree {}", self.ws.relative(&wt.path)),
                )],
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(wt)
    }

    /// Removes a task's worktree (its branch stays). Uncommitted work is never deleted: the
    /// refusal lists the files and becomes a concern.
    pub fn prune_task_worktree(&mut self, task: &str) -> Result<(), String> {
        let sess = self.git_session()?;
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        match worktree::prune(&repo, &self.ws.root, &sess.id, task) {
            Ok(()) => {
                self.emit(
                    ACTOR,
                    vec![git_action(
                        "prune_worktree",
                        &format!("refs/heads/{}", sess.task_branch(task)),
                        None,
                        None,
                        None,
                        "task",
                        format!("worktree of {task} removed; the branch stays"),
                    )],
                )
                .map_err(|e| e.to_string())?;
                Ok(())
            }
            Err(e @ worktree::WorktreeError::Uncommitted { .. }) => {
                let known = self
                    .state
                    .plan
                    .as_ref()
                    .is_some_and(|p| p.tasks().any(|t| t.id == task));
                raise(
                    self,
                    Severity::Warning,
                    "uncommitted_work",
                    format!("the worktree of {task} was kept: it has uncommitted work"),
                    e.to_string(),
                    known.then(|| task.to_string()),
                );
                Err(e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}
