//! `overlord-tui discord --check`: the `[discord]` configuration and the credentials, tried
//! against Discord's API without starting the bridge — the token is accepted, the server
//! exists and has the bot, the reviewer roles exist, each alert channel exists there and the
//! bot may view it, send, embed and read its history there. Each finding says what is wrong
//! and what to do; nothing secret is ever printed.

use reqwest::Method;
use serde_json::Value;

use super::rest::{Rest, RestError};
use super::Credentials;
use crate::config::DiscordConfig;

/// How a finding counts: a problem fails the check, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub text: String,
}

impl Finding {
    fn new(level: Level, text: impl Into<String>) -> Finding {
        Finding {
            level,
            text: text.into(),
        }
    }

    pub fn line(&self) -> String {
        let mark = match self.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Problem => "PROBLEM",
        };
        format!("{mark}  {}", self.text)
    }
}

const ADMINISTRATOR: u64 = 1 << 3;
/// What the bot needs in an alert channel, with the names the portal shows.
const NEEDED: [(u64, &str); 4] = [
    (1 << 10, "View Channel"),
    (1 << 11, "Send Messages"),
    (1 << 14, "Embed Links"),
    (1 << 16, "Read Message History"),
];

fn bits(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
        .unwrap_or(0)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or("").to_string()
}

/// Checks everything; the findings in the order checked.
pub async fn check(config: &DiscordConfig, creds: &Credentials) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(hook) = &creds.webhook {
        match Rest::new(creds.base.clone(), super::Auth::None) {
            Ok(rest) => match rest
                .send_json(
                    Method::GET,
                    &format!("/webhooks/{}/{}", hook.id(), hook.token()),
                    None,
                )
                .await
            {
                Ok(_) => out.push(Finding::new(Level::Ok, format!("{hook} exists"))),
                Err(e) => out.push(Finding::new(
                    Level::Problem,
                    format!("the webhook does not answer: {e}"),
                )),
            },
            Err(e) => out.push(Finding::new(Level::Problem, e.to_string())),
        }
    }
    let Some(token) = &creds.token else {
        out.push(Finding::new(
            Level::Warning,
            format!(
                "no bot token in ${}: alerts only (through the webhook), no commands or buttons",
                config.token_env
            ),
        ));
        return out;
    };
    let rest = match Rest::new(creds.base.clone(), super::Auth::Bot(token.clone())) {
        Ok(r) => r.once(),
        Err(e) => {
            out.push(Finding::new(Level::Problem, e.to_string()));
            return out;
        }
    };
    let me = match rest.send_json(Method::GET, "/users/@me", None).await {
        Ok(v) => v.unwrap_or(Value::Null),
        Err(RestError::Unauthorized { .. }) => {
            out.push(Finding::new(
                Level::Problem,
                super::bot::token_refused(&config.token_env, "401 Unauthorized on GET /users/@me"),
            ));
            return out;
        }
        Err(e) => {
            out.push(Finding::new(
                Level::Problem,
                format!("Discord cannot be reached to check the token: {e}"),
            ));
            return out;
        }
    };
    let bot_id = id_of(&me);
    out.push(Finding::new(
        Level::Ok,
        format!(
            "the token in ${} is the bot {} ({bot_id})",
            config.token_env,
            me["username"].as_str().unwrap_or("?")
        ),
    ));
    if config.reviewer_role_ids.is_empty() && config.allowed_user_ids.is_empty() {
        out.push(Finding::new(
            Level::Warning,
            "nobody may command: set [discord] reviewer_role_ids or allowed_user_ids",
        ));
    }
    let Some(guild) = &config.guild_id else {
        out.push(Finding::new(
            Level::Warning,
            "no [discord] guild_id: commands are registered globally (Discord may take an hour to show them) and the channels are not checked",
        ));
        return out;
    };
    guild_checks(&rest, config, &guild.0, &bot_id, &mut out).await;
    out
}

