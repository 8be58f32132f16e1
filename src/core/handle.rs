//! The core as an actor: one thread owns the `Core` (and so the SQLite connection); front
//! ends hold a cloneable `Handle` and `submit` commands, `subscribe` to events and take a
//! `snapshot` of the state. Between requests the thread looks for records other processes
//! appended, so subscribers see them too.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};

use super::identity::{self, Identity, Peer};
use super::Core;
use crate::protocol::{Command, Event, EventKind, Origin, RejectCode, Rejection, Reply, State};

enum Request {
    Submit(Origin, Command, oneshot::Sender<Reply>),
    /// Who a socket peer is: from its credentials, not its claim.
    Identify(Box<PeerRequest>, oneshot::Sender<Identity>),
    /// A command from a speaker whose identity was established.
    SubmitAs(Box<(Identity, Command)>, oneshot::Sender<Reply>),
    EmitWith(String, Decider, oneshot::Sender<Result<Vec<u64>, String>>),
    Snapshot(oneshot::Sender<State>),
    Stop,
}

/// A socket peer's command: its credentials, whether it showed the bridge secret, what it
/// claimed to be and the command.
#[derive(Clone)]
pub struct PeerRequest {
    pub peer: Peer,
    pub bridge: bool,
    pub claimed: Origin,
    pub command: Command,
}

/// How long a request from a process the owner started waits for its agent's record.
const ATTRIBUTION_WAIT: Duration = Duration::from_secs(2);

/// Decides events from the state as it is under the store's write lock (`Core::emit_with`).
type Decider = Box<dyn FnOnce(&State) -> Vec<EventKind> + Send>;

#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Request>,
    events: broadcast::Sender<Event>,
}

fn stopped() -> Reply {
    Reply::rejected(Rejection::new(
        RejectCode::Unavailable,
        "the core has stopped; nothing was changed",
    ))
}

