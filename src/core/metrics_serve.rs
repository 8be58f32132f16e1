//! The edges of the metrics: reading the audit trail's events (for tools and tests; the
//! figures themselves come from `metrics_reader`), and serving `/metrics` (OpenMetrics) on a
//! loopback port for Prometheus (`[metrics] listen`). Each scrape reads the store afresh
//! (its stored running fold and what was appended since).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::MetricsConfig;
use crate::metrics::{self, Facts, Window};
use crate::protocol::Event;
use crate::store::{Store, StoreError};
use crate::workspace::Workspace;

/// The events of the audit trail, oldest first, and how many stored records could not be read
/// as events (data corruption). All of them in memory: for tools and tests, not the figures.
pub fn read_events(store: &Store) -> Result<(Vec<Event>, u64), StoreError> {
    let mut cache = super::monitor::EventCache::default();
    cache.catch_up(store)?;
    Ok((cache.events, cache.unreadable))
}

/// `listen` as a socket address, refused unless it is a loopback one (the figures name tasks
/// and agents; they are not for the network).
pub fn loopback_addr(listen: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = listen.trim().parse().map_err(|_| {
        format!("[metrics] listen = {listen:?} is not an address like 127.0.0.1:9464")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "[metrics] listen = {listen:?} is not a loopback address (127.0.0.1 or ::1)"
        ));
    }
    Ok(addr)
}

/// The OpenMetrics exposition of the store as it is now.
pub fn exposition(
    ws: &Workspace,
    config: &MetricsConfig,
    window: Window,
) -> Result<String, String> {
    let store = Store::open_without_repair(&ws.store_paths()).map_err(|e| e.to_string())?;
    let mut reader = super::metrics_reader::MetricsReader::default();
    reader.catch_up(&store).map_err(|e| e.to_string())?;
    let now = super::now();
    let figures = reader
        .metrics(&store, window, &now)
        .map_err(|e| e.to_string())?
        .ok_or("the clock is unreadable")?;
    let facts = Facts {
        corrupt_records: reader.unreadable(),
        ..Facts::default()
    };
    let alerts = metrics::evaluate(&figures, config, &facts);
    Ok(metrics::openmetrics::render(&figures, &alerts))
}

/// Answers `GET /metrics[?window=24h|7d|checkpoint|all]` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, ws: Workspace, config: MetricsConfig) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (ws, config) = (ws.clone(), config.clone());
        tokio::spawn(async move {
            let _ = answer(stream, ws, config).await;
        });
    }
}

async fn answer(
    mut stream: tokio::net::TcpStream,
    ws: Workspace,
    config: MetricsConfig,
) -> std::io::Result<()> {
    // The request line and headers; a scrape has no body.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let window = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("window="))
        .unwrap_or("all");
    let (status, kind, body) = if method != "GET" {
        (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        )
    } else if path != "/metrics" {
        ("404 Not Found", "text/plain", "try /metrics\n".to_string())
    } else {
        match window.parse::<Window>() {
            Err(e) => ("400 Bad Request", "text/plain", format!("{e}\n")),
            Ok(w) => match tokio::task::spawn_blocking(move || exposition(&ws, &config, w)).await {
                Ok(Ok(text)) => (
                    "200 OK",
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    text,
                ),
                Ok(Err(e)) => ("500 Internal Server Error", "text/plain", format!("{e}\n")),
                Err(e) => ("500 Internal Server Error", "text/plain", format!("{e}\n")),
            },
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
