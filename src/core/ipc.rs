//! One writer per repository: a running console or `overlord-tui serve` owns the store and
//! listens on `.overlord/overlord.sock` (mode 0600, in a 0700 directory); other
//! `overlord-tui` invocations in the repo send their commands there. The wire format is
//! JSON lines: one `IpcRequest` per line in, `IpcResponse` lines out.
//!
//! Who sends a command is decided from the connection, not the request: the owner reads the
//! peer's credentials (`SO_PEERCRED`) and `core::identity` judges them. The `origin` a request
//! carries is only a claim. A separate Discord bridge proves itself with the secret the owner
//! writes to `.overlord/bridge.secret` (0600) at start.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{UnixListener, UnixStream as AsyncUnixStream};

use super::handle::PeerRequest;
use super::identity::Peer;
use super::Handle;
use crate::protocol::{Command, Event, Origin, Reply, State};

/// The longest request line the server reads (a command with a large plan path or text).
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IpcRequest {
    Submit {
        origin: Box<Origin>,
        command: Box<Command>,
        /// The bridge secret (`.overlord/bridge.secret`), sent only by the Discord bridge.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    Snapshot,
    /// The live state to show (`status --json`): the timeline's newest checkpoints only.
    RecentSnapshot,
    Subscribe,
    Ping,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IpcResponse {
    Reply {
        reply: Box<Reply>,
    },
    State {
        state: Box<State>,
        /// How many checkpoints came before those in `state` (`RecentSnapshot`; else 0).
        #[serde(default, skip_serializing_if = "is_zero")]
        older_checkpoints: usize,
    },
    Event {
        event: Box<Event>,
    },
    /// The subscription is in place: every event from here on is sent.
    Subscribed,
    /// The subscriber fell behind and missed events: take a fresh snapshot.
    Lagged {
        missed: u64,
    },
    Pong {
        pid: u32,
        version: String,
    },
    Error {
        message: String,
    },
}

/// Binds the socket (replacing a stale one) and makes it private to the owner.
///
/// The socket is bound and listening under a temporary name first and then renamed into
/// place (replacing a leftover: the caller holds the serve lock), so a client that sees the
/// path can connect: there is no moment when the file exists and nobody listens on it.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    let tmp = path.with_extension("sock.tmp");
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)?;
    Ok(listener)
}

/// The file the bridge secret is written to, beside the socket.
pub fn secret_path(socket: &Path) -> std::path::PathBuf {
    socket.with_file_name("bridge.secret")
}

