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

#[cfg(feature = "discord")]
mod slash {
    use overlord::discord::slash::{self, Place};
    use overlord::protocol::grammar::COMMANDS;
    use overlord::protocol::model::ConcernId;
    use overlord::protocol::{Command, Target};

    fn v(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_human_command_has_a_slash_command_and_discord_accepts_their_shape() {
        assert_eq!(slash::missing(), Vec::<&str>::new());
        let cmds = slash::commands();
        for spec in COMMANDS.iter().filter(|c| c.human) {
            assert!(
                cmds.iter().any(|c| c.name == spec.name),
                "/{} has no slash command",
                spec.name
            );
        }
        // Agents' own calls are not offered on Discord.
        assert!(!cmds.iter().any(|c| c.name == "raise" || c.name == "link"));
        assert!(cmds.iter().any(|c| c.name == "overlord"));
        for c in &cmds {
            // Discord: lowercase names of 1–32, descriptions of 1–100, ≤ 25 options, required
            // options first, ≤ 25 choices.
            assert!(
                (1..=32).contains(&c.name.len()) && c.name == c.name.to_lowercase(),
                "{}",
                c.name
            );
            assert!(
                (1..=100).contains(&c.description.chars().count()),
                "{}",
                c.name
            );
            assert!(c.options.len() <= 25);
            let first_optional = c.options.iter().position(|o| !o.required);
            if let Some(i) = first_optional {
                assert!(
                    c.options[i..].iter().all(|o| !o.required),
                    "/{}: required options must come first",
                    c.name
                );
            }
            for o in &c.options {
                assert!(o.choices.len() <= 25 && (1..=100).contains(&o.description.len()));
            }
        }
    }

    #[test]
    fn options_become_the_same_command_the_console_sends() {
        type Case = (&'static str, Vec<(String, String)>, Command);
        let cases: Vec<Case> = vec![
            ("status", v(&[]), Command::Status),
            (
                "ack",
                v(&[("concern", "C-3")]),
                Command::Ack {
                    concern: ConcernId(3),
                },
            ),
            (
                "resolve",
                v(&[
                    ("concern", "C-1"),
                    ("note", "fixed: \"quoted\" --and a\nnew line"),
                ]),
                Command::Resolve {
                    concern: ConcernId(1),
                    note: Some("fixed: \"quoted\" --and a\nnew line".into()),
                },
            ),
            (
                "assign",
                v(&[
                    ("agent", "implementer-2"),
                    ("text", "take it"),
                    ("concern", "C-4"),
                ]),
                Command::Assign {
                    agent: "implementer-2".into(),
                    concern: Some(ConcernId(4)),
                    text: "take it".into(),
                },
            ),
            (
                "approve",
                v(&[
                    ("target", "A-2"),
                    ("conditions", "keep the API"),
                    ("note", "ok"),
                ]),
                Command::Approve {
                    target: "A-2".into(),
                    conditions: Some("keep the API".into()),
                    note: Some("ok".into()),
                },
            ),
            (
                "reject",
                v(&[("target", "A-2"), ("reason", "needs error cases")]),
                Command::Reject {
                    target: "A-2".into(),
                    reason: "needs error cases".into(),
                },
            ),
            (
                "pause",
                v(&[("target", "all")]),
                Command::Pause {
                    target: Target::All,
                },
            ),
            (
                "rollback",
                v(&[("checkpoint", "20261121-001"), ("branch", "try-again")]),
                Command::Rollback {
                    checkpoint: "20261121-001".into(),
                    branch: Some("try-again".into()),
                    reason: None,
                },
            ),
            (
                "help",
                v(&[("command", "save")]),
                Command::Help {
                    command: Some("save".into()),
                },
            ),
            (
                "overlord",
                v(&[("line", "resume implementer-1")]),
                Command::Resume {
                    target: Target::Agent("implementer-1".into()),
                },
            ),
        ];
        for (name, values, want) in cases {
            let (line, got) =
                slash::to_command(name, &values).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, want, "/{name} → {line}");
        }
        // Bad input: a clear error, never a panic.
        let e = slash::to_command("ack", &v(&[])).unwrap_err();
        assert!(e.contains("needs concern"), "{e}");
        let e = slash::to_command("ack", &v(&[("concern", "banana")])).unwrap_err();
        assert!(e.contains("banana") || e.contains("concern"), "{e}");
        let e = slash::to_command("nope", &v(&[])).unwrap_err();
        assert!(e.contains("unknown command"), "{e}");
        let e = slash::to_command("overlord", &v(&[("line", "  ")])).unwrap_err();
        assert!(e.contains("needs a line"), "{e}");
        // A word with spaces is quoted, so it cannot smuggle in flags.
        let line = slash::to_line("ack", &v(&[("concern", "C-1 --branch x")])).unwrap();
        assert_eq!(line, "/ack \"C-1 --branch x\"");
        assert!(slash::command("rollback")
            .unwrap()
            .options
            .iter()
            .any(|o| o.place == Place::Flag("branch")));
    }

    #[test]
    fn autocomplete_offers_the_ids_the_state_has_with_readable_labels() {
        let state = crate::tui_panes::session();
        let got = slash::autocomplete(overlord::protocol::ids::IdKind::Concern, "", &state);
        assert!(got.len() >= 3, "{got:?}");
        assert!(got.iter().all(|(label, v)| label.starts_with(v.as_str())));
        assert!(
            got.iter()
                .any(|(l, _)| l.contains("warning · Should sub()")),
            "{got:?}"
        );
        // Control characters in an agent's summary never reach Discord's label.
        assert!(
            got.iter().all(|(l, _)| !l.chars().any(char::is_control)),
            "{got:?}"
        );
        let agents =
            slash::autocomplete(overlord::protocol::ids::IdKind::AgentOrAll, "impl", &state);
        assert_eq!(
            agents.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
            ["implementer-1", "implementer-2"]
        );
        let all = slash::autocomplete(overlord::protocol::ids::IdKind::AgentOrAll, "al", &state);
        assert_eq!(all[0].1, "all");
    }
}

#[cfg(feature = "discord")]
mod alerts {
    use overlord::discord::alerts::{self, Alert, Channel};
    use overlord::protocol::model::ConcernId;

