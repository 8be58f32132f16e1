//! The fake Discord (tests/common/fake_discord.rs) against the real serenity 0.12 client:
//! connect, identify, slash commands, deferrals and follow-ups, buttons, autocomplete,
//! command registration, a dropped gateway, and Discord's interaction timing rules.

use std::sync::Arc;
use std::time::Duration;

use overlord::discord::{serenity_http, ApiBase, BotToken};
use serenity::all::{
    ClientBuilder, Command, CommandDataOptionValue, Context, CreateAutocompleteResponse,
    CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, EditInteractionResponse,
    EventHandler, GatewayIntents, GuildId, Http, Interaction, ShardManager,
};
use tokio::sync::mpsc;

use crate::common::fake_discord::*;

const WAIT: Duration = Duration::from_secs(30);

struct Forward(mpsc::UnboundedSender<(Context, Interaction)>);

#[serenity::async_trait]
impl EventHandler for Forward {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let _ = self.0.send((ctx, interaction));
    }
}

/// A bare serenity client pointed at the fake, forwarding every interaction to the test.
struct Bot {
    http: Arc<Http>,
    rx: mpsc::UnboundedReceiver<(Context, Interaction)>,
    shards: Arc<ShardManager>,
}

impl Bot {
    async fn start(fake: &FakeDiscord) -> Bot {
        let base = ApiBase::parse(&fake.origin()).expect("base");
        let token = BotToken::new(BOT_TOKEN).expect("token");
        let http = serenity_http(&base, &token)
            .application_id(APP_ID.into())
            .build();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
            .event_handler(Forward(tx))
            .await
            .expect("client");
        assert_eq!(*client.ws_url.lock().await, fake.gateway_url());
        let (http, shards) = (client.http.clone(), client.shard_manager.clone());
        tokio::spawn(async move { client.start().await });
        Bot { http, rx, shards }
    }

    async fn next(&mut self) -> (Context, Interaction) {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("an interaction within the timeout")
            .expect("client running")
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let shards = self.shards.clone();
        tokio::spawn(async move { shards.shutdown_all().await });
    }
}

fn alice() -> Invoker {
    Invoker::member(4242, "alice", &[77, 78])
}

#[tokio::test]
async fn serenity_identifies_receives_a_slash_command_and_replies() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    let stats = fake.wait_ready(WAIT).await;
    assert_eq!(stats.identifies, 1);
    // serenity sends the token with its "Bot " prefix in IDENTIFY too.
    assert_eq!(
        stats.identify_payloads[0]["token"],
        format!("Bot {BOT_TOKEN}")
    );

    let options = [
        Opt::Str("agent", "implementer-2".into()),
        Opt::Int("count", 3),
        Opt::User("who", 555),
    ];
    let sent = fake.send_slash(&alice(), "status", &options).await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Command(cmd) = interaction else {
        panic!("not a command: {interaction:?}")
    };
    assert_eq!(cmd.data.name, "status");
    assert_eq!(cmd.id.get(), sent.id);
    let member = cmd.member.as_ref().expect("a guild member");
    assert_eq!(member.user.id.get(), 4242);
    assert_eq!(member.user.name, "alice");
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    assert_eq!(roles, [77, 78]);
    assert_eq!(cmd.guild_id.map(|g| g.get()), Some(GUILD_ID));
    let values: Vec<_> = cmd.data.options.iter().map(|o| o.value.clone()).collect();
    assert_eq!(
        values[0],
        CommandDataOptionValue::String("implementer-2".into())
    );
    assert_eq!(values[1], CommandDataOptionValue::Integer(3));
    assert_eq!(values[2], CommandDataOptionValue::User(555.into()));

    let reply = CreateInteractionResponseMessage::new().content("all green");
    cmd.create_response(&ctx.http, CreateInteractionResponse::Message(reply))
        .await
        .expect("reply accepted");
    let callback = fake.callback(&sent, WAIT).await;
    assert_eq!(callback.status, 204);
    assert_eq!(callback.body["type"], 4);
    assert_eq!(callback.body["data"]["content"], "all green");
    // A second response is what Discord refuses with 40060.
    let again = CreateInteractionResponse::Message(CreateInteractionResponseMessage::new());
    let err = cmd
        .create_response(&ctx.http, again)
        .await
        .expect_err("second response");
    assert!(
        err.to_string().contains("already been acknowledged"),
        "{err}"
    );
    assert_eq!(fake.callback(&sent, WAIT).await.status, 400);
    assert!(fake.unexpected().is_empty(), "{:?}", fake.unexpected());
}

