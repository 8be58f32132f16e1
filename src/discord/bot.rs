//! The bot: serenity keeps the gateway connection (and reconnects it) and parses interactions;
//! everything the bot sends goes through our REST client (`rest.rs`), so every message has
//! mentions disabled, fits Discord's limits and survives 429s.
//!
//! - Slash commands are registered from `slash::commands()` when the gateway is ready (in the
//!   configured guild: instant; else globally).
//! - A slash command becomes the same `Command` the console sends, with an origin naming the
//!   member and their roles; the core decides whether they may (and records the attempt).
//!   The answer comes within Discord's 3 seconds, or the interaction is deferred and the
//!   answer edited in when the core replies. A Save or rollback reports how it ended as a
//!   follow-up; past the interaction token's 15 minutes, in the channel instead.
//! - Autocomplete offers the ids the state has (agents, concerns, approvals, checkpoints…).
//! - Buttons on alerts: Ack and Approve act at once; Resolve, Assign and Reject open a form
//!   (a modal) for the note, the agent and instructions, or the reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use serenity::all::{
    ActionRowComponent, ClientBuilder, CommandDataOptionValue, CommandInteraction,
    ComponentInteraction, Context, EventHandler, GatewayIntents, Interaction, ModalInteraction,
    Ready, User,
};

use super::alerts::reply_message;
use super::link::{CoreLink, Feed};
use super::message::{clip, Message};
use super::rest::{ApiBase, BotToken, Rest, RestError};
use super::slash;
use crate::config::DiscordConfig;
use crate::protocol::model::{ConcernId, Role};
use crate::protocol::{parse, Command, EventKind, Origin, ReplyData, State};

/// An interaction the bot must still follow up on (a Save or rollback that runs on).
#[derive(Clone)]
struct Awaiting {
    application_id: u64,
    token: String,
    channel_id: u64,
    since: Instant,
}

#[derive(Clone)]
pub struct Handler {
    rest: Rest,
    link: CoreLink,
    config: Arc<DiscordConfig>,
    /// The bridge's copy of the state (autocomplete, labels), kept by the feed task.
    state: Arc<Mutex<State>>,
    /// Operations started from Discord, by id.
    awaiting: Arc<Mutex<HashMap<u64, Awaiting>>>,
    /// When each interaction arrived and in which channel (its 3 seconds run from there).
    received: Arc<Mutex<HashMap<u64, (Instant, u64)>>>,
    /// When a stranger's autocomplete was last refused in the audit trail, by user id (one
    /// record a minute, not one per keystroke).
    refused_lookups: Arc<Mutex<HashMap<String, Instant>>>,
}

/// Discord's 3 seconds for an interaction's first response, less a margin for the trip.
const ANSWER_BUDGET: Duration = Duration::from_millis(2_600);

/// How often a stranger's refused autocomplete is recorded.
const LOOKUP_AUDIT_EVERY: Duration = Duration::from_secs(60);

/// Whether `[discord]` lets this origin command Overlord (the core decides the same way).
fn authorized(config: &DiscordConfig, origin: &Origin) -> bool {
    match origin {
        Origin::Discord { user_id, roles, .. } => config.authorizes(user_id, roles),
        _ => false,
    }
}

fn origin_of(user: &User, roles: Vec<String>) -> Origin {
    Origin::Discord {
        user_id: user.id.get().to_string(),
        name: user
            .global_name
            .clone()
            .unwrap_or_else(|| user.name.clone()),
        roles,
    }
}

fn member_roles(member: Option<&serenity::all::Member>) -> Vec<String> {
    member
        .map(|m| m.roles.iter().map(|r| r.get().to_string()).collect())
        .unwrap_or_default()
}

fn option_text(v: &CommandDataOptionValue) -> Option<String> {
    Some(match v {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(i) => i.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(u) => u.get().to_string(),
        CommandDataOptionValue::Channel(c) => c.get().to_string(),
        CommandDataOptionValue::Role(r) => r.get().to_string(),
        _ => return None,
    })
}

