//! The durable outbox against the fake Discord: what happened while the bridge (or the owner
//! it runs in) was down is posted once when it comes back, in order and coalesced, from the
//! audit trail and the bridge's ledger in the store; an approval decided after a restart edits
//! the message posted before it.

use std::time::Duration;

use overlord::discord::link::CoreLink;
use overlord::discord::{self, ApiBase, BotToken, Credentials};
use serde_json::Value;

use crate::common::fake_discord::*;
use crate::common::*;
use crate::discord_bridge::{
    config, processes, spawn, Fixture, Setup, APPROVALS, CONCERNS, HEALTH, WAIT,
};

/// Stops the fixture's bridge (its tasks end) and starts a new one on the same core, store
/// and fake Discord.
async fn restart_bridge(fx: &mut Fixture, down: impl std::future::Future<Output = ()>) {
    let _ = fx.stop.send(true);
    if let Some(b) = fx.bridge.take() {
        b.join().await;
    }
    down.await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    fx.stop = stop;
    let credentials = Credentials {
        base: ApiBase::parse(&fx.fake.origin()).expect("base"),
        token: Some(BotToken::new(BOT_TOKEN).expect("token")),
        webhook: None,
    };
    let db = fx.repo.workspace().store_paths().db;
    fx.bridge = Some(
        discord::start(
            &config(),
            credentials,
            CoreLink::Local(fx.handle.clone()),
            Some(&db),
            stop_rx,
        )
        .expect("the bridge starts again"),
    );
}

fn posts(fake: &FakeDiscord, channel: u64) -> Vec<Recorded> {
    let route = format!("/channels/{channel}/messages");
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.route() == route && r.status == 200)
        .collect()
}