#[tokio::test]
async fn a_deferred_reply_gets_its_follow_up_and_original_edit() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    let dm = Invoker::dm(999, "bob");
    let sent = fake.send_slash(&dm, "save", &[]).await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Command(cmd) = interaction else {
        panic!("not a command")
    };
    assert!(cmd.member.is_none());
    assert_eq!(cmd.user.id.get(), 999);

    // A follow-up before any response is Discord's 404 10015.
    let early = CreateInteractionResponseFollowup::new().content("too early");
    assert!(cmd.create_followup(&ctx.http, early).await.is_err());

    cmd.defer(&ctx.http).await.expect("defer");
    assert_eq!(fake.callback(&sent, WAIT).await.body["type"], 5);
    let follow = CreateInteractionResponseFollowup::new().content("saved: checkpoint 7");
    let message = cmd
        .create_followup(&ctx.http, follow)
        .await
        .expect("follow-up");
    assert_eq!(message.content, "saved: checkpoint 7");
    let edited = cmd
        .edit_response(&ctx.http, EditInteractionResponse::new().content("done"))
        .await
        .expect("edit @original");
    assert_eq!(edited.content, "done");

    let path = format!("/webhooks/{APP_ID}/{}", sent.token);
    let posts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.route() == path && r.method == "POST")
        .collect();
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [404, 200]
    );
    let edit = fake
        .next_request("PATCH @original", WAIT, |r| {
            r.method == "PATCH" && r.route() == format!("{path}/messages/@original")
        })
        .await;
    assert_eq!(edit.body["content"], "done");
}

#[tokio::test]
async fn a_button_press_arrives_with_its_custom_id_and_message() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    let sent = fake.send_button(&alice(), 31337, "ack:C-12").await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Component(press) = interaction else {
        panic!("not a component")
    };
    assert_eq!(press.data.custom_id, "ack:C-12");
    assert_eq!(press.message.id.get(), 31337);
    assert_eq!(press.member.as_ref().map(|m| m.user.id.get()), Some(4242));
    let update = CreateInteractionResponseMessage::new().content("acknowledged");
    press
        .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(update))
        .await
        .expect("update");
    assert_eq!(fake.callback(&sent, WAIT).await.body["type"], 7);
}

#[tokio::test]
async fn autocomplete_names_the_focused_option_and_gets_choices_back() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    let opts = [Opt::Str("message", "hello".into())];
    let sent = fake
        .send_autocomplete(&alice(), "clarify", &opts, ("agent", "impl"))
        .await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Autocomplete(ac) = interaction else {
        panic!("not autocomplete")
    };
    let focused = ac.data.autocomplete().expect("a focused option");
    assert_eq!((focused.name, focused.value), ("agent", "impl"));
    let choices =
        CreateAutocompleteResponse::new().add_string_choice("implementer-1", "implementer-1");
    ac.create_response(&ctx.http, CreateInteractionResponse::Autocomplete(choices))
        .await
        .expect("choices");
    let callback = fake.callback(&sent, WAIT).await;
    assert_eq!(callback.body["type"], 8);
    assert_eq!(
        callback.body["data"]["choices"][0]["value"],
        "implementer-1"
    );
}

#[tokio::test]
async fn a_late_first_response_is_refused_as_discord_does() {
    let opts = Options {
        interaction_deadline: Duration::from_millis(200),
        ..Options::default()
    };
    let fake = FakeDiscord::start_with(opts).await;
    let mut bot = Bot::start(&fake).await;
    let sent = fake.send_slash(&alice(), "status", &[]).await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Command(cmd) = interaction else {
        panic!("not a command")
    };
    // The deadline itself is what is tested here: let it pass.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cmd.defer(&ctx.http).await.is_err());
    let callback = fake.callback(&sent, WAIT).await;
    assert_eq!(callback.status, 404);
}

#[tokio::test]
async fn serenity_reconnects_after_the_gateway_drops_by_resuming() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    fake.wait_ready(WAIT).await;
    fake.drop_gateway();
    let stats = fake
        .wait_gateway("a resumed second connection", WAIT, |s| {
            s.connections >= 2 && s.ready_on.is_some()
        })
        .await;
    assert_eq!((stats.identifies, stats.resumes), (1, 1));
    let sent = fake.send_slash(&alice(), "status", &[]).await;
    let (_, interaction) = bot.next().await;
    assert_eq!(interaction.id().get(), sent.id);
}