/// A slash command's registration body.
pub fn registration() -> Value {
    let commands: Vec<Value> = slash::commands()
        .iter()
        .map(|c| {
            let options: Vec<Value> = c
                .options
                .iter()
                .map(|o| {
                    let mut v = json!({
                        "type": 3,
                        "name": o.name,
                        "description": o.description,
                        "required": o.required,
                    });
                    if o.autocomplete.is_some() {
                        v["autocomplete"] = json!(true);
                    } else if !o.choices.is_empty() {
                        v["choices"] = o
                            .choices
                            .iter()
                            .map(|c| json!({"name": c, "value": c}))
                            .collect();
                    }
                    v
                })
                .collect();
            json!({"type": 1, "name": c.name, "description": c.description, "options": options})
        })
        .collect();
    Value::Array(commands)
}

fn message_json(m: &Message) -> Value {
    serde_json::to_value(m.clone().fitted()).unwrap_or(Value::Null)
}

impl Handler {
    pub fn new(rest: Rest, link: CoreLink, config: DiscordConfig) -> Handler {
        Handler {
            rest,
            link,
            config: Arc::new(config),
            state: Arc::new(Mutex::new(State::default())),
            awaiting: Arc::new(Mutex::new(HashMap::new())),
            received: Arc::new(Mutex::new(HashMap::new())),
            refused_lookups: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn arrived(&self, id: u64, channel: u64) {
        let mut r = self.received.lock().unwrap();
        r.retain(|_, (at, _)| at.elapsed() < Duration::from_secs(60));
        r.insert(id, (Instant::now(), channel));
    }

    /// The first response to interaction `id`, within Discord's 3 seconds: a 429 is waited
    /// out only while the retry still lands in time. False when it could not be given.
    async fn callback(&self, id: u64, token: &str, body: Value) -> bool {
        let route = format!("/interactions/{id}/{token}/callback");
        let since = self
            .received
            .lock()
            .unwrap()
            .get(&id)
            .map(|(at, _)| *at)
            .unwrap_or_else(Instant::now);
        let once = self.rest.once();
        loop {
            let left = ANSWER_BUDGET.saturating_sub(since.elapsed());
            let sent =
                tokio::time::timeout(left, once.send_json(Method::POST, &route, Some(&body)));
            match sent.await {
                Ok(Ok(_)) => return true,
                Ok(Err(RestError::RateLimited { retry_after, .. }))
                    if since.elapsed() + retry_after < ANSWER_BUDGET =>
                {
                    tokio::time::sleep(retry_after).await
                }
                Ok(Err(e)) => {
                    tracing::warn!("discord: an interaction answer failed: {e}");
                    return false;
                }
                Err(_) => {
                    tracing::warn!("discord: an interaction answer did not go out within 3 s");
                    return false;
                }
            }
        }
    }

    /// Answers an interaction; when Discord's 3 seconds ran out (429s on the answer), a
    /// public answer goes to the interaction's channel instead.
    async fn answer(&self, id: u64, token: &str, m: &Message) {
        if self
            .callback(id, token, json!({"type": 4, "data": message_json(m)}))
            .await
        {
            return;
        }
        self.to_channel(id, m).await;
    }

    /// The fallback when an interaction can no longer be answered: a public message in its
    /// channel. A private answer is not made public: it is only logged as lost.
    async fn to_channel(&self, id: u64, m: &Message) {
        if m.flags.unwrap_or(0) & super::message::EPHEMERAL != 0 {
            tracing::warn!("discord: a private answer could not be given in time");
            return;
        }
        let channel = self.received.lock().unwrap().get(&id).map(|(_, c)| *c);
        if let Some(channel) = channel {
            if let Err(e) = self.rest.post_channel_message(channel, m).await {
                tracing::warn!("discord: the answer could not be posted to its channel: {e}");
            }
        }
    }

    async fn edit_original(&self, app: u64, token: &str, m: &Message) {
        let route = format!("/webhooks/{app}/{token}/messages/@original");
        if let Err(e) = self
            .rest
            .send_json(Method::PATCH, &route, Some(&message_json(m)))
            .await
        {
            tracing::warn!("discord: editing a deferred answer failed: {e}");
        }
    }

    /// A private follow-up with the refusal, then the public placeholder deleted.
    async fn refuse_after_public(&self, app: u64, token: &str, m: &Message) {
        let followup = format!("/webhooks/{app}/{token}");
        let sent = self
            .rest
            .send_json(Method::POST, &followup, Some(&message_json(m)))
            .await;
        if let Err(e) = sent {
            tracing::warn!("discord: a private refusal could not be sent: {e}");
        }
        let original = format!("/webhooks/{app}/{token}/messages/@original");
        if let Err(e) = self.rest.send_json(Method::DELETE, &original, None).await {
            tracing::warn!("discord: the public placeholder could not be deleted: {e}");
        }
    }

    /// Sends `command` to the core and answers the interaction with the reply: at once when
    /// the core answers within `[discord] answer_within_ms`, else deferred and edited in.
    /// `private`: the answer is for the invoker only (buttons and forms); a refusal always is.
    async fn run_command(
        &self,
        (id, app, token, channel): (u64, u64, &str, u64),
        origin: Origin,
        command: Command,
        private: bool,
    ) {
        let within = Duration::from_millis(self.config.answer_within_ms);
        // A refusal must be private from the first response: Discord cannot make a public
        // placeholder ephemeral afterwards. Who is refused is known before asking the core.
        let private = private || !authorized(&self.config, &origin);
        let submit = self.link.submit(origin, command);
        tokio::pin!(submit);
        // 0: defer every interaction.
        let quick = match within.is_zero() {
            true => None,
            false => tokio::time::timeout(within, &mut submit).await.ok(),
        };
        let (reply, deferred) = match quick {
            Some(r) => (r, None),
            None => {
                let mut defer = json!({"type": 5});
                if private {
                    defer["data"] = json!({"flags": super::message::EPHEMERAL});
                }
                let ok = self.callback(id, token, defer).await;
                (submit.await, Some(ok))
            }
        };
        let mut m = reply_message(&reply);
        if private || !reply.ok {
            m = m.ephemeral();
        }
        match deferred {
            // A member's command the core refused, after a public placeholder: Discord cannot
            // make the placeholder private, so it goes and the refusal follows privately.
            Some(true) if !private && !reply.ok => self.refuse_after_public(app, token, &m).await,
            Some(true) => self.edit_original(app, token, &m).await,
            // The deferral itself did not go out in time: no original to edit.
            Some(false) => self.to_channel(id, &m).await,
            None => self.answer(id, token, &m).await,
        }
        // A Save or rollback goes on after its "started": follow up when it ends.
        if let ReplyData::Operation(op) = &reply.data {
            if op.outcome.is_none() {
                self.awaiting.lock().unwrap().insert(
                    op.id,
                    Awaiting {
                        application_id: app,
                        token: token.to_string(),
                        channel_id: channel,
                        since: Instant::now(),
                    },
                );
            }
        }
    }

    async fn on_command(&self, cmd: CommandInteraction) {
        let (id, app, token, channel) = (
            cmd.id.get(),
            cmd.application_id.get(),
            cmd.token.clone(),
            cmd.channel_id.get(),
        );
        let values: Vec<(String, String)> = cmd
            .data
            .options
            .iter()
            .filter_map(|o| option_text(&o.value).map(|v| (o.name.clone(), v)))
            .collect();
        let origin = origin_of(&cmd.user, member_roles(cmd.member.as_deref()));
        match slash::to_command(&cmd.data.name, &values) {
            Ok((line, command)) => {
                tracing::info!(actor = %origin.actor(), %line, "discord command");
                self.run_command((id, app, &token, channel), origin, command, false)
                    .await
            }
            Err(e) => {
                let usage = slash::usage(&cmd.data.name)
                    .map(|u| format!(" (usage: {u})"))
                    .unwrap_or_default();
                let m = Message::text(format!("⚠️ {e}{usage}")).ephemeral();
                self.answer(id, &token, &m).await;
                // Answered first (Discord waits 3 s); then the refusal goes to the audit trail
                // like any other refused command.
                let line = slash::to_line(&cmd.data.name, &values)
                    .unwrap_or_else(|_| format!("/{}", cmd.data.name));
                let _ = self
                    .link
                    .submit(
                        origin,
                        Command::Malformed {
                            line,
                            error: e,
                            suggestion: None,
                        },
                    )
                    .await;
            }
        }
    }

    async fn on_autocomplete(&self, ac: CommandInteraction) {
        let Some(focused) = ac.data.autocomplete() else {
            return;
        };
        // Suggestions show ids with their summaries: only for those who may command.
        let origin = origin_of(&ac.user, member_roles(ac.member.as_deref()));
        if !authorized(&self.config, &origin) {
            // Decided before answering, so the order of a user's keystrokes is kept.
            let due = {
                let mut seen = self.refused_lookups.lock().unwrap();
                let key = origin.actor();
                let due = seen
                    .get(&key)
                    .is_none_or(|at| at.elapsed() >= LOOKUP_AUDIT_EVERY);
                if due {
                    seen.insert(key, Instant::now());
                }
                due
            };
            self.callback(
                ac.id.get(),
                &ac.token,
                json!({"type": 8, "data": {"choices": []}}),
            )
            .await;
            if due {
                // The core refuses it (the stranger may not command) and records the refusal.
                let line = format!("/{} (autocomplete of {})", ac.data.name, focused.name);
                let _ = self
                    .link
                    .submit(
                        origin,
                        Command::Malformed {
                            line,
                            error: "autocomplete is only for those who may command Overlord".into(),
                            suggestion: None,
                        },
                    )
                    .await;
            }
            return;
        }
        let kind = slash::command(&ac.data.name)
            .and_then(|c| c.options.into_iter().find(|o| o.name == focused.name))
            .and_then(|o| o.autocomplete);
        let choices: Vec<Value> = match kind {
            Some(kind) => {
                let state = self.state.lock().unwrap().clone();
                slash::autocomplete(kind, focused.value, &state)
                    .into_iter()
                    .map(|(name, value)| json!({"name": name, "value": value}))
                    .collect()
            }
            None => Vec::new(),
        };
        self.callback(
            ac.id.get(),
            &ac.token,
            json!({"type": 8, "data": {"choices": choices}}),
        )
        .await;
    }

    fn modal(custom_id: &str, title: &str, fields: &[(&str, &str, bool, Option<String>)]) -> Value {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, label, required, value)| {
                let mut input = json!({
                    "type": 4, "custom_id": id, "label": label, "style": 2,
                    "required": required, "max_length": 1000,
                });
                if let Some(v) = value {
                    input["value"] = json!(v);
                }
                json!({"type": 1, "components": [input]})
            })
            .collect();
        json!({"type": 9, "data": {"custom_id": custom_id, "title": title, "components": rows}})
    }

