//! Owning a repository, for the console, `serve`, `run` and the demo: the serve lock, the
//! core on its thread, the socket other invocations talk to, `/metrics`, the alert monitor,
//! the daily digest, the Discord bridge in process, SIGINT/SIGTERM and (with agents) the
//! supervisor — started in order and stopped in order.

use std::fs::File;

use super::output::{fail, Failed, Outcome};
use super::session::load_config;
use crate::config::Config;
use crate::core::{Core, Handle};
use crate::workspace::Workspace;

/// What a front end gets from [`own`]: the core this process owns, the agents' raw output
/// (when the supervisor runs) and the signal that everything is stopping.
pub(super) struct Owner {
    pub(super) handle: Handle,
    pub(super) ws: Workspace,
    // The console reads these; a build without it does not.
    #[cfg_attr(not(feature = "tui"), allow(dead_code))]
    pub(super) config: Config,
    #[cfg_attr(not(feature = "tui"), allow(dead_code))]
    pub(super) raw: Option<crate::runtime::supervisor::RawOutput>,
    pub(super) stop: tokio::sync::watch::Receiver<bool>,
    /// Where `/metrics` is served (`[metrics] listen`), when it is.
    pub(super) metrics_addr: Option<std::net::SocketAddr>,
}

/// Resolves once `rx` says stop.
pub(super) async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// The serve lock: one owner per repository (console, serve or run).
fn take_serve_lock(ws: &Workspace) -> Result<File, Failed> {
    let lock_path = ws.serve_lock_path();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| fail(format!("{}: {e}", lock_path.display())))?;
    if lock.try_lock().is_err() {
        return Err(fail(format!(
            "another overlord-tui already owns {} (console, serve or run); its socket is {}",
            ws.root.display(),
            ws.socket_path().display()
        )));
    }
    Ok(lock)
}

/// The listener for `/metrics`, when `[metrics] listen` asks for one (loopback only).
async fn bind_metrics(config: &Config) -> Result<Option<tokio::net::TcpListener>, Failed> {
    Ok(match crate::config::non_empty(&config.metrics.listen) {
        None => None,
        Some(listen) => {
            let addr = crate::core::metrics_serve::loopback_addr(&listen).map_err(fail)?;
            Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| fail(format!("cannot serve metrics on {addr}: {e}")))?,
            )
        }
    })
}