#[tokio::test]
async fn serenity_identifies_again_when_the_session_cannot_resume() {
    let opts = Options {
        resume: false,
        ..Options::default()
    };
    let fake = FakeDiscord::start_with(opts).await;
    let mut bot = Bot::start(&fake).await;
    fake.wait_ready(WAIT).await;
    fake.drop_gateway();
    fake.wait_gateway("a second IDENTIFY", WAIT, |s| {
        s.identifies >= 2 && s.ready_on.is_some()
    })
    .await;
    let sent = fake.send_slash(&alice(), "status", &[]).await;
    let (_, interaction) = bot.next().await;
    assert_eq!(interaction.id().get(), sent.id);
}

#[tokio::test]
async fn heartbeats_are_acknowledged_and_keep_the_connection() {
    let opts = Options {
        // Short enough for three heartbeats in about a second, long enough for a loaded CI.
        heartbeat_interval: Duration::from_millis(300),
        ..Options::default()
    };
    let fake = FakeDiscord::start_with(opts).await;
    let _bot = Bot::start(&fake).await;
    let stats = fake
        .wait_gateway("three heartbeats", WAIT, |s| s.heartbeats >= 3)
        .await;
    assert_eq!(
        stats.connections, 1,
        "an unacknowledged heartbeat makes serenity reconnect"
    );
}

#[tokio::test]
async fn command_registration_lands_in_the_fake_with_ids() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;
    let status = CreateCommand::new("status").description("Project status");
    let pause = CreateCommand::new("pause")
        .description("Pause an agent")
        .add_option(
            CreateCommandOption::new(
                serenity::all::CommandOptionType::String,
                "agent",
                "agent or all",
            )
            .required(true)
            .set_autocomplete(true),
        );
    let global = Command::set_global_commands(&bot.http, vec![status.clone(), pause])
        .await
        .expect("global registration");
    assert_eq!(global.len(), 2);
    assert!(global
        .iter()
        .all(|c| c.id.get() > 0 && c.application_id.get() == APP_ID));
    let stored = fake.commands(None);
    assert_eq!(stored[1]["name"], "pause");
    assert_eq!(stored[1]["options"][0]["autocomplete"], true);

    let guild = GuildId::new(GUILD_ID)
        .set_commands(&bot.http, vec![status])
        .await
        .expect("guild registration");
    assert_eq!(guild[0].guild_id.map(|g| g.get()), Some(GUILD_ID));
    assert_eq!(fake.commands(Some(GUILD_ID))[0]["name"], "status");
    // A slash command now carries the registered command's id.
    let mut bot = bot;
    fake.send_slash(&alice(), "pause", &[Opt::Str("agent", "all".into())])
        .await;
    let (_, interaction) = bot.next().await;
    let Interaction::Command(cmd) = interaction else {
        panic!("not a command")
    };
    assert_eq!(cmd.data.id, global[1].id);
    for r in fake.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bot {BOT_TOKEN}").as_str()),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn serenity_fails_a_429_instead_of_waiting_so_alerts_need_rest() {
    // Pins the quirk DISCORD.md describes: with its rate limiter off (as the proxy requires)
    // serenity gives up on a 429 at once. If this starts failing, serenity changed.
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;
    fake.fail_next(
        "/channels/",
        1,
        Fault::RateLimited {
            retry_after: 0.2,
            global: false,
        },
    );
    let channel = serenity::all::ChannelId::new(CHANNEL_ID);
    let sent = channel.say(&bot.http, "hello").await;
    assert!(sent.is_err(), "{sent:?}");
    let posts = fake
        .requests()
        .into_iter()
        .filter(|r| r.route().starts_with("/channels/"));
    assert_eq!(posts.count(), 1, "serenity did not retry");
}

#[tokio::test(flavor = "current_thread")]
async fn serenity_logs_no_token_at_trace_level() {
    // Thread-local and a current-thread runtime: serenity's tasks log here too.
    let (log, _guard) = crate::discord_rest::Captured::install();
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    fake.wait_ready(WAIT).await;
    let sent = fake.send_slash(&alice(), "status", &[]).await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Command(cmd) = interaction else {
        panic!("not a command")
    };
    cmd.defer(&ctx.http).await.expect("defer");
    fake.callback(&sent, WAIT).await;
    fake.drop_gateway();
    fake.wait_gateway("a resumed connection", WAIT, |s| {
        s.resumes >= 1 && s.ready_on.is_some()
    })
    .await;
    let log = log.text();
    assert!(
        log.contains("INTERACTION_CREATE") || log.contains("Interaction"),
        "{log}"
    );
    assert!(!log.contains(BOT_TOKEN), "serenity logged the token");
}

