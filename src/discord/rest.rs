//! Our own Discord REST client (reqwest): channel messages, webhook posts and any JSON call,
//! with Discord's rate limits honoured and no secret ever leaving in an error or a log.
//!
//! Retry rules ([`RetryPolicy`]):
//! - 429: wait `retry_after` from the body (else the `X-RateLimit-Reset-After` header, which
//!   has milliseconds, else `Retry-After`, whole seconds, else 1 s) and try again, at most `max_rate_limit_retries` times;
//!   a wait longer than `max_rate_limit_wait` is not slept at all: the call fails at once with
//!   [`RestError::RateLimited`] carrying `retry_after`, so the caller's queue can reschedule.
//! - 5xx and transport errors: exponential backoff from `backoff`, at most
//!   `max_server_retries` times. (A timed-out POST may have reached Discord: a retry can then
//!   post twice. Alerts accept that over losing one.)
//! - 401, 403, 404 and every other 4xx: never retried (Discord bans an IP after 10,000 invalid
//!   requests in 10 minutes).
//!
//! Secrets: the bot token and a webhook URL's token part are scrubbed from every string an
//! error holds; routes in errors and tracing read `POST /webhooks/123/[token]`; redirects are
//! not followed, so the `Authorization` header only ever goes to the configured base.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, USER_AGENT};
pub use reqwest::Method;
use serde_json::Value;

use super::message::Message;

/// The environment variable that points the transport (and serenity) at another server.
pub const API_BASE_ENV: &str = "OVERLORD_DISCORD_API_BASE";
/// Where requests go when [`API_BASE_ENV`] is unset.
pub const DISCORD_ORIGIN: &str = "https://discord.com";
/// The versioned API path under the origin.
pub const API_PATH: &str = "/api/v10";

/// Where requests go: an origin such as `https://discord.com` or `http://127.0.0.1:PORT`.
///
/// `OVERLORD_DISCORD_API_BASE` holds an origin of the form `http://127.0.0.1:PORT` (a trailing
/// `/`, `/api` or `/api/v10` is accepted and dropped). REST calls go to
/// `{origin}/api/v10/{route}`, exactly where serenity's `HttpBuilder::proxy(origin)` sends its
/// own; a webhook URL (`https://discord.com/api/webhooks/{id}/{token}`, any host) is reduced to
/// its id and token and posted to `{origin}/api/v10/webhooks/{id}/{token}`, so the
/// configured webhook URL can stay the real one while tests run against the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase {
    origin: String,
}

impl Default for ApiBase {
    fn default() -> ApiBase {
        ApiBase::discord()
    }
}

impl ApiBase {
    pub fn discord() -> ApiBase {
        ApiBase {
            origin: DISCORD_ORIGIN.to_string(),
        }
    }

    /// Reads [`API_BASE_ENV`]: unset or blank means Discord itself.
    pub fn from_env() -> Result<ApiBase, RestError> {
        ApiBase::from_setting(std::env::var(API_BASE_ENV).ok().as_deref())
    }

    /// What [`ApiBase::from_env`] makes of the variable's value: `None` or blank means Discord.
    pub fn from_setting(value: Option<&str>) -> Result<ApiBase, RestError> {
        match value {
            Some(v) if !v.trim().is_empty() => ApiBase::parse(v),
            _ => Ok(ApiBase::discord()),
        }
    }

    pub fn parse(value: &str) -> Result<ApiBase, RestError> {
        let invalid = |reason| RestError::InvalidApiBase {
            value: value.to_string(),
            reason,
        };
        let mut v = value.trim().trim_end_matches('/');
        for suffix in [API_PATH, "/api"] {
            v = v.strip_suffix(suffix).unwrap_or(v);
        }
        let host = v
            .strip_prefix("http://")
            .or_else(|| v.strip_prefix("https://"))
            .ok_or_else(|| invalid("it must start with http:// or https://"))?;
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(invalid("it must be an origin like http://127.0.0.1:PORT"));
        }
        Ok(ApiBase {
            origin: v.to_string(),
        })
    }

    /// `https://discord.com` or the override: what serenity's `HttpBuilder::proxy` takes.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_discord(&self) -> bool {
        self.origin == DISCORD_ORIGIN
    }

    /// The full URL of an API route such as `/channels/1/messages`.
    pub fn url(&self, route: &str) -> String {
        format!("{}{API_PATH}{route}", self.origin)
    }
}