/// The server, its roles, the bot's membership and each alert channel.
async fn guild_checks(
    rest: &Rest,
    config: &DiscordConfig,
    guild: &str,
    bot_id: &str,
    out: &mut Vec<Finding>,
) {
    let get = |route: String| async move { rest.send_json(Method::GET, &route, None).await };
    match get(format!("/guilds/{guild}")).await {
        Ok(g) => out.push(Finding::new(
            Level::Ok,
            format!(
                "server {guild} ({}) has the bot",
                g.as_ref().and_then(|g| g["name"].as_str()).unwrap_or("?")
            ),
        )),
        Err(e) => {
            out.push(Finding::new(
                Level::Problem,
                format!("server {guild} ([discord] guild_id) is unknown or the bot is not in it: invite the bot with the OAuth2 URL (docs/discord.md) ({e})"),
            ));
            return;
        }
    }
    let roles: Vec<Value> = match get(format!("/guilds/{guild}/roles")).await {
        Ok(Some(Value::Array(r))) => r,
        Ok(_) => Vec::new(),
        Err(e) => {
            out.push(Finding::new(
                Level::Problem,
                format!("the roles of {guild} cannot be read: {e}"),
            ));
            Vec::new()
        }
    };
    for r in &config.reviewer_role_ids {
        match roles.iter().find(|x| id_of(x) == r.0) {
            Some(x) => out.push(Finding::new(
                Level::Ok,
                format!(
                    "reviewer role {} ({}) exists",
                    r.0,
                    x["name"].as_str().unwrap_or("?")
                ),
            )),
            None => out.push(Finding::new(
                Level::Problem,
                format!("reviewer role {} ([discord] reviewer_role_ids) is not a role of server {guild}", r.0),
            )),
        }
    }
    let bot_roles: Vec<String> = match get(format!("/guilds/{guild}/members/{bot_id}")).await {
        Ok(Some(m)) => m["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let perm = |id: &str| {
        roles
            .iter()
            .find(|r| id_of(r) == id)
            .map(|r| bits(&r["permissions"]))
            .unwrap_or(0)
    };
    // Server-wide: @everyone (the role whose id is the server's) and the bot's roles.
    let base = bot_roles
        .iter()
        .fold(perm(guild), |acc, r| acc | perm(r.as_str()));
    let channels = [
        ("concerns", &config.channels.concerns),
        ("approvals", &config.channels.approvals),
        ("updates", &config.channels.updates),
        ("health", &config.channels.health),
    ];
    if channels.iter().all(|(_, c)| c.is_none()) {
        out.push(Finding::new(
            Level::Warning,
            "no [discord.channels]: no alert is posted",
        ));
    }
    for (name, id) in channels {
        let Some(id) = id else {
            continue;
        };
        let ch = match get(format!("/channels/{}", id.0)).await {
            Ok(Some(c)) => c,
            Ok(None) | Err(_) => {
                out.push(Finding::new(
                    Level::Problem,
                    format!("channel {} ([discord.channels] {name}) does not exist or the bot cannot see it", id.0),
                ));
                continue;
            }
        };
        if ch["guild_id"].as_str().is_some_and(|g| g != guild) {
            out.push(Finding::new(
                Level::Problem,
                format!(
                    "channel {} ({name}) is in another server than {guild}",
                    id.0
                ),
            ));
            continue;
        }
        let have = channel_permissions(base, &ch, guild, &bot_roles, bot_id);
        let missing: Vec<&str> = NEEDED
            .iter()
            .filter(|(bit, _)| have & bit == 0)
            .map(|(_, n)| *n)
            .collect();
        let shown = ch["name"].as_str().unwrap_or("?");
        if missing.is_empty() {
            out.push(Finding::new(
                Level::Ok,
                format!(
                    "channel {} (#{shown}, {name}): the bot may post there",
                    id.0
                ),
            ));
        } else {
            out.push(Finding::new(
                Level::Problem,
                format!(
                    "channel {} (#{shown}, {name}): the bot lacks {}",
                    id.0,
                    missing.join(", ")
                ),
            ));
        }
    }
}

/// Discord's rule: the server-wide permissions, then the channel's overwrites for
/// @everyone, then for the member's roles together, then for the member.
fn channel_permissions(base: u64, ch: &Value, guild: &str, roles: &[String], member: &str) -> u64 {
    if base & ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    let overwrites: Vec<&Value> = ch["permission_overwrites"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let apply = |p: u64, o: &Value| (p & !bits(&o["deny"])) | bits(&o["allow"]);
    let mut p = base;
    if let Some(o) = overwrites.iter().find(|o| id_of(o) == guild) {
        p = apply(p, o);
    }
    let (mut allow, mut deny) = (0, 0);
    for o in overwrites.iter().filter(|o| roles.contains(&id_of(o))) {
        allow |= bits(&o["allow"]);
        deny |= bits(&o["deny"]);
    }
    p = (p & !deny) | allow;
    if let Some(o) = overwrites.iter().find(|o| id_of(o) == member) {
        p = apply(p, o);
    }
    p
}