    /// An agent of the role a concern is addressed to (the Assign form's suggestion).
    fn suggested_agent(&self, concern: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        let id: ConcernId = concern.parse().ok()?;
        let to = state.concerns.get(&id)?.to;
        if to == Role::Human {
            return None;
        }
        state
            .agents
            .values()
            .find(|a| a.role == to)
            .map(|a| a.id.clone())
    }

    async fn on_button(&self, b: ComponentInteraction) {
        let (id, app, token, channel) = (
            b.id.get(),
            b.application_id.get(),
            b.token.clone(),
            b.channel_id.get(),
        );
        let origin = origin_of(&b.user, member_roles(b.member.as_ref()));
        let custom = b.data.custom_id.clone();
        let (action, target) = custom.split_once(':').unwrap_or((custom.as_str(), ""));
        let line = match action {
            "ack" => format!("/ack {target}"),
            "permit" => match super::alerts::permit_line(target) {
                Some(line) => line,
                None => {
                    let m = Message::text(format!("⚠️ unknown button {custom:?}")).ephemeral();
                    return self.answer(id, &token, &m).await;
                }
            },
            "approve" => format!("/approve {target}"),
            "resolve" => {
                let body = Handler::modal(
                    &custom,
                    &format!("Resolve {target}"),
                    &[("note", "How was it resolved? (optional)", false, None)],
                );
                self.callback(id, &token, body).await;
                return;
            }
            "reject" => {
                let body = Handler::modal(
                    &custom,
                    &format!("Reject {target}"),
                    &[("reason", "Why? The author regenerates with it", true, None)],
                );
                self.callback(id, &token, body).await;
                return;
            }
            "assign" => {
                let body = Handler::modal(
                    &custom,
                    &format!("Assign {target}"),
                    &[
                        ("agent", "Agent", true, self.suggested_agent(target)),
                        ("text", "Instructions", true, None),
                    ],
                );
                self.callback(id, &token, body).await;
                return;
            }
            _ => {
                let m = Message::text(format!("⚠️ unknown button {custom:?}")).ephemeral();
                return self.answer(id, &token, &m).await;
            }
        };
        self.submit_line((id, app, &token, channel), origin, &line)
            .await
    }

