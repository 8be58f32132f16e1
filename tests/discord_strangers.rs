//! What strangers (no reviewer role, not allow-listed) and Discord's limits get from the bot,
//! against the fake Discord: autocomplete leaks nothing and its refusal is audited; a refusal
//! with a slow owner is ephemeral from the first response; an unparseable command from a
//! stranger is audited; two 429s on the interaction answer still leave the user an answer.

use std::time::Duration;

use serde_json::Value;

use crate::common::fake_discord::*;
use crate::discord_bridge::{alice, mallory, Fixture, Setup, WAIT};

fn flags(body: &Value) -> u64 {
    body["data"]["flags"].as_u64().unwrap_or(0)
}

/// Waits until a line of `file` in the audit mirrors satisfies `f`.
async fn audited(fx: &Fixture, file: &str, what: &str, f: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if fx.audit(file).lines().any(&f) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} not in {file}: {}",
            fx.audit(file)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_gives_a_stranger_nothing_and_the_refusal_is_audited() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    fx.raise("critical", "API key for staging is in config/prod.env")
        .await;
    // A member sees it (the bridge's copy of the state follows the events).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let sent = fx
            .fake
            .send_autocomplete(&alice(), "ack", &[], ("concern", "C-"))
            .await;
        let cb = fx.fake.callback(&sent, WAIT).await;
        if cb.body.to_string().contains("prod.env") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", cb.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Neither a guild member without the role nor a user in a DM gets anything.
    for who in [mallory(), Invoker::dm(7777, "eve")] {
        for (command, option) in [
            ("ack", "concern"),
            ("pause", "target"),
            ("rollback", "checkpoint"),
        ] {
            let sent = fx
                .fake
                .send_autocomplete(&who, command, &[], (option, ""))
                .await;
            let cb = fx.fake.callback(&sent, WAIT).await;
            assert_eq!(cb.body["type"], 8, "{}", cb.body);
            assert_eq!(
                cb.body["data"]["choices"],
                serde_json::json!([]),
                "{}",
                cb.body
            );
        }
    }
    // The refusal is in the audit trail, once a minute per user (not once per keystroke).
    audited(&fx, "commands.jsonl", "mallory's autocomplete", |l| {
        l.contains("\"user_id\":\"6666\"") && l.contains("autocomplete of concern")
    })
    .await;
    audited(&fx, "commands.jsonl", "eve's autocomplete", |l| {
        l.contains("\"user_id\":\"7777\"") && l.contains("autocomplete")
    })
    .await;
    let mallory_lines = fx
        .audit("commands.jsonl")
        .lines()
        .filter(|l| l.contains("\"user_id\":\"6666\"") && l.contains("autocomplete"))
        .count();
    assert_eq!(mallory_lines, 1);
    assert!(fx.audit("responses.jsonl").contains("unauthorized"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_with_a_slow_owner_is_ephemeral_from_the_first_response() {
    // answer_within_ms = 0: every answer is deferred, as with an owner slower than that.
    let fx = Fixture::start(Setup {
        answer_within_ms: Some(0),
        ..Setup::default()
    })
    .await;
    fx.fake.wait_ready(WAIT).await;
    let sent = fx
        .fake
        .send_slash(&mallory(), "pause", &[Opt::Str("target", "all".into())])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.body["type"], 5, "{}", cb.body);
    assert_eq!(
        flags(&cb.body) & 64,
        64,
        "the deferral is ephemeral: {}",
        cb.body
    );
    let suffix = format!("/webhooks/{APP_ID}/{}/messages/@original", sent.token);
    let edit = fx
        .fake
        .next_request("the refusal", WAIT, |r| {
            r.method == "PATCH" && r.path.ends_with(&suffix)
        })
        .await;
    assert!(
        edit.body["content"]
            .as_str()
            .unwrap_or("")
            .contains("may not command Overlord"),
        "{}",
        edit.body
    );
    // The message the fake holds (what the channel would show) is ephemeral.
    let original = fx
        .fake
        .messages_in(CHANNEL_ID)
        .into_iter()
        .find(|(_, m)| m["content"].as_str().unwrap_or("").contains("may not"))
        .map(|(_, m)| m);
    if let Some(m) = original {
        assert_eq!(m["flags"].as_u64().unwrap_or(0) & 64, 64, "{m}");
    }
    assert!(!fx.state().await.dispatch_halted);
    // A member's answer with the same slow owner is still public.
    let sent = fx.fake.send_slash(&alice(), "status", &[]).await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(cb.body["type"], 5, "{}", cb.body);
    assert_eq!(flags(&cb.body) & 64, 0, "{}", cb.body);
    // A member's command the core refuses after that public deferral: the refusal comes as
    // a private follow-up and the public placeholder is deleted, never edited into public.
    let sent = fx
        .fake
        .send_slash(&alice(), "ack", &[Opt::Str("concern", "C-99".into())])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(flags(&cb.body) & 64, 0, "{}", cb.body);
    let hook = format!("/webhooks/{APP_ID}/{}", sent.token);
    let followup = fx
        .fake
        .next_request("the private refusal", WAIT, |r| {
            r.method == "POST" && r.path.ends_with(&hook)
        })
        .await;
    assert_eq!(followup.status, 200, "{}", followup.body);
    assert_eq!(followup.body["flags"].as_u64().unwrap_or(0) & 64, 64);
    assert!(followup.body["content"]
        .as_str()
        .unwrap_or("")
        .contains("⚠️"));
    let original = format!("{hook}/messages/@original");
    let deleted = fx
        .fake
        .next_request("the placeholder deleted", WAIT, |r| {
            r.method == "DELETE" && r.path.ends_with(&original)
        })
        .await;
    assert_eq!(deleted.status, 204);
    assert!(!fx
        .fake
        .requests()
        .iter()
        .any(|r| r.method == "PATCH" && r.path.ends_with(&original)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparseable_command_from_a_stranger_is_refused_privately_and_audited() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    let sent = fx
        .fake
        .send_slash(&mallory(), "ack", &[Opt::Str("concern", "banana".into())])
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(flags(&cb.body) & 64, 64, "{}", cb.body);
    audited(&fx, "commands.jsonl", "mallory's malformed /ack", |l| {
        l.contains("\"user_id\":\"6666\"") && l.contains("banana")
    })
    .await;
    // The free-form /overlord line too.
    let sent = fx
        .fake
        .send_slash(
            &Invoker::dm(7777, "eve"),
            "overlord",
            &[Opt::Str("line", "/frobnicate everything".into())],
        )
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(flags(&cb.body) & 64, 64, "{}", cb.body);
    audited(&fx, "commands.jsonl", "eve's unknown command", |l| {
        l.contains("\"user_id\":\"7777\"") && l.contains("frobnicate")
    })
    .await;
    audited(&fx, "responses.jsonl", "a refusal", |l| {
        l.contains("unauthorized") || l.contains("usage")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_429s_on_the_interaction_answer_still_leave_the_user_an_answer() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    fx.fake.fail_next(
        "/callback",
        2,
        Fault::RateLimited {
            retry_after: 1.6,
            global: false,
        },
    );
    let sent = fx.fake.send_slash(&alice(), "status", &[]).await;
    let route = format!("/channels/{CHANNEL_ID}/messages");
    let answer = fx
        .fake
        .next_request("the answer in the channel", WAIT, |r| {
            r.method == "POST" && r.route() == route && r.status == 200
        })
        .await;
    assert_eq!(
        answer.body["embeds"][0]["title"], "Overlord status",
        "{}",
        answer.body
    );
    // Never past Discord's 3 seconds: no 10062 from a late answer.
    let late: Vec<u16> = fx
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.contains(&format!("/interactions/{}/", sent.id)))
        .map(|r| r.status)
        .collect();
    assert!(!late.contains(&404), "{late:?}");
    assert!(late.iter().filter(|s| **s == 429).count() >= 1, "{late:?}");
    // A single 429 is waited out on the interaction itself.
    fx.fake.fail_next(
        "/callback",
        1,
        Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        },
    );
    let sent = fx.fake.send_slash(&alice(), "status", &[]).await;
    let suffix = format!("/interactions/{}/{}/callback", sent.id, sent.token);
    let ok = fx
        .fake
        .next_request("the retried answer", WAIT, |r| {
            r.path.ends_with(&suffix) && r.status == 204
        })
        .await;
    assert_eq!(ok.body["type"], 4, "{}", ok.body);
}
