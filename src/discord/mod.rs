//! The Discord transport: the outgoing message model and a REST client of our own.
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

pub mod message;
pub mod rest;

pub use message::{ActionRow, Button, ButtonStyle, Embed, EmbedField, EmbedFooter, Message};
pub use rest::{ApiBase, Auth, BotToken, Rest, RestError, RetryPolicy, WebhookUrl};

/// serenity's HTTP client builder for `base`: plain for Discord; for an override, the override
/// as serenity's proxy with serenity's rate limiter off, because serenity ignores the proxy
/// otherwise (serenity issue #1739). Without its rate limiter serenity fails a 429 instead of
/// waiting (and reports it as a JSON decoding error): whatever must survive a 429 goes through
/// [`Rest`]. Add `.application_id(…)` before `.build()` to register commands before READY.
pub fn serenity_http(base: &ApiBase, token: &BotToken) -> serenity::http::HttpBuilder {
    let builder = serenity::http::HttpBuilder::new(token.expose());
    if base.is_discord() {
        builder
    } else {
        builder.proxy(base.origin()).ratelimiter_disabled(true)
    }
}