/// Runs a Save or rollback on its own thread with its own `Core` (the store serializes
/// writers), so the actor keeps answering while the gates run. Its events reach subscribers
/// through the actor's polling.
fn run_job(core: &Core, job: super::ops::Job) {
    let (ws, config) = (core.workspace().clone(), core.config().clone());
    let spawned = std::thread::Builder::new()
        .name(format!("overlord-op-{}", job.id()))
        .spawn(move || match Core::open(&ws, &config) {
            Ok(mut c) => {
                let report = super::ops::run(&mut c, job);
                tracing::info!(id = report.id, outcome = ?report.outcome, "{}", report.message);
            }
            Err(e) => tracing::error!(error = %e, "cannot open the store for the operation; it will be recovered at the next start"),
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the operation's thread; it will be recovered at the next start");
    }
}

/// A human's Save or rollback held while an integration runs, with where its answer goes.
type Waiting = (Identity, Command, oneshot::Sender<Reply>);

/// Carries a command out and starts its job; a human's Save or rollback that arrives while
/// Overlord's own integration runs waits for it to end (the human's key never loses to a
/// background integration).
fn execute_or_wait(
    core: &mut Core,
    who: Identity,
    command: Command,
    reply: oneshot::Sender<Reply>,
    waiting: &mut Vec<Waiting>,
) {
    let integrating = core
        .state()
        .operation
        .as_ref()
        .is_some_and(|o| o.kind == crate::protocol::model::OperationKind::Integrate);
    if integrating
        && who.origin.is_human()
        && matches!(command, Command::Save | Command::Rollback { .. })
    {
        waiting.push((who, command, reply));
        return;
    }
    let (answer, job) = core.execute_as(who, command);
    let _ = reply.send(answer);
    if let Some(job) = job {
        run_job(core, job);
    }
}

/// The waiting commands go once the integration has ended.
fn start_waiting(core: &mut Core, waiting: &mut Vec<Waiting>) {
    if let Err(e) = core.refresh() {
        tracing::warn!(error = %e, "refresh failed");
    }
    if core.state().operation.is_some() {
        return;
    }
    for (who, command, reply) in waiting.drain(..) {
        let (answer, job) = core.execute_as(who, command);
        let _ = reply.send(answer);
        if let Some(job) = job {
            run_job(core, job);
        }
    }
}

impl Handle {
    /// Starts the core's thread. It runs until `stop` is called or every handle is dropped.
    pub fn spawn(mut core: Core, poll: Duration) -> std::io::Result<(Handle, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Request>();
        let events = core.event_sender();
        match core.recover_operation() {
            Ok(Some(done)) => tracing::warn!(%done, "recovered an interrupted operation"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not recover an interrupted operation"),
        }
        let join = std::thread::Builder::new()
            .name("overlord-core".into())
            .spawn(move || {
                // Human Saves and rollbacks waiting for a running integration to end.
                let mut waiting: Vec<Waiting> = Vec::new();
                loop {
                    let request = rx.recv_timeout(poll);
                    if !waiting.is_empty() {
                        start_waiting(&mut core, &mut waiting);
                    }
                    match request {
                        Ok(Request::Submit(origin, command, reply)) => {
                            let who = Identity {
                                origin,
                                refusal: None,
                            };
                            execute_or_wait(&mut core, who, command, reply, &mut waiting);
                        }
                        Ok(Request::Identify(request, reply)) => {
                            // Catch up first: an agent's process may have been recorded by
                            // another writer of the store.
                            if let Err(e) = core.refresh() {
                                tracing::warn!(error = %e, "refresh failed");
                            }
                            let PeerRequest {
                                peer,
                                bridge,
                                claimed,
                                ..
                            } = *request;
                            let _ =
                                reply.send(identity::of_peer(core.state(), peer, claimed, bridge));
                        }
                        Ok(Request::SubmitAs(request, reply)) => {
                            let (who, command) = *request;
                            execute_or_wait(&mut core, who, command, reply, &mut waiting);
                        }
                        Ok(Request::EmitWith(actor, decide, reply)) => {
                            let r = core
                                .emit_with(&actor, decide)
                                .map(|evs| evs.iter().map(|e| e.seq).collect())
                                .map_err(|e| e.to_string());
                            let _ = reply.send(r);
                        }
                        Ok(Request::Snapshot(reply)) => {
                            if let Err(e) = core.refresh() {
                                tracing::warn!(error = %e, "refresh failed");
                            }
                            let _ = reply.send(core.state().clone());
                        }
                        Ok(Request::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            if let Err(e) = core.refresh() {
                                tracing::warn!(error = %e, "refresh failed");
                            }
                            if let Err(e) = core.watch_main() {
                                tracing::warn!(error = %e, "could not check the main branch");
                            }
                            if let Err(e) = core.restore_checkpoint_tags() {
                                tracing::warn!(error = %e, "could not check the checkpoint tags");
                            }
                        }
                    }
                }
                if let Err(e) = core.snapshot_now() {
                    tracing::warn!(error = %e, "final snapshot failed");
                }
            })?;
        Ok((Handle { tx, events }, join))
    }

    pub async fn submit(&self, origin: Origin, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::Submit(origin, command, tx)).is_err() {
            return stopped();
        }
        rx.await.unwrap_or_else(|_| stopped())
    }

    /// A socket peer's command (see `core::identity`). A process the owner started but no
    /// agent record claims yet is asked about again for a moment: the supervisor records each
    /// CLI process right after starting it, and a quick CLI may speak before that.
    pub async fn submit_from(&self, request: PeerRequest) -> Reply {
        let until = tokio::time::Instant::now() + ATTRIBUTION_WAIT;
        let who = loop {
            let (tx, rx) = oneshot::channel();
            let asked = Request::Identify(Box::new(request.clone()), tx);
            if self.tx.send(asked).is_err() {
                return stopped();
            }
            let Ok(who) = rx.await else {
                return stopped();
            };
            if !who.unattributed() || tokio::time::Instant::now() >= until {
                break who;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        let (tx, rx) = oneshot::channel();
        let submitted = Request::SubmitAs(Box::new((who, request.command)), tx);
        if self.tx.send(submitted).is_err() {
            return stopped();
        }
        rx.await.unwrap_or_else(|_| stopped())
    }

    /// For callers outside an async runtime.
    pub fn submit_blocking(&self, origin: Origin, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::Submit(origin, command, tx)).is_err() {
            return stopped();
        }
        rx.blocking_recv().unwrap_or_else(|_| stopped())
    }

    /// Appends events of the core's own machinery (the supervisor's agent states and
    /// activity, escalations): one transaction, published like any other events. Returns
    /// their sequence numbers.
    pub async fn emit(&self, actor: &str, kinds: Vec<EventKind>) -> Result<Vec<u64>, String> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        self.emit_with(actor, move |_| kinds).await
    }

    /// Like `emit`, but the events are decided from the state as it is under the store's
    /// write lock, with what other processes appended (a check-then-act nothing can slip
    /// between). Returns their sequence numbers (none when `decide` wanted none).
    pub async fn emit_with(
        &self,
        actor: &str,
        decide: impl FnOnce(&State) -> Vec<EventKind> + Send + 'static,
    ) -> Result<Vec<u64>, String> {
        let (tx, rx) = oneshot::channel();
        if self
            .tx
            .send(Request::EmitWith(actor.to_string(), Box::new(decide), tx))
            .is_err()
        {
            return Err("the core has stopped".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the core has stopped".into()))
    }

    pub async fn snapshot(&self) -> Option<State> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Request::Snapshot(tx)).ok()?;
        rx.await.ok()
    }

    pub fn snapshot_blocking(&self) -> Option<State> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Request::Snapshot(tx)).ok()?;
        rx.blocking_recv().ok()
    }

    /// Events from now on. A `Lagged` error means events were missed: take a fresh snapshot.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Request::Stop);
    }
}
