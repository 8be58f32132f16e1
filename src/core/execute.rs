//! Carrying out one command (`Core::execute`): take the write lock, catch up with what other
//! processes appended, decide (the lifecycle rules in `decide`), append command + events +
//! response as one transaction, then fold the events into the state and publish them. A
//! `/save` or `/rollback` first takes the operation lock and checks the repository; once
//! accepted it runs as an operation `Job` (see `ops`).

use std::path::PathBuf;

use super::clock::now;
use super::engine::{catch_up, to_json, Core, CoreError};
use super::identity::Identity;
use super::lock::{OperationLock, LOCK_GRACE};
use super::{decide, ops, plan};
use crate::protocol::{
    print, Command, CommandRecord, Event, Origin, RejectCode, Rejection, Reply, Topic,
};
use crate::store::NewRecord;

impl Core {
    /// Carries out one command and answers it. Never panics; a storage failure becomes a
    /// rejected reply and nothing is written. A Save or rollback runs to its end here; the
    /// reply then tells how it ended.
    pub fn execute(&mut self, origin: Origin, command: Command) -> Reply {
        let (reply, job) = self.execute_detached(origin, command);
        match job {
            None => reply,
            Some(job) => self.finish_job(reply, job),
        }
    }

    /// Runs an accepted Save or rollback here, to its end, and completes its reply.
    pub fn finish_job(&mut self, reply: Reply, mut job: ops::Job) -> Reply {
        let recovered = job.recovered.take();
        let report = ops::run(self, job);
        finished_reply(reply, report, recovered)
    }

    /// Like `execute`, but an accepted Save or rollback is handed back as a `Job` for the
    /// caller to run (on another thread, with its own `Core`); the reply says it started.
    pub fn execute_detached(
        &mut self,
        origin: Origin,
        command: Command,
    ) -> (Reply, Option<ops::Job>) {
        self.execute_as(
            Identity {
                origin,
                refusal: None,
            },
            command,
        )
    }

    /// Like `execute_detached`, for a speaker whose identity the owner established
    /// (`core::identity`): a refused identity is recorded as a rejected command.
    pub fn execute_as(
        &mut self,
        identity: Identity,
        command: Command,
    ) -> (Reply, Option<ops::Job>) {
        match self.try_execute(identity, command) {
            Ok(r) => r,
            Err(e) => (
                Reply::rejected(Rejection::new(
                    RejectCode::Storage,
                    format!("{e}; nothing was changed"),
                )),
                None,
            ),
        }
    }

    /// Finishes or cleans up a Save or rollback a killed process left behind, unless one is
    /// running. Returns what it did.
    pub fn recover_operation(&mut self) -> Result<Option<String>, CoreError> {
        self.refresh()?;
        if self.state.operation.is_none() {
            return Ok(None);
        }
        match OperationLock::try_acquire(&self.ws) {
            Ok(Some(_lock)) => ops::recover(self),
            _ => Ok(None),
        }
    }

    /// For `/save` and `/rollback`: takes the operation lock, recovers an interrupted
    /// operation, and checks the repository.
    fn prepare_operation(
        &mut self,
        command: &Command,
        now: &str,
    ) -> Result<(ops::Prepared, OperationLock, Option<String>), Rejection> {
        let lock = self.locked(
            OperationLock::acquire(&self.ws, LOCK_GRACE),
            "a Save or rollback is running in another overlord-tui process; wait for it to finish (nothing was changed)",
        )?;
        let recovered = if self.state.operation.is_some() {
            ops::recover(self).map_err(|e| {
                Rejection::new(
                    RejectCode::Storage,
                    format!("an interrupted operation could not be recovered: {e}"),
                )
            })?
        } else {
            None
        };
        // Main moved or notes rewritten outside Overlord: reported (not absorbed) before
        // the operation's check refuses it.
        if let Err(e) = self.check_protected_refs(true) {
            tracing::warn!(error = %e, "could not check the protected refs");
        }
        self.tree_watch = None;
        match ops::prepare(self, command, now) {
            Ok(mut p) => {
                self.tree_watch = p.watch.take();
                Ok((p, lock, recovered))
            }
            Err(mut r) => {
                if let Some(done) = recovered {
                    r.message = format!("{done}\n{}", r.message);
                }
                Err(r)
            }
        }
    }

    /// For `/adopt main` and `/restore main`: takes the operation lock and reads the
    /// repository (`ops::plan_decision`).
    fn prepare_ref_decision(
        &mut self,
        command: &Command,
        now: &str,
    ) -> Result<(ops::RefDecision, OperationLock), Rejection> {
        let lock = self.locked(
            OperationLock::try_acquire(&self.ws),
            "a Save or rollback is running; decide when it has finished (nothing was changed)",
        )?;
        Ok((ops::plan_decision(self, command, now)?, lock))
    }

