//! The Discord bridge: slash commands as data (`slash`), the outgoing message model
//! (`message`) and a REST client of our own (`rest`).
//!
//! The bridge uses serenity for the gateway and the slash commands, and this module for every
//! post that must survive Discord's rate limits (alerts above all): serenity's rate limiter has
//! to be disabled to point serenity at a local fake Discord in tests, and without it serenity
//! does not retry a 429 at all. [`rest::Rest`] reads `retry_after` itself, retries within caps,
//! and never puts a token into an error, a `Debug` string or a log line.
//!
//! Where requests go is [`ApiBase`]: Discord itself unless `OVERLORD_DISCORD_API_BASE` names a
//! local fake (tests only). [`serenity_http`] points serenity at the same place, so the gateway
//! URL (serenity asks `GET /gateway` when the client is built) comes from there too.

pub mod alerts;
pub mod bot;
pub mod check;
pub mod link;
pub mod message;
pub mod outbox;
pub mod rest;
pub mod slash;

pub use bot::serenity_http;
pub use message::{ActionRow, Button, ButtonStyle, Embed, EmbedField, EmbedFooter, Message};
pub use rest::{ApiBase, Auth, BotToken, Rest, RestError, RetryPolicy, WebhookUrl};

/// A running bridge: the outbox's counts, and the tasks to wait for.
pub struct Bridge {
    pub counts: tokio::sync::watch::Receiver<outbox::Counts>,
    pub mode: Mode,
    /// Why the bridge stopped taking commands for good (Discord refused the token, the
    /// gateway gave up): `overlord-tui discord` exits with it, the owner raises a concern.
    pub failed: tokio::sync::watch::Receiver<Option<String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What the bridge runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Slash commands, buttons and alerts with buttons.
    Bot,
    /// Alerts only, through a webhook (no bot token).
    Webhook,
}

impl Bridge {
    /// Resolves with the reason once the bridge failed for good (never, while it works).
    pub async fn failure(&self) -> String {
        let mut rx = self.failed.clone();
        loop {
            if let Some(e) = rx.borrow_and_update().clone() {
                return e;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits for the bridge's tasks (after the shutdown signal).
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Where the bridge talks and with what: Discord (or the fake of the tests), the bot token
/// and the webhook. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub base: ApiBase,
    pub token: Option<BotToken>,
    pub webhook: Option<WebhookUrl>,
}

/// The credentials from the environment: the token from `[discord] token_env`, the webhook
/// from `webhook_url` or `webhook_url_env`, the API base from `OVERLORD_DISCORD_API_BASE`
/// (tests). Errors name what is wrong, never a secret.
pub fn credentials(config: &crate::config::DiscordConfig) -> Result<Credentials, String> {
    let base = ApiBase::from_env().map_err(|e| e.to_string())?;
    let token = match std::env::var(&config.token_env) {
        Ok(t) if !t.trim().is_empty() => {
            Some(BotToken::new(t.trim()).map_err(|e| format!("${}: {e}", config.token_env))?)
        }
        _ => None,
    };
    let webhook = match config
        .webhook_url
        .clone()
        .or_else(|| std::env::var(&config.webhook_url_env).ok())
        .filter(|w| !w.trim().is_empty())
    {
        Some(url) => Some(WebhookUrl::parse(&url).map_err(|e| e.to_string())?),
        None => None,
    };
    if token.is_none() && webhook.is_none() {
        return Err(format!(
            "no Discord credentials: set the bot token in ${} (or a webhook URL in ${} or [discord] webhook_url)",
            config.token_env, config.webhook_url_env
        ));
    }
    Ok(Credentials {
        base,
        token,
        webhook,
    })
}

/// Starts the bridge: with a bot token, the bot and its alerts; with only a webhook, alerts
/// through the webhook. `store`: the audit store's file, where the bridge keeps its ledger.
pub fn start(
    config: &crate::config::DiscordConfig,
    credentials: Credentials,
    link: link::CoreLink,
    store: Option<&std::path::Path>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<Bridge, String> {
    // The ledger (delivery cursor, message links) lives in the audit store's file; without
    // it the bridge still runs, but cannot catch up after a restart.
    let ledger = |db: &std::path::Path| match crate::store::bridge::Ledger::open(db) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(
                "discord: no ledger, alerts missed while away will not be caught up: {e}"
            );
            None
        }
    };
    let Credentials {
        base,
        token,
        webhook,
    } = credentials;
    let coalesce = std::time::Duration::from_millis(config.coalesce_ms);
    let policy = RetryPolicy {
        max_rate_limit_retries: config.max_retries,
        max_server_retries: config.max_retries.min(5),
        ..RetryPolicy::default()
    };
    let mut tasks = Vec::new();
    let (failed_tx, failed) = tokio::sync::watch::channel(None);
    let (mode, counts) = if let Some(token) = token {
        let rest = Rest::with_policy(base.clone(), Auth::Bot(token.clone()), policy)
            .map_err(|e| e.to_string())?;
        let (outbox, counts) = outbox::Outbox::new(
            rest.clone(),
            outbox::Destination::Bot(config.channels.clone()),
            link.clone(),
            coalesce,
            config.daily_summary_at,
            store.and_then(ledger),
        );
        tasks.push(tokio::spawn(outbox.run(link.subscribe(), shutdown.clone())));
        let handler = bot::Handler::new(rest, link.clone(), config.clone());
        tasks.push(tokio::spawn(
            handler.clone().follow(link.subscribe(), shutdown.clone()),
        ));
        let shutdown = shutdown.clone();
        let token_env = config.token_env.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = bot::run_gateway(&base, &token, &token_env, handler, shutdown).await {
                tracing::error!("discord: {e}");
                let _ = failed_tx.send(Some(e));
            }
        }));
        (Mode::Bot, counts)
    } else if let Some(hook) = webhook {
        let rest = Rest::with_policy(base, Auth::None, policy).map_err(|e| e.to_string())?;
        let (outbox, counts) = outbox::Outbox::new(
            rest,
            outbox::Destination::Webhook(hook),
            link.clone(),
            coalesce,
            config.daily_summary_at,
            store.and_then(ledger),
        );
        tasks.push(tokio::spawn(outbox.run(link.subscribe(), shutdown)));
        (Mode::Webhook, counts)
    } else {
        return Err(format!(
            "no Discord credentials: set the bot token in ${} (or a webhook URL in ${} or [discord] webhook_url)",
            config.token_env, config.webhook_url_env
        ));
    };
    Ok(Bridge {
        counts,
        mode,
        failed,
        tasks,
    })
}
