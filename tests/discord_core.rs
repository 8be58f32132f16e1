//! The Discord side of the core: who may command from Discord is decided in the core (by the
//! command's origin), not only in the bot; a refused attempt is in the audit trail; the bridge
//! records which message shows a concern.

use overlord::config::{Config, DiscordConfig, Snowflake};
use overlord::core::Core;
use overlord::protocol::{parse, Origin, RejectCode};

use crate::common::*;

fn discord(user_id: &str, roles: &[&str]) -> Origin {
    Origin::Discord {
        user_id: user_id.into(),
        name: format!("user{user_id}"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn core_with_discord(repo: &Repo) -> Core {
    let ws = repo.workspace();
    ws.init().expect("init");
    let config = Config {
        discord: DiscordConfig {
            reviewer_role_ids: vec![Snowflake("500".into())],
            allowed_user_ids: vec![Snowflake("42".into())],
            ..DiscordConfig::default()
        },
        ..Config::default()
    };
    Core::open(&ws, &config).expect("open core")
}

#[test]
fn only_reviewers_and_allowed_users_command_from_discord_and_refusals_are_recorded() {
    let repo = Repo::new();
    let mut core = core_with_discord(&repo);
    run_as(
        &mut core,
        agent("implementer-1"),
        "/raise --severity warning --category spec_ambiguity Is it plural?",
    );
    // A member with the reviewer role, and an allow-listed user with no role.
    let r = run_as(&mut core, discord("7", &["123", "500"]), "/ack C-1");
    assert!(r.ok, "{}", r.message);
    let r = run_as(
        &mut core,
        discord("42", &[]),
        "/resolve C-1 fixed in the spec",
    );
    assert!(r.ok, "{}", r.message);
    // Anyone else is refused, for queries too, and nothing changes.
    for line in ["/status", "/pause all", "/save"] {
        let msg = rejected_as(&mut core, discord("9", &["123"]), line);
        assert!(msg.contains("may not command Overlord"), "{msg}");
    }
    let r = run_as(&mut core, discord("9", &[]), "/status");
    assert_eq!(r.error.map(|e| e.code), Some(RejectCode::Unauthorized));
    // The attempt is in the audit trail, with who tried.
    let text = std::fs::read_to_string(repo.path().join(".overlord/audit/commands.jsonl")).unwrap();
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"user_id\":\"9\""))
        .collect();
    assert_eq!(refused.len(), 4, "{text}");
    assert!(refused[1].contains("\"cmd\":\"pause\""), "{}", refused[1]);
    let responses =
        std::fs::read_to_string(repo.path().join(".overlord/audit/responses.jsonl")).unwrap();
    assert_eq!(responses.matches("unauthorized").count(), 4, "{responses}");

    // With no [discord] configuration nobody commands from Discord.
    drop(core);
    let mut plain = repo.reopen();
    let msg = rejected_as(&mut plain, discord("42", &["500"]), "/status");
    assert!(msg.contains("may not command"), "{msg}");
}

#[test]
fn the_bridge_links_a_concern_to_its_message_and_nobody_else_can() {
    let repo = Repo::new();
    let mut core = repo.core();
    run_as(
        &mut core,
        agent("implementer-1"),
        "/raise --severity critical --category security Token in the logs",
    );
    let link = parse("/link C-1 1234567890").unwrap();
    assert_eq!(link.to_string(), "/link C-1 1234567890");
    let r = core.execute(Origin::System, link.clone());
    assert!(r.ok, "{}", r.message);
    let c = &core.state().concerns[&overlord::protocol::model::ConcernId(1)];
    assert_eq!(c.discord_message_id.as_deref(), Some("1234567890"));
    // It survives a restart (it is an event).
    drop(core);
    let mut core = repo.reopen();
    let c = &core.state().concerns[&overlord::protocol::model::ConcernId(1)];
    assert_eq!(c.discord_message_id.as_deref(), Some("1234567890"));
    // Humans and agents cannot; bad ids and unknown concerns are refused.
    let msg = rejected(&mut core, "/link C-1 99");
    assert!(msg.contains("bridge"), "{msg}");
    let msg = rejected_as(&mut core, agent("implementer-1"), "/link C-1 99");
    assert!(msg.contains("bridge"), "{msg}");
    let r = core.execute(Origin::System, parse("/link C-1 12ab").unwrap());
    assert!(
        !r.ok && r.message.contains("not a Discord message id"),
        "{}",
        r.message
    );
    let r = core.execute(Origin::System, parse("/link C-9 12").unwrap());
    assert!(!r.ok && r.message.contains("C-9"), "{}", r.message);
}

#[test]
fn the_discord_section_is_checked_where_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[discord]\nguild_id = \"123\"\nreviewer_role_ids = [\"1\", 22]\ndaily_summary_at = \"08:30\"\n[discord.channels]\nconcerns = \"77\"\n",
    )
    .unwrap();
    let (c, w) = Config::load(&path, "config.toml");
    assert!(w.is_none(), "{w:?}");
    assert_eq!(c.discord.reviewer_role_ids.len(), 2);
    assert_eq!(c.discord.channels.concerns, Some(Snowflake("77".into())));
    assert_eq!(c.discord.token_env, "OVERLORD_DISCORD_TOKEN");
    for (bad, says) in [
        ("[discord]\nguild_id = \"my-server\"\n", "not a Discord id"),
        (
            "[discord]\nallowed_user_ids = [\"@alice\"]\n",
            "not a Discord id",
        ),
        (
            "[discord]\ndaily_summary_at = \"25:00\"\n",
            "not a time of day",
        ),
        (
            "[discord]\ndaily_summary_at = \"8:30\"\n",
            "not a time of day",
        ),
        ("[discord]\ntoken = \"abc\"\n", "unknown field"),
    ] {
        std::fs::write(&path, bad).unwrap();
        let (c, w) = Config::load(&path, "config.toml");
        let w = w.unwrap_or_else(|| panic!("{bad} should warn"));
        assert!(w.message.contains(says), "{bad}: {w}");
        assert!(w.line >= 2, "{w}");
        assert_eq!(c, Config::default());
    }
}