    fn routed() -> Vec<Alert> {
        let s = crate::tui_panes::script();
        s.log
            .events
            .iter()
            .flat_map(|e| alerts::route(e, &s.state))
            .collect()
    }

    #[test]
    fn events_route_to_their_channels() {
        let all = routed();
        // Every concern is posted; the critical one is also a health line.
        for id in 1..=3 {
            assert!(all.contains(&Alert::PostConcern(ConcernId(id))), "{all:?}");
        }
        assert!(
            all.iter().any(|a| matches!(a, Alert::Line(Channel::Health, l) if l.contains("critical concern C-2"))),
            "{all:?}"
        );
        assert!(all.iter().any(|a| matches!(a, Alert::PostApproval(_))));
        // The checkpoint is a project update with its QA run.
        assert!(
            all.iter()
                .any(|a| matches!(a, Alert::Line(Channel::Updates, l)
                if l.contains("checkpoint/20261121-001 saved (QA-1"))),
            "{all:?}"
        );
    }

    #[test]
    fn metric_alerts_their_clearing_and_the_digest_are_health_lines() {
        use overlord::protocol::model::AlertLevel;
        use overlord::protocol::{Event, EventKind};
        let s = crate::tui_panes::script();
        let line = |kind: EventKind| {
            let e = Event {
                seq: 99,
                at: "2026-11-21T10:40:00.000Z".into(),
                command_seq: None,
                actor: "metrics".into(),
                kind,
            };
            alerts::route(&e, &s.state)
        };
        let health = |l: &str| vec![Alert::Line(Channel::Health, l.to_string())];
        assert_eq!(
            line(EventKind::MetricAlert {
                level: AlertLevel::Warn,
                key: "coverage".into(),
                message: "coverage 82.0% is within 5 points of 80.0%".into(),
                concern: None,
            }),
            health("🟡 WARN `coverage`: coverage 82.0% is within 5 points of 80.0%")
        );
        assert_eq!(
            line(EventKind::MetricAlert {
                level: AlertLevel::Alert,
                key: "budget".into(),
                message: "spent $12.00 in the 24h window, over the $10.00 budget".into(),
                concern: Some(ConcernId(7)),
            }),
            health(
                "🟠 ALERT `budget`: spent $12.00 in the 24h window, over the $10.00 budget (C-7)"
            )
        );
        assert_eq!(
            line(EventKind::MetricAlertCleared {
                key: "budget".into()
            }),
            health("🟢 cleared `budget`")
        );
        assert_eq!(
            line(EventKind::DailyReportWritten {
                date: "2026-11-21".into(),
                path: "reports/DAILY_2026-11-21.md".into(),
                through_seq: 40,
                commit: Some("0123456789abcdef".into()),
                summary: "Daily digest 2026-11-21: 1 merge".into(),
            }),
            health(
                "📊 Daily digest 2026-11-21: 1 merge — reports/DAILY_2026-11-21.md (0123456789)"
            )
        );
        assert_eq!(
            line(EventKind::DispatchHalted {
                reason: Some("CRITICAL alert audit_chain: the audit trail failed verification".into())
            }),
            health("⏸ dispatch paused by metrics (kill switch): CRITICAL alert audit_chain: the audit trail failed verification")
        );
    }

