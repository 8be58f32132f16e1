//! `overlord-tui discord`: the Discord bridge on its own (slash commands, buttons, alerts),
//! talking to the console or `run` that owns the repository through its socket.

use std::path::PathBuf;

use super::output::{fail, Outcome};
use super::owner::shutdown_signal;
use super::session::{load_config, workspace};

/// `overlord-tui discord`: the bridge on its own, through the owner's socket.
pub(super) fn discord(repo: &Option<PathBuf>) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let socket = ws.socket_path();
    if crate::core::ipc::Client::connect(&socket).is_none() {
        return Err(fail(format!(
            "no overlord-tui owns {}: start the console or `overlord-tui run` there first (the bridge talks to it through {})",
            ws.root.display(),
            ws.relative(&socket)
        )));
    }
    if config.discord.enabled {
        eprintln!(
            "note: [discord] enabled = true: the owner runs a bridge too, and alerts would be posted twice"
        );
    }
    let credentials = crate::discord::credentials(&config.discord).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?;
    runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let link = crate::discord::link::CoreLink::Remote(socket.clone());
        let bridge =
            crate::discord::start(&config.discord, credentials, link, stop_rx).map_err(fail)?;
        eprintln!(
            "overlord-tui discord: the {} bridge for {} (pid {}); Ctrl-C to stop",
            match bridge.mode {
                crate::discord::Mode::Bot => "bot",
                crate::discord::Mode::Webhook => "webhook (alerts only)",
            },
            ws.root.display(),
            std::process::id()
        );
        shutdown_signal().await;
        eprintln!("stopping the Discord bridge…");
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), bridge.join()).await;
        Ok(())
    })
}
