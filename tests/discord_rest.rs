//! `overlord::discord::rest` against the fake Discord: 429s waited out and capped, 5xx
//! retried, 401/403/404 never retried, webhook posts, `allowed_mentions` on every body, and no
//! secret in any error or log line.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use overlord::discord::rest::Method;
use overlord::discord::{
    ApiBase, Auth, BotToken, Button, ButtonStyle, Embed, Message, Rest, RestError, RetryPolicy,
    WebhookUrl,
};
use serde_json::json;

use crate::common::fake_discord::*;

const WAIT: Duration = Duration::from_secs(30);

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_rate_limit_retries: 3,
        max_rate_limit_wait: Duration::from_secs(5),
        max_server_retries: 2,
        backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(5),
    }
}

fn rest(fake: &FakeDiscord) -> Rest {
    let base = ApiBase::parse(&fake.origin()).expect("base");
    let token = BotToken::new(BOT_TOKEN).expect("token");
    Rest::with_policy(base, Auth::Bot(token), policy()).expect("client")
}

fn alert() -> Message {
    Message::embed(
        Embed::new("Concern C-7 (critical)")
            .description("@everyone the build is on fire")
            .color(0xE0_40_40)
            .field("from", "tester", true)
            .footer("overlord"),
    )
    .with_row(vec![Button::new(ButtonStyle::Primary, "Ack", "ack:C-7")])
}

fn on_channel(r: &Recorded) -> bool {
    r.route() == format!("/channels/{CHANNEL_ID}/messages")
}

#[tokio::test]
async fn a_channel_post_returns_the_new_message_id_and_an_edit_lands() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    let id = rest
        .post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect("post");
    let stored = fake.message(id).expect("the fake holds the message");
    assert_eq!(stored["embeds"][0]["title"], "Concern C-7 (critical)");
    assert_eq!(
        stored["components"][0]["components"][0]["custom_id"],
        "ack:C-7"
    );
    let post = fake.next_request("the post", WAIT, on_channel).await;
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bot {BOT_TOKEN}").as_str())
    );
    assert!(post.body.get("username").is_none());

    let resolved = Message::embed(Embed::new("Concern C-7 (resolved)"));
    rest.edit_channel_message(CHANNEL_ID, id, &resolved)
        .await
        .expect("edit");
    let stored = fake.message(id).expect("still there");
    assert_eq!(stored["embeds"][0]["title"], "Concern C-7 (resolved)");
    assert_eq!(
        stored["components"],
        json!([]),
        "an edit with no buttons removes them"
    );
    let missing = rest.edit_channel_message(CHANNEL_ID, 1, &resolved).await;
    assert!(
        matches!(missing, Err(RestError::NotFound { code: 10008, .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_then_delivered_once() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    fake.fail_next(
        "/channels/",
        1,
        Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        },
    );
    let id = rest
        .post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect("delivered");
    let first = fake
        .next_request("the limited post", WAIT, on_channel)
        .await;
    let second = fake.next_request("the retry", WAIT, on_channel).await;
    assert_eq!((first.status, second.status), (429, 200));
    let waited = second.at - first.at;
    assert!(
        waited >= Duration::from_millis(300),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "retried after {waited:?}");
    assert!(fake.message(id).is_some());
    let delivered = fake
        .requests()
        .into_iter()
        .filter(|r| on_channel(r) && r.status == 200);
    assert_eq!(delivered.count(), 1);
}

#[tokio::test]
async fn a_429_without_a_json_body_is_timed_by_its_headers() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    let hook = WebhookUrl::parse(&fake.webhook_url()).expect("url");
    fake.fail_next(
        "/webhooks/",
        1,
        Fault::RateLimitedHeadersOnly { reset_after: 0.25 },
    );
    rest.execute_webhook(&hook, &alert())
        .await
        .expect("delivered");
    let requests = fake.requests();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let waited = requests[1].at - requests[0].at;
    // X-RateLimit-Reset-After (0.25) is used, not the rounded-up Retry-After (1).
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_millis(900), "{waited:?}");
}

