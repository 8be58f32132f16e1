//! The log file: `.overlord/logs/overlord.log` of the repository worked on, filtered by
//! `$OVERLORD_LOG` (default `info`).

use crate::workspace::Workspace;

pub(super) fn init_logging(ws: &Workspace) {
    let dir = ws.log_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("overlord.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OVERLORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
