//! The fake's HTTP side: routing, Discord's answers and error bodies, injected faults.

use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};

use super::*;

pub(super) fn now() -> String {
    let format = &time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_default()
}

/// A full Message object, as Discord answers a post.
pub(super) fn message_json(
    id: u64,
    channel_id: u64,
    body: &Value,
    webhook_id: Option<u64>,
) -> Value {
    let embeds: Vec<Value> = body["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut e = e.clone();
            e["type"] = json!("rich");
            e
        })
        .collect();
    let mut author = bot_json();
    if let Some(w) = webhook_id {
        author = json!({"id": w.to_string(), "username": body["username"].as_str()
            .unwrap_or("Overlord"), "discriminator": "0000", "avatar": null, "bot": true});
    }
    let mut m = json!({"id": id.to_string(), "channel_id": channel_id.to_string(), "type": 0,
        "author": author, "content": body["content"].as_str().unwrap_or(""),
        "timestamp": now(), "edited_timestamp": null, "tts": false, "mention_everyone": false,
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": embeds,
        "components": body.get("components").cloned().unwrap_or(json!([])), "pinned": false,
        "flags": body["flags"].as_u64().unwrap_or(0)});
    if let Some(w) = webhook_id {
        m["webhook_id"] = json!(w.to_string());
    }
    m
}

pub(super) fn strip_api(path: &str) -> &str {
    path.strip_prefix("/api/v10")
        .or_else(|| path.strip_prefix("/api"))
        .unwrap_or(path)
}

