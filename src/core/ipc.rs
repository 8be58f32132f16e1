//! One writer per repository: a running console or `overlord-tui serve` owns the store and
//! listens on `.overlord/overlord.sock` (mode 0600, in a 0700 directory); other
//! `overlord-tui` invocations in the repo send their commands there. The wire format is
//! JSON lines: one `IpcRequest` per line in, `IpcResponse` lines out.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{UnixListener, UnixStream as AsyncUnixStream};

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
    },
    Snapshot,
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
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if path.exists() {
        // The caller holds the serve lock, so a socket still here is a leftover.
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts connections until `shutdown` completes.
pub async fn serve(
    listener: UnixListener,
    handle: Handle,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        if let Err(e) = connection(stream, handle).await {
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

async fn connection(stream: AsyncUnixStream, handle: Handle) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
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
            IpcRequest::Submit { origin, command } => {
                let reply = handle.submit(*origin, *command).await;
                write_line(
                    &mut write,
                    &IpcResponse::Reply {
                        reply: Box::new(reply),
                    },
                )
                .await?;
            }
            IpcRequest::Snapshot => {
                let response = match handle.snapshot().await {
                    Some(state) => IpcResponse::State {
                        state: Box::new(state),
                    },
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
}

impl Client {
    /// Connects if an owner is listening; `None` when nobody is (no socket, or a stale one).
    pub fn connect(socket: &Path) -> Option<Client> {
        let stream = UnixStream::connect(socket).ok()?;
        let writer = stream.try_clone().ok()?;
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
        };
        // A slow owner is still the owner, but a hung one must not hang the CLI forever.
        let _ = client
            .writer
            .set_read_timeout(Some(Duration::from_secs(120)));
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

    pub fn submit(&mut self, origin: Origin, command: Command) -> Result<Reply, ClientError> {
        match self.call(&IpcRequest::Submit {
            origin: Box::new(origin),
            command: Box::new(command),
        })? {
            IpcResponse::Reply { reply } => Ok(*reply),
            IpcResponse::Error { message } => Err(ClientError::Protocol(message)),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    pub fn snapshot(&mut self) -> Result<State, ClientError> {
        match self.call(&IpcRequest::Snapshot)? {
            IpcResponse::State { state } => Ok(*state),
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
