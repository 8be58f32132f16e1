//! Discord for the demo: the real one when credentials are in the environment, else the real
//! bridge in webhook mode against the local sink (`sink.rs`) that prints what would have been
//! posted.

use std::sync::{Arc, Mutex};

use super::say::Say;
use crate::cli::owner::Owner;

/// The bridge the demo runs (none in a build without Discord).
#[cfg(feature = "discord")]
pub(super) type Bridge = crate::discord::Bridge;
#[cfg(not(feature = "discord"))]
pub(super) type Bridge = NoBridge;

/// Discord for the demo: the real one when credentials are in the environment, else the real
/// bridge in webhook mode against a local sink that prints what would have been posted.
#[cfg(feature = "discord")]
pub(super) async fn discord_bridge(
    owner: &Owner,
    lines: Arc<Mutex<Vec<String>>>,
    echo: bool,
    say: &Say,
) -> Option<(tokio::sync::watch::Sender<bool>, Bridge)> {
    use crate::discord::{link::CoreLink, ApiBase, Credentials, WebhookUrl};
    let mut config = owner.config.discord.clone();
    let real = real_discord(&mut config);
    let credentials = match real {
        Some(c) => {
            say.line(
                "Discord: alerts go to the real Discord (credentials found in the environment)",
            );
            c
        }
        None => {
            let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    say.line(&format!("Discord sink: cannot listen on loopback: {e}"));
                    return None;
                }
            };
            let port = listener.local_addr().ok()?.port();
            tokio::spawn(super::sink::serve(listener, lines, echo));
            Credentials {
                base: ApiBase::parse(&format!("http://127.0.0.1:{port}")).ok()?,
                token: None,
                webhook: Some(WebhookUrl::new(1, "demo-token").ok()?),
            }
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    match crate::discord::start(
        &config,
        credentials,
        CoreLink::Local(owner.handle.clone()),
        None,
        stop_rx,
    ) {
        Ok(b) => Some((stop_tx, b)),
        Err(e) => {
            say.line(&format!("Discord: the bridge did not start: {e}"));
            None
        }
    }
}

/// A webhook URL (`$OVERLORD_DISCORD_WEBHOOK_URL`), or a bot token (`$OVERLORD_DISCORD_TOKEN`)
/// with `$OVERLORD_DEMO_DISCORD_CHANNEL`, the channel every alert of the demo goes to.
#[cfg(feature = "discord")]
fn real_discord(config: &mut crate::config::DiscordConfig) -> Option<crate::discord::Credentials> {
    let mut c = crate::discord::credentials(config).ok()?;
    if c.token.is_some() {
        match std::env::var("OVERLORD_DEMO_DISCORD_CHANNEL") {
            Ok(ch) if !ch.trim().is_empty() => {
                let ch = crate::config::Snowflake(ch.trim().to_string());
                config.channels.concerns = Some(ch.clone());
                config.channels.approvals = Some(ch.clone());
                config.channels.updates = Some(ch.clone());
                config.channels.health = Some(ch);
            }
            // No channel to post to: a webhook if there is one, else the local sink.
            _ if c.webhook.is_some() => c.token = None,
            _ => return None,
        }
    }
    Some(c)
}

#[cfg(not(feature = "discord"))]
pub(super) async fn discord_bridge(
    _owner: &Owner,
    _lines: Arc<Mutex<Vec<String>>>,
    _echo: bool,
    _say: &Say,
) -> Option<(tokio::sync::watch::Sender<bool>, Bridge)> {
    None
}

#[cfg(not(feature = "discord"))]
pub(super) struct NoBridge;

#[cfg(not(feature = "discord"))]
impl NoBridge {
    pub(super) async fn join(self) {}
}
