//! A fake Discord on 127.0.0.1 for offline tests: REST under `/api/v10/…` (and the unversioned
//! `/api/…` that webhook URLs use) plus a gateway websocket at `/gateway`.
//!
//! What it fakes, faithfully enough for serenity 0.12.5 and our own REST client:
//! - REST: `GET /gateway` (and `/gateway/bot`), `GET /oauth2/applications/@me`, `GET /users/@me`,
//!   command registration (`PUT`/`GET /applications/{app}[/guilds/{guild}]/commands`),
//!   interaction callbacks with Discord's timing rules (first response after the deadline →
//!   404 10062, a second response → 400 40060), follow-ups (`POST /webhooks/{app}/{token}`, 404
//!   10015 before any response, 401 50027 once the token expired) and `@original` edits,
//!   channel messages (post, edit), webhook execution (`?wait=true`, also `?&wait=true`, 204
//!   without it) and webhook message edits. Bot routes demand `Authorization: Bot {token}`.
//!   Messages are answered as full Message objects with fresh snowflakes and kept, so a
//!   button interaction carries the message it was pressed on.
//! - Every request is recorded (method, path, query, headers, JSON body, arrival `Instant`,
//!   the status the fake answered); a test awaits "the next request matching X" with a
//!   timeout. An unknown route answers 404 and is recorded as unexpected.
//! - Faults: [`FakeDiscord::fail_next`] answers Discord's real 429 (body and headers) or any
//!   status for the next n matching requests; [`FakeDiscord::drop_gateway`] cuts the websocket.
//! - Gateway: HELLO (small interval), READY on IDENTIFY, RESUMED on RESUME (or INVALID_SESSION
//!   when resuming is turned off), HEARTBEAT_ACK from a writer task of its own, increasing `s`,
//!   and injected INTERACTION_CREATE events (slash command, autocomplete, button).
//!
//! What it deliberately does not: real rate-limit buckets (429s happen only when injected),
//! permissions, guild/channel state and GUILD_CREATE, zlib compression, multipart uploads
//! (recorded, not parsed), replay of missed events on RESUME, sharding, and every route the
//! bridge does not use (those 404, recorded, so a test sees them).
//!
//! This file is the test-facing API; `http.rs` routes and answers requests, `gateway.rs`
//! runs the websocket. A test:
//! ```ignore
//! let fake = FakeDiscord::start().await;
//! // serenity: overlord::discord::serenity_http(&ApiBase::parse(&fake.origin())?, &token)
//! // our REST: Rest::new(ApiBase::parse(&fake.origin())?, Auth::Bot(token))
//! fake.wait_ready(WAIT).await;                       // the bot identified
//! let sent = fake.send_slash(&Invoker::member(42, "alice", &[REVIEWER]), "status", &[]).await;
//! let reply = fake.callback(&sent, WAIT).await;      // POST /interactions/{id}/{token}/callback
//! assert_eq!(reply.body["type"], 4);
//! fake.fail_next("/channels/", 1, Fault::RateLimited { retry_after: 0.3, global: false });
//! fake.drop_gateway();                               // then wait_gateway(…) for the reconnect
//! ```

mod gateway;
mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

use self::http::{message_json, now, strip_api};

pub const APP_ID: u64 = 1_100_000_000_000_000_001;
/// The bot's user id (Discord gives a bot the id of its application).
pub const BOT_USER_ID: u64 = APP_ID;
pub const BOT_TOKEN: &str = "fake.bot-token.for-tests-only";
pub const GUILD_ID: u64 = 1_100_000_000_000_000_100;
pub const CHANNEL_ID: u64 = 1_100_000_000_000_000_200;
pub const WEBHOOK_ID: u64 = 1_100_000_000_000_000_300;
pub const WEBHOOK_TOKEN: &str = "fake-webhook-token_42";