fn titles(posts: &[Recorded]) -> Vec<String> {
    posts
        .iter()
        .flat_map(|p| p.body["embeds"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["title"].as_str().map(str::to_string))
        .collect()
}

fn contents(posts: &[Recorded]) -> String {
    posts
        .iter()
        .filter_map(|p| p.body["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until `f` holds of what the fake received.
async fn until_fake(fake: &FakeDiscord, what: &str, f: impl Fn(&FakeDiscord) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f(fake) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {what}; seen: {:#?}",
            fake.requests()
                .iter()
                .map(|r| format!("{} {} {}", r.method, r.path, r.body))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn buttons_disabled(message: &Value) -> Vec<bool> {
    message["components"][0]["components"]
        .as_array()
        .map(|b| {
            b.iter()
                .map(|b| b["disabled"].as_bool().unwrap_or(false))
                .collect()
        })
        .unwrap_or_default()
}

fn count(titles: &[String], prefix: &str) -> usize {
    titles.iter().filter(|t| t.starts_with(prefix)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_happened_while_the_bridge_was_stopped_is_posted_once_and_a_later_decision_edits_the_old_message(
) {
    let mut fx = Fixture::start(Setup::default()).await;
    fx.fake.wait_ready(WAIT).await;
    // Before the restart: A-1 is posted live.
    let r = fx
        .submit(
            agent("designer-1"),
            "/request design_spec docs/A.md --from designer \"the first spec\"",
        )
        .await;
    assert!(r.ok, "{}", r.message);
    let a1 = fx.post_to(APPROVALS, "A-1").await;
    let a1_title = a1.body["embeds"][0]["title"].as_str().unwrap().to_string();
    assert!(a1_title.starts_with("A-1"), "{a1_title}");
    until_fake(&fx.fake, "A-1 held", |f| {
        !f.messages_in(APPROVALS).is_empty()
    })
    .await;
    let a1_message = fx.fake.messages_in(APPROVALS)[0].0;

    // The bridge is down while a critical concern and an approval are raised.
    let handle = fx.handle.clone();
    restart_bridge(&mut fx, async move {
        let r = handle
            .submit(
                agent("implementer-1"),
                overlord::protocol::parse(
                    "/raise --severity critical --category security --to human \"API key in config/prod.env\"",
                )
                .unwrap(),
            )
            .await;
        assert!(r.ok, "{}", r.message);
        let r = handle
            .submit(
                agent("designer-1"),
                overlord::protocol::parse(
                    "/request design_spec docs/B.md --from designer \"the second spec\"",
                )
                .unwrap(),
            )
            .await;
        assert!(r.ok, "{}", r.message);
    })
    .await;
    until_fake(&fx.fake, "C-1 and A-2 caught up", |f| {
        count(&titles(&posts(f, CONCERNS)), "C-1") == 1
            && count(&titles(&posts(f, APPROVALS)), "A-2") == 1
            && contents(&posts(f, HEALTH)).contains("critical concern C-1")
    })
    .await;
    // The link of C-1 reaches the core, as for a live alert.
    fx.until("C-1 linked", |s| {
        s.concerns
            .values()
            .any(|c| c.id.0 == 1 && c.discord_message_id.is_some())
    })
    .await;

    // Another restart: nothing is posted again; A-1, decided now, is edited in place.
    restart_bridge(&mut fx, async {}).await;
    fx.fake.wait_ready(WAIT).await;
    let r = fx.submit(human(), "/approve A-1").await;
    assert!(r.ok, "{}", r.message);
    let edit_route = format!("/channels/{APPROVALS}/messages/{a1_message}");
    let edit = fx
        .fake
        .next_request("the edit of A-1", WAIT, |r| {
            r.method == "PATCH" && r.route() == edit_route
        })
        .await;
    assert_eq!(
        buttons_disabled(&edit.body),
        vec![true, true],
        "{}",
        edit.body
    );
    assert!(
        edit.body["embeds"][0]["fields"]
            .to_string()
            .contains("approved by"),
        "{}",
        edit.body
    );
    // A concern raised now is the marker that the third bridge's catch-up is over.
    fx.raise("warning", "after the second restart").await;
    until_fake(&fx.fake, "C-2 posted", |f| {
        count(&titles(&posts(f, CONCERNS)), "C-2") == 1
    })
    .await;
    let concern_titles = titles(&posts(&fx.fake, CONCERNS));
    let approval_titles = titles(&posts(&fx.fake, APPROVALS));
    assert_eq!(count(&concern_titles, "C-1"), 1, "{concern_titles:?}");
    assert_eq!(count(&approval_titles, "A-1"), 1, "{approval_titles:?}");
    assert_eq!(count(&approval_titles, "A-2"), 1, "{approval_titles:?}");
    assert_eq!(
        contents(&posts(&fx.fake, HEALTH))
            .matches("critical concern C-1")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_raised_while_the_owner_was_stopped_are_posted_once_when_it_starts_again() {
    let (repo, fake, env) = processes("").await;
    repo.write(
        ".overlord/config.toml",
        &format!(
            "[discord]\nenabled = true\nguild_id = \"{GUILD_ID}\"\ncoalesce_ms = 30\n\
             [discord.channels]\nconcerns = \"{CONCERNS}\"\napprovals = \"{APPROVALS}\"\nhealth = \"{HEALTH}\"\n"
        ),
    );
    let owner = spawn(&repo, &["serve"], &env);
    fake.wait_ready(WAIT).await;
    owner.interrupt();
    let (code, err) = owner.finish();
    assert_eq!(code, Some(0), "{err}");

    // No owner: the CLI writes the store itself.
    let o = repo.run(&[
        "cmd",
        "/raise --severity critical --category security --from tester --to human \"a secret in the logs\"",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&[
        "cmd",
        "/request design_spec docs/SPEC.md --from designer \"the spec\"",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(posts(&fake, CONCERNS).is_empty());

    let owner = spawn(&repo, &["serve"], &env);
    until_fake(&fake, "C-1 and A-1 posted", |f| {
        count(&titles(&posts(f, CONCERNS)), "C-1") == 1
            && count(&titles(&posts(f, APPROVALS)), "A-1") == 1
            && contents(&posts(f, HEALTH)).contains("critical concern C-1")
    })
    .await;
    // Once more, with nothing new: a concern raised live is the marker.
    owner.interrupt();
    let (code, err) = owner.finish();
    assert_eq!(code, Some(0), "{err}");
    let owner = spawn(&repo, &["serve"], &env);
    fake.wait_ready(WAIT).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let o = repo.run(&[
            "concern",
            "raise",
            "--severity",
            "info",
            "--category",
            "docs",
            "--from",
            "tester",
            "marker",
        ]);
        if o.status.success() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", stderr(&o));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until_fake(&fake, "C-2 posted", |f| {
        count(&titles(&posts(f, CONCERNS)), "C-2") == 1
    })
    .await;
    assert_eq!(count(&titles(&posts(&fake, CONCERNS)), "C-1"), 1);
    assert_eq!(count(&titles(&posts(&fake, APPROVALS)), "A-1"), 1);
    owner.interrupt();
    let (code, err) = owner.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_bridge_catches_up_with_what_happened_while_its_owner_was_restarting() {
    let (repo, fake, env) = processes("").await;
    repo.write(
        ".overlord/config.toml",
        &format!(
            "[discord]\nguild_id = \"{GUILD_ID}\"\ncoalesce_ms = 30\n\
             [discord.channels]\nconcerns = \"{CONCERNS}\"\napprovals = \"{APPROVALS}\"\n"
        ),
    );
    let serve = |repo: &crate::common::Repo| spawn(repo, &["serve"], &[]);
    let owner = serve(&repo);
    let deadline = std::time::Instant::now() + WAIT;
    while repo.run(&["cmd", "/status"]).status.code() != Some(0)
        || !repo.path().join(".overlord/overlord.sock").exists()
    {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bridge = spawn(&repo, &["discord"], &env);
    fake.wait_ready(WAIT).await;
    owner.interrupt();
    assert_eq!(owner.finish().0, Some(0));
    // While no owner runs, the CLI writes the store itself.
    let o = repo.run(&[
        "cmd",
        "/raise --severity warning --category spec_ambiguity --from tester --to human \"while away\"",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&[
        "cmd",
        "/request design_spec docs/AWAY.md --from designer \"while away\"",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let owner = serve(&repo);
    until_fake(&fake, "C-1 and A-1 caught up", |f| {
        count(&titles(&posts(f, CONCERNS)), "C-1") == 1
            && count(&titles(&posts(f, APPROVALS)), "A-1") == 1
    })
    .await;
    // A live concern after that is posted once too, and nothing twice.
    let o = repo.run(&[
        "concern",
        "raise",
        "--severity",
        "info",
        "--category",
        "docs",
        "--from",
        "tester",
        "marker",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    until_fake(&fake, "C-2 posted", |f| {
        count(&titles(&posts(f, CONCERNS)), "C-2") == 1
    })
    .await;
    assert_eq!(count(&titles(&posts(&fake, CONCERNS)), "C-1"), 1);
    assert_eq!(count(&titles(&posts(&fake, APPROVALS)), "A-1"), 1);
    bridge.interrupt();
    assert_eq!(bridge.finish().0, Some(0));
    owner.interrupt();
    assert_eq!(owner.finish().0, Some(0));
}