#[tokio::test]
async fn rate_limit_retries_are_capped() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    fake.fail_next(
        "/channels/",
        100,
        Fault::RateLimited {
            retry_after: 0.02,
            global: true,
        },
    );
    let err = rest
        .post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect_err("capped");
    match err {
        RestError::RateLimited {
            attempts,
            global,
            retry_after,
            ..
        } => {
            assert_eq!(attempts, 4, "the first try and 3 retries");
            assert!(global);
            assert_eq!(retry_after, Duration::from_millis(20));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn a_wait_longer_than_the_cap_fails_at_once_with_retry_after() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    fake.fail_next(
        "/channels/",
        1,
        Fault::RateLimited {
            retry_after: 30.0,
            global: false,
        },
    );
    let started = std::time::Instant::now();
    let err = rest
        .post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect_err("too long");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(err, RestError::RateLimited { attempts: 1, retry_after, .. } if retry_after == Duration::from_secs(30)),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn unauthorized_forbidden_and_not_found_are_never_retried() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    for status in [401, 403, 404, 400] {
        fake.fail_next("/channels/", 1, Fault::Status(status));
        let before = fake.requests().len();
        let err = rest
            .post_channel_message(CHANNEL_ID, &alert())
            .await
            .expect_err("refused");
        let kind_ok = matches!(
            (status, &err),
            (401, RestError::Unauthorized { .. })
                | (403, RestError::Forbidden { code: 50013, .. })
                | (404, RestError::NotFound { code: 10003, .. })
                | (400, RestError::Rejected { status: 400, .. })
        );
        assert!(kind_ok, "{status}: {err:?}");
        assert_eq!(fake.requests().len(), before + 1, "{status} was retried");
    }
    // A wrong token is the fake's own 401, not an injected one: still a single request.
    let wrong = Rest::with_policy(
        ApiBase::parse(&fake.origin()).expect("base"),
        Auth::Bot(BotToken::new("not.the.token").expect("token")),
        policy(),
    )
    .expect("client");
    let before = fake.requests().len();
    let err = wrong
        .post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect_err("401");
    assert!(matches!(err, RestError::Unauthorized { .. }), "{err:?}");
    assert_eq!(fake.requests().len(), before + 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_given_up() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    fake.fail_next("/channels/", 2, Fault::Status(502));
    rest.post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect("third try lands");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [502, 502, 200]);

    fake.fail_next("/channels/", 100, Fault::Status(500));
    let err = rest
        .post_channel_message(CHANNEL_ID, &alert())
        .await
        .expect_err("gave up");
    assert!(
        matches!(
            err,
            RestError::Server {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 6);
}

#[tokio::test]
async fn a_webhook_post_waits_for_the_message_and_sends_no_bot_token() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    let hook = WebhookUrl::parse(&fake.webhook_url()).expect("webhook url");
    assert_eq!(hook.id(), WEBHOOK_ID);
    let id = rest
        .execute_webhook(&hook, &alert().with_username("Overlord"))
        .await
        .expect("webhook post");
    let post = fake
        .next_request("the webhook post", WAIT, |r| {
            r.route().starts_with("/webhooks/")
        })
        .await;
    assert_eq!(post.query.as_deref(), Some("wait=true"));
    assert_eq!(post.header("authorization"), None);
    assert_eq!(post.body["username"], "Overlord");
    let stored = fake.message(id).expect("stored");
    assert_eq!(stored["webhook_id"], WEBHOOK_ID.to_string());

    rest.edit_webhook_message(&hook, id, &Message::text("resolved"))
        .await
        .expect("webhook edit");
    assert_eq!(fake.message(id).expect("stored")["content"], "resolved");

    let unknown = WebhookUrl::new(WEBHOOK_ID, "wrong-token").expect("url");
    let err = rest
        .execute_webhook(&unknown, &alert())
        .await
        .expect_err("unknown");
    assert!(
        matches!(err, RestError::NotFound { code: 10015, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn webhook_only_mode_needs_no_token_and_refuses_bot_routes_without_a_request() {
    let fake = FakeDiscord::start().await;
    let base = ApiBase::parse(&fake.origin()).expect("base");
    let rest = Rest::with_policy(base, Auth::None, policy()).expect("client");
    let hook = WebhookUrl::parse(&fake.webhook_url()).expect("url");
    rest.execute_webhook(&hook, &Message::text("hello"))
        .await
        .expect("post");
    let err = rest
        .post_channel_message(CHANNEL_ID, &Message::text("x"))
        .await;
    assert!(matches!(err, Err(RestError::NoBotToken { .. })), "{err:?}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn every_body_forbids_mentions_and_fits_discord_limits() {
    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    let hook = WebhookUrl::parse(&fake.webhook_url()).expect("url");
    let long = Message::text(format!("@everyone {}", "x".repeat(5000)));
    let id = rest
        .post_channel_message(CHANNEL_ID, &long)
        .await
        .expect("post");
    rest.edit_channel_message(CHANNEL_ID, id, &alert())
        .await
        .expect("edit");
    rest.execute_webhook(&hook, &long).await.expect("webhook");
    rest.edit_webhook_message(&hook, 1, &long).await.ok();
    let body = json!({"content": "<@&1> via send_json", "allowed_mentions": {"parse": []}});
    rest.send_json(
        Method::POST,
        &format!("/channels/{CHANNEL_ID}/messages"),
        Some(&body),
    )
    .await
    .expect("generic");
    let requests = fake.requests();
    assert_eq!(requests.len(), 5);
    for r in &requests {
        assert_eq!(
            r.body["allowed_mentions"],
            json!({"parse": []}),
            "{} {}",
            r.method,
            r.path
        );
        if let Some(content) = r.body["content"].as_str() {
            assert!(content.chars().count() <= 2000);
        }
    }
    assert!(requests[0].body["content"]
        .as_str()
        .unwrap_or("")
        .ends_with('…'));
}

/// A writer that keeps every tracing line for the test to read.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Every trace line of this thread from now on (and of the tasks of a current-thread
    /// runtime), until the guard is dropped.
    pub fn install() -> (Captured, tracing::subscriber::DefaultGuard) {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // Callsites first hit by a test thread with no subscriber may have cached "never".
        tracing::callsite::rebuild_interest_cache();
        (log, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_error_kind_and_no_log_line_shows_a_token() {
    // Thread-local and a current-thread runtime: every task of this test logs here.
    let (log, _guard) = Captured::install();

    let fake = FakeDiscord::start().await;
    let rest = rest(&fake);
    let hook = WebhookUrl::parse(&fake.webhook_url()).expect("url");
    let interaction = format!("/interactions/1/{WEBHOOK_TOKEN}/callback");
    let mut errors: Vec<RestError> = Vec::new();
    for fault in [
        Fault::Status(401),
        Fault::Status(403),
        Fault::Status(404),
        Fault::Status(400),
        Fault::RateLimited {
            retry_after: 0.01,
            global: false,
        },
        Fault::Status(503),
    ] {
        fake.clear_faults();
        fake.fail_next("/webhooks/", 100, fault);
        errors.push(
            rest.execute_webhook(&hook, &alert())
                .await
                .expect_err("fault"),
        );
        fake.fail_next("/channels/", 100, fault);
        errors.push(
            rest.post_channel_message(CHANNEL_ID, &alert())
                .await
                .expect_err("fault"),
        );
        fake.fail_next("/interactions/", 100, fault);
        let sent = rest
            .send_json(Method::POST, &interaction, Some(&json!({"type": 5})))
            .await;
        errors.push(sent.expect_err("fault"));
    }
    // Nothing listens on a port just freed: a transport error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("a");
    let gone = ApiBase::parse(&format!("http://{port}")).expect("base");
    let dead = Rest::with_policy(
        gone,
        Auth::Bot(BotToken::new(BOT_TOKEN).expect("t")),
        policy(),
    )
    .expect("client");
    errors.push(
        dead.execute_webhook(&hook, &alert())
            .await
            .expect_err("transport"),
    );
    errors.push(
        dead.post_channel_message(1, &alert())
            .await
            .expect_err("transport"),
    );
    assert!(matches!(
        errors.last(),
        Some(RestError::Transport { attempts: 3, .. })
    ));
    errors.push(
        WebhookUrl::parse(&format!("https://discord.com/api/hooks/1/{WEBHOOK_TOKEN}"))
            .expect_err("bad"),
    );
    errors.push(
        WebhookUrl::parse(&format!(
            "https://discord.com/api/webhooks/x/{WEBHOOK_TOKEN}"
        ))
        .expect_err("bad"),
    );
    errors.push(BotToken::new(format!("{BOT_TOKEN} x")).expect_err("bad"));
    errors.push(BotToken::from_env("OVERLORD_TEST_VARIABLE_NEVER_SET").expect_err("unset"));
    errors.push(
        ApiBase::parse("discord.com/api")
            .map(drop)
            .expect_err("bad"),
    );
    let no_token = Rest::with_policy(
        ApiBase::parse(&fake.origin()).expect("b"),
        Auth::None,
        policy(),
    );
    let no_token = no_token
        .expect("client")
        .post_channel_message(1, &alert())
        .await;
    errors.push(no_token.expect_err("no token"));

    let kinds: std::collections::BTreeSet<String> = errors
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(kinds.len(), 12, "every kind forced: {kinds:?}");
    for e in &errors {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(BOT_TOKEN), "{text}");
            assert!(!text.contains(WEBHOOK_TOKEN), "{text}");
        }
    }
    assert!(
        errors[0].to_string().contains("/webhooks/"),
        "{}",
        errors[0]
    );
    assert!(format!("{hook:?} {hook}").contains(&WEBHOOK_ID.to_string()));
    assert!(!format!("{hook:?} {hook}").contains(WEBHOOK_TOKEN));
    assert!(!format!("{:?}", BotToken::new(BOT_TOKEN).expect("t")).contains(BOT_TOKEN));
    assert!(!format!("{rest:?}").contains(BOT_TOKEN), "{rest:?}");

    let log = log.text();
    assert!(log.contains("rate limit"), "the log was captured: {log}");
    assert!(log.contains("[token]"), "routes are logged redacted: {log}");
    assert!(
        !log.contains(BOT_TOKEN) && !log.contains(WEBHOOK_TOKEN),
        "{log}"
    );
}

#[test]
fn the_api_base_is_an_origin_and_webhook_urls_map_onto_it() {
    let base = ApiBase::parse("http://127.0.0.1:4000/").expect("origin");
    assert_eq!(base.origin(), "http://127.0.0.1:4000");
    assert_eq!(
        ApiBase::parse("http://127.0.0.1:4000/api/v10").expect("v10"),
        base
    );
    assert_eq!(
        base.url("/gateway"),
        "http://127.0.0.1:4000/api/v10/gateway"
    );
    assert!(ApiBase::discord().is_discord());
    assert!(ApiBase::from_setting(None).expect("unset").is_discord());
    assert!(ApiBase::from_setting(Some("  "))
        .expect("blank")
        .is_discord());
    let set = ApiBase::from_setting(Some("http://127.0.0.1:4000")).expect("set");
    assert_eq!(set, base);
    assert!(!set.is_discord());
    assert_eq!(
        ApiBase::discord().url("/x"),
        "https://discord.com/api/v10/x"
    );
    for bad in [
        "127.0.0.1:4000",
        "ftp://x",
        "http://",
        "http://a/b/c",
        "http://u@h",
    ] {
        assert!(ApiBase::parse(bad).is_err(), "{bad}");
    }
    for good in [
        "https://discord.com/api/webhooks/123/abc-DEF_9",
        "https://canary.discord.com/api/v10/webhooks/123/abc-DEF_9/",
        "http://127.0.0.1:9/api/webhooks/123/abc-DEF_9?wait=true",
    ] {
        let hook = WebhookUrl::parse(good).expect(good);
        assert_eq!(hook.id(), 123);
        assert_eq!(hook, WebhookUrl::new(123, "abc-DEF_9").expect("new"));
    }
    for bad in [
        "https://discord.com/api/webhooks/123",
        "https://discord.com/api/webhooks/123/abc/extra",
        "https://discord.com/webhooks/123/abc",
        "discord.com/api/webhooks/123/abc",
        "https://discord.com/api/webhooks/123/a%20b",
    ] {
        assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
    }
}
