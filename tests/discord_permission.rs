//! An `acp` agent's permission request on Discord (issue 26): the concern's message carries
//! Allow once / Allow for the session / Reject buttons in place of Resolve; a press is the
//! same `/resolve <concern> <answer>` by the presser, checked by the core like any command
//! (a member without the reviewer role changes nothing), and the buttons are disabled once
//! it is answered.

use overlord::protocol::model::{ConcernId, ConcernStatus};
use serde_json::Value;

use crate::common::agent;
use crate::discord_bridge::{alice, mallory, Fixture, Setup, CONCERNS, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_concern_is_answered_with_its_buttons_on_discord() {
    let fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    // As the supervisor raises it for the agent.
    let r = fx
        .submit(
            agent("implementer-1"),
            "/raise --severity warning --category permission --to human \"implementer-1 asks to run `rm -rf build/`\"",
        )
        .await;
    assert!(r.ok, "{}", r.message);
    let post = fx
        .post_to(CONCERNS, "the permission concern's message")
        .await;
    let buttons = post.body["components"][0]["components"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = buttons
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "ack:C-1",
            "permit:C-1:allow_once",
            "permit:C-1:allow_always",
            "permit:C-1:reject_once",
            "assign:C-1"
        ]
    );
    let labels: Vec<&str> = buttons
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"Allow for the session"), "{labels:?}");
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

    // Someone without the reviewer role: refused, the request still waits.
    let sent = fx
        .fake
        .send_button(&mallory(), mid, "permit:C-1:allow_once")
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    let said = |b: &Value| b["data"]["content"].as_str().unwrap_or("").to_string();
    assert!(!said(&cb.body).contains("C-1 resolved"), "{:?}", cb.body);
    assert_eq!(
        fx.state().await.concerns[&ConcernId(1)].status,
        ConcernStatus::Open
    );
    // A made-up answer is not a command.
    let sent = fx.fake.send_button(&alice(), mid, "permit:C-1:maybe").await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert!(said(&cb.body).contains("unknown button"), "{:?}", cb.body);

    // Alice allows it for the session.
    let sent = fx
        .fake
        .send_button(&alice(), mid, "permit:C-1:allow_always")
        .await;
    let cb = fx.fake.callback(&sent, WAIT).await;
    assert_eq!(said(&cb.body), "C-1 resolved", "{:?}", cb.body);
    let s = fx
        .until("the answer", |s| {
            s.concerns[&ConcernId(1)].status == ConcernStatus::Resolved
        })
        .await;
    let c = &s.concerns[&ConcernId(1)];
    assert_eq!(c.resolved_by.as_deref(), Some("discord:alice(4242)"));
    assert_eq!(c.resolution.as_deref(), Some("allow for the session"));
    // The message is edited: the answers disabled.
    let route = format!("/channels/{CONCERNS}/messages/{mid}");
    let edit = fx
        .fake
        .next_request("the edit", WAIT, |r| {
            r.method == "PATCH" && r.route() == route
        })
        .await;
    for b in edit.body["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["custom_id"].as_str().unwrap().starts_with("permit:"))
    {
        assert_eq!(b["disabled"], true, "{b}");
    }
}
