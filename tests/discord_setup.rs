//! Setting the bridge up: `overlord-tui init` writes a commented `[discord]` section, and
//! `overlord-tui discord --check` tries the configuration and the token against the fake
//! Discord and says what is wrong (exit 1) or that it looks right (exit 0).

use serde_json::json;

use crate::common::fake_discord::*;
use crate::common::*;

const ROLE: u64 = 77;
const GOOD: u64 = 9_100_000_000_000_001;
const MISSING: u64 = 9_100_000_000_000_002;
const MUTED: u64 = 9_100_000_000_000_003;

fn config(repo: &Repo, roles: &str, channels: &str) {
    repo.write(
        ".overlord/config.toml",
        &format!(
            "[discord]\nguild_id = \"{GUILD_ID}\"\nreviewer_role_ids = [{roles}]\n[discord.channels]\n{channels}"
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_commented_discord_section_and_check_says_what_is_wrong() {
    let repo = Repo::new();
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(repo.path().join(".overlord/config.toml")).unwrap();
    for line in [
        "# [discord]",
        "# guild_id = ",
        "# reviewer_role_ids = []",
        "# [discord.channels]",
        "# concerns = ",
        "OVERLORD_DISCORD_TOKEN",
        "overlord-tui discord --check",
    ] {
        assert!(written.contains(line), "{line} missing from:\n{written}");
    }

    let fake = FakeDiscord::start_with(Options {
        roles: vec![(GUILD_ID, POSTING), (ROLE, 0)],
        missing_channels: vec![MISSING],
        channel_overwrites: vec![(
            MUTED,
            json!([{"id": GUILD_ID.to_string(), "type": 0, "allow": "0",
                "deny": (1u64 << 11).to_string()}]),
        )],
        ..Options::default()
    })
    .await;
    let origin = fake.origin();
    let env = [
        ("OVERLORD_DISCORD_API_BASE", origin.as_str()),
        ("OVERLORD_DISCORD_TOKEN", BOT_TOKEN),
    ];
    // No token at all: which variable to set.
    let o = repo.run_env(&["discord", "--check"], &env[..1]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("$OVERLORD_DISCORD_TOKEN"),
        "{}",
        stderr(&o)
    );

    // A missing channel, one where the bot may not send, an unknown role.
    config(
        &repo,
        &format!("\"{ROLE}\", \"99\""),
        &format!("concerns = \"{GOOD}\"\napprovals = \"{MISSING}\"\nupdates = \"{MUTED}\"\n"),
    );
    let o = repo.run_env(&["discord", "--check"], &env);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{out}"))
            .to_string()
    };
    assert!(line("is the bot").starts_with("ok"), "{out}");
    assert!(
        line(&format!("reviewer role {ROLE} ")).starts_with("ok"),
        "{out}"
    );
    assert!(line("reviewer role 99").starts_with("PROBLEM"), "{out}");
    assert!(line(&format!("channel {GOOD}")).starts_with("ok"), "{out}");
    assert!(
        line(&format!("channel {MISSING}")).starts_with("PROBLEM"),
        "{out}"
    );
    assert!(
        line(&format!("channel {MISSING}")).contains("approvals"),
        "{out}"
    );
    let muted = line(&format!("channel {MUTED}"));
    assert!(
        muted.starts_with("PROBLEM") && muted.contains("Send Messages"),
        "{out}"
    );
    assert!(!muted.contains("View Channel"), "{out}");
    assert!(stderr(&o).contains("3 problem(s)"), "{}", stderr(&o));
    assert!(!out.contains(BOT_TOKEN) && !stderr(&o).contains(BOT_TOKEN));

    // Fixed: exit 0.
    config(
        &repo,
        &format!("\"{ROLE}\""),
        &format!("concerns = \"{GOOD}\"\n"),
    );
    let o = repo.run_env(&["discord", "--check"], &env);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("looks right"), "{}", stdout(&o));

    // A token Discord refuses: named, exit 1, no owner needed for any of it.
    let o = repo.run_env(
        &["discord", "--check"],
        &[
            ("OVERLORD_DISCORD_API_BASE", origin.as_str()),
            ("OVERLORD_DISCORD_TOKEN", "not.the-bots.token"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("OVERLORD_DISCORD_TOKEN"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("401"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("not.the-bots.token"));
}
