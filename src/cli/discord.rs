//! `overlord-tui discord`: the Discord bridge on its own (slash commands, buttons, alerts),
//! talking to the console or `run` that owns the repository through its socket.

use std::path::PathBuf;

use super::output::{fail, Outcome};
use super::owner::shutdown_signal;
use super::session::{load_config, load_config_warning, workspace};

/// `overlord-tui discord`: the bridge on its own, through the owner's socket; with `--check`,
/// the configuration and the token tried against Discord.
pub(super) fn discord(repo: &Option<PathBuf>, check: bool) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    if check {
        return check_setup(&ws);
    }
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
        let bridge = crate::discord::start(
            &config.discord,
            credentials,
            link,
            Some(&ws.store_paths().db),
            stop_rx,
        )
        .map_err(fail)?;
        eprintln!(
            "overlord-tui discord: the {} bridge for {} (pid {}); Ctrl-C to stop",
            match bridge.mode {
                crate::discord::Mode::Bot => "bot",
                crate::discord::Mode::Webhook => "webhook (alerts only)",
            },
            ws.root.display(),
            std::process::id()
        );
        // Ctrl-C, or a failure that leaves the bridge deaf (an invalid token): the latter
        // ends the process with an error, not a silent half-working bridge.
        let failed = tokio::select! {
            _ = shutdown_signal() => None,
            e = bridge.failure() => Some(e),
        };
        eprintln!("stopping the Discord bridge…");
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), bridge.join()).await;
        match failed {
            Some(e) => Err(fail(e)),
            None => Ok(()),
        }
    })
}

/// `overlord-tui discord --check`: every finding on stdout; exit 1 when something is wrong.
fn check_setup(ws: &crate::workspace::Workspace) -> Outcome {
    let (config, warning) = load_config_warning(ws);
    if let Some(w) = warning {
        return Err(fail(format!(
            "{w}\nfix .overlord/config.toml (docs/discord.md lists every [discord] key)"
        )));
    }
    let credentials = crate::discord::credentials(&config.discord).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    let findings = runtime.block_on(crate::discord::check::check(&config.discord, &credentials));
    let problems = findings
        .iter()
        .filter(|f| f.level == crate::discord::check::Level::Problem)
        .count();
    for f in &findings {
        println!("{}", f.line());
    }
    if problems > 0 {
        return Err(fail(format!(
            "{problems} problem(s) with the Discord setup (see above and docs/discord.md)"
        )));
    }
    println!("the Discord setup looks right");
    Ok(())
}
