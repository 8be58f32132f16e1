//! `[discord]`: the bot's token variable, guild, channels and who may command Overlord, and the
//! Discord ids (snowflakes) they are written with, checked where the file is read.

use serde::Deserialize;

use super::time_of_day::TimeOfDay;

/// A Discord id (a snowflake: digits only), checked where the file is read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Snowflake(pub String);

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Number(n) => n.to_string(),
        };
        if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom(format!(
                "{text:?} is not a Discord id (digits only: enable Developer Mode in Discord and use Copy ID)"
            )));
        }
        Ok(Snowflake(text))
    }
}

impl std::fmt::Display for Snowflake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[discord.channels]`: where each kind of alert goes (channel ids; none: not posted).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordChannels {
    /// `#agent-concerns`: each concern, with Ack / Resolve / Assign buttons.
    pub concerns: Option<Snowflake>,
    /// `#approvals`: plans, specs, test plans, variations, promotions with Approve / Reject.
    pub approvals: Option<Snowflake>,
    /// `#project-updates`: merges, checkpoints, rollbacks.
    pub updates: Option<Snowflake>,
    /// `#system-health`: the daily summary, gate failures, critical alerts.
    pub health: Option<Snowflake>,
}

/// `[discord]`: the bridge (see docs/discord.md). The bot token is never in this file: it
/// comes from the environment variable `token_env` names.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Run the bridge inside the console (and `overlord-tui run`) when a token or webhook is
    /// there. `overlord-tui discord` runs it on its own either way.
    pub enabled: bool,
    /// The server whose slash commands are registered (instantly, unlike global ones).
    pub guild_id: Option<Snowflake>,
    /// Members with any of these roles may command Overlord.
    pub reviewer_role_ids: Vec<Snowflake>,
    /// And these users, whatever their roles.
    pub allowed_user_ids: Vec<Snowflake>,
    pub channels: DiscordChannels,
    /// When the daily summary is posted to the health channel (UTC).
    pub daily_summary_at: Option<TimeOfDay>,
    /// Alerts with no bot: a webhook URL (`https://discord.com/api/webhooks/<id>/<token>`).
    /// Treat it as a secret; `webhook_url_env` is the better place for it.
    pub webhook_url: Option<String>,
    /// The environment variable holding a webhook URL (read when `webhook_url` is unset).
    pub webhook_url_env: String,
    /// The environment variable holding the bot token.
    pub token_env: String,
    /// Alerts raised within this many milliseconds of each other go out together.
    pub coalesce_ms: u64,
    /// Retries of an alert Discord rate-limited or failed (a 401, 403 or 404 is not retried).
    pub max_retries: u32,
    /// Milliseconds the bot waits for the core before deferring an interaction (Discord
    /// allows 3 s; 0 defers every interaction). Tests lower it.
    pub answer_within_ms: u64,
    /// Seconds an interaction can still be followed up (Discord: 15 minutes); later results
    /// go to the channel. Tests lower it.
    pub followup_within_secs: u64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            enabled: false,
            guild_id: None,
            reviewer_role_ids: Vec::new(),
            allowed_user_ids: Vec::new(),
            channels: DiscordChannels::default(),
            daily_summary_at: None,
            webhook_url: None,
            webhook_url_env: "OVERLORD_DISCORD_WEBHOOK_URL".into(),
            token_env: "OVERLORD_DISCORD_TOKEN".into(),
            coalesce_ms: 250,
            max_retries: 5,
            answer_within_ms: 2_000,
            followup_within_secs: 15 * 60,
        }
    }
}

impl DiscordConfig {
    /// Whether a Discord member may command Overlord: an allowed user, or a member with a
    /// reviewer role.
    pub fn authorizes(&self, user_id: &str, roles: &[String]) -> bool {
        self.allowed_user_ids.iter().any(|u| u.0 == user_id)
            || roles
                .iter()
                .any(|r| self.reviewer_role_ids.iter().any(|x| &x.0 == r))
    }
}