    #[test]
    fn agent_text_cannot_ping_or_overflow_and_lines_pack_into_few_messages() {
        let mut s = crate::tui_panes::session();
        let c = s.concerns.get_mut(&ConcernId(1)).unwrap();
        c.summary = format!("@everyone <@&123> {}", "x".repeat(10_000));
        c.details = Some("\u{0}\u{1b}[2J".repeat(100));
        let group: Vec<_> = s.concerns.values().collect();
        let m = alerts::concerns_message(&group, true);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
        let d = v["embeds"][0]["description"].as_str().unwrap();
        assert!(d.chars().count() <= 4096 && d.starts_with("@everyone"));
        assert!(!d.contains('\u{0}') && !d.contains('\u{1b}'));
        let total: usize = v["embeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let f: usize = e["fields"]
                    .as_array()
                    .map(|fs| {
                        fs.iter()
                            .map(|f| {
                                f["name"].as_str().unwrap().chars().count()
                                    + f["value"].as_str().unwrap().chars().count()
                            })
                            .sum()
                    })
                    .unwrap_or(0);
                e["title"].as_str().map_or(0, |t| t.chars().count())
                    + e["description"].as_str().map_or(0, |t| t.chars().count())
                    + f
            })
            .sum();
        assert!(total <= 6000, "{total}");
        // Five concerns at most per message, one row of three buttons each.
        assert!(v["components"].as_array().unwrap().len() <= 5);

        let lines: Vec<String> = (0..100)
            .map(|i| format!("line {i} {}", "y".repeat(50)))
            .collect();
        let ms = alerts::lines_messages(&lines);
        assert!(ms.len() >= 3 && ms.len() <= 4, "{}", ms.len());
        for m in &ms {
            assert!(m.content.as_ref().unwrap().chars().count() <= 2000);
        }
        let joined: Vec<String> = ms
            .iter()
            .flat_map(|m| {
                m.content
                    .clone()
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(joined, lines, "every line, in order, none split");
    }
}

#[cfg(feature = "discord")]
#[test]
fn the_daily_summary_waits_for_the_next_time_of_day_in_utc() {
    use overlord::config::TimeOfDay;
    use overlord::discord::outbox::until_next;
    use std::time::Duration;
    let at = TimeOfDay {
        hour: 8,
        minute: 30,
    };
    let t = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert_eq!(
        until_next(at, t("2026-11-21T08:00:00Z")),
        Some(Duration::from_secs(30 * 60))
    );
    // Just past: tomorrow.
    assert_eq!(
        until_next(at, t("2026-11-21T08:30:00Z")),
        Some(Duration::from_secs(24 * 3600))
    );
    // A clock in another offset is read in UTC.
    assert_eq!(
        until_next(at, t("2026-11-21T10:00:00+01:00")),
        Some(Duration::from_secs(23 * 3600 + 30 * 60))
    );
}
