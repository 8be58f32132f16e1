//! The log file: `.overlord/logs/overlord.log` of the repository worked on, filtered by
//! `$OVERLORD_LOG` (default `info`). The file is the owner's alone (0600). The Discord and
//! HTTP libraries log raw gateway payloads and requests below `info` — interaction tokens
//! among them — so their targets never go below `info`, whatever `$OVERLORD_LOG` asks.

use crate::workspace::Workspace;

/// Targets whose debug and trace events carry raw payloads (interaction tokens, headers).
const RAW_PAYLOAD_TARGETS: &[&str] = &[
    "serenity",
    "poise",
    "tungstenite",
    "tokio_tungstenite",
    "async_tungstenite",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// Whether an event from `target` at `level` may be written.
pub(crate) fn loggable(target: &str, level: &tracing::Level) -> bool {
    let raw = RAW_PAYLOAD_TARGETS
        .iter()
        .any(|t| target == *t || target.starts_with(&format!("{t}::")));
    !raw || *level <= tracing::Level::INFO
}

pub(super) fn init_logging(ws: &Workspace) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let dir = ws.log_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join("overlord.log");
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
    else {
        return;
    };
    // A log made by an older build may be world-readable.
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let filter = tracing_subscriber::EnvFilter::try_from_env("OVERLORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let raw = tracing_subscriber::filter::filter_fn(|m| loggable(m.target(), m.level()));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .with_filter(filter)
        .with_filter(raw);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