/// A bot token. Its `Debug` is redacted; only [`BotToken::expose`] shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken([redacted])")
    }
}

impl BotToken {
    pub fn new(token: impl Into<String>) -> Result<BotToken, RestError> {
        let token = token.into();
        let token = token.trim();
        let token = token.strip_prefix("Bot ").unwrap_or(token);
        if token.is_empty() {
            return Err(RestError::InvalidToken {
                reason: "it is empty",
            });
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(RestError::InvalidToken {
                reason: "it has characters a token never has (spaces, controls, non-ASCII)",
            });
        }
        Ok(BotToken(token.to_string()))
    }

    /// Reads the token from the environment variable `var` (`OVERLORD_DISCORD_TOKEN` by default
    /// in the bridge's configuration).
    pub fn from_env(var: &str) -> Result<BotToken, RestError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => BotToken::new(v),
            _ => Err(RestError::MissingToken {
                var: var.to_string(),
            }),
        }
    }

    /// The raw token, for serenity's `HttpBuilder` and our `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `Bot {token}`, marked sensitive so HTTP-level debug output never prints it.
    fn header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bot {}", self.0))
            .unwrap_or_else(|_| HeaderValue::from_static("Bot invalid"));
        value.set_sensitive(true);
        value
    }
}

/// How calls authenticate: a bot token, or nothing (webhook-only mode).
#[derive(Debug, Clone)]
pub enum Auth {
    Bot(BotToken),
    None,
}

/// A webhook's id and token. `Debug` and `Display` show the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    id: u64,
    token: String,
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({}, [redacted])", self.id)
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webhook {} (token redacted)", self.id)
    }
}

impl WebhookUrl {
    pub fn new(id: u64, token: impl Into<String>) -> Result<WebhookUrl, RestError> {
        let token = token.into();
        if token.is_empty()
            || !token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(RestError::InvalidWebhookUrl {
                reason: "the token part is empty or has characters a token never has",
            });
        }
        Ok(WebhookUrl { id, token })
    }

    /// Parses `http(s)://HOST/api[/vN]/webhooks/{id}/{token}` (a query is ignored). The error
    /// never repeats the URL, which holds the token.
    pub fn parse(url: &str) -> Result<WebhookUrl, RestError> {
        let invalid = |reason| RestError::InvalidWebhookUrl { reason };
        let url = url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| invalid("it must start with https://"))?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let path = rest
            .find('/')
            .map(|i| &rest[i..])
            .ok_or_else(|| invalid("it has no path"))?;
        let after = path
            .strip_prefix("/api/webhooks/")
            .or_else(|| {
                let p = path.strip_prefix("/api/v")?;
                let slash = p.find('/')?;
                p[..slash]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then_some(())?;
                p[slash..].strip_prefix("/webhooks/")
            })
            .ok_or_else(|| invalid("the path must be /api/webhooks/{id}/{token}"))?;
        let mut parts = after.trim_end_matches('/').split('/');
        let (Some(id), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("the path must be /api/webhooks/{id}/{token}"));
        };
        let id = id
            .parse::<u64>()
            .map_err(|_| invalid("the webhook id is not a number"))?;
        WebhookUrl::new(id, token)
    }

    /// The token part (a secret: for building a route that is scrubbed like any other).
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    pub fn id(&self) -> u64 {
        self.id
    }
}

/// Caps on retries; see the module documentation.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// 429s retried per call before giving up.
    pub max_rate_limit_retries: u32,
    /// A `retry_after` longer than this fails the call instead of sleeping.
    pub max_rate_limit_wait: Duration,
    /// 5xx answers and transport errors retried per call.
    pub max_server_retries: u32,
    /// First wait after a 5xx or transport error; doubles each time, at most 8 s.
    pub backoff: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_rate_limit_retries: 5,
            max_rate_limit_wait: Duration::from_secs(60),
            max_server_retries: 3,
            backoff: Duration::from_millis(500),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// Why a call failed. Every string inside has had the secrets scrubbed; `route` reads like
