//! How the bridge reaches the core: in the same process (the console, `overlord-tui run`)
//! through the [`Handle`], or from `overlord-tui discord` through the socket of the process
//! that owns the repository. Either way the bridge sends the same commands and reads the same
//! event stream.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::core::ipc::{Client, IpcResponse};
use crate::core::Handle;
use crate::protocol::{Command, Event, Origin, RejectCode, Rejection, Reply, State};

/// What the event stream brings.
#[derive(Debug, Clone)]
pub enum Feed {
    Event(Box<Event>),
    /// Events were missed (the reader fell behind, or the owner was away): take a snapshot.
    Gap,
}

#[derive(Clone)]
pub enum CoreLink {
    Local(Handle),
    /// The owner's socket (`.overlord/overlord.sock`).
    Remote(PathBuf),
}

fn unavailable(message: String) -> Reply {
    Reply::rejected(Rejection::new(RejectCode::Unavailable, message))
}

fn no_owner(socket: &Path) -> String {
    format!(
        "no overlord-tui owns this repository (nothing answers on {}): start the console or `overlord-tui run`",
        socket.display()
    )
}

impl CoreLink {
    pub async fn submit(&self, origin: Origin, command: Command) -> Reply {
        match self {
            CoreLink::Local(h) => h.submit(origin, command).await,
            CoreLink::Remote(socket) => {
                let socket = socket.clone();
                tokio::task::spawn_blocking(move || match Client::connect(&socket) {
                    // The owner believes a Discord origin from a separate process only with
                    // the secret it wrote at start.
                    Some(c) => c
                        .with_bridge_secret(crate::core::ipc::read_bridge_secret(&socket))
                        .submit(origin, command)
                        .unwrap_or_else(|e| unavailable(e.to_string())),
                    None => unavailable(no_owner(&socket)),
                })
                .await
                .unwrap_or_else(|e| unavailable(e.to_string()))
            }
        }
    }

    pub async fn snapshot(&self) -> Result<State, String> {
        match self {
            CoreLink::Local(h) => h
                .snapshot()
                .await
                .ok_or_else(|| "the core has stopped".into()),
            CoreLink::Remote(socket) => {
                let socket = socket.clone();
                tokio::task::spawn_blocking(move || match Client::connect(&socket) {
                    Some(mut c) => c.snapshot().map_err(|e| e.to_string()),
                    None => Err(no_owner(&socket)),
                })
                .await
                .map_err(|e| e.to_string())?
            }
        }
    }

    /// The event stream. In-process it is the core's broadcast; over the socket a thread
    /// reads it, and when the owner goes away it keeps trying to reconnect (a `Gap` follows
    /// each reconnection). The stream ends when the receiver is dropped (or the in-process
    /// core stops).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Feed> {
        let (tx, rx) = mpsc::unbounded_channel();
        match self {
            CoreLink::Local(h) => {
                let mut events = h.subscribe();
                tokio::spawn(async move {
                    loop {
                        let feed = match events.recv().await {
                            Ok(e) => Feed::Event(Box::new(e)),
                            Err(broadcast::error::RecvError::Lagged(_)) => Feed::Gap,
                            Err(broadcast::error::RecvError::Closed) => return,
                        };
                        if tx.send(feed).is_err() {
                            return;
                        }
                    }
                });
            }
            CoreLink::Remote(socket) => {
                let socket = socket.clone();
                let _ = std::thread::Builder::new()
                    .name("overlord-discord-feed".into())
                    .spawn(move || remote_feed(&socket, &tx));
            }
        }
        rx
    }
}

fn remote_feed(socket: &Path, tx: &mpsc::UnboundedSender<Feed>) {
    // After a lost connection, what happened while away comes back as a snapshot (a gap).
    let mut reconnected = false;
    loop {
        if tx.is_closed() {
            return;
        }
        let subscribed = Client::connect(socket).and_then(|mut c| c.subscribe().ok().map(|_| c));
        let Some(mut client) = subscribed else {
            std::thread::sleep(Duration::from_secs(2));
            continue;
        };
        if reconnected && tx.send(Feed::Gap).is_err() {
            return;
        }
        loop {
            let feed = match client.next_event() {
                Ok(IpcResponse::Event { event }) => Feed::Event(event),
                Ok(IpcResponse::Lagged { .. }) => Feed::Gap,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!("the event stream from the owner ended ({e}); reconnecting");
                    break;
                }
            };
            if tx.send(feed).is_err() {
                return;
            }
        }
        reconnected = true;
        std::thread::sleep(Duration::from_millis(500));
    }
}
