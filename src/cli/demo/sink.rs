//! The demo's stand-in for Discord: a minimal HTTP/1.1 server on loopback that answers the
//! bridge's webhook calls (`POST /api/v10/webhooks/{id}/{token}?wait=true` and
//! `PATCH …/messages/{mid}`) as Discord would, with a message object, and writes each message
//! as one line: what would have been posted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Larger bodies are refused (Discord's own limit on a message is far below).
const MAX_BODY: usize = 1 << 20;

pub async fn serve(listener: TcpListener, lines: Arc<Mutex<Vec<String>>>, echo: bool) {
    let ids = Arc::new(AtomicU64::new(1_000));
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(stream, lines.clone(), echo, ids.clone()));
    }
}

/// One keep-alive connection: requests one after another until the client closes it.
async fn connection(
    stream: TcpStream,
    lines: Arc<Mutex<Vec<String>>>,
    echo: bool,
    ids: Arc<AtomicU64>,
) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        match read.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            match read.read_line(&mut header).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        if length > MAX_BODY {
            let _ = respond(&mut write, "413 Payload Too Large", "{}").await;
            return;
        }
        let mut body = vec![0u8; length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let route = path.split('?').next().unwrap_or("");
        let answer = match (method.as_str(), webhook_route(route)) {
            ("POST", Some(None)) => {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                record(&lines, echo, "", &message);
                Some(id)
            }
            ("PATCH", Some(Some(mid))) => {
                record(&lines, echo, "(edited) ", &message);
                Some(mid)
            }
            _ => None,
        };
        let written = match answer {
            Some(id) => {
                let mut reply = message;
                if let Value::Object(m) = &mut reply {
                    m.insert("id".into(), Value::String(id.to_string()));
                    m.insert("channel_id".into(), Value::String("1".into()));
                } else {
                    reply = serde_json::json!({ "id": id.to_string(), "channel_id": "1" });
                }
                respond(&mut write, "200 OK", &reply.to_string()).await
            }
            None => {
                respond(
                    &mut write,
                    "404 Not Found",
                    r#"{"message": "Unknown Webhook", "code": 10015}"#,
                )
                .await
            }
        };
        if written.is_err() {
            return;
        }
    }
}

/// `/…/webhooks/{id}/{token}` → `Some(None)`, `/…/webhooks/{id}/{token}/messages/{mid}` →
/// `Some(Some(mid))`, anything else `None`.
fn webhook_route(path: &str) -> Option<Option<u64>> {
    let (_, rest) = path.split_once("/webhooks/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [_, _] => Some(None),
        [_, _, "messages", mid] => mid.parse().ok().map(Some),
        _ => None,
    }
}

async fn respond(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    status: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    write.write_all(head.as_bytes()).await?;
    write.write_all(body.as_bytes()).await?;
    write.flush().await
}

/// One line per text and per embed of the message.
fn record(lines: &Mutex<Vec<String>>, echo: bool, prefix: &str, message: &Value) {
    let mut out = Vec::new();
    // Several alert lines share one message, a line each.
    if let Some(text) = message.get("content").and_then(Value::as_str) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            out.push(format!("{prefix}{}", one_line(line)));
        }
    }
    for embed in message
        .get("embeds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = embed.get("title").and_then(Value::as_str).unwrap_or("");
        let description = embed
            .get("description")
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default();
        let fields: Vec<String> = embed
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| {
                let name = f.get("name")?.as_str()?;
                let value = f.get("value")?.as_str()?;
                matches!(name, "status" | "from → to" | "escalated to")
                    .then(|| format!("{name}: {}", one_line(value)))
            })
            .collect();
        let fields = if fields.is_empty() {
            String::new()
        } else {
            format!(" [{}]", fields.join("; "))
        };
        out.push(format!("{prefix}[embed] {title} — {description}{fields}"));
    }
    if let Ok(mut l) = lines.lock() {
        for line in out {
            if echo {
                eprintln!("discord: {line}");
            }
            l.push(line);
        }
    }
}

fn one_line(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut s: String = first.chars().take(160).collect();
    if first.chars().count() > 160 {
        s.push('…');
    }
    s
}