/// `POST /channels/42/messages` or `POST /webhooks/7/[token]`.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("invalid Discord API base {value:?}: {reason}")]
    InvalidApiBase { value: String, reason: &'static str },
    #[error("invalid Discord webhook URL: {reason}")]
    InvalidWebhookUrl { reason: &'static str },
    #[error("invalid Discord bot token: {reason}")]
    InvalidToken { reason: &'static str },
    #[error("the environment variable {var} holding the Discord bot token is not set")]
    MissingToken { var: String },
    #[error("{route}: this call needs a bot token and none is configured")]
    NoBotToken { route: String },
    #[error("{route}: Discord refused the credentials (401, code {code}): {message}")]
    Unauthorized {
        route: String,
        code: u64,
        message: String,
    },
    #[error("{route}: forbidden (403, code {code}): {message}")]
    Forbidden {
        route: String,
        code: u64,
        message: String,
    },
    #[error("{route}: not found (404, code {code}): {message}")]
    NotFound {
        route: String,
        code: u64,
        message: String,
    },
    #[error("{route}: rejected ({status}, code {code}): {message}")]
    Rejected {
        route: String,
        status: u16,
        code: u64,
        message: String,
    },
    #[error(
        "{route}: still rate limited after {attempts} attempt(s); retry after {retry_after:?}"
    )]
    RateLimited {
        route: String,
        attempts: u32,
        retry_after: Duration,
        global: bool,
    },
    #[error("{route}: Discord server error {status} after {attempts} attempt(s)")]
    Server {
        route: String,
        status: u16,
        attempts: u32,
    },
    #[error("{route}: no answer after {attempts} attempt(s): {detail}")]
    Transport {
        route: String,
        attempts: u32,
        detail: String,
    },
    #[error("{route}: unexpected answer: {detail}")]
    Decode { route: String, detail: String },
    #[error("could not build the HTTP client: {detail}")]
    Client { detail: String },
}

/// The REST client. Cheap to clone (reqwest's pool is shared).
#[derive(Debug, Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: ApiBase,
    auth: Auth,
    policy: RetryPolicy,
}

/// One call: where it goes, what it carries, and the secrets to scrub from its errors.
struct Call<'a> {
    method: Method,
    url: String,
    route: String,
    body: Option<&'a Value>,
    token: TokenUse,
    secret: Option<&'a str>,
}

/// Whether a call sends the bot token.
#[derive(PartialEq)]
enum TokenUse {
    /// Bot routes: fail without a request when there is no token.
    Required,
    /// Webhook routes: the URL's token authenticates; the bot token stays home.
    Never,
    /// Generic calls: send it when there is one.
    IfAny,
}

impl Rest {
    pub fn new(base: ApiBase, auth: Auth) -> Result<Rest, RestError> {
        Rest::with_policy(base, auth, RetryPolicy::default())
    }