    /// The operation lock as taken (`busy` when another process holds it), then the state
    /// caught up with what was appended before it.
    fn locked(
        &mut self,
        taken: std::io::Result<Option<OperationLock>>,
        busy: &str,
    ) -> Result<OperationLock, Rejection> {
        let lock = match taken {
            Ok(Some(l)) => l,
            Ok(None) => return Err(Rejection::new(RejectCode::Conflict, busy)),
            Err(e) => {
                return Err(Rejection::new(
                    RejectCode::Storage,
                    format!("cannot take .overlord/operation.lock: {e}; nothing was changed"),
                ))
            }
        };
        self.refresh().map_err(|e| {
            Rejection::new(RejectCode::Storage, format!("{e}; nothing was changed"))
        })?;
        Ok(lock)
    }

    fn try_execute(
        &mut self,
        identity: Identity,
        command: Command,
    ) -> Result<(Reply, Option<ops::Job>), CoreError> {
        let Identity { origin, refusal } = identity;
        let now = now();
        // Reading the plan file happens before the lock is taken.
        let plan = match &command {
            Command::ImportPlan { path } => Some(self.load_plan(path, &now)),
            _ => None,
        };
        let tickets = match &command {
            Command::FileTickets { path } => Some(self.load_tickets(path)),
            _ => None,
        };
        let auto_save = self.config.git.save.is_auto();
        let overlord = matches!(origin, Origin::System);
        // `/approve` of a pending promotion carries it out: prepared as `/promote <phase>`.
        let promotion = decide::promotion_approved(&self.state, &command)
            .map(|phase| Command::Promote { phase });
        let (operation, op_lock, recovered) = match promotion.as_ref().unwrap_or(&command) {
            to_prepare @ (Command::Save
            | Command::Rollback { .. }
            | Command::Promote { .. }
            | Command::Integrate)
                if refusal.is_none()
                    && (origin.is_human()
                        || (overlord && matches!(command, Command::Integrate))
                        || (overlord && auto_save && matches!(command, Command::Save))) =>
            {
                match self.prepare_operation(to_prepare, &now) {
                    Ok((p, l, r)) => (Some(Ok(p)), Some(l), r),
                    Err(r) => (Some(Err(r)), None, None),
                }
            }
            _ => (None, None, None),
        };
        let (protected_ref, _ref_lock) = match &command {
            Command::AdoptMain | Command::RestoreMain if origin.is_human() => {
                match self.prepare_ref_decision(&command, &now) {
                    Ok((d, l)) => (Some(Ok(d)), Some(l)),
                    Err(r) => (Some(Err(r)), None),
                }
            }
            _ => (None, None),
        };
        let ctx = decide::Context {
            now: now.clone(),
            discord: self.config.discord.clone(),
            plan,
            tickets,
            operation,
            refusal,
            kill_switch_concerns: self.config.core.kill_switch_concerns.clone(),
            protected_ref,
            auto_save,
        };

        let mut guard = self.store.begin_write()?;
        let caught_up = catch_up(&mut guard, &mut self.state, &mut self.applied_through)?;

        let decision = match (
            decide::decide(&self.state, &origin, &command, &ctx),
            &ctx.protected_ref,
        ) {
            // `/adopt main`, `/restore main`: the refs move just before the record.
            (Ok(o), Some(Ok(d))) => ops::carry_out(&self.ws.root, d).map(|()| o),
            (d, _) => d,
        };
        let (head, _) = guard.head();
        let command_seq = head + 1;
        let record = CommandRecord {
            at: now.clone(),
            origin: origin.clone(),
            line: print(&command),
            command,
        };
        let mut records = vec![NewRecord {
            topic: Topic::Command,
            at: now.clone(),
            body: to_json(&record),
        }];
        let (events, mut reply) = match decision {
            Ok(outcome) => {
                let mut events = Vec::with_capacity(outcome.events.len());
                let actor = origin.actor();
                for (i, kind) in outcome.events.into_iter().enumerate() {
                    events.push(Event {
                        seq: self.state.last_event_seq + 1 + i as u64,
                        at: now.clone(),
                        command_seq: Some(command_seq),
                        actor: actor.clone(),
                        kind,
                    });
                }
                let reply = Reply {
                    command_seq,
                    ok: true,
                    message: outcome.message,
                    error: None,
                    events: events.iter().map(|e| e.seq).collect(),
                    data: outcome.data,
                };
                (events, reply)
            }
            Err(rejection) => {
                let mut reply = Reply::rejected(rejection);
                reply.command_seq = command_seq;
                (Vec::new(), reply)
            }
        };
        for e in &events {
            records.push(NewRecord {
                topic: e.kind.topic(),
                at: now.clone(),
                body: to_json(e),
            });
        }
        records.push(NewRecord {
            topic: Topic::Response,
            at: now,
            body: to_json(&reply),
        });
        let appended = guard.append(&records)?;
        guard.index_events(&self.state, &events, &appended, 1)?;
        guard.commit(&appended)?;

        for e in caught_up {
            let _ = self.events.send(e);
        }
        for e in events {
            self.state.apply(&e);
            let _ = self.events.send(e);
        }
        self.applied_through = appended
            .last()
            .map(|r| r.seq)
            .unwrap_or(self.applied_through);
        self.maybe_snapshot();
        if let Some(r) = &recovered {
            reply.message = format!("{r}\n{}", reply.message);
        }
        let job = match (reply.ok, op_lock, &self.state.operation) {
            (true, Some(lock), Some(op)) => Some(ops::Job {
                id: op.id,
                recovered,
                _lock: lock,
            }),
            _ => None,
        };
        Ok((reply, job))
    }