type Answer = (u16, Value, Vec<(&'static str, String)>);

fn error(status: u16, code: u64, message: &str) -> Answer {
    (status, json!({"message": message, "code": code}), vec![])
}

fn fault_answer(fault: Fault) -> Answer {
    match fault {
        Fault::RateLimited {
            retry_after,
            global,
        } => {
            let body = json!({"message": "You are being rate limited.",
                "retry_after": retry_after, "global": global});
            let scope = if global { "global" } else { "user" };
            let mut h = vec![
                ("retry-after", format!("{}", retry_after.ceil() as u64)),
                ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
                ("x-ratelimit-bucket", "fake0bucket0hash".to_string()),
                ("x-ratelimit-scope", scope.to_string()),
                ("x-ratelimit-limit", "5".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
            ];
            if global {
                h.push(("x-ratelimit-global", "true".to_string()));
            }
            (429, body, h)
        }
        Fault::RateLimitedHeadersOnly { reset_after } => {
            let h = vec![
                ("retry-after", format!("{}", reset_after.ceil() as u64)),
                ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            ];
            (429, json!("error code: 1015"), h)
        }
        Fault::Status(401) => error(401, 0, "401: Unauthorized"),
        Fault::Status(403) => error(403, 50013, "Missing Permissions"),
        Fault::Status(404) => error(404, 10003, "Unknown Channel"),
        Fault::Status(s) if s >= 500 => error(s, 0, "500: Internal Server Error"),
        Fault::Status(s) => error(s, 50035, "Invalid Form Body"),
    }
}

pub(super) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let at = Instant::now();
    if req.uri().path() == "/gateway" && req.headers().contains_key("sec-websocket-key") {
        return Ok(gateway::upgrade(shared, req));
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let headers = req.headers().iter().map(|(k, v)| {
        (
            k.as_str().to_string(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    });
    let headers: Vec<(String, String)> = headers.collect();
    let raw = req.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let mut rec = Recorded {
        method,
        path,
        query,
        headers,
        body,
        raw,
        at,
        status: 0,
        unexpected: false,
    };
    let (status, answer, extra) = {
        let mut st = shared.state.lock().expect("fake state");
        let (status, answer, extra) = route(&shared, &mut st, &rec);
        rec.status = status;
        rec.unexpected = answer["message"] == NOT_FOUND;
        st.requests.push(rec);
        st.taken.push(false);
        (status, answer, extra)
    };
    shared.changed.notify_waiters();
    let mut resp = Response::builder().status(status);
    for (k, v) in extra {
        resp = resp.header(k, v);
    }
    // A JSON string answer is sent as plain text (an edge error page, not Discord's JSON).
    let (body, kind) = match answer {
        _ if status == 204 => (Bytes::new(), None),
        Value::String(text) => (Bytes::from(text), Some("text/plain")),
        json => (Bytes::from(json.to_string()), Some("application/json")),
    };
    if let Some(kind) = kind {
        resp = resp.header("content-type", kind);
    }
    Ok(resp.body(Full::new(body)).expect("response"))
}

fn route(shared: &Shared, st: &mut State, rec: &Recorded) -> Answer {
    let line = format!("{} {}", rec.method, rec.path);
    if let Some(f) = st
        .faults
        .iter_mut()
        .find(|f| f.1 > 0 && line.contains(&f.0))
    {
        f.1 -= 1;
        return fault_answer(f.2);
    }
    let segs: Vec<&str> = strip_api(&rec.path).trim_matches('/').split('/').collect();
    let authorized = rec.header("authorization") == Some(&format!("Bot {}", shared.opts.bot_token));
    let body = &rec.body;
    let gateway = format!(
        "ws://{}/gateway",
        shared.origin.trim_start_matches("http://")
    );
    let needs_bot = !matches!(
        segs.first(),
        Some(&"gateway" | &"interactions" | &"webhooks")
    );
    if needs_bot && !authorized {
        return error(401, 0, "401: Unauthorized");
    }
    match (rec.method.as_str(), segs.as_slice()) {
        ("GET", ["gateway"]) => (200, json!({"url": gateway}), vec![]),
        ("GET", ["gateway", "bot"]) => (
            200,
            json!({"url": gateway, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0,
            "max_concurrency": 1}}),
            vec![],
        ),
        ("GET", ["users", "@me"]) => (200, bot_json(), vec![]),
        ("GET", ["guilds", g]) if *g == GUILD_ID.to_string() => (
            200,
            json!({"id": GUILD_ID.to_string(), "name": "fake-server"}),
            vec![],
        ),
        ("GET", ["guilds", g, "roles"]) if *g == GUILD_ID.to_string() => {
            let roles: Vec<Value> = shared
                .opts
                .roles
                .iter()
                .map(|(id, p)| {
                    json!({"id": id.to_string(), "name": format!("role-{id}"),
                    "permissions": p.to_string()})
                })
                .collect();
            (200, json!(roles), vec![])
        }
        ("GET", ["guilds", g, "members", m])
            if *g == GUILD_ID.to_string() && *m == BOT_USER_ID.to_string() =>
        {
            let roles: Vec<String> = shared
                .opts
                .bot_roles
                .iter()
                .map(|r| r.to_string())
                .collect();
            (200, member_json(bot_json(), &roles), vec![])
        }
        ("GET", ["guilds", ..]) => error(404, 10004, "Unknown Guild"),
        ("GET", ["channels", c]) => {
            let id: u64 = c.parse().unwrap_or(0);
            if shared.opts.missing_channels.contains(&id) {
                return error(404, 10003, "Unknown Channel");
            }
            let overwrites = shared
                .opts
                .channel_overwrites
                .iter()
                .find(|(ch, _)| *ch == id)
                .map(|(_, o)| o.clone())
                .unwrap_or(json!([]));
            (
                200,
                json!({"id": c, "type": 0, "guild_id": GUILD_ID.to_string(),
                "name": format!("channel-{c}"), "permission_overwrites": overwrites}),
                vec![],
            )
        }
        ("GET", ["oauth2", "applications", "@me"]) => (
            200,
            json!({"id": APP_ID.to_string(),
            "name": "overlord-fake", "icon": null, "description": "", "bot_public": false,
            "bot_require_code_grant": false, "verify_key": "00", "team": null, "flags": 0,
            "owner": bot_json(), "bot": bot_json()}),
            vec![],
        ),
        (m, ["applications", app, rest @ ..]) if *app == APP_ID.to_string() => {
            let guild = match rest {
                ["commands"] => None,
                ["guilds", g, "commands"] => Some(g.parse().unwrap_or(0)),
                _ => return unexpected(),
            };
            if m == "PUT" {
                let list = body.as_array().cloned().unwrap_or_default();
                let stored: Vec<Value> = list.iter().map(|c| command(st, c, guild)).collect();
                st.commands.insert(guild, stored);
            } else if m != "GET" {
                return unexpected();
            }
            (
                200,
                json!(st.commands.get(&guild).cloned().unwrap_or_default()),
                vec![],
            )
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            let deadline = shared.opts.interaction_deadline;
            let msg_id = st.snowflake();
            let Some(i) = st
                .interactions
                .get_mut(*token)
                .filter(|i| i.id.to_string() == *id)
            else {
                return error(404, 10062, "Unknown interaction");
            };
            if i.responded {
                return error(400, 40060, "Interaction has already been acknowledged.");
            }
            if i.at.elapsed() > deadline {
                return error(404, 10062, "Unknown interaction");
            }
            i.responded = true;
            let (channel, pressed_on) = (i.channel_id, i.original);
            let data = body.get("data").cloned().unwrap_or(json!({}));
            match body["type"].as_u64() {
                // A reply (or its placeholder) becomes the interaction's original message.
                Some(4 | 5) => {
                    i.original = Some(msg_id);
                    let m = message_json(msg_id, channel, &data, Some(APP_ID));
                    st.messages.insert(msg_id, m);
                }
                // UPDATE_MESSAGE edits the message the button is on.
                Some(7) => {
                    if let Some(on) = pressed_on.filter(|on| st.messages.contains_key(on)) {
                        edit(st, on, &data);
                    }
                }
                _ => {}
            }
            (204, Value::Null, vec![])
        }
        (m, ["webhooks", id, token, rest @ ..]) => webhook(shared, st, rec, m, id, token, rest),
        ("POST", ["channels", c, "messages"]) => {
            let id = st.snowflake();
            let m = message_json(id, c.parse().unwrap_or(0), body, None);
            st.messages.insert(id, m.clone());
            (200, m, vec![])
        }
        ("PATCH", ["channels", c, "messages", mid]) => {
            let found = st.messages.get(&mid.parse().unwrap_or(0));
            if found.is_none_or(|m| m["channel_id"] != *c) {
                return error(404, 10008, "Unknown Message");
            }
            edit(st, mid.parse().unwrap_or(0), body)
        }
        _ => unexpected(),
    }
}

/// Discord's answer to a route it does not have; the fake also marks the request unexpected.
const NOT_FOUND: &str = "404: Not Found";

fn unexpected() -> Answer {
    error(404, 0, NOT_FOUND)
}

fn command(st: &mut State, c: &Value, guild: Option<u64>) -> Value {
    let old = st
        .commands
        .get(&guild)
        .into_iter()
        .flatten()
        .find(|o| o["name"] == c["name"]);
    let id = match old {
        Some(o) => o["id"].clone(),
        None => json!(st.snowflake().to_string()),
    };
    let mut out = json!({"type": 1, "description": "", "options": [],
        "default_member_permissions": null, "dm_permission": true, "nsfw": false});
    for (k, v) in c.as_object().into_iter().flatten() {
        out[k] = v.clone();
    }
    out["id"] = id;
    out["application_id"] = json!(APP_ID.to_string());
    out["version"] = json!(st.snowflake().to_string());
    out["guild_id"] = json!(guild.map(|g| g.to_string()));
    out
}

fn webhook(
    shared: &Shared,
    st: &mut State,
    rec: &Recorded,
    method: &str,
    id: &str,
    token: &str,
    rest: &[&str],
) -> Answer {
    let is_app = *id == APP_ID.to_string();
    let hook = *id == WEBHOOK_ID.to_string() && token == WEBHOOK_TOKEN;
    let (channel, original) = match st.interactions.get(token).filter(|_| is_app) {
        Some(i) if i.at.elapsed() > shared.opts.token_lifetime => {
            return error(401, 50027, "Invalid Webhook Token")
        }
        Some(i) if !i.responded => return error(404, 10015, "Unknown Webhook"),
        Some(i) => (i.channel_id, i.original),
        None if hook => (CHANNEL_ID, None),
        None => return error(404, 10015, "Unknown Webhook"),
    };
    let wait = rec
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .any(|p| p == "wait=true");
    match (method, rest) {
        ("POST", []) => {
            let mid = st.snowflake();
            let m = message_json(
                mid,
                channel,
                &rec.body,
                Some(if is_app { APP_ID } else { WEBHOOK_ID }),
            );
            st.messages.insert(mid, m.clone());
            if wait || is_app {
                (200, m, vec![])
            } else {
                (204, Value::Null, vec![])
            }
        }
        ("DELETE", ["messages", mid]) => {
            let mid = match (*mid, original) {
                ("@original", Some(o)) => o,
                (n, _) => n.parse().unwrap_or(0),
            };
            match st.messages.remove(&mid) {
                Some(_) => (204, Value::Null, vec![]),
                None => error(404, 10008, "Unknown Message"),
            }
        }
        (m @ ("PATCH" | "GET"), ["messages", mid]) => {
            let mid = match (*mid, original) {
                ("@original", Some(o)) => o,
                ("@original", None) => return error(404, 10008, "Unknown Message"),
                (n, _) => n.parse().unwrap_or(0),
            };
            let Some(found) = st.messages.get(&mid) else {
                return error(404, 10008, "Unknown Message");
            };
            if m == "GET" {
                return (200, found.clone(), vec![]);
            }
            let body = rec.body.clone();
            edit(st, mid, &body)
        }
        _ => unexpected(),
    }
}

/// PATCH semantics: fields present in the body replace the message's.
fn edit(st: &mut State, id: u64, body: &Value) -> Answer {
    let Some(m) = st.messages.get_mut(&id) else {
        return error(404, 10008, "Unknown Message");
    };
    let channel: u64 = m["channel_id"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut merged = m.clone();
    for key in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(key) {
            merged[key] = v.clone();
        }
    }
    let webhook = m["webhook_id"].as_str().and_then(|w| w.parse().ok());
    let mut fresh = message_json(id, channel, &merged, webhook);
    fresh["author"] = m["author"].clone();
    fresh["timestamp"] = m["timestamp"].clone();
    fresh["edited_timestamp"] = json!(now());
    *m = fresh.clone();
    (200, fresh, vec![])
}