#[derive(Debug, Clone)]
pub struct Options {
    /// Sent in HELLO; serenity heartbeats this often (Discord says 41250).
    pub heartbeat_interval: Duration,
    /// Time allowed for an interaction's first response (Discord: 3 s).
    pub interaction_deadline: Duration,
    /// Lifetime of an interaction token for follow-ups (Discord: 15 min).
    pub token_lifetime: Duration,
    /// Accept RESUME (else answer INVALID_SESSION so the client identifies again).
    pub resume: bool,
    pub bot_token: String,
    /// The server's roles (id, permission bits); the one whose id is the server's is
    /// @everyone (`discord --check`).
    pub roles: Vec<(u64, u64)>,
    /// The bot member's roles in the server.
    pub bot_roles: Vec<u64>,
    /// Permission overwrites of channels (`[{id, type, allow, deny}]`); any other channel id
    /// exists in the server with none, except those in `missing_channels`.
    pub channel_overwrites: Vec<(u64, Value)>,
    pub missing_channels: Vec<u64>,
}

/// View Channel, Send Messages, Embed Links, Read Message History: what the bot needs.
pub const POSTING: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16);

impl Default for Options {
    fn default() -> Options {
        Options {
            heartbeat_interval: Duration::from_millis(1000),
            interaction_deadline: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(15 * 60),
            resume: true,
            bot_token: BOT_TOKEN.to_string(),
            roles: vec![(GUILD_ID, POSTING)],
            bot_roles: Vec::new(),
            channel_overwrites: Vec::new(),
            missing_channels: Vec::new(),
        }
    }
}

/// One request as it arrived, and the status the fake answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The full path, `/api/v10/channels/1/messages`.
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    /// The JSON body, `Value::Null` when empty or not JSON (see `raw`).
    pub body: Value,
    pub raw: Bytes,
    pub at: Instant,
    pub status: u16,
    pub unexpected: bool,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without `/api/v10` or `/api`: `/channels/1/messages`.
    pub fn route(&self) -> &str {
        strip_api(&self.path)
    }
}

/// An injected fault: Discord's 429, or any status with a Discord-shaped body.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    RateLimited {
        retry_after: f64,
        global: bool,
    },
    /// A 429 from the edge (Cloudflare): a plain-text body, the wait in headers only.
    RateLimitedHeadersOnly {
        reset_after: f64,
    },
    Status(u16),
}

/// Who invokes an interaction: a guild member with roles, or a user in a DM.
#[derive(Debug, Clone)]
pub struct Invoker {
    pub user_id: u64,
    pub name: String,
    /// `Some(role ids)` for a guild member, `None` for a DM.
    pub roles: Option<Vec<u64>>,
    pub channel_id: u64,
}

impl Invoker {
    pub fn member(user_id: u64, name: &str, roles: &[u64]) -> Invoker {
        let roles = Some(roles.to_vec());
        let (name, channel_id) = (name.to_string(), CHANNEL_ID);
        Invoker {
            user_id,
            name,
            roles,
            channel_id,
        }
    }

    pub fn dm(user_id: u64, name: &str) -> Invoker {
        let (name, channel_id) = (name.to_string(), user_id + 7);
        Invoker {
            user_id,
            name,
            roles: None,
            channel_id,
        }
    }
}