    /// The tickets of a JSON file, checked; as large as a plan may be.
    fn load_tickets(
        &self,
        path: &str,
    ) -> Result<Vec<crate::core::tickets::TicketDraft>, Rejection> {
        let p = PathBuf::from(path);
        let full = if p.is_absolute() {
            p
        } else {
            self.ws.root.join(p)
        };
        let shown = self.ws.relative(&full);
        let invalid = |m: String| Rejection::new(RejectCode::InvalidInput, m);
        let size = std::fs::metadata(&full)
            .map_err(|e| invalid(format!("cannot read tickets {}: {e}", full.display())))?
            .len();
        if size > self.config.core.max_plan_bytes {
            return Err(invalid(format!(
                "tickets {shown} is {size} bytes, over the {} allowed ([core] max_plan_bytes)",
                self.config.core.max_plan_bytes
            )));
        }
        let text = std::fs::read_to_string(&full)
            .map_err(|e| invalid(format!("cannot read tickets {}: {e}", full.display())))?;
        crate::core::tickets::parse_tickets(&text, &shown).map_err(invalid)
    }

    fn load_plan(&self, path: &str, now: &str) -> Result<crate::protocol::model::Plan, Rejection> {
        let full = {
            let p = PathBuf::from(path);
            if p.is_absolute() {
                p
            } else {
                self.ws.root.join(p)
            }
        };
        let cannot_read = |e: std::io::Error| {
            Rejection::new(
                RejectCode::InvalidInput,
                format!("cannot read plan {}: {e}", full.display()),
            )
        };
        let shown = self.ws.relative(&full);
        let limits = &self.config.core;
        let size = std::fs::metadata(&full).map_err(cannot_read)?.len();
        if size > limits.max_plan_bytes {
            return Err(Rejection::new(
                RejectCode::InvalidInput,
                format!(
                    "plan {shown} is {size} bytes, over the {} allowed ([core] max_plan_bytes); split it into phases imported one after another",
                    limits.max_plan_bytes
                ),
            ));
        }
        let text = std::fs::read_to_string(&full).map_err(cannot_read)?;
        let plan = plan::parse_todo_list(&text, &shown, now)?;
        let tasks: usize = plan.phases.iter().map(|p| p.tasks.len()).sum();
        if tasks > limits.max_plan_tasks {
            return Err(Rejection::new(
                RejectCode::InvalidInput,
                format!(
                    "plan {shown} has {tasks} tasks, over the {} allowed ([core] max_plan_tasks)",
                    limits.max_plan_tasks
                ),
            ));
        }
        Ok(plan)
    }
}

/// The reply to a Save or rollback that ran to its end.
fn finished_reply(
    accepted: Reply,
    report: crate::protocol::report::OperationReport,
    recovered: Option<String>,
) -> Reply {
    let ok = report.outcome.is_some_and(|o| o.is_success());
    let message = match recovered {
        Some(done) => format!("{done}\n{}", report.message),
        None => report.message.clone(),
    };
    Reply {
        command_seq: accepted.command_seq,
        ok,
        message,
        error: if ok {
            None
        } else {
            Some(Rejection::new(RejectCode::Failed, report.message.clone()))
        },
        events: accepted.events,
        data: crate::protocol::report::ReplyData::Operation(Box::new(report)),
    }
}
