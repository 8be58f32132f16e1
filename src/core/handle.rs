//! The core as an actor: one thread owns the `Core` (and so the SQLite connection); front
//! ends hold a cloneable `Handle` and `submit` commands, `subscribe` to events and take a
//! `snapshot` of the state. Between requests the thread looks for records other processes
//! appended, so subscribers see them too.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};

use super::Core;
use crate::protocol::{Command, Event, Origin, RejectCode, Rejection, Reply, State};

enum Request {
    Submit(Origin, Command, oneshot::Sender<Reply>),
    Snapshot(oneshot::Sender<State>),
    Stop,
}

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

impl Handle {
    /// Starts the core's thread. It runs until `stop` is called or every handle is dropped.
    pub fn spawn(mut core: Core, poll: Duration) -> std::io::Result<(Handle, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Request>();
        let events = core.event_sender();
        let join = std::thread::Builder::new()
            .name("overlord-core".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(poll) {
                        Ok(Request::Submit(origin, command, reply)) => {
                            let _ = reply.send(core.execute(origin, command));
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

    /// For callers outside an async runtime.
    pub fn submit_blocking(&self, origin: Origin, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::Submit(origin, command, tx)).is_err() {
            return stopped();
        }
        rx.blocking_recv().unwrap_or_else(|_| stopped())
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
