//! The real bridge (serenity for the gateway, our REST client for everything sent) against the
//! fake Discord on 127.0.0.1, with a real core on a real repository: registration, commands
//! from members with and without the reviewer role (and their audit records), deferral and
//! follow-ups, alerts with buttons whose presses become commands and edit the embeds, 429s,
//! a dropped gateway, and the webhook-only mode.

use std::time::Duration;

use overlord::config::{Config, DiscordChannels, DiscordConfig, Snowflake};
use overlord::core::{Core, Handle};
use overlord::discord::link::CoreLink;
use overlord::discord::{self, ApiBase, BotToken, Credentials, WebhookUrl};
use overlord::protocol::model::{ConcernId, ConcernStatus};
use overlord::protocol::{parse, Origin, State};
use serde_json::Value;

use crate::common::fake_discord::*;
use crate::common::*;

pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const REVIEWER_ROLE: u64 = 77;
pub(crate) const CONCERNS: u64 = 9_000_000_000_000_001;
pub(crate) const APPROVALS: u64 = 9_000_000_000_000_002;
pub(crate) const UPDATES: u64 = 9_000_000_000_000_003;
pub(crate) const HEALTH: u64 = 9_000_000_000_000_004;

pub(crate) fn alice() -> Invoker {
    Invoker::member(4242, "alice", &[REVIEWER_ROLE, 5])
}

pub(crate) fn mallory() -> Invoker {
    Invoker::member(6666, "mallory", &[5])
}

pub(crate) struct Fixture {
    pub(crate) repo: Repo,
    pub(crate) handle: Handle,
    pub(crate) join: Option<std::thread::JoinHandle<()>>,
    pub(crate) fake: FakeDiscord,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) bridge: Option<discord::Bridge>,
}

#[derive(Default)]
pub(crate) struct Setup {
    pub(crate) webhook: bool,
    pub(crate) answer_within_ms: Option<u64>,
    pub(crate) followup_within_secs: Option<u64>,
    pub(crate) coalesce_ms: Option<u64>,
    pub(crate) fake: Options,
}

pub(crate) fn config() -> DiscordConfig {
    DiscordConfig {
        enabled: true,
        guild_id: Some(Snowflake(GUILD_ID.to_string())),
        reviewer_role_ids: vec![Snowflake(REVIEWER_ROLE.to_string())],
        channels: DiscordChannels {
            concerns: Some(Snowflake(CONCERNS.to_string())),
            approvals: Some(Snowflake(APPROVALS.to_string())),
            updates: Some(Snowflake(UPDATES.to_string())),
            health: Some(Snowflake(HEALTH.to_string())),
        },
        coalesce_ms: 30,
        ..DiscordConfig::default()
    }
}

impl Fixture {
    pub(crate) async fn start(setup: Setup) -> Fixture {
        let repo = Repo::new();
        let ws = repo.workspace();
        ws.init().expect("init");
        let mut discord = config();
        if let Some(ms) = setup.answer_within_ms {
            discord.answer_within_ms = ms;
        }
        if let Some(s) = setup.followup_within_secs {
            discord.followup_within_secs = s;
        }
        if let Some(ms) = setup.coalesce_ms {
            discord.coalesce_ms = ms;
        }
        let config = Config {
            discord: discord.clone(),
            ..Config::default()
        };
        let core = Core::open(&ws, &config).expect("core");
        let (handle, join) = Handle::spawn(core, Duration::from_millis(20)).expect("spawn");
        let fake = FakeDiscord::start_with(setup.fake).await;
        let credentials = Credentials {
            base: ApiBase::parse(&fake.origin()).expect("base"),
            token: (!setup.webhook).then(|| BotToken::new(BOT_TOKEN).expect("token")),
            webhook: setup
                .webhook
                .then(|| WebhookUrl::parse(&fake.webhook_url()).expect("webhook")),
        };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let bridge = discord::start(
            &discord,
            credentials,
            CoreLink::Local(handle.clone()),
            Some(&ws.store_paths().db),
            stop_rx,
        )
        .expect("the bridge starts");
        Fixture {
            repo,
            handle,
            join: Some(join),
            fake,
            stop,
            bridge: Some(bridge),
        }
    }

    pub(crate) async fn submit(&self, origin: Origin, line: &str) -> overlord::protocol::Reply {
        self.handle
            .submit(
                origin,
                parse(line).unwrap_or_else(|e| panic!("{line}: {e}")),
            )
            .await
    }

    pub(crate) async fn raise(&self, severity: &str, summary: &str) {
        let r = self
            .submit(
                agent("implementer-1"),
                &format!(
                    "/raise --severity {severity} --category spec_ambiguity --to human {summary:?}"
                ),
            )
            .await;
        assert!(r.ok, "{}", r.message);
    }

    pub(crate) async fn state(&self) -> State {
        self.handle.snapshot().await.expect("state")
    }