/// Owns the repository for a front end: the serve lock, the core on its thread, the socket
/// other invocations talk to, SIGINT/SIGTERM, and (with `agents`) the supervisor. `front`
/// runs until it returns or the process is signalled; then everything stops in order.
pub(super) fn own<F, Fut>(ws: Workspace, agents: bool, front: F) -> Outcome
where
    F: FnOnce(Owner) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    ws.require_initialized().map_err(fail)?;
    let lock = take_serve_lock(&ws)?;
    // Owner-only modes, whatever the umask was when things were made (a warning if not).
    if let Err(e) = ws.tighten() {
        tracing::warn!(error = %e, "could not tighten the modes under .overlord/");
        eprintln!("warning: could not give .overlord/ owner-only modes: {e}");
    }
    let config = load_config(&ws);
    let core = Core::open(&ws, &config).map_err(fail)?;
    // An owner exists to write: on a store that refuses writes (records lost, read-only) it
    // does not start; `status` and `audit verify` still read it.
    if let Some(e) = core.store().write_blocker() {
        return Err(fail(e));
    }
    let poll = std::time::Duration::from_millis(config.core.poll_ms.max(10));
    let (handle, join) = Handle::spawn(core, poll).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?;
    let socket = ws.socket_path();
    let result = runtime.block_on(async {
        let listener = crate::core::ipc::bind(&socket)
            .map_err(|e| fail(format!("cannot listen on {}: {e}", socket.display())))?;
        let metrics_listener = bind_metrics(&config).await?;
        let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let metrics_http = metrics_listener.map(|l| {
            tokio::spawn(crate::core::metrics_serve::serve(
                l,
                ws.clone(),
                config.metrics.clone(),
            ))
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // The handlers are installed now, before any agent starts: an agent inherits a
        // handled SIGINT as its default action (an ignored one — `overlord-tui run &` from a
        // script — would stay ignored and make every cancel wait for SIGTERM).
        let shutdown = shutdown_signal();
        let signal_tx = stop_tx.clone();
        tokio::spawn(async move {
            shutdown.await;
            let _ = signal_tx.send(true);
        });
        let (supervisor, raw) = if agents {
            let sup = crate::runtime::supervisor::Supervisor::new(
                handle.clone(),
                ws.clone(),
                config.clone(),
            )
            .await
            .map_err(fail)?;
            let raw = sup.raw_output();
            (
                Some(tokio::spawn(sup.run(stopped(stop_rx.clone())))),
                Some(raw),
            )
        } else {
            (None, None)
        };
        // A separate `overlord-tui discord` proves itself with this; it changes every start.
        let bridge_secret = match crate::core::ipc::write_bridge_secret(&socket) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "warning: cannot write {}: {e}; a separate `overlord-tui discord` bridge will be refused",
                    ws.relative(&crate::core::ipc::secret_path(&socket))
                );
                None
            }
        };
        let ipc = tokio::spawn(crate::core::ipc::serve(
            listener,
            handle.clone(),
            bridge_secret,
            stopped(stop_rx.clone()),
        ));
        let monitor = tokio::spawn(crate::core::monitor::run(
            handle.clone(),
            ws.clone(),
            config.metrics.clone(),
            stop_rx.clone(),
        ));
        let daily = tokio::spawn(crate::core::digest::run(
            ws.clone(),
            config.clone(),
            stop_rx.clone(),
        ));
        let janitor = tokio::spawn(crate::core::janitor::run(
            ws.clone(),
            config.clone(),
            stop_rx.clone(),
        ));
        let discovery = tokio::spawn(crate::core::discovery::schedule::run(
            ws.clone(),
            config.clone(),
            handle.clone(),
            stop_rx.clone(),
        ));
        #[cfg(feature = "discord")]
        let bridge = discord_in_process(&config, &ws, &handle, stop_rx.clone());
        let outcome = front(Owner {
            handle: handle.clone(),
            ws: ws.clone(),
            config: config.clone(),
            raw,
            stop: stop_rx,
            metrics_addr,
        })
        .await;
        let _ = stop_tx.send(true);
        if let Some(m) = metrics_http {
            m.abort();
        }
        let _ = ipc.await;
        let _ = monitor.await;
        daily.abort();
        janitor.abort();
        discovery.abort();
        #[cfg(feature = "discord")]
        if let Some(b) = bridge {
            // Queued alerts get a moment to go out.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), b.join()).await;
        }
        if let Some(sup) = supervisor {
            let _ = sup.await;
        }
        outcome
    });
    let _ = std::fs::remove_file(&socket);
    handle.stop();
    let _ = join.join();
    drop(lock);
    result
}

/// Resolves at SIGINT or SIGTERM. The handlers are installed when it is called, not when it
/// is first polled.
pub(super) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// The Discord bridge inside the process that owns the repository, when `[discord] enabled`.
/// Missing credentials are a warning in the log: the console still runs.
#[cfg(feature = "discord")]
fn discord_in_process(
    config: &Config,
    ws: &Workspace,
    handle: &Handle,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Option<crate::discord::Bridge> {
    if !config.discord.enabled {
        return None;
    }
    let started = crate::discord::credentials(&config.discord).and_then(|c| {
        crate::discord::start(
            &config.discord,
            c,
            crate::discord::link::CoreLink::Local(handle.clone()),
            Some(&ws.store_paths().db),
            stop,
        )
    });
    match started {
        Ok(b) => {
            tracing::info!(mode = ?b.mode, "discord: the bridge runs in this process");
            // A bridge that stopped for good (an invalid token) is a concern for the human:
            // the console keeps running, the Discord side is deaf until fixed.
            let mut failed = b.failed.clone();
            let handle = handle.clone();
            tokio::spawn(async move {
                let reason = loop {
                    if let Some(e) = failed.borrow_and_update().clone() {
                        break e;
                    }
                    if failed.changed().await.is_err() {
                        return;
                    }
                };
                let draft = crate::protocol::ConcernDraft {
                    from: None,
                    to: Some(crate::protocol::model::Role::Human),
                    severity: crate::protocol::model::Severity::Critical,
                    category: "discord_bridge".to_string(),
                    summary: format!("the Discord bridge stopped: {reason}"),
                    details: Some(
                        "slash commands and buttons get no answer and alerts are refused until the owner is restarted with a valid token (docs/discord.md; `overlord-tui discord --check` tells what is wrong)".into(),
                    ),
                    task: None,
                };
                let r = handle
                    .submit(
                        crate::protocol::Origin::System,
                        crate::protocol::Command::RaiseConcern(draft),
                    )
                    .await;
                if !r.ok {
                    tracing::warn!("discord: cannot raise the bridge's concern: {}", r.message);
                }
            });
            Some(b)
        }
        Err(e) => {
            tracing::warn!("discord: the bridge is enabled but did not start: {e}");
            None
        }
    }
}