    pub fn with_policy(base: ApiBase, auth: Auth, policy: RetryPolicy) -> Result<Rest, RestError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.request_timeout)
            .connect_timeout(policy.request_timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| RestError::Client {
                detail: error_chain(&e.without_url()),
            })?;
        Ok(Rest {
            http,
            base,
            auth,
            policy,
        })
    }

    pub fn base(&self) -> &ApiBase {
        &self.base
    }

    /// The same client without retries: the caller decides whether a 429's wait still fits
    /// (an interaction's 3 seconds).
    pub fn once(&self) -> Rest {
        Rest {
            policy: RetryPolicy {
                max_rate_limit_retries: 0,
                max_server_retries: 0,
                ..self.policy
            },
            ..self.clone()
        }
    }

    /// `POST /channels/{channel}/messages`; returns the new message's id.
    pub async fn post_channel_message(
        &self,
        channel_id: u64,
        message: &Message,
    ) -> Result<u64, RestError> {
        let route = format!("/channels/{channel_id}/messages");
        let body = channel_body(message);
        let answer = self
            .call(Call {
                method: Method::POST,
                url: self.base.url(&route),
                route: format!("POST {route}"),
                body: Some(&body),
                token: TokenUse::Required,
                secret: None,
            })
            .await?;
        message_id(answer, &format!("POST {route}"))
    }

    /// `PATCH /channels/{channel}/messages/{message}`: replaces content, embeds and buttons.
    pub async fn edit_channel_message(
        &self,
        channel_id: u64,
        message_id: u64,
        message: &Message,
    ) -> Result<(), RestError> {
        let route = format!("/channels/{channel_id}/messages/{message_id}");
        let body = channel_body(message);
        self.call(Call {
            method: Method::PATCH,
            url: self.base.url(&route),
            route: format!("PATCH {route}"),
            body: Some(&body),
            token: TokenUse::Required,
            secret: None,
        })
        .await
        .map(drop)
    }

    /// `POST /webhooks/{id}/{token}?wait=true` (no bot token sent); returns the message id.
    pub async fn execute_webhook(
        &self,
        hook: &WebhookUrl,
        message: &Message,
    ) -> Result<u64, RestError> {
        let route = format!("POST /webhooks/{}/[token]", hook.id);
        let body = webhook_body(message);
        let answer = self
            .call(Call {
                method: Method::POST,
                url: format!(
                    "{}?wait=true",
                    self.base
                        .url(&format!("/webhooks/{}/{}", hook.id, hook.token))
                ),
                route: route.clone(),
                body: Some(&body),
                token: TokenUse::Never,
                secret: Some(&hook.token),
            })
            .await?;
        message_id(answer, &route)
    }

    /// `PATCH /webhooks/{id}/{token}/messages/{message}`: edits a message the webhook posted.
    pub async fn edit_webhook_message(
        &self,
        hook: &WebhookUrl,
        message_id: u64,
        message: &Message,
    ) -> Result<(), RestError> {
        let body = webhook_body(message);
        self.call(Call {
            method: Method::PATCH,
            url: self.base.url(&format!(
                "/webhooks/{}/{}/messages/{message_id}",
                hook.id, hook.token
            )),
            route: format!("PATCH /webhooks/{}/[token]/messages/{message_id}", hook.id),
            body: Some(&body),
            token: TokenUse::Never,
            secret: Some(&hook.token),
        })
        .await
        .map(drop)
    }

    /// Any call: `route` is the part after `/api/v10` (`/interactions/{id}/{token}/callback`…),
    /// the bot token is sent when there is one, and the same retry rules apply. The body goes
    /// as it is: build message bodies from a [`Message`] (`serde_json::to_value(m.fitted())`)
    /// to keep its limits and `allowed_mentions`. Tokens in
    /// `webhooks/{id}/…` and `interactions/{id}/…` segments are redacted in errors. Returns the
    /// answer's JSON, `None` for an empty answer (204).
    pub async fn send_json(
        &self,
        method: Method,
        route: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, RestError> {
        let secret = path_token(route);
        self.call(Call {
            route: format!("{method} {}", redact_path(route)),
            url: self.base.url(route),
            method,
            body,
            token: TokenUse::IfAny,
            secret,
        })
        .await
    }

    async fn call(&self, call: Call<'_>) -> Result<Option<Value>, RestError> {
        let scrub = |text: &str| self.scrub(text, call.secret);
        let route = &call.route;
        if call.token == TokenUse::Required && matches!(self.auth, Auth::None) {
            return Err(RestError::NoBotToken {
                route: route.clone(),
            });
        }
        let (mut attempts, mut rate_limited, mut failures) = (0u32, 0u32, 0u32);
        loop {
            attempts += 1;
            let mut request = self
                .http
                .request(call.method.clone(), &call.url)
                .header(USER_AGENT, USER_AGENT_VALUE);
            if let (Auth::Bot(token), false) = (&self.auth, call.token == TokenUse::Never) {
                request = request.header(AUTHORIZATION, token.header());
            }
            if let Some(body) = call.body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let detail = scrub(&error_chain(&e.without_url()));
                    failures += 1;
                    if failures > self.policy.max_server_retries {
                        return Err(RestError::Transport {
                            route: route.clone(),
                            attempts,
                            detail,
                        });
                    }
                    let wait = self.backoff(failures);
                    tracing::warn!(%route, attempts, %detail, ?wait, "Discord unreachable; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) if status < 300 => {
                    return Err(RestError::Decode {
                        route: route.clone(),
                        detail: scrub(&error_chain(&e.without_url())),
                    })
                }
                Err(_) => Default::default(),
            };
            tracing::debug!(%route, status, attempts, "Discord answered");
            if (200..300).contains(&status) {
                if bytes.is_empty() {
                    return Ok(None);
                }
                return serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| RestError::Decode {
                        route: route.clone(),
                        detail: scrub(&e.to_string()),
                    });
            }
            if status == 429 {
                let (retry_after, global) = retry_after(&headers, &bytes);
                rate_limited += 1;
                if rate_limited > self.policy.max_rate_limit_retries
                    || retry_after > self.policy.max_rate_limit_wait
                {
                    tracing::warn!(%route, attempts, ?retry_after, global, "Discord rate limit: giving up");
                    return Err(RestError::RateLimited {
                        route: route.clone(),
                        attempts,
                        retry_after,
                        global,
                    });
                }
                tracing::info!(%route, attempts, ?retry_after, global, "Discord rate limit: waiting");
                tokio::time::sleep(retry_after).await;
                continue;
            }
            if status >= 500 {
                failures += 1;
                if failures > self.policy.max_server_retries {
                    return Err(RestError::Server {
                        route: route.clone(),
                        status,
                        attempts,
                    });
                }
                let wait = self.backoff(failures);
                tracing::warn!(%route, status, attempts, ?wait, "Discord server error; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            let (code, message) = discord_error(&bytes);
            let (route, message) = (route.clone(), scrub(&message));
            tracing::warn!(%route, status, code, %message, "Discord refused the call");
            return Err(match status {
                401 => RestError::Unauthorized {
                    route,
                    code,
                    message,
                },
                403 => RestError::Forbidden {
                    route,
                    code,
                    message,
                },
                404 => RestError::NotFound {
                    route,
                    code,
                    message,
                },
                _ => RestError::Rejected {
                    route,
                    status,
                    code,
                    message,
                },
            });
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(10);
        self.policy
            .backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(8))
    }

    /// Replaces the bot token and the call's own secret wherever they appear.
    fn scrub(&self, text: &str, secret: Option<&str>) -> String {
        let mut out = text.to_string();
        if let Auth::Bot(t) = &self.auth {
            out = out.replace(t.expose(), "[redacted]");
        }
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            out = out.replace(s, "[redacted]");
        }
        out
    }
}