/// A typed option of a slash command.
#[derive(Debug, Clone)]
pub enum Opt {
    Str(&'static str, String),
    Int(&'static str, i64),
    Bool(&'static str, bool),
    User(&'static str, u64),
}

/// An injected interaction: its id and token, to await its callback.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: u64,
    pub token: String,
}

/// Gateway counters; a test waits on them to see a reconnect.
#[derive(Debug, Clone, Default)]
pub struct GatewayStats {
    pub connections: u32,
    pub identifies: u32,
    pub resumes: u32,
    pub heartbeats: u32,
    /// The connection number that completed IDENTIFY or RESUME and is still open.
    pub ready_on: Option<u32>,
    /// The IDENTIFY payloads (`d`), in order.
    pub identify_payloads: Vec<Value>,
}

struct Interaction {
    id: u64,
    at: Instant,
    responded: bool,
    /// The message `@original` names: a reply once there is one; for a button press, the
    /// message the button is on.
    original: Option<u64>,
    channel_id: u64,
}

enum Out {
    Frame(Value),
    Close(u16),
    Kill,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    taken: Vec<bool>,
    faults: Vec<(String, usize, Fault)>,
    commands: HashMap<Option<u64>, Vec<Value>>,
    interactions: HashMap<String, Interaction>,
    messages: HashMap<u64, Value>,
    next_id: u64,
    stats: GatewayStats,
    /// The open connection: its number, its writer, and the signal that cuts it.
    conn: Option<(u32, mpsc::UnboundedSender<Out>, Arc<Notify>)>,
    session: Option<String>,
    seq: u64,
}

impl State {
    fn snowflake(&mut self) -> u64 {
        self.next_id += 1;
        1_300_000_000_000_000_000 + self.next_id
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Notify,
    opts: Options,
    origin: String,
}

pub struct FakeDiscord {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        FakeDiscord::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            opts,
            origin: format!("http://{addr}"),
        });
        let s = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| http::handle(s.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        FakeDiscord {
            shared,
            addr,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`: for serenity's `HttpBuilder::proxy` and `ApiBase::parse`.
    pub fn origin(&self) -> String {
        self.shared.origin.clone()
    }

    pub fn gateway_url(&self) -> String {
        format!("ws://{}/gateway", self.addr)
    }

    /// The one webhook the fake knows, as a user would paste it.
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
            self.shared.origin
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("fake state")
    }

    /// Answers the next `n` requests whose `"METHOD /full/path"` contains `matcher` with `fault`.
    /// Leave `GET /api/v10/gateway` alone while a serenity client is being built: when it fails,
    /// serenity falls back to the real gateway URL (`wss://gateway.discord.gg`).
    pub fn fail_next(&self, matcher: &str, n: usize, fault: Fault) {
        self.lock().faults.push((matcher.to_string(), n, fault));
    }

    /// Forgets every fault not yet used up.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn unexpected(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.unexpected)
            .collect()
    }

    /// Registered commands: `None` for global ones, `Some(guild)` for a guild's.
    pub fn commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.lock()
            .commands
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// A message the fake holds (posted through any route), as it would answer it.
    pub fn message(&self, id: u64) -> Option<Value> {
        self.lock().messages.get(&id).cloned()
    }

    pub fn stats(&self) -> GatewayStats {
        self.lock().stats.clone()
    }

    /// Waits until `f` holds of the fake's state, up to `timeout`; `false` if it never did.
    async fn wait(&self, timeout: Duration, mut f: impl FnMut(&mut State) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if f(&mut self.lock()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return f(&mut self.lock());
            }
        }
    }

    /// The earliest request not yet returned by this method that matches `pred`, arriving
    /// within `timeout`, or `None`.
    pub async fn try_next_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<Recorded> {
        let mut found = None;
        self.wait(timeout, |st| {
            let i = (0..st.requests.len()).find(|&i| !st.taken[i] && pred(&st.requests[i]));
            if let Some(i) = i {
                st.taken[i] = true;
                found = Some(st.requests[i].clone());
            }
            i.is_some()
        })
        .await;
        found
    }

    /// Like `try_next_request`, panicking with what was seen instead when nothing matches.
    pub async fn next_request(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Recorded {
        match self.try_next_request(timeout, pred).await {
            Some(r) => r,
            None => panic!(
                "no request {what} within {timeout:?}; seen: {:#?}",
                self.seen()
            ),
        }
    }

    fn seen(&self) -> Vec<String> {
        let st = self.lock();
        let line = |r: &Recorded| format!("{} {} -> {}", r.method, r.path, r.status);
        st.requests.iter().map(line).collect()
    }

    /// The callback (`POST /interactions/{id}/{token}/callback`) of an injected interaction.
    pub async fn callback(&self, sent: &Sent, timeout: Duration) -> Recorded {
        let suffix = format!("/interactions/{}/{}/callback", sent.id, sent.token);
        let what = format!("callback of interaction {}", sent.id);
        self.next_request(&what, timeout, |r| {
            r.method == "POST" && r.path.ends_with(&suffix)
        })
        .await
    }

    /// Waits until the gateway counters satisfy `f`; panics after `timeout`.
    pub async fn wait_gateway(
        &self,
        what: &str,
        timeout: Duration,
        f: impl Fn(&GatewayStats) -> bool,
    ) -> GatewayStats {
        if !self.wait(timeout, |st| f(&st.stats)).await {
            panic!(
                "gateway never reached {what} within {timeout:?}: {:?}",
                self.stats()
            );
        }
        self.stats()
    }

    /// Waits for a connection that completed IDENTIFY (or RESUME) and is still open.
    pub async fn wait_ready(&self, timeout: Duration) -> GatewayStats {
        self.wait_gateway("a ready session", timeout, |s| s.ready_on.is_some())
            .await
    }

    /// Closes the current gateway connection abruptly (no close frame, TCP torn down).
    pub fn drop_gateway(&self) {
        let mut st = self.lock();
        if let Some((_, tx, cut)) = st.conn.take() {
            let _ = tx.send(Out::Kill);
            cut.notify_one();
        }
        st.stats.ready_on = None;
        drop(st);
        self.shared.changed.notify_waiters();
    }

    /// Sends a dispatch event (`op` 0) with the next sequence number; the session must be ready.
    pub async fn dispatch(&self, t: &str, d: Value) {
        self.wait_ready(Duration::from_secs(10)).await;
        let mut st = self.lock();
        st.seq += 1;
        let frame = json!({"op": 0, "t": t, "s": st.seq, "d": d});
        let (_, tx, _) = st.conn.as_ref().expect("a gateway connection");
        tx.send(Out::Frame(frame)).expect("gateway writer");
    }

    /// Injects a slash command (`INTERACTION_CREATE`, type 2).
    pub async fn send_slash(&self, who: &Invoker, name: &str, options: &[Opt]) -> Sent {
        let (opts, resolved) = options_json(who, options, None);
        let data = json!({"id": self.command_id(name), "name": name, "type": 1,
            "options": opts, "resolved": resolved});
        self.interaction(2, who, data, None).await
    }

    /// Injects an autocomplete request (type 4): `options` so far plus the focused one.
    pub async fn send_autocomplete(
        &self,
        who: &Invoker,
        name: &str,
        options: &[Opt],
        focused: (&'static str, &str),
    ) -> Sent {
        let (opts, resolved) = options_json(who, options, Some(focused));
        let data = json!({"id": self.command_id(name), "name": name, "type": 1,
            "options": opts, "resolved": resolved});
        self.interaction(4, who, data, None).await
    }

    /// Injects a button press (type 3) on message `message_id` (the one the fake holds, or a
    /// stand-in with that id and this button).
    pub async fn send_button(&self, who: &Invoker, message_id: u64, custom_id: &str) -> Sent {
        let message = self.message(message_id).unwrap_or_else(|| {
            let body = json!({"content": "", "components": [{"type": 1, "components": [
                {"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id}]}]});
            message_json(message_id, who.channel_id, &body, None)
        });
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(3, who, data, Some(message)).await
    }

    fn command_id(&self, name: &str) -> String {
        let mut st = self.lock();
        let known = st.commands.values().flatten().find(|c| c["name"] == name);
        match known {
            Some(c) => c["id"].as_str().unwrap_or_default().to_string(),
            None => st.snowflake().to_string(),
        }
    }

    async fn interaction(&self, kind: u8, who: &Invoker, data: Value, msg: Option<Value>) -> Sent {
        let (id, token) = {
            let mut st = self.lock();
            let id = st.snowflake();
            (id, format!("fake-interaction-token-{id}"))
        };
        let user = user_json(who.user_id, &who.name);
        let mut d = json!({"id": id.to_string(), "application_id": APP_ID.to_string(),
            "type": kind, "token": token, "version": 1, "data": data,
            "channel_id": who.channel_id.to_string(), "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 8_388_608, "app_permissions": "0",
            "authorizing_integration_owners": {}});
        match &who.roles {
            Some(roles) => {
                let roles: Vec<String> = roles.iter().map(u64::to_string).collect();
                d["guild_id"] = json!(GUILD_ID.to_string());
                d["guild_locale"] = json!("en-US");
                d["context"] = json!(0);
                d["channel"] = json!({"id": who.channel_id.to_string(), "type": 0, "name": "ops"});
                d["member"] = member_json(user, &roles);
            }
            None => {
                d["context"] = json!(1);
                d["channel"] = json!({"id": who.channel_id.to_string(), "type": 1});
                d["user"] = user;
            }
        }
        let pressed_on = msg.as_ref().and_then(|m| m["id"].as_str()?.parse().ok());
        if let Some(m) = msg {
            d["message"] = m;
        }
        // Registered before the event leaves, so a fast callback always finds it.
        self.lock().interactions.insert(
            token.clone(),
            Interaction {
                id,
                at: Instant::now(),
                responded: false,
                original: pressed_on,
                channel_id: who.channel_id,
            },
        );
        self.dispatch("INTERACTION_CREATE", d).await;
        Sent { id, token }
    }
}

fn user_json(id: u64, name: &str) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0",
        "global_name": name, "avatar": null, "bot": false})
}

fn member_json(user: Value, roles: &[String]) -> Value {
    json!({"user": user, "roles": roles, "joined_at": now(), "deaf": false, "mute": false,
        "flags": 0, "pending": false, "nick": null, "avatar": null, "permissions": "0"})
}

fn bot_json() -> Value {
    json!({"id": BOT_USER_ID.to_string(), "username": "overlord-fake", "discriminator": "0",
        "global_name": null, "avatar": null, "bot": true, "mfa_enabled": false})
}

fn options_json(who: &Invoker, opts: &[Opt], focused: Option<(&str, &str)>) -> (Value, Value) {
    let (mut users, mut members) = (json!({}), json!({}));
    let mut out: Vec<Value> = opts
        .iter()
        .map(|o| match o {
            Opt::Str(n, v) => json!({"name": n, "type": 3, "value": v}),
            Opt::Int(n, v) => json!({"name": n, "type": 4, "value": v}),
            Opt::Bool(n, v) => json!({"name": n, "type": 5, "value": v}),
            Opt::User(n, id) => {
                users[id.to_string()] = user_json(*id, &format!("user-{id}"));
                if who.roles.is_some() {
                    let m = member_json(Value::Null, &[]);
                    members[id.to_string()] = m;
                    members[id.to_string()]
                        .as_object_mut()
                        .map(|m| m.remove("user"));
                }
                json!({"name": n, "type": 6, "value": id.to_string()})
            }
        })
        .collect();
    if let Some((name, value)) = focused {
        out.push(json!({"name": name, "type": 3, "value": value, "focused": true}));
    }
    (json!(out), json!({"users": users, "members": members}))
}

impl FakeDiscord {
    /// Injects the submission of a form (a modal, type 5): its `custom_id` and the text
    /// inputs' values by their ids.
    pub async fn send_modal_submit(
        &self,
        who: &Invoker,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Sent {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| {
                json!({"type": 1, "components": [
                    {"type": 4, "custom_id": id, "value": value}]})
            })
            .collect();
        let data = json!({"custom_id": custom_id, "components": rows});
        self.interaction(5, who, data, None).await
    }

    /// The messages the fake holds in a channel, oldest first.
    pub fn messages_in(&self, channel: u64) -> Vec<(u64, Value)> {
        let st = self.lock();
        let mut v: Vec<(u64, Value)> = st
            .messages
            .iter()
            .filter(|(_, m)| m["channel_id"].as_str() == Some(channel.to_string().as_str()))
            .map(|(id, m)| (*id, m.clone()))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }
}