#[tokio::test]
async fn application_user_and_gateway_answers_parse_and_unknown_routes_are_recorded() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;
    let app = bot
        .http
        .get_current_application_info()
        .await
        .expect("application");
    assert_eq!(app.id.get(), APP_ID);
    let me = bot.http.get_current_user().await.expect("current user");
    assert_eq!((me.id.get(), me.bot), (BOT_USER_ID, true));
    let gateway = bot.http.get_bot_gateway().await.expect("bot gateway");
    assert_eq!(gateway.url, fake.gateway_url());
    assert!(fake.unexpected().is_empty());

    let channel = serenity::all::ChannelId::new(5);
    assert!(bot.http.get_channel_webhooks(channel).await.is_err());
    let unexpected = fake.unexpected();
    assert_eq!(unexpected.len(), 1);
    assert_eq!(
        (unexpected[0].method.as_str(), unexpected[0].route()),
        ("GET", "/channels/5/webhooks")
    );
}

#[tokio::test]
async fn serenity_webhook_posts_arrive_with_its_odd_query_and_get_a_message_back() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;
    let hook = serenity::all::WebhookId::new(WEBHOOK_ID);
    let body = serde_json::json!({"content": "merged feature/x"});
    let message = bot
        .http
        .execute_webhook(hook, None, WEBHOOK_TOKEN, true, vec![], &body)
        .await
        .expect("webhook post")
        .expect("wait=true answers the message");
    assert_eq!(message.content, "merged feature/x");
    assert_eq!(message.webhook_id.map(|w| w.get()), Some(WEBHOOK_ID));
    let post = fake
        .next_request("the webhook post", WAIT, |r| {
            r.route().starts_with("/webhooks/")
        })
        .await;
    assert_eq!(post.query.as_deref(), Some("&wait=true"));
    // Without wait Discord answers 204 and no message.
    let none = bot
        .http
        .execute_webhook(hook, None, WEBHOOK_TOKEN, false, vec![], &body)
        .await
        .expect("webhook post");
    assert!(none.is_none());
}

#[tokio::test]
async fn a_follow_up_after_the_token_expired_is_refused() {
    let opts = Options {
        token_lifetime: Duration::from_millis(300),
        ..Options::default()
    };
    let fake = FakeDiscord::start_with(opts).await;
    let mut bot = Bot::start(&fake).await;
    let sent = fake.send_slash(&alice(), "save", &[]).await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Command(cmd) = interaction else {
        panic!("not a command")
    };
    cmd.defer(&ctx.http).await.expect("defer in time");
    fake.callback(&sent, WAIT).await;
    // The token's lifetime is what is tested: let it run out.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let late = CreateInteractionResponseFollowup::new().content("saved");
    assert!(cmd.create_followup(&ctx.http, late).await.is_err());
    let follow = fake
        .next_request("the late follow-up", WAIT, |r| {
            r.route().starts_with("/webhooks/")
        })
        .await;
    assert_eq!(follow.status, 401);
    assert_eq!(follow.body["content"], "saved");
}

#[tokio::test]
async fn updating_the_pressed_message_edits_the_message_the_fake_holds() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake).await;
    let channel = serenity::all::ChannelId::new(CHANNEL_ID);
    let posted = channel
        .say(&bot.http, "concern C-3: open")
        .await
        .expect("post");
    assert_eq!(
        fake.message(posted.id.get()).expect("held")["content"],
        "concern C-3: open"
    );
    let sent = fake.send_button(&alice(), posted.id.get(), "ack:C-3").await;
    let (ctx, interaction) = bot.next().await;
    let Interaction::Component(press) = interaction else {
        panic!("not a component")
    };
    assert_eq!(press.message.content, "concern C-3: open");
    let update = CreateInteractionResponseMessage::new().content("concern C-3: acknowledged");
    press
        .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(update))
        .await
        .expect("update");
    assert_eq!(fake.callback(&sent, WAIT).await.status, 204);
    let held = fake.message(posted.id.get()).expect("held");
    assert_eq!(held["content"], "concern C-3: acknowledged");
    assert!(held["edited_timestamp"].is_string());
}