    /// Waits until `f` holds of the core's state.
    pub(crate) async fn until(&self, what: &str, f: impl Fn(&State) -> bool) -> State {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let s = self.state().await;
            if f(&s) {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the core never reached {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn post_to(&self, channel: u64, what: &str) -> Recorded {
        let route = format!("/channels/{channel}/messages");
        self.fake
            .next_request(what, WAIT, |r| r.method == "POST" && r.route() == route)
            .await
    }

    pub(crate) fn audit(&self, file: &str) -> String {
        std::fs::read_to_string(self.repo.path().join(".overlord/audit").join(file))
            .unwrap_or_default()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.handle.stop();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
        drop(self.bridge.take());
    }
}

fn ephemeral(body: &Value) -> bool {
    body["data"]["flags"].as_u64().unwrap_or(0) & 64 != 0
}

fn content(body: &Value) -> String {
    body["data"]["content"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_registers_every_human_command_and_answers_members_as_the_core_decides() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    // Registration: the guild's commands, one per human command and /overlord.
    let put = fx
        .fake
        .next_request("the registration", WAIT, |r| r.method == "PUT")
        .await;
    assert_eq!(
        put.route(),
        format!("/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    );
    let names: Vec<String> = fx
        .fake
        .commands(Some(GUILD_ID))
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect();
    for spec in overlord::protocol::grammar::COMMANDS
        .iter()
        .filter(|c| c.human)
    {
        assert!(
            names.iter().any(|n| n == spec.name),
            "/{} not registered: {names:?}",
            spec.name
        );
    }
    assert!(names.iter().any(|n| n == "overlord"));

    // A reviewer's /status: the status as an embed, in the channel for all to see.
    let sent = fx.fake.send_slash(&alice(), "status", &[]).await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.status, 204, "{:?}", cb.body);
    assert_eq!(cb.body["type"], 4);
    assert!(!ephemeral(&cb.body));
    assert_eq!(cb.body["data"]["embeds"][0]["title"], "Overlord status");
    assert_eq!(
        cb.body["data"]["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    // The health line, and the spend today as a field.
    let embed = &cb.body["data"]["embeds"][0];
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.contains("tasks 0/0 done · 0 agents active · concerns 0 critical, 0 warning, 0 info · last checkpoint none · QA not run · spend today $0.00 (0 tokens)"),
        "{description}"
    );
    assert!(
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"].as_str().unwrap().starts_with("spend today (")),
        "{embed}"
    );

    // A command with options: the same command the console sends, recorded with its origin.
    fx.raise("warning", "Is the feature plural?").await;
    let sent = fx
        .fake
        .send_slash(&alice(), "ack", &[Opt::Str("concern", "C-1".into())])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(content(&cb.body), "C-1 acknowledged");
    let s = fx.state().await;
    assert_eq!(
        s.concerns[&ConcernId(1)].acknowledged_by.as_deref(),
        Some("discord:alice(4242)")
    );
    let commands = fx.audit("commands.jsonl");
    let ack = commands
        .lines()
        .find(|l| l.contains("\"line\":\"/ack C-1\""))
        .expect("the /ack record");
    assert!(
        ack.contains("\"via\":\"discord\"") && ack.contains("\"user_id\":\"4242\""),
        "{ack}"
    );

    // The text grammar through /overlord line:
    let sent = fx
        .fake
        .send_slash(
            &alice(),
            "overlord",
            &[Opt::Str(
                "line",
                "resolve C-1 \"plural, per the spec\"".into(),
            )],
        )
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(content(&cb.body).contains("C-1 resolved"), "{:?}", cb.body);

    // Someone without the reviewer role: refused, only they see it, and it is recorded.
    let sent = fx
        .fake
        .send_slash(&mallory(), "pause", &[Opt::Str("target", "all".into())])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(ephemeral(&cb.body), "{:?}", cb.body);
    assert!(
        content(&cb.body).contains("may not command Overlord"),
        "{:?}",
        cb.body
    );
    assert!(!fx.state().await.dispatch_halted);
    let commands = fx.audit("commands.jsonl");
    assert!(
        commands
            .lines()
            .any(|l| l.contains("\"user_id\":\"6666\"") && l.contains("\"cmd\":\"pause\"")),
        "{commands}"
    );
    assert!(fx.audit("responses.jsonl").contains("unauthorized"));

    // Bad input: a clear, private error; the core records it as a refused command.
    let sent = fx
        .fake
        .send_slash(&alice(), "ack", &[Opt::Str("concern", "banana".into())])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(
        ephemeral(&cb.body) && content(&cb.body).contains("⚠️"),
        "{:?}",
        cb.body
    );
    wait_until_async("the malformed /ack in the audit trail", PATIENCE, || {
        fx.audit("commands.jsonl")
            .lines()
            .any(|l| l.contains("\"cmd\":\"malformed\"") && l.contains("banana"))
    })
    .await;

    // Autocomplete offers what the state has: the bridge's copy follows the core's events,
    // so a concern just raised shows up within moments (asked again until it does).
    fx.raise("critical", "Token in the logs").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let choices = loop {
        let sent = fx
            .fake
            .send_autocomplete(&alice(), "ack", &[], ("concern", "C-"))
            .await;
        let cb = fx.fake.callback(&sent, WAIT).await;
        assert_eq!(cb.body["type"], 8);
        let choices = cb.body["data"]["choices"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if choices.iter().any(|c| c["value"] == "C-2") || tokio::time::Instant::now() > deadline {
            break choices;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        choices.iter().any(|c| c["value"] == "C-2"
            && c["name"]
                .as_str()
                .unwrap_or("")
                .contains("Token in the logs")),
        "{choices:?}"
    );
    // The token never appears outside the Authorization header.
    for r in fx.fake.requests() {
        assert!(!String::from_utf8_lossy(&r.raw).contains(BOT_TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_becomes_an_embed_whose_ack_button_acknowledges_it_and_edits_the_embed() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    fx.raise("critical", "Secrets in the test data").await;
    let post = fx.post_to(CONCERNS, "the concern's message").await;
    let embed = &post.body["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .starts_with("C-1 · critical"),
        "{embed}"
    );
    assert_eq!(embed["description"], "Secrets in the test data");
    let buttons = &post.body["components"][0]["components"];
    assert_eq!(buttons[0]["custom_id"], "ack:C-1");
    assert_eq!(buttons[1]["custom_id"], "resolve:C-1");
    assert_eq!(buttons[2]["custom_id"], "assign:C-1");
    assert_eq!(
        post.body["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    // A critical one is also on the health channel.
    let health = fx.post_to(HEALTH, "the critical alert").await;
    assert!(health.body["content"]
        .as_str()
        .unwrap()
        .contains("critical concern C-1"));

    // The core records which message shows it.
    let s = fx
        .until("the link", |s| {
            s.concerns[&ConcernId(1)].discord_message_id.is_some()
        })
        .await;
    let mid: u64 = s.concerns[&ConcernId(1)]
        .discord_message_id
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        fx.fake.message(mid).is_some(),
        "the fake holds message {mid}"
    );

    // Pressing Ack: the same /ack, by the presser; the answer is theirs only.
    let sent = fx.fake.send_button(&alice(), mid, "ack:C-1").await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(ephemeral(&cb.body), "{:?}", cb.body);
    assert_eq!(content(&cb.body), "C-1 acknowledged");
    let s = fx
        .until("the acknowledgement", |s| {
            s.concerns[&ConcernId(1)].status == ConcernStatus::Acknowledged
        })
        .await;
    assert_eq!(
        s.concerns[&ConcernId(1)].acknowledged_by.as_deref(),
        Some("discord:alice(4242)")
    );
    // … and the embed is edited: the new status, Ack disabled.
    let route = format!("/channels/{CONCERNS}/messages/{mid}");
    let edit = fx
        .fake
        .next_request("the edit", WAIT, |r| {
            r.method == "PATCH" && r.route() == route
        })
        .await;
    let fields = edit.body["embeds"][0]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["value"] == "acknowledged by discord:alice(4242)"),
        "{fields:?}"
    );
    assert_eq!(
        edit.body["components"][0]["components"][0]["disabled"],
        true
    );

    // A press from someone without the role changes nothing.
    let sent = fx.fake.send_button(&mallory(), mid, "resolve:C-1").await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    // (Resolve opens a form; the refusal comes when the form is sent.)
    assert_eq!(cb.body["type"], 9, "{:?}", cb.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_is_deferred_and_edited_in_and_a_save_reports_how_it_ended() {
    let fx = Fixture::start(Setup {
        answer_within_ms: Some(0),
        ..Setup::default()
    })
    .await;
    fx.fake.wait_ready(WAIT).await;
    let sent = fx.fake.send_slash(&alice(), "status", &[]).await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.body["type"], 5, "deferred: {:?}", cb.body);
    assert_eq!(cb.status, 204);
    let suffix = format!("/webhooks/{APP_ID}/{}/messages/@original", sent.token);
    let edit = fx
        .fake
        .next_request("the deferred answer", WAIT, |r| {
            r.method == "PATCH" && r.path.ends_with(&suffix)
        })
        .await;
    assert_eq!(edit.status, 200, "{:?}", edit.body);
    assert_eq!(edit.body["embeds"][0]["title"], "Overlord status");
}

impl Fixture {
    /// A first commit on main, so a Save can run.
    fn commit(&self) {
        let (dir, home) = (self.repo.path(), self.repo.home.path());
        self.repo.write("README.md", "# sample\n");
        git(dir, home, &["add", "README.md"]);
        git(dir, home, &["commit", "-qm", "initial"]);
        git(dir, home, &["branch", "-M", "main"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_from_discord_is_followed_up_when_it_ends_or_posted_once_the_token_is_old() {
    for late in [false, true] {
        let fx = Fixture::start(Setup {
            answer_within_ms: Some(0),
            followup_within_secs: late.then_some(0),
            ..Setup::default()
        })
        .await;
        fx.commit();
        fx.fake.wait_ready(WAIT).await;
        let sent = fx.fake.send_slash(&alice(), "save", &[]).await;
        let cb = fx.fake.callback(&sent, WAIT).await;
        assert_eq!(cb.body["type"], 5);
        let suffix = format!("/webhooks/{APP_ID}/{}/messages/@original", sent.token);
        let started = fx
            .fake
            .next_request("the Save's start", WAIT, |r| {
                r.method == "PATCH" && r.path.ends_with(&suffix)
            })
            .await;
        assert!(
            started.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("started"),
            "{:?}",
            started.body
        );
        let outcome = if late {
            // Past the token's life: in the channel the command came from.
            fx.post_to(CHANNEL_ID, "the Save's outcome in the channel")
                .await
        } else {
            let follow = format!("/webhooks/{APP_ID}/{}", sent.token);
            fx.fake
                .next_request("the Save's follow-up", WAIT, |r| {
                    r.method == "POST" && r.path.ends_with(&follow)
                })
                .await
        };
        assert_eq!(outcome.status, 200, "{:?}", outcome.body);
        assert!(
            outcome.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("nothing to save"),
            "{:?}",
            outcome.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_alert_waits_and_is_delivered_once() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    let route = format!("/channels/{CONCERNS}/messages");
    fx.fake.fail_next(
        &format!("POST /api/v10{route}"),
        2,
        Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        },
    );
    let raised = tokio::time::Instant::now();
    fx.raise("warning", "Rate limited concern").await;
    let first = fx.post_to(CONCERNS, "the first (refused) post").await;
    assert_eq!(first.status, 429);
    let second = fx.post_to(CONCERNS, "the second (refused) post").await;
    assert_eq!(second.status, 429);
    let third = fx.post_to(CONCERNS, "the delivered post").await;
    assert_eq!(third.status, 200);
    // Each retry waited Discord's retry_after.
    assert!(second.at.duration_since(first.at) >= Duration::from_millis(300));
    assert!(third.at.duration_since(second.at) >= Duration::from_millis(300));
    assert!(third.at.duration_since(raised.into_std()) < Duration::from_secs(5));
    // Delivered once: the bridge recorded the delivery, and no second post follows.
    fx.until("the link", |s| {
        s.concerns[&ConcernId(1)].discord_message_id.is_some()
    })
    .await;
    // Not happening is what is tested: another retry_after (300 ms) goes by, time for a
    // repeated post to come if it would.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posts = fx
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.route() == route && r.status == 200)
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_gateway_the_bot_reconnects_and_queued_alerts_still_arrive() {
    // The burst is three round trips to the core: a window they fit in however loaded the
    // machine (30 ms did not always).
    let fx = Fixture::start(Setup {
        coalesce_ms: Some(3000),
        ..Setup::default()
    })
    .await;
    let before = fx.fake.wait_ready(WAIT).await;
    fx.fake.drop_gateway();
    // Alerts raised while the gateway is down.
    for i in 0..3 {
        fx.raise("info", &format!("raised while disconnected {i}"))
            .await;
    }
    let post = fx.post_to(CONCERNS, "the queued alerts").await;
    assert_eq!(
        post.body["embeds"].as_array().unwrap().len(),
        3,
        "one message for the burst"
    );
    fx.fake
        .wait_gateway("a reconnection", WAIT, |s| {
            s.connections > before.connections && s.ready_on.is_some()
        })
        .await;
    // Commands work again.
    let sent = fx.fake.send_slash(&alice(), "status", &[]).await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.body["type"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_only_a_webhook_alerts_go_to_the_webhook_without_buttons() {
    let fx = Fixture::start(Setup {
        webhook: true,
        ..Setup::default()
    })
    .await;
    fx.raise("critical", "Webhook only").await;
    let hook = format!("/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}");
    let post = fx
        .fake
        .next_request("the webhook post", WAIT, |r| {
            r.method == "POST" && r.route() == hook && r.body["embeds"].is_array()
        })
        .await;
    assert_eq!(post.status, 200, "{:?}", post.body);
    assert!(post.query.as_deref().unwrap_or("").contains("wait=true"));
    assert!(post.body["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("C-1"));
    assert!(
        post.body.get("components").is_none() || post.body["components"] == serde_json::json!([])
    );
    assert!(
        post.header("authorization").is_none(),
        "no bot token in webhook mode"
    );
    // The status change edits the webhook's message.
    let s = fx
        .until("the link", |s| {
            s.concerns[&ConcernId(1)].discord_message_id.is_some()
        })
        .await;
    let mid = s.concerns[&ConcernId(1)]
        .discord_message_id
        .clone()
        .unwrap();
    let r = fx.submit(human(), "/ack C-1").await;
    assert!(r.ok);
    let edit_route = format!("{hook}/messages/{mid}");
    let edit = fx
        .fake
        .next_request("the webhook edit", WAIT, |r| {
            r.method == "PATCH" && r.route() == edit_route
        })
        .await;
    assert_eq!(edit.status, 200, "{:?}", edit.body);
    // No gateway in webhook mode.
    assert_eq!(fx.fake.stats().connections, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_assign_and_reject_buttons_open_forms_whose_answers_become_commands() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    let r = fx
        .submit(
            human(),
            "/agent implementer-1 --role implementer --adapter scripted",
        )
        .await;
    assert!(r.ok, "{}", r.message);
    fx.raise("warning", "Which rounding?").await;
    fx.raise("info", "A second one").await;
    let s = fx
        .until("the link", |s| {
            s.concerns[&ConcernId(1)].discord_message_id.is_some()
        })
        .await;
    let mid: u64 = s.concerns[&ConcernId(1)]
        .discord_message_id
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();

    // Assign: a form with the suggested agent (none: the concern is for the human).
    let sent = fx.fake.send_button(&alice(), mid, "assign:C-1").await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.body["type"], 9);
    assert_eq!(cb.body["data"]["custom_id"], "assign:C-1");
    let sent = fx
        .fake
        .send_modal_submit(
            &alice(),
            "assign:C-1",
            &[
                ("agent", "implementer-1"),
                ("text", "round half to even, \"banker's\""),
            ],
        )
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(ephemeral(&cb.body), "{:?}", cb.body);
    let s = fx
        .until("the assignment", |s| {
            s.concerns[&ConcernId(1)].status == ConcernStatus::Assigned
        })
        .await;
    assert_eq!(
        s.concerns[&ConcernId(1)].assigned_to.as_deref(),
        Some("implementer-1")
    );

    // Resolve with a note, from the form.
    let sent = fx
        .fake
        .send_modal_submit(&alice(), "resolve:C-2", &[("note", "not an issue")])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(content(&cb.body).contains("C-2 resolved"), "{:?}", cb.body);
    let s = fx
        .until("the resolution", |s| {
            s.concerns[&ConcernId(2)].status == ConcernStatus::Resolved
        })
        .await;
    assert_eq!(
        s.concerns[&ConcernId(2)].resolution.as_deref(),
        Some("not an issue")
    );

    // A form from someone without the role is refused like a command.
    let sent = fx
        .fake
        .send_modal_submit(&mallory(), "resolve:C-1", &[("note", "")])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(
        content(&cb.body).contains("may not command"),
        "{:?}",
        cb.body
    );

    // Approvals: posted with Approve / Reject; Reject's form carries the reason.
    let r = fx
        .submit(
            agent("designer-1"),
            "/request design_spec docs/DESIGN_SPEC.md --from designer \"the spec for review\"",
        )
        .await;
    assert!(r.ok, "{}", r.message);
    let post = fx.post_to(APPROVALS, "the approval").await;
    let title = post.body["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(title.starts_with("A-1"), "{title}");
    let buttons = &post.body["components"][0]["components"];
    assert_eq!(buttons[0]["custom_id"], "approve:A-1");
    assert_eq!(buttons[1]["custom_id"], "reject:A-1");
    let approval_mid: u64 = post_id(&fx, APPROVALS).await;
    let sent = fx
        .fake
        .send_button(&alice(), approval_mid, "reject:A-1")
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.body["type"], 9);
    let sent = fx
        .fake
        .send_modal_submit(&alice(), "reject:A-1", &[("reason", "add the error cases")])
        .await;
    fx.fake.callback(&sent, WAIT).await;
    let s = fx
        .until("the rejection", |s| {
            s.approvals.values().any(|a| a.decision.is_some())
        })
        .await;
    let a = s.approvals.values().next().unwrap();
    assert_eq!(a.decided_by.as_deref(), Some("discord:alice(4242)"));
    // The approval's message is edited: the decision, the buttons disabled.
    let route = format!("/channels/{APPROVALS}/messages/{approval_mid}");
    let edit = fx
        .fake
        .next_request("the approval's edit", WAIT, |r| {
            r.method == "PATCH" && r.route() == route
        })
        .await;
    assert_eq!(
        edit.body["components"][0]["components"][1]["disabled"],
        true
    );
}

/// The id of the newest message the fake holds in `channel`.
async fn post_id(fx: &Fixture, channel: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some((id, _)) = fx.fake.messages_in(channel).pop() {
            return id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no message in {channel}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A spawned `overlord-tui` whose stderr is read as it comes (a full pipe would block it).
pub(crate) struct Child(
    pub(crate) std::process::Child,
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
);

impl Child {
    pub(crate) fn interrupt(&self) {
        let pid = rustix::process::Pid::from_child(&self.0);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    }

    /// Waits for the exit (up to 20 s), with what it wrote on stderr.
    pub(crate) fn finish(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return (status.code(), self.stderr_after_exit());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Child {
    /// What it wrote on stderr, once it has exited (the reader gets a moment for the rest).
    fn stderr_after_exit(&self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        // The reader holds the only other reference until it saw the end of the pipe.
        while std::sync::Arc::strong_count(&self.1) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        String::from_utf8_lossy(&self.1.lock().unwrap()).into_owned()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn spawn(repo: &Repo, args: &[&str], env: &[(&str, String)]) -> Child {
    let mut cmd = bin();
    cmd.args(args)
        .current_dir(repo.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    sandbox(&mut cmd, repo.home.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn overlord-tui");
    let err = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    if let Some(mut pipe) = child.stderr.take() {
        let sink = err.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
    }
    Child(child, err)
}

/// A repository with a `[discord]` section (`extra` lines added), a fake Discord, and the
/// environment that points the binary at it.
pub(crate) async fn processes(extra: &str) -> (Repo, FakeDiscord, Vec<(&'static str, String)>) {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    repo.write(
        ".overlord/config.toml",
        &format!(
            "[discord]\n{extra}\nguild_id = \"{GUILD_ID}\"\ncoalesce_ms = 30\n[discord.channels]\nconcerns = \"{CONCERNS}\"\n"
        ),
    );
    let fake = FakeDiscord::start().await;
    let env = vec![
        ("OVERLORD_DISCORD_API_BASE", fake.origin()),
        ("OVERLORD_DISCORD_TOKEN", BOT_TOKEN.to_string()),
    ];
    (repo, fake, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headless_bridge_talks_to_the_owner_through_its_socket_and_never_shows_the_token() {
    let (repo, fake, env) = processes(&format!("reviewer_role_ids = [\"{REVIEWER_ROLE}\"]")).await;
    // No owner yet: a clear error, exit 1.
    let o = repo.run_env(
        &["discord"],
        &env.iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("start the console or `overlord-tui run`"),
        "{}",
        stderr(&o)
    );

    let owner = spawn(&repo, &["serve"], &[]);
    let sock = repo.path().join(".overlord/overlord.sock");
    let start = std::time::Instant::now();
    while repo.run(&["cmd", "/status"]).status.code() != Some(0) || !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Without a token or webhook: it says which variable to set.
    let o = repo.run(&["discord"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("$OVERLORD_DISCORD_TOKEN"),
        "{}",
        stderr(&o)
    );

    let bridge = spawn(&repo, &["discord"], &env);
    fake.wait_ready(WAIT).await;
    // A command from Discord reaches the owner's core.
    let sent = fake.send_slash(&alice(), "status", &[]).await;
    let cb = fake.callback(&sent, WAIT).await;
    assert_eq!(
        cb.body["data"]["embeds"][0]["title"], "Overlord status",
        "{:?}",
        cb.body
    );
    // A concern raised through the CLI becomes an alert.
    let o = repo.run(&[
        "concern",
        "raise",
        "--severity",
        "warning",
        "--category",
        "spec_ambiguity",
        "--from",
        "tester",
        "Flaky clock in the tests",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let route = format!("/channels/{CONCERNS}/messages");
    let post = fake
        .next_request("the alert", WAIT, |r| {
            r.method == "POST" && r.route() == route
        })
        .await;
    assert!(post.body["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("C-1"));
    // The link comes back through the socket.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let o = repo.run(&["audit", "export"]);
        if stdout(&o).contains("concern_message_linked") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", stdout(&o));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    bridge.interrupt();
    let (code, err) = bridge.finish();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("the bot bridge for"), "{err}");
    owner.interrupt();
    let (code, _) = owner.finish();
    assert_eq!(code, Some(0));
    // The token is nowhere: not on stderr, not in a log, not in the audit trail or --json.
    assert!(!err.contains(BOT_TOKEN));
    let mut files = vec![repo.path().join(".overlord")];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(BOT_TOKEN),
                "the token is in {}",
                p.display()
            );
        }
    }
    let o = repo.run(&["audit", "export"]);
    assert!(o.status.success() && !stdout(&o).contains(BOT_TOKEN));
    let o = repo.run(&["status", "--json"]);
    assert!(o.status.success() && !stdout(&o).contains(BOT_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_still_rate_limited_after_the_retries_stays_queued_and_goes_out_later() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    let route = format!("/channels/{HEALTH}/messages");
    // More 429s than one call retries (5): the call gives up, the outbox keeps the alert.
    fx.fake.fail_next(
        &format!("POST /api/v10{route}"),
        8,
        Fault::RateLimited {
            retry_after: 0.05,
            global: false,
        },
    );
    let r = fx.submit(human(), "/pause all").await;
    assert!(r.ok, "{}", r.message);
    let delivered = fx
        .fake
        .next_request("the delivered kill-switch line", WAIT, |r| {
            r.method == "POST" && r.route() == route && r.status == 200
        })
        .await;
    assert!(delivered.body["content"]
        .as_str()
        .unwrap()
        .contains("dispatch paused by cli:tester"));
    let tries: Vec<u16> = fx
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.route() == route)
        .map(|r| r.status)
        .collect();
    assert_eq!(tries.iter().filter(|s| **s == 429).count(), 8, "{tries:?}");
    assert_eq!(tries.iter().filter(|s| **s == 200).count(), 1, "{tries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_discord_enabled_the_owner_runs_the_bridge_itself_and_stops_promptly() {
    let (repo, fake, env) = processes("enabled = true\nallowed_user_ids = [\"4242\"]").await;
    let owner = spawn(&repo, &["serve"], &env);
    fake.wait_ready(WAIT).await;
    // An allow-listed user with no role.
    let sent = fake
        .send_slash(&Invoker::dm(4242, "alice"), "status", &[])
        .await;
    let cb = fake.callback(&sent, WAIT).await;
    assert_eq!(
        cb.body["data"]["embeds"][0]["title"], "Overlord status",
        "{:?}",
        cb.body
    );
    let o = repo.run(&[
        "concern",
        "raise",
        "--severity",
        "info",
        "--category",
        "docs",
        "--from",
        "tester",
        "Typo",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let route = format!("/channels/{CONCERNS}/messages");
    fake.next_request("the alert", WAIT, |r| {
        r.method == "POST" && r.route() == route
    })
    .await;
    let asked = std::time::Instant::now();
    owner.interrupt();
    let (code, err) = owner.finish();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "stopping took {:?}",
        asked.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_slash_command_answers_with_the_cores_reply_and_is_in_the_audit_trail() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    fx.commit();
    // Something for each command to act on.
    for line in [
        "/agent implementer-1 --role implementer --adapter scripted",
        "/agent designer-1 --role designer --adapter scripted",
    ] {
        assert!(fx.submit(Origin::System, line).await.ok, "{line}");
    }
    for i in 1..=3 {
        fx.raise("warning", &format!("concern {i}")).await;
        let r = fx
            .submit(
                agent("designer-1"),
                &format!("/request design_spec docs/SPEC{i}.md --from designer \"spec {i}\""),
            )
            .await;
        assert!(r.ok, "{}", r.message);
    }
    let s = |v: &str| v.to_string();
    let cases: Vec<(&str, Vec<Opt>, String)> = vec![
        ("status", vec![], s("/status")),
        (
            "help",
            vec![Opt::Str("command", s("save"))],
            s("/help save"),
        ),
        (
            "clarify",
            vec![
                Opt::Str("agent", s("implementer-1")),
                Opt::Str("message", s("why sqrt?")),
            ],
            s("/clarify implementer-1 \"why sqrt?\""),
        ),
        (
            "assign",
            vec![
                Opt::Str("agent", s("implementer-1")),
                Opt::Str("text", s("take C-1")),
                Opt::Str("concern", s("C-1")),
            ],
            s("/assign implementer-1 C-1 \"take C-1\""),
        ),
        ("ack", vec![Opt::Str("concern", s("C-2"))], s("/ack C-2")),
        (
            "resolve",
            vec![Opt::Str("concern", s("C-3")), Opt::Str("note", s("done"))],
            s("/resolve C-3 done"),
        ),
        (
            "approve",
            vec![Opt::Str("target", s("A-1"))],
            s("/approve A-1"),
        ),
        (
            "defer",
            vec![
                Opt::Str("target", s("A-2")),
                Opt::Str("note", s("need data")),
            ],
            s("/defer A-2 \"need data\""),
        ),
        (
            "reject",
            vec![
                Opt::Str("target", s("A-3")),
                Opt::Str("reason", s("no tests")),
            ],
            s("/reject A-3 \"no tests\""),
        ),
        (
            "promote",
            vec![Opt::Str("phase", s("p1"))],
            s("/promote p1"),
        ),
        (
            "plan",
            vec![Opt::Str("goal", s("a greeter"))],
            s("/plan \"a greeter\""),
        ),
        (
            "pause",
            vec![Opt::Str("target", s("implementer-1"))],
            s("/pause implementer-1"),
        ),
        (
            "resume",
            vec![Opt::Str("target", s("implementer-1"))],
            s("/resume implementer-1"),
        ),
        ("save", vec![], s("/save")),
        (
            "rollback",
            vec![Opt::Str("checkpoint", s("20261121-999"))],
            s("/rollback 20261121-999"),
        ),
        ("adopt", vec![Opt::Str("ref", s("main"))], s("/adopt main")),
        (
            "restore",
            vec![Opt::Str("ref", s("main"))],
            s("/restore main"),
        ),
        (
            "overlord",
            vec![Opt::Str("line", s("status"))],
            s("/status"),
        ),
    ];
    for spec in overlord::protocol::grammar::COMMANDS
        .iter()
        .filter(|c| c.human)
    {
        assert!(
            cases.iter().any(|(n, _, _)| *n == spec.name),
            "/{} untested",
            spec.name
        );
    }
    for (name, options, line) in cases {
        let sent = fx.fake.send_slash(&alice(), name, &options).await;
        let cb = fx.fake.callback(&sent, WAIT).await;
        assert_eq!(cb.status, 204, "/{name}: {:?}", cb.body);
        // The core's reply to exactly this line, from this member (the bridge's own /link
        // records interleave: look for this member's newest command).
        let commands = fx.audit("commands.jsonl");
        let record: Value = commands
            .lines()
            .rev()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["record"]["origin"]["via"] == "discord")
            .expect("a command from Discord");
        // (The record keeps the grammar's printed form of the command.)
        let canonical = overlord::protocol::print(&parse(&line).unwrap());
        assert_eq!(record["record"]["line"], canonical.as_str(), "/{name}");
        assert_eq!(record["record"]["origin"]["user_id"], "4242");
        let responses = fx.audit("responses.jsonl");
        let reply: Value = responses
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["record"]["command_seq"] == record["seq"])
            .unwrap_or_else(|| panic!("/{name}: no response to {}", record["seq"]));
        let (ok, message) = (
            reply["record"]["ok"].as_bool().unwrap(),
            reply["record"]["message"].as_str().unwrap().to_string(),
        );
        if name == "status" || (name == "overlord" && ok) {
            assert_eq!(cb.body["data"]["embeds"][0]["title"], "Overlord status");
        } else if ok {
            assert_eq!(content(&cb.body), message, "/{name}");
            assert!(!ephemeral(&cb.body), "/{name}");
        } else {
            assert_eq!(content(&cb.body), format!("⚠️ {message}"), "/{name}");
            assert!(ephemeral(&cb.body), "/{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_alerts_and_the_daily_digest_reach_system_health() {
    use overlord::protocol::model::{Agent, AgentState, Role};
    use overlord::protocol::EventKind;
    let fx = Fixture::start(Setup::default()).await;
    // The owner's monitor, as the console runs it.
    let metrics = overlord::config::MetricsConfig {
        evaluate_every_secs: 1,
        alert_window: overlord::metrics::Window::All,
        ..Default::default()
    };
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(overlord::core::monitor::run(
        fx.handle.clone(),
        fx.repo.workspace(),
        metrics,
        stop_rx,
    ));
    // An agent fails: CRITICAL agent_halted, a concern for the human.
    fx.handle
        .emit(
            "supervisor",
            vec![
                EventKind::AgentRegistered {
                    agent: Agent::new(
                        "implementer-1",
                        Role::Implementer,
                        "codex",
                        "2026-11-21T10:00:00.000Z",
                    ),
                },
                EventKind::AgentStateChanged {
                    agent: "implementer-1".into(),
                    state: AgentState::Failed,
                    task: None,
                    detail: Some("exit 1".into()),
                    attempt: None,
                    session_id: None,
                    until: None,
                },
            ],
        )
        .await
        .unwrap();
    let health = format!("/channels/{HEALTH}/messages");
    let line = fx
        .fake
        .next_request("the alert on #system-health", WAIT, |r| {
            r.method == "POST"
                && r.route() == health
                && r.body["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("CRITICAL `agent_halted:implementer-1`")
        })
        .await;
    assert_eq!(line.status, 200, "{:?}", line.body);
    let text = line.body["content"].as_str().unwrap_or("").to_string();
    assert!(
        text.contains(
            "🔴 CRITICAL `agent_halted:implementer-1`: agent implementer-1 has failed and stopped"
        ),
        "{text}"
    );

    // The daily digest (as `[reports] daily_at` writes it): its summary on #system-health.
    let ws = fx.repo.workspace();
    let written = tokio::task::spawn_blocking(move || {
        let mut core = Core::open(&ws, &Config::default()).expect("core");
        overlord::core::digest::write_daily(&mut core, &overlord::core::now()).expect("digest")
    })
    .await
    .unwrap();
    let line = fx
        .fake
        .next_request("the digest on #system-health", WAIT, |r| {
            r.method == "POST"
                && r.route() == health
                && r.body["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Daily digest")
        })
        .await;
    let text = line.body["content"].as_str().unwrap_or("").to_string();
    assert!(text.contains(&written.digest.summary), "{text}");
    assert!(
        text.contains(&format!("reports/DAILY_{}.md", written.digest.date)),
        "{text}"
    );
}
