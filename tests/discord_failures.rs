//! A bridge that fails loudly, against the fake Discord: a token Discord refuses (gateway
//! close 4004, or 401 on `GET /gateway` at start) ends `overlord-tui discord` with an error
//! naming `OVERLORD_DISCORD_TOKEN`, and raises a concern in an owner that runs the bridge.

use std::time::Duration;

use crate::common::fake_discord::*;
use crate::common::*;
use crate::discord_bridge::{spawn, CONCERNS, WAIT};

/// A repository with a `[discord]` section, and the environment pointing the binary at `fake`.
fn setup(fake: &FakeDiscord, enabled: bool) -> (Repo, Vec<(&'static str, String)>) {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    repo.write(
        ".overlord/config.toml",
        &format!(
            "[discord]\nenabled = {enabled}\nguild_id = \"{GUILD_ID}\"\ncoalesce_ms = 30\n\
             [discord.channels]\nconcerns = \"{CONCERNS}\"\n"
        ),
    );
    let env = vec![
        ("OVERLORD_DISCORD_API_BASE", fake.origin()),
        ("OVERLORD_DISCORD_TOKEN", BOT_TOKEN.to_string()),
    ];
    (repo, env)
}

/// Starts `serve` and waits until its socket answers.
async fn owner(repo: &Repo, env: &[(&str, String)]) -> crate::discord_bridge::Child {
    let mut owner = spawn(repo, &["serve"], env);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = repo.run(&["cmd", "/status"]);
        if status.status.code() == Some(0) && repo.path().join(".overlord/overlord.sock").exists() {
            return owner;
        }
        // An owner that died says why; one that hangs shows what `cmd` got.
        if let Ok(Some(exit)) = owner.0.try_wait() {
            let (_, err) = owner.finish();
            panic!("serve exited ({exit}) before answering: {err}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not start within {WAIT:?}; `cmd /status` said: {}{}",
            stdout(&status),
            String::from_utf8_lossy(&status.stderr)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn refused_token_fake() -> Options {
    Options {
        bot_token: "another.token.than-the-bridges".into(),
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_gateway_refuses_with_4004_ends_the_headless_bridge_with_a_clear_error() {
    let fake = FakeDiscord::start_with(refused_token_fake()).await;
    let (repo, env) = setup(&fake, false);
    let serve = owner(&repo, &[]).await;
    let bridge = spawn(&repo, &["discord"], &env);
    let (code, err) = bridge.finish();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("OVERLORD_DISCORD_TOKEN"), "{err}");
    assert!(err.contains("4004"), "{err}");
    assert!(!err.contains(BOT_TOKEN), "{err}");
    assert!(fake.stats().identifies >= 1, "{:?}", fake.stats());
    serve.interrupt();
    assert_eq!(serve.finish().0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_on_get_gateway_at_start_ends_the_headless_bridge_with_a_clear_error() {
    let fake = FakeDiscord::start().await;
    fake.fail_next("GET /api/v10/gateway", 1_000, Fault::Status(401));
    let (repo, env) = setup(&fake, false);
    let serve = owner(&repo, &[]).await;
    let bridge = spawn(&repo, &["discord"], &env);
    let (code, err) = bridge.finish();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("OVERLORD_DISCORD_TOKEN"), "{err}");
    assert!(err.contains("401"), "{err}");
    // It did not fall back to retrying elsewhere: no gateway connection was ever made.
    assert_eq!(fake.stats().connections, 0, "{:?}", fake.stats());
    serve.interrupt();
    assert_eq!(serve.finish().0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_in_the_owner_becomes_a_critical_concern_and_the_owner_runs_on() {
    let fake = FakeDiscord::start_with(refused_token_fake()).await;
    let (repo, env) = setup(&fake, true);
    let serve = owner(&repo, &env).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let o = repo.run(&["status", "--json"]);
        let out = stdout(&o);
        if out.contains("the Discord bridge stopped") {
            assert!(out.contains("OVERLORD_DISCORD_TOKEN"), "{out}");
            assert!(out.contains("4004"), "{out}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no concern: {out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The owner still answers.
    assert_eq!(repo.run(&["cmd", "/status"]).status.code(), Some(0));
    serve.interrupt();
    let (code, err) = serve.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_trace_level_the_log_holds_no_interaction_token_and_only_its_owner_may_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeDiscord::start().await;
    let (repo, mut env) = setup(&fake, false);
    env.push(("OVERLORD_LOG", "trace".to_string()));
    let serve = owner(&repo, &[]).await;
    let bridge = spawn(&repo, &["discord"], &env);
    fake.wait_ready(WAIT).await;
    let sent = fake
        .send_slash(&Invoker::member(4242, "alice", &[5]), "status", &[])
        .await;
    fake.callback(&sent, WAIT).await;
    let auto = fake
        .send_autocomplete(&Invoker::dm(4343, "bob"), "ack", &[], ("concern", "C"))
        .await;
    fake.callback(&auto, WAIT).await;
    // Through the owner's socket too, a stranger's unparseable command is audited.
    let bad = fake
        .send_slash(
            &Invoker::member(6666, "mallory", &[5]),
            "ack",
            &[Opt::Str("concern", "banana".into())],
        )
        .await;
    fake.callback(&bad, WAIT).await;
    let deadline = std::time::Instant::now() + WAIT;
    let commands = repo.path().join(".overlord/audit/commands.jsonl");
    while !std::fs::read_to_string(&commands)
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("\"user_id\":\"6666\"") && l.contains("banana"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the malformed /ack was not audited"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bridge.interrupt();
    let (code, err) = bridge.finish();
    assert_eq!(code, Some(0), "{err}");
    serve.interrupt();
    assert_eq!(serve.finish().0, Some(0));
    let path = repo.path().join(".overlord/logs/overlord.log");
    let log = std::fs::read_to_string(&path).unwrap();
    // The bridge logged (the command it took) but no interaction token is there.
    assert!(log.contains("discord"), "{log}");
    for token in [&sent.token, &auto.token] {
        assert!(
            !log.contains(token.as_str()),
            "an interaction token is in the log"
        );
    }
    assert!(!log.contains(BOT_TOKEN));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}