/// Writes a fresh bridge secret (32 random bytes, hex) beside the socket, mode 0600 whatever
/// the umask, and returns it. Every owner start makes a new one.
pub fn write_bridge_secret(socket: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let secret = hex::encode(bytes);
    let path = secret_path(socket);
    let tmp = path.with_extension("secret.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(secret.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(secret)
}

/// Reads the bridge secret an owner wrote beside `socket`, if there is one.
pub fn read_bridge_secret(socket: &Path) -> Option<String> {
    let s = std::fs::read_to_string(secret_path(socket)).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Accepts connections until `shutdown` completes. `bridge_secret` is the secret a Discord
/// bridge must show to speak for Discord members (`None`: no separate bridge may).
pub async fn serve(
    listener: UnixListener,
    handle: Handle,
    bridge_secret: Option<String>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let bridge_secret = std::sync::Arc::new(bridge_secret);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let handle = handle.clone();
                    let secret = bridge_secret.clone();
                    tokio::spawn(async move {
                        if let Err(e) = connection(stream, handle, secret).await {
                            tracing::debug!(error = %e, "client connection ended");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            }
        }
    }
}

async fn write_line(
    w: &mut tokio::net::unix::OwnedWriteHalf,
    r: &IpcResponse,
) -> std::io::Result<()> {
    let mut line = serde_json::to_string(r).map_err(std::io::Error::other)?;
    line.push('\n');
    w.write_all(line.as_bytes()).await
}

/// The peer's credentials; `None` when the kernel gives none (then nothing is accepted).
fn peer_of(stream: &AsyncUnixStream) -> Option<Peer> {
    let cred = stream.peer_cred().ok()?;
    Some(Peer {
        pid: u32::try_from(cred.pid()?).ok()?,
        uid: cred.uid(),
    })
}

async fn connection(
    stream: AsyncUnixStream,
    handle: Handle,
    bridge_secret: std::sync::Arc<Option<String>>,
) -> std::io::Result<()> {
    let own_uid = rustix::process::getuid().as_raw();
    let peer = peer_of(&stream);
    let (read, mut write) = stream.into_split();
    let refused = match peer {
        Some(p) if p.uid == own_uid => None,
        Some(p) => Some(format!(
            "refused: this overlord-tui runs as uid {own_uid}, the client as uid {}",
            p.uid
        )),
        None => Some("refused: the client's credentials cannot be read".to_string()),
    };
    let (Some(peer), None) = (peer, refused.as_ref()) else {
        let message = refused.unwrap_or_default();
        tracing::warn!(%message, "socket client refused");
        write_line(&mut write, &IpcResponse::Error { message }).await?;
        return Ok(());
    };
    let mut reader = AsyncBufReader::new(read);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = AsyncReadExt::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() > MAX_LINE {
            let msg = format!("request longer than {MAX_LINE} bytes");
            write_line(&mut write, &IpcResponse::Error { message: msg }).await?;
            return Ok(());
        }
        let request: IpcRequest = match serde_json::from_slice(&buf) {
            Ok(r) => r,
            Err(e) => {
                let message = format!("malformed request: {e}");
                write_line(&mut write, &IpcResponse::Error { message }).await?;
                continue;
            }
        };
        match request {
            IpcRequest::Ping => {
                let pong = IpcResponse::Pong {
                    pid: std::process::id(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                };
                write_line(&mut write, &pong).await?;
            }
            IpcRequest::Submit {
                origin,
                command,
                secret,
            } => {
                let bridge = match (secret.as_deref(), bridge_secret.as_deref()) {
                    (Some(given), Some(ours)) => same_secret(given, ours),
                    _ => false,
                };
                let reply = handle
                    .submit_from(PeerRequest {
                        peer,
                        bridge,
                        claimed: *origin,
                        command: *command,
                    })
                    .await;
                write_line(
                    &mut write,
                    &IpcResponse::Reply {
                        reply: Box::new(reply),
                    },
                )
                .await?;
            }
            IpcRequest::Snapshot | IpcRequest::RecentSnapshot => {
                let recent = matches!(request, IpcRequest::RecentSnapshot);
                let response = match handle.snapshot().await {
                    Some(mut state) => {
                        let older_checkpoints = match recent {
                            true => crate::store::snapshot::keep_recent_checkpoints(&mut state),
                            false => 0,
                        };
                        IpcResponse::State {
                            state: Box::new(state),
                            older_checkpoints,
                        }
                    }
                    None => IpcResponse::Error {
                        message: "the core has stopped".into(),
                    },
                };
                write_line(&mut write, &response).await?;
            }
            IpcRequest::Subscribe => {
                let mut rx = handle.subscribe();
                // Said only once the receiver exists, so a client that waits for it and then
                // submits a command cannot miss that command's events.
                write_line(&mut write, &IpcResponse::Subscribed).await?;
                loop {
                    let response = match rx.recv().await {
                        Ok(event) => IpcResponse::Event {
                            event: Box::new(event),
                        },
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            IpcResponse::Lagged { missed }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    };
                    write_line(&mut write, &response).await?;
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("lost the connection to the running overlord-tui: {0}")]
    Io(#[from] std::io::Error),
    #[error("the running overlord-tui answered something unexpected: {0}")]
    Protocol(String),
}

/// A blocking client for the CLI.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Sent with every command: the Discord bridge's proof (`with_bridge_secret`).
    secret: Option<String>,
}

/// How long the CLI waits for the owner's answer (a hung owner must not hang it forever).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

impl Client {
    /// Connects if an owner is listening; `None` when nobody is (no socket, or a stale one).
    pub fn connect(socket: &Path) -> Option<Client> {
        let stream = UnixStream::connect(socket).ok()?;
        let writer = stream.try_clone().ok()?;
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            secret: None,
        };
        // A slow owner is still the owner, but a hung one must not hang the CLI forever.
        let _ = client.writer.set_read_timeout(Some(CLIENT_TIMEOUT));
        match client.call(&IpcRequest::Ping) {
            Ok(IpcResponse::Pong { .. }) => Some(client),
            _ => None,
        }
    }

    fn call(&mut self, request: &IpcRequest) -> Result<IpcResponse, ClientError> {
        let mut line =
            serde_json::to_string(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        self.next()
    }

    fn next(&mut self) -> Result<IpcResponse, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        serde_json::from_str(&line).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Sends the owner's bridge secret with every command (the Discord bridge does).
    pub fn with_bridge_secret(mut self, secret: Option<String>) -> Client {
        self.secret = secret;
        self
    }

    pub fn submit(&mut self, origin: Origin, command: Command) -> Result<Reply, ClientError> {
        // A Save or rollback waits for a running integration to end before it is answered:
        // the owner answered the ping, so it is alive; wait for it as long as it takes.
        let waits = matches!(command, Command::Save | Command::Rollback { .. });
        if waits {
            let _ = self.writer.set_read_timeout(None);
        }
        let answer = self.call(&IpcRequest::Submit {
            origin: Box::new(origin),
            command: Box::new(command),
            secret: self.secret.clone(),
        });
        if waits {
            let _ = self.writer.set_read_timeout(Some(CLIENT_TIMEOUT));
        }
        match answer? {
            IpcResponse::Reply { reply } => Ok(*reply),
            IpcResponse::Error { message } => Err(ClientError::Protocol(message)),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    pub fn snapshot(&mut self) -> Result<State, ClientError> {
        match self.call(&IpcRequest::Snapshot)? {
            IpcResponse::State { state, .. } => Ok(*state),
            IpcResponse::Error { message } => Err(ClientError::Protocol(message)),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// The live state to show: the timeline's newest
    /// [`RECENT_CHECKPOINTS`](crate::store::snapshot::RECENT_CHECKPOINTS) checkpoints, and how
    /// many came before them.
    pub fn recent_snapshot(&mut self) -> Result<(State, usize), ClientError> {
        match self.call(&IpcRequest::RecentSnapshot)? {
            IpcResponse::State {
                state,
                older_checkpoints,
            } => Ok((*state, older_checkpoints)),
            IpcResponse::Error { message } => Err(ClientError::Protocol(message)),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// Switches the connection to an event stream; call `next_event` to read it.
    pub fn subscribe(&mut self) -> Result<(), ClientError> {
        let mut line = serde_json::to_string(&IpcRequest::Subscribe)
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        // Wait until the owner has subscribed: events of commands sent after this returns
        // are never missed.
        match self.next()? {
            IpcResponse::Subscribed => {}
            IpcResponse::Error { message } => return Err(ClientError::Protocol(message)),
            other => return Err(ClientError::Protocol(format!("{other:?}"))),
        }
        let _ = self.writer.set_read_timeout(None);
        Ok(())
    }

    pub fn next_event(&mut self) -> Result<IpcResponse, ClientError> {
        self.next()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