const USER_AGENT_VALUE: &str =
    concat!("DiscordBot (overlord-tui, ", env!("CARGO_PKG_VERSION"), ")");

/// A channel message body: `username` means nothing there.
fn channel_body(message: &Message) -> Value {
    let mut body = serde_json::to_value(message.clone().fitted()).unwrap_or_default();
    if let Some(map) = body.as_object_mut() {
        map.remove("username");
    }
    body
}

/// A webhook body: buttons need an application-owned webhook, so an empty row list is omitted.
fn webhook_body(message: &Message) -> Value {
    let mut body = serde_json::to_value(message.clone().fitted()).unwrap_or_default();
    if let Some(map) = body.as_object_mut() {
        if map
            .get("components")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            map.remove("components");
        }
    }
    body
}

fn message_id(answer: Option<Value>, route: &str) -> Result<u64, RestError> {
    answer
        .as_ref()
        .and_then(|v| v.get("id"))
        .and_then(|id| match id {
            Value::String(s) => s.parse().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .ok_or_else(|| RestError::Decode {
            route: route.to_string(),
            detail: "the answer has no message id".to_string(),
        })
}

/// How long a 429 asks to wait, and whether the limit is global.
fn retry_after(headers: &HeaderMap, body: &[u8]) -> (Duration, bool) {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let seconds = json
        .as_ref()
        .and_then(|j| j.get("retry_after"))
        .and_then(Value::as_f64)
        .or_else(|| header("x-ratelimit-reset-after"))
        .or_else(|| header(RETRY_AFTER.as_str()))
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0)
        .min(86_400.0);
    let global = json
        .as_ref()
        .and_then(|j| j.get("global"))
        .and_then(Value::as_bool)
        .unwrap_or_else(|| headers.contains_key("x-ratelimit-global"));
    (Duration::from_secs_f64(seconds), global)
}

/// Discord's error body `{"code": 10003, "message": "Unknown Channel"}`, tolerant of others.
fn discord_error(body: &[u8]) -> (u64, String) {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let code = json
        .as_ref()
        .and_then(|j| j.get("code"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .map(|m| m.chars().take(200).collect())
        .unwrap_or_else(|| "(no Discord error body)".to_string());
    (code, message)
}

/// The token segment of `/webhooks/{id}/{token}…` or `/interactions/{id}/{token}…`.
fn path_token(route: &str) -> Option<&str> {
    let segments: Vec<&str> = route.split(['/', '?']).collect();
    segments.windows(3).find_map(|w| {
        (w[0] == "webhooks" || w[0] == "interactions")
            .then_some(w[2])
            .filter(|t| !t.is_empty())
    })
}

/// `route` (query dropped) with the token segment of a webhook or interaction path replaced by
/// `[token]`.
fn redact_path(route: &str) -> String {
    let path = route.split('?').next().unwrap_or_default();
    let mut segments: Vec<&str> = path.split('/').collect();
    if let Some(i) = segments
        .iter()
        .position(|s| *s == "webhooks" || *s == "interactions")
    {
        if let Some(token) = segments.get_mut(i + 2) {
            *token = "[token]";
        }
    }
    segments.join("/")
}

/// An error with its sources, so "error sending request" says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
