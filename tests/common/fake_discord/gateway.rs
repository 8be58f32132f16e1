//! The fake's gateway: each connection has a reader task and a writer task of its own.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

use super::*;

pub(super) fn upgrade(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let key = req.headers()["sec-websocket-key"].as_bytes().to_vec();
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        gateway(shared, ws).await;
    });
    Response::builder()
        .status(101)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", derive_accept_key(&key))
        .body(Full::new(Bytes::new()))
        .expect("101")
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// One gateway connection: this task reads; a writer task of its own sends (acks included),
/// so a slow reader never delays a HEARTBEAT_ACK.
async fn gateway(shared: Arc<Shared>, ws: Socket) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let sent = match out {
                Out::Frame(v) => sink.send(Ws::Text(v.to_string())).await,
                Out::Close(code) => {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: "".into(),
                    };
                    sink.send(Ws::Close(Some(frame))).await
                }
                Out::Kill => return,
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let interval = shared.opts.heartbeat_interval.as_millis() as u64;
    let hello = json!({"op": 10, "d": {"heartbeat_interval": interval}, "s": null, "t": null});
    let _ = tx.send(Out::Frame(hello));
    let cut = Arc::new(Notify::new());
    let me = {
        let mut st = shared.state.lock().expect("fake state");
        st.stats.connections += 1;
        let me = st.stats.connections;
        st.conn = Some((me, tx.clone(), cut.clone()));
        me
    };
    shared.changed.notify_waiters();
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            // drop_gateway: leave at once; with the writer gone too, the socket is dropped.
            _ = cut.notified() => break,
        };
        let Some(Ok(msg)) = msg else { break };
        let Ws::Text(text) = msg else {
            if matches!(msg, Ws::Close(_)) {
                break;
            }
            continue;
        };
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut st = shared.state.lock().expect("fake state");
        match v["op"].as_u64() {
            Some(1) => {
                st.stats.heartbeats += 1;
                let _ = tx.send(Out::Frame(json!({"op": 11})));
            }
            Some(2) => {
                st.stats.identifies += 1;
                st.stats.identify_payloads.push(v["d"].clone());
                let token = v["d"]["token"].as_str().unwrap_or("");
                if token.strip_prefix("Bot ").unwrap_or(token) != shared.opts.bot_token {
                    let _ = tx.send(Out::Close(4004));
                } else {
                    let session = format!("fake-session-{}", st.stats.identifies);
                    st.session = Some(session.clone());
                    st.seq = 1;
                    st.stats.ready_on = Some(me);
                    let ready = json!({"op": 0, "t": "READY", "s": 1, "d": {"v": 10,
                        "user": bot_json(), "guilds": [], "session_id": session,
                        "resume_gateway_url": format!("ws://{}/gateway", shared.origin
                            .trim_start_matches("http://")),
                        "shard": [0, 1], "application": {"id": APP_ID.to_string(), "flags": 0}}});
                    let _ = tx.send(Out::Frame(ready));
                }
            }
            Some(6) => {
                st.stats.resumes += 1;
                let known =
                    st.session.is_some() && v["d"]["session_id"].as_str() == st.session.as_deref();
                if shared.opts.resume && known {
                    st.seq += 1;
                    st.stats.ready_on = Some(me);
                    let _ = tx.send(Out::Frame(
                        json!({"op": 0, "t": "RESUMED", "s": st.seq, "d": {}}),
                    ));
                } else {
                    let _ = tx.send(Out::Frame(
                        json!({"op": 9, "d": false, "s": null, "t": null}),
                    ));
                }
            }
            _ => {}
        }
        drop(st);
        shared.changed.notify_waiters();
    }
    let mut st = shared.state.lock().expect("fake state");
    if st.conn.as_ref().is_some_and(|c| c.0 == me) {
        st.conn = None;
        st.stats.ready_on = None;
    }
    drop(st);
    shared.changed.notify_waiters();
}