    async fn submit_line(&self, at: (u64, u64, &str, u64), origin: Origin, line: &str) {
        match parse(line) {
            Ok(command) => {
                tracing::info!(actor = %origin.actor(), %line, "discord button");
                // Answers to buttons and forms are for the presser only.
                self.run_command(at, origin, command, true).await
            }
            Err(e) => {
                let m = Message::text(format!("⚠️ {e}")).ephemeral();
                self.answer(at.0, at.2, &m).await;
                let _ = self.link.submit(origin, e.into_command(line)).await;
            }
        }
    }

    async fn on_modal(&self, m: ModalInteraction) {
        let (id, app, token, channel) = (
            m.id.get(),
            m.application_id.get(),
            m.token.clone(),
            m.channel_id.get(),
        );
        let origin = origin_of(&m.user, member_roles(m.member.as_ref()));
        let mut fields: HashMap<String, String> = HashMap::new();
        for row in &m.data.components {
            for c in &row.components {
                if let ActionRowComponent::InputText(t) = c {
                    fields.insert(t.custom_id.clone(), t.value.clone().unwrap_or_default());
                }
            }
        }
        let field = |k: &str| {
            fields
                .get(k)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let custom = m.data.custom_id.clone();
        let (action, target) = custom.split_once(':').unwrap_or((custom.as_str(), ""));
        let q = crate::protocol::grammar::quote;
        let line = match action {
            "resolve" if field("note").is_empty() => format!("/resolve {target}"),
            "resolve" => format!("/resolve {target} {}", q(&field("note"))),
            "reject" => format!("/reject {target} {}", q(&field("reason"))),
            "assign" => format!(
                "/assign {} {target} {}",
                q(&field("agent")),
                q(&field("text"))
            ),
            _ => {
                let m = Message::text(format!("⚠️ unknown form {custom:?}")).ephemeral();
                return self.answer(id, &token, &m).await;
            }
        };
        self.submit_line((id, app, &token, channel), origin, &line)
            .await
    }

    /// Follows the core's events: the state for autocomplete, and the end of operations
    /// started from Discord.
    pub async fn follow(
        self,
        mut feed: tokio::sync::mpsc::UnboundedReceiver<Feed>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        if let Ok(s) = self.link.snapshot().await {
            *self.state.lock().unwrap() = s;
        }
        loop {
            let f = tokio::select! {
                f = feed.recv() => match f {
                    Some(f) => f,
                    None => return,
                },
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let event = match f {
                Feed::Event(e) => e,
                Feed::Gap => {
                    if let Ok(s) = self.link.snapshot().await {
                        *self.state.lock().unwrap() = s;
                    }
                    continue;
                }
            };
            {
                let mut state = self.state.lock().unwrap();
                if event.seq > state.last_event_seq {
                    state.apply(&event);
                }
            }
            if let EventKind::OperationFinished {
                id,
                outcome,
                message,
                ..
            } = &event.kind
            {
                let waiting = self.awaiting.lock().unwrap().remove(id);
                if let Some(w) = waiting {
                    let mark = if outcome.is_success() {
                        "✅"
                    } else {
                        "⚠️"
                    };
                    let m = Message::text(clip(&format!("{mark} {message}"), 2000));
                    self.finished(&w, &m).await;
                }
            }
        }
    }

    async fn finished(&self, w: &Awaiting, m: &Message) {
        if w.since.elapsed() < Duration::from_secs(self.config.followup_within_secs) {
            let route = format!("/webhooks/{}/{}", w.application_id, w.token);
            match self
                .rest
                .send_json(Method::POST, &route, Some(&message_json(m)))
                .await
            {
                Ok(_) => return,
                Err(e) => tracing::warn!("discord: a follow-up failed, posting instead: {e}"),
            }
        }
        if let Err(e) = self.rest.post_channel_message(w.channel_id, m).await {
            tracing::warn!("discord: the result of an operation was not posted: {e}");
        }
    }

    async fn register(&self, application_id: u64) {
        let route = match &self.config.guild_id {
            Some(g) => format!("/applications/{application_id}/guilds/{g}/commands"),
            None => format!("/applications/{application_id}/commands"),
        };
        match self
            .rest
            .send_json(Method::PUT, &route, Some(&registration()))
            .await
        {
            Ok(_) => tracing::info!("discord: slash commands registered"),
            Err(e) => tracing::error!("discord: the slash commands could not be registered: {e}"),
        }
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, "discord: connected");
        self.register(ready.application.id.get()).await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        // Each on its own task: a slow core never holds up the next interaction.
        let me = self.clone();
        match &interaction {
            Interaction::Command(c) | Interaction::Autocomplete(c) => {
                me.arrived(c.id.get(), c.channel_id.get())
            }
            Interaction::Component(b) => me.arrived(b.id.get(), b.channel_id.get()),
            Interaction::Modal(m) => me.arrived(m.id.get(), m.channel_id.get()),
            _ => {}
        }
        tokio::spawn(async move {
            match interaction {
                Interaction::Command(c) => me.on_command(c).await,
                Interaction::Autocomplete(a) => me.on_autocomplete(a).await,
                Interaction::Component(b) => me.on_button(b).await,
                Interaction::Modal(m) => me.on_modal(m).await,
                _ => {}
            }
        });
    }
}

/// Why the bridge stopped for good when Discord refuses the token: names the variable.
pub fn token_refused(token_env: &str, how: &str) -> String {
    format!(
        "Discord refused the bot token in ${token_env} ({how}): the token is invalid or was reset; \
         put the bot's current token (Developer Portal → Bot → Reset Token) in ${token_env}"
    )
}

/// Starts the gateway client; returns when it stops (or fails to start). An error means the
/// bridge cannot take slash commands any more (an invalid token above all): the caller makes
/// it loud.
pub async fn run_gateway(
    base: &ApiBase,
    token: &BotToken,
    token_env: &str,
    handler: Handler,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    // serenity asks `GET /gateway` itself, but on a 401 it falls back to the public gateway
    // host and retries for ever: ask first, and stop on a refused token.
    match handler.rest.send_json(Method::GET, "/gateway", None).await {
        Err(RestError::Unauthorized { .. }) => {
            return Err(token_refused(token_env, "401 Unauthorized on GET /gateway"))
        }
        Err(e) => tracing::warn!("discord: GET /gateway failed ({e}); the client tries again"),
        Ok(_) => {}
    }
    let http = serenity_http(base, token).build();
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::GUILDS)
        .event_handler(handler)
        .await
        .map_err(|e| format!("cannot start the Discord client: {e}"))?;
    let shards = client.shard_manager.clone();
    let stopping = tokio::spawn(async move {
        while shutdown.changed().await.is_ok() {
            if *shutdown.borrow() {
                break;
            }
        }
        shards.shutdown_all().await;
    });
    let r = client.start().await;
    stopping.abort();
    r.map_err(|e| match e {
        serenity::Error::Gateway(serenity::gateway::GatewayError::InvalidAuthentication) => {
            token_refused(token_env, "gateway closed with 4004, authentication failed")
        }
        e => format!("the Discord gateway stopped: {e}"),
    })
}

/// serenity's HTTP client builder for `base`: plain for Discord; for an override, the override
/// as serenity's proxy with serenity's rate limiter off, because serenity ignores the proxy
/// otherwise (serenity issue #1739). Without its rate limiter serenity fails a 429 instead of
/// waiting (and reports it as a JSON decoding error): whatever must survive a 429 goes through
/// [`super::Rest`]. Add `.application_id(…)` before `.build()` to register commands before READY.
pub fn serenity_http(base: &ApiBase, token: &BotToken) -> serenity::http::HttpBuilder {
    let builder = serenity::http::HttpBuilder::new(token.expose());
    if base.is_discord() {
        builder
    } else {
        builder.proxy(base.origin()).ratelimiter_disabled(true)
    }
}
