//! History that stays out of the live state: finished items beyond the newest few leave the
//! state (the same way in a replay and a snapshot), the item index beside the trail finds
//! them again page by page (`overlord-tui history`, `status --json --all`), `audit verify`
//! checks the index against a replay, and a store from before the index gets one at open.

use overlord::config::Config;
use overlord::core::history::finished;
use overlord::core::Core;
use overlord::protocol::retention::{QA_RUNS, RESOLVED_CONCERNS};
use overlord::protocol::State;
use overlord::store::verify::verify;
use overlord::store::Store;
use rusqlite::Connection;
use serde_json::Value;

use crate::common::*;

/// `n` concerns raised and resolved in order, plus one left open, through the real core.
fn resolved_concerns(n: usize, snapshot_every: u64) -> (Repo, Core) {
    let repo = Repo::new();
    let ws = repo.workspace();
    ws.init().unwrap();
    let mut config = Config::default();
    config.core.snapshot_every = snapshot_every;
    let mut core = Core::open(&ws, &config).unwrap();
    for i in 1..=n {
        ok(
            &mut core,
            &format!("/raise --severity info --category gap concern {i}"),
        );
        ok(&mut core, &format!("/resolve C-{i} fixed {i}"));
    }
    ok(
        &mut core,
        "/raise --severity warning --category gap still open",
    );
    (repo, core)
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn finished_items_leave_the_state_and_the_index_pages_them_newest_first() {
    let n = RESOLVED_CONCERNS + 30;
    let (repo, core) = resolved_concerns(n, 64);
    let state = core.state();
    // Every open concern, the newest resolved ones.
    assert_eq!(state.open_concerns().count(), 1);
    assert_eq!(state.concerns.len(), RESOLVED_CONCERNS + 1);
    assert!(!state.concerns.keys().any(|id| id.to_string() == "C-30"));
    assert!(state.concerns.keys().any(|id| id.to_string() == "C-31"));
    // A replay from nothing and a reopened core (snapshot + the events after it) agree.
    let mut replayed = State::default();
    for (_, body) in core.store().event_bodies_after(0).unwrap() {
        replayed.apply(&serde_json::from_str(&body).unwrap());
    }
    assert_eq!(&replayed, state);
    assert_eq!(repo.reopen().state(), state);

    // The index has them all, the most recently resolved first.
    let store = core.store();
    let first = finished(store, "concerns", 0, 5).unwrap();
    assert_eq!(first.total, n as u64);
    let want: Vec<String> = (n - 4..=n).rev().map(|i| format!("C-{i}")).collect();
    assert_eq!(ids(&first.items), want);
    let last = finished(store, "concern", (n - 10) as u64, 100).unwrap();
    let want: Vec<String> = (1..=10).rev().map(|i| format!("C-{i}")).collect();
    assert_eq!(ids(&last.items), want);
    // An item the state let go of comes back whole.
    let c1 = &last.items[9];
    assert_eq!(c1["summary"], "concern 1");
    assert_eq!(c1["status"], "resolved");
    assert_eq!(c1["resolution"], "fixed 1");

    // The CLI pages the same.
    let out = repo.run(&[
        "history",
        "concerns",
        "--per-page",
        "10",
        "--page",
        "24",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["history"]["total"], n as u64);
    let want: Vec<String> = (1..=n - 230).rev().map(|i| format!("C-{i}")).collect();
    assert_eq!(ids(v["history"]["items"].as_array().unwrap()), want);
    let text = stdout(&repo.run(&["history", "concerns", "--per-page", "3"]));
    assert!(
        text.contains(&format!(
            "{n} finished concerns — page 1 of {}",
            n.div_ceil(3)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "C-{n}  concern {n} — fixed {n} (by cli:tester) at "
        )),
        "{text}"
    );

    // `status --json` is the live state; `--all` adds every finished item.
    let live: Value = serde_json::from_str(&stdout(&repo.run(&["status", "--json"]))).unwrap();
    assert_eq!(
        live["state"]["concerns"].as_object().unwrap().len(),
        RESOLVED_CONCERNS + 1
    );
    assert!(live["history"].is_null());
    let all: Value =
        serde_json::from_str(&stdout(&repo.run(&["status", "--json", "--all"]))).unwrap();
    assert_eq!(all["history"]["concerns"].as_array().unwrap().len(), n);
    assert_eq!(all["history"]["approvals"].as_array().unwrap().len(), 0);
    assert_eq!(all["history"]["handoffs"].as_array().unwrap().len(), 0);

    // A command naming a concern the state let go of says what became of it.
    let out = repo.run(&["cmd", "/resolve C-3 again"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "C-3 was resolved earlier (overlord-tui history concerns shows how it ended)"
        ),
        "{}",
        stderr(&out)
    );
    let text = stdout(&repo.run(&["status", "--all"]));
    assert!(text.contains(&format!("History (finished): {n} concerns, 0 approvals, 0 variations, 0 clarifications, 0 QA runs, 0 handoffs")), "{text}");

    // And the whole trail still verifies, the index included (the CLI wrote since `core`
    // opened: a fresh look).
    let report = verify(repo.reopen().store()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn bad_history_requests_are_clear_errors() {
    let (repo, _core) = resolved_concerns(2, 64);
    let out = repo.run(&["history", "tickets"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no history of \"ticket\": the kinds are concern, approval, variation, clarification, qa_run, handoff"),
        "{}",
        stderr(&out)
    );
    let out = repo.run(&["history", "concerns", "--page", "0"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--page and --per-page count from 1"),
        "{}",
        stderr(&out)
    );
    // A page past the end is empty, not an error.
    let out = repo.run(&["history", "concerns", "--page", "9", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["history"]["items"].as_array().unwrap().len(), 0);
    assert_eq!(v["history"]["total"], 2);
}

#[test]
fn a_tampered_index_is_found_by_audit_verify() {
    let (repo, core) = resolved_concerns(3, 64);
    drop(core);
    let db = Connection::open(repo.db()).unwrap();
    db.execute("DELETE FROM item_events WHERE id = 'C-2' AND seq = (SELECT min(seq) FROM item_events WHERE id = 'C-2')", [])
        .unwrap();
    drop(db);
    let out = repo.run(&["audit", "verify"]);
    assert!(!out.status.success());
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("item index"), "{text}");
    assert!(text.contains("concern C-2"), "{text}");
}

#[test]
fn a_store_without_the_index_gets_it_at_open_and_a_read_only_one_replays() {
    let (repo, core) = resolved_concerns(4, 3);
    let before = finished(core.store(), "concerns", 0, 10).unwrap();
    drop(core);
    // As a store written before the index existed.
    let db = Connection::open(repo.db()).unwrap();
    db.execute_batch(
        "DROP TABLE items; DROP TABLE item_events; DELETE FROM meta WHERE key = 'items_through';",
    )
    .unwrap();
    drop(db);
    // Read without writing: a replay gives the same page.
    let store = Store::open_without_repair(&repo.workspace().store_paths()).unwrap();
    let replayed = finished(&store, "concerns", 0, 10).unwrap();
    assert_eq!(ids(&replayed.items), ids(&before.items));
    drop(store);
    // The next core to open indexes it again.
    let core = repo.reopen();
    assert_eq!(
        core.store().items_through().unwrap(),
        Some(core.store().head().0)
    );
    let after = finished(core.store(), "concerns", 0, 10).unwrap();
    assert_eq!(after.items, before.items);
    assert!(verify(core.store()).unwrap().findings.is_empty());
}

#[test]
fn decided_approvals_and_variations_are_bounded_too() {
    // The current plan's approval stays however many others were decided after it.
    let repo = Repo::new();
    let ws = repo.workspace();
    ws.init().unwrap();
    let mut core = Core::open(&ws, &Config::default()).unwrap();
    repo.write("plan.json", PLAN_ONE_TASK);
    ok(&mut core, "/import plan.json");
    ok(&mut core, "/approve plan");
    let plan_approval = core.state().approvals.keys().next().copied().unwrap();
    let n = overlord::protocol::retention::DECIDED_APPROVALS + 5;
    for i in 1..=n {
        let r = run_as(
            &mut core,
            agent("implementer-1"),
            &format!("/propose --impact high change {i}"),
        );
        assert!(r.ok, "{}", r.message);
        ok(&mut core, &format!("/approve V-{i}"));
    }
    assert!(core.state().variations.len() <= overlord::protocol::retention::DECIDED_VARIATIONS);
    let variations = finished(core.store(), "variations", 0, 3).unwrap();
    assert_eq!(variations.total as usize, n);
    assert_eq!(
        ids(&variations.items),
        vec![
            format!("V-{n}"),
            format!("V-{}", n - 1),
            format!("V-{}", n - 2)
        ]
    );
    assert_eq!(variations.items[0]["decision"], "approved");
    let state = core.state();
    assert!(
        state.approvals.contains_key(&plan_approval),
        "the plan's approval stays"
    );
    assert!(state.approvals.len() <= overlord::protocol::retention::DECIDED_APPROVALS + 1);
    let page = finished(core.store(), "approvals", 0, 1000).unwrap();
    assert_eq!(page.total as usize, state.counters.approvals as usize);
    assert!(verify(core.store()).unwrap().findings.is_empty());
}

const PLAN_ONE_TASK: &str = r#"{"todo_list_id": "one", "title": "One", "phases": [
  {"id": "p1", "name": "One", "tasks": [{"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#;

/// The console's resolved filter reads the concerns the state let go of from the store as
/// the list is scrolled, the way the runner does (`Intent::LoadHistory`), down to the first.
#[test]
fn the_consoles_resolved_filter_pages_older_concerns_from_the_store() {
    use overlord::tui::app::{App, Intent};
    use overlord::tui::keymap::{parse_key, Keymap};
    use overlord::tui::panes::concerns::HISTORY_PAGE;

    let n = RESOLVED_CONCERNS + 130;
    let (_repo, core) = resolved_concerns(n, 64);
    let mut app = App::new(core.state().clone());
    app.screen.size = ratatui::layout::Rect::new(0, 0, 120, 40);
    let keys = Keymap::defaults().0;
    let mut reads = 0;
    // Each key as the runner handles it, a history read answered from the real store.
    let mut press = |app: &mut App, key: &str| {
        let action = keys
            .resolve(&app.layers(), parse_key(key).unwrap())
            .unwrap();
        let mut queue = app.on_action(action);
        while let Some(intent) = queue.pop() {
            if let Intent::LoadHistory { offset } = intent {
                reads += 1;
                let page = finished(core.store(), "concern", offset, HISTORY_PAGE).unwrap();
                let concerns = page
                    .items
                    .into_iter()
                    .map(|v| serde_json::from_value(v).unwrap());
                queue.extend(app.on_history_loaded(offset, Ok((page.total, concerns.collect()))));
            }
        }
    };
    press(&mut app, "2");
    press(&mut app, "f");
    let view = &app.screen.concerns;
    // Entering the filter reads the first page at once: the count in the title is the whole.
    assert_eq!(view.resolved_total, Some(n as u64));
    assert_eq!(view.resolved_count(&app.state), n);
    assert_eq!(view.older.len(), HISTORY_PAGE as usize);
    // To the end, page by page: the oldest is the first concern, with its resolution.
    for _ in 0..4 {
        press(&mut app, "G");
    }
    let view = &app.screen.concerns;
    assert_eq!(view.count(&app.state), n);
    let last = view.concern(&app.state).unwrap();
    assert_eq!(last.id.to_string(), "C-1");
    assert_eq!(last.resolution.as_deref(), Some("fixed 1"));
    assert_eq!(
        reads, 2,
        "two pages of 100 hold the 130 older ones, then nothing more is read"
    );
}

/// The newest QA runs stay in the state (the QA pane shows the last ten); a replay keeps the
/// same ones, and the index holds them all.
#[test]
fn the_newest_qa_runs_stay() {
    use overlord::protocol::model::{QaDecision, QaMetrics, QaRun, QaRunId};
    use overlord::protocol::{Event, EventKind};
    const { assert!(QA_RUNS >= 10) };
    let n = QA_RUNS as u64 + 7;
    let events: Vec<Event> = (1..=n)
        .map(|i| Event {
            seq: i,
            at: format!("2026-12-07T10:{:02}:00.000Z", i % 60),
            command_seq: None,
            actor: "system".into(),
            kind: EventKind::QaRunRecorded {
                run: QaRun {
                    id: QaRunId(i),
                    tree: "t".into(),
                    started_at: "2026-12-07T10:00:00.000Z".into(),
                    finished_at: "2026-12-07T10:00:00.000Z".into(),
                    gates: vec![],
                    decision: QaDecision::AutoMerge,
                    reasons: vec![],
                    commit: None,
                    metrics: QaMetrics::default(),
                    flaky: vec![],
                    promotion: false,
                    record_sha256: None,
                },
            },
        })
        .collect();
    let mut state = State::default();
    let mut index = overlord::store::items::Replayed::default();
    for (i, e) in events.iter().enumerate() {
        index.add(&state, e, i as u64 + 1);
        state.apply(e);
    }
    let kept: Vec<u64> = state.qa_runs.iter().map(|r| r.id.0).collect();
    assert_eq!(kept, (8..=n).collect::<Vec<_>>());
    let rows = index.rows();
    assert_eq!(rows.len() as u64, n);
    assert!(rows.iter().all(|r| r.kind == "qa_run" && r.finishes));
}

/// What each task's runs did is kept for the current plan's tasks; a new plan lets the others
/// go, the same in a replay.
#[test]
fn a_new_plan_lets_the_old_tasks_telemetry_go() {
    use overlord::protocol::model::TaskTelemetry;
    use overlord::protocol::{Event, EventKind};
    let mut state = State::default();
    for task in ["a", "old-1", "old-2"] {
        state
            .task_telemetry
            .insert(task.into(), TaskTelemetry::default());
    }
    let plan = overlord::core::plan::parse_todo_list(
        PLAN_ONE_TASK,
        "plan.json",
        "2026-12-07T10:00:00.000Z",
    )
    .unwrap();
    state.apply(&Event {
        seq: 1,
        at: "2026-12-07T10:00:00.000Z".into(),
        command_seq: None,
        actor: "cli:tester".into(),
        kind: EventKind::PlanImported { plan },
    });
    let kept: Vec<&String> = state.task_telemetry.keys().collect();
    assert_eq!(kept, vec!["a"]);
}

/// The newest hand-offs stay, and every one of the current plan however old: its initiation
/// (the supervisor initiates a plan once) and its tasks' (the QA gate weighs their impact).
#[test]
fn the_current_plans_hand_offs_and_the_newest_stay() {
    use overlord::protocol::model::{Handoff, HandoffId, Role};
    use overlord::protocol::retention::HANDOFFS;
    use overlord::protocol::{Event, EventKind};
    let at = "2026-12-07T10:00:00.000Z";
    let plan = overlord::core::plan::parse_todo_list(PLAN_ONE_TASK, "plan.json", at).unwrap();
    let mut state = State::default();
    let mut seq = 0;
    let mut apply = |state: &mut State, kind: EventKind| {
        seq += 1;
        state.apply(&Event {
            seq,
            at: at.into(),
            command_seq: None,
            actor: "system".into(),
            kind,
        });
    };
    apply(&mut state, EventKind::PlanImported { plan });
    let handoff = |id: u64, purpose: &str, task: Option<&str>| Handoff {
        id: HandoffId(id),
        from: Role::ProjectManager,
        to: Role::Designer,
        purpose: purpose.into(),
        inputs: vec![],
        outputs: vec![],
        summary: "s".into(),
        status: "done".into(),
        impact: None,
        task: task.map(str::to_string),
        agent: None,
        timestamp: at.into(),
    };
    apply(
        &mut state,
        EventKind::HandoffRecorded {
            handoff: handoff(1, "project initiation: one", None),
        },
    );
    apply(
        &mut state,
        EventKind::HandoffRecorded {
            handoff: handoff(2, "spec", Some("a")),
        },
    );
    apply(
        &mut state,
        EventKind::HandoffRecorded {
            handoff: handoff(3, "old plan's task", Some("zz")),
        },
    );
    let n = HANDOFFS as u64 + 50;
    for id in 4..4 + n {
        apply(
            &mut state,
            EventKind::HandoffRecorded {
                handoff: handoff(id, "later", None),
            },
        );
    }
    let kept: Vec<u64> = state.handoffs.iter().map(|h| h.id.0).collect();
    assert_eq!(kept.len(), HANDOFFS + 2, "the newest and the plan's two");
    assert_eq!(&kept[..2], &[1, 2]);
    assert!(!kept.contains(&3));
    assert_eq!(*kept.last().unwrap(), 3 + n);
}

/// An owner that accepts a lost tail and goes on writing: the lost records' numbers are taken
/// by new ones, so the index (which named them) is rebuilt, never marked as reaching the head.
#[test]
fn after_an_accepted_loss_the_index_is_rebuilt_not_carried_on() {
    let (repo, core) = resolved_concerns(3, 64);
    let head = core.store().head().0;
    drop(core);
    // The last raise (three records) is lost; an owner opens the store as it is.
    Connection::open(repo.db())
        .unwrap()
        .execute("DELETE FROM records WHERE seq > ?1", [head - 3])
        .unwrap();
    let mut core = repo.reopen();
    assert!(core.accept_audit_loss("cli:tester").unwrap().is_some());
    // The same core writes on: new records take the lost numbers.
    ok(
        &mut core,
        "/raise --severity info --category gap after the loss",
    );
    let next = core.state().counters.concerns;
    ok(&mut core, &format!("/resolve C-{next} fixed after"));
    let report =
        verify(&Store::open_without_repair(&repo.workspace().store_paths()).unwrap()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // The next core rebuilds the index; its history is the trail's.
    let core = repo.reopen();
    assert_eq!(
        core.store().items_through().unwrap(),
        Some(core.store().head().0)
    );
    let page = finished(core.store(), "concerns", 0, 10).unwrap();
    assert_eq!(
        ids(&page.items),
        vec![
            format!("C-{next}"),
            "C-3".into(),
            "C-2".into(),
            "C-1".into()
        ]
    );
    assert!(verify(core.store()).unwrap().findings.is_empty());
}
