//! The metrics kept incrementally (issue 23): on a generated year of work (the core's own
//! commands and events), `MetricsReader`'s figures, points per checkpoint and digest equal the
//! full fold's (`metrics::compute`, `per_checkpoint`, `digest::render` over every event) for
//! every window and several `now`s — from the stored fold after a restart, after more events
//! are appended by other processes (the real binary), with clock skew and unreadable records,
//! and when the stored fold no longer matches the trail.

use std::path::Path;

use overlord::core::metrics_reader::MetricsReader;
use overlord::core::metrics_serve::read_events;
use overlord::metrics::running::RUNNING_VERSION;
use overlord::metrics::{self, parse_ms, CheckpointPoint, Metrics, Window};
use overlord::protocol::model::TaskStatus;
use overlord::protocol::{Event, EventKind, State};
use overlord::store::{NewRecord, Store, StorePaths};
use overlord::workspace::Workspace;

use crate::common::{bin, event_records, sandbox};
use crate::store::store_gen;

/// Events in the generated store: a year, so a day holds ~1/365 of them and the store spans
/// several marks (every 4,096 records).
const EVENTS: u64 = 12_000;

fn stamp_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap();
    overlord::core::stamp(t)
}

fn paths(dir: &Path) -> StorePaths {
    Workspace::discover(dir).unwrap().store_paths()
}

/// The full fold's figures and points over the events read whole.
fn full(events: &[Event], window: Window, now: &str) -> (Metrics, Vec<CheckpointPoint>) {
    (
        metrics::compute(events, window, now).unwrap(),
        metrics::per_checkpoint(events, window, now).unwrap(),
    )
}

/// For every window and each `now`, the reader's figures equal the full fold's; how many
/// comparisons that made.
fn assert_equal(store: &Store, reader: &mut MetricsReader, nows: &[String]) -> usize {
    let (events, unreadable) = read_events(store).unwrap();
    assert_eq!(reader.unreadable(), unreadable);
    let mut n = 0;
    for now in nows {
        for window in Window::ALL {
            let got = reader
                .metrics_and_points(store, window, now)
                .unwrap()
                .unwrap();
            let want = full(&events, window, now);
            assert!(got.0 == want.0, "{window} at {now}: the figures differ");
            assert_eq!(got.1, want.1, "{window} at {now}: the points differ");
            assert_eq!(reader.metrics(store, window, now).unwrap().unwrap(), want.0);
            n += 1;
        }
    }
    n
}

/// `now`s: after the last event, exactly at it (the running fold answers), and in the middle
/// of the year (events stamped after it: the trail is replayed, streaming).
fn nows(events: &[Event]) -> Vec<String> {
    let last = events.iter().filter_map(|e| parse_ms(&e.at)).max().unwrap();
    let mid = parse_ms(&events[events.len() / 2].at).unwrap();
    vec![
        stamp_ms(last + 3_600_000),
        stamp_ms(last),
        stamp_ms(mid),
        overlord::core::now(),
    ]
}

/// The generated store's figures, incrementally and in full, with the figures themselves
/// checked against known counts (so equal cannot mean equally empty).
#[test]
fn incremental_figures_equal_the_full_fold_in_every_window() {
    let dir = tempfile::tempdir().unwrap();
    let made = store_gen::generate(dir.path(), EVENTS);
    let store = Store::open_without_repair(&paths(dir.path())).unwrap();
    let (events, _) = read_events(&store).unwrap();
    assert_eq!(events.len() as u64, made.events);
    let mut reader = MetricsReader::default();
    reader.catch_up(&store).unwrap();
    let nows = nows(&events);
    assert_eq!(assert_equal(&store, &mut reader, &nows), 16);

    let now = &nows[0];
    let all = reader.metrics(&store, Window::All, now).unwrap().unwrap();
    assert_eq!(all.events, made.events);
    // A run id recorded again counts once.
    let qa_runs = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::QaRunRecorded { run } => Some(run.id.to_string()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(qa_runs > 20);
    assert_eq!(all.qa.runs.len(), qa_runs);
    assert!(all.tasks.passed > 100 && all.spend.total.tokens > 0);
    assert!(all.concerns.values().map(|c| c.open).sum::<u64>() == made.open_concerns);
    let day = reader
        .metrics(&store, Window::Last24h, now)
        .unwrap()
        .unwrap();
    assert!(
        day.events > 0 && day.events * 50 < all.events,
        "a day of a year: {} of {}",
        day.events,
        all.events
    );
    let points = reader
        .metrics_and_points(&store, Window::All, now)
        .unwrap()
        .unwrap()
        .1;
    let checkpoints = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::CheckpointCreated { .. }))
        .count();
    assert!(checkpoints > 5);
    assert_eq!(points.len(), checkpoints);

    // The 24-hour window starts from a stored mark, not from the beginning.
    let start = parse_ms(now).unwrap() - 24 * 3_600_000;
    let (mark, _) = store
        .metrics_mark_before(RUNNING_VERSION, reader.running().through, start)
        .unwrap()
        .expect("a mark before the last day");
    assert!(mark > reader.running().through / 2, "mark at {mark}");
}

/// Runs the real binary in `dir`; its standard output.
fn overlord(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = bin();
    cmd.args(args).current_dir(dir);
    sandbox(&mut cmd, home);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A value as JSON text would give it back (floats printed and read the same way as the
/// binary's output).
fn as_printed(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

/// A restart reads the stored fold (nothing folded again) and gives the same figures; events
/// appended by other processes are folded on top, by the reader that was open and by the
/// `metrics` command, whose JSON equals the full fold's.
#[test]
fn the_stored_fold_survives_a_restart_and_other_processes_appending() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), EVENTS);
    let store = Store::open_without_repair(&paths(dir.path())).unwrap();
    let mut first = MetricsReader::default();
    first.catch_up(&store).unwrap();
    let through = first.running().through;
    drop(store);

    let store = Store::open_without_repair(&paths(dir.path())).unwrap();
    let mut reader = MetricsReader::default();
    assert_eq!(
        reader.catch_up(&store).unwrap(),
        0,
        "the stored fold reaches the head"
    );
    assert_eq!(reader.running(), first.running());
    let (events, _) = read_events(&store).unwrap();
    assert_equal(&store, &mut reader, &nows(&events));

    // Other processes: concerns raised, one acknowledged and resolved, through the binary.
    for (i, severity) in ["critical", "warning", "info"].iter().enumerate() {
        overlord(
            dir.path(),
            home.path(),
            &[
                "concern",
                "raise",
                "--from",
                "tester",
                "--severity",
                severity,
                "--category",
                "test_failure",
                &format!("regression {i} after the loader change"),
            ],
        );
    }
    let folded = reader.catch_up(&store).unwrap();
    assert!(folded >= 3, "{folded}");
    assert!(reader.running().through > through);
    let (events, _) = read_events(&store).unwrap();
    let nows = nows(&events);
    assert_equal(&store, &mut reader, &nows);
    for window in Window::ALL {
        for now in [&nows[0], &nows[2]] {
            let out = overlord(
                dir.path(),
                home.path(),
                &[
                    "metrics",
                    "--json",
                    "--window",
                    window.as_str(),
                    "--now",
                    now,
                ],
            );
            let got: serde_json::Value = serde_json::from_str(&out).unwrap();
            let want = metrics::compute(&events, window, now).unwrap();
            assert_eq!(got["metrics"], as_printed(&want), "{window} at {now}");
        }
    }
    // A new reader after the binary's runs: the same again.
    let mut again = MetricsReader::default();
    again.catch_up(&store).unwrap();
    assert_eq!(again.running(), reader.running());
}

/// Clock skew (events stamped days before those stored before them), an unreadable stamp, a
/// record that is not an event, and events stamped after `now`: still the full fold's figures.
#[test]
fn skewed_and_unreadable_records_fold_the_same() {
    let dir = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), 6_000);
    let p = paths(dir.path());
    let (events, _) = read_events(&Store::open_without_repair(&p).unwrap()).unwrap();
    let last = events.iter().filter_map(|e| parse_ms(&e.at)).max().unwrap();
    // Copies of the newest events: restamped 3 days back (skew), then one unreadable stamp.
    let mut odd: Vec<Event> = events[events.len() - 40..].to_vec();
    for (i, e) in odd.iter_mut().enumerate() {
        e.seq = 0;
        e.at = stamp_ms(last - 3 * 24 * 3_600_000 + i as i64 * 60_000);
    }
    odd[7].at = "yesterday-ish".into();
    let mut store = Store::open(&p).unwrap();
    let mut records = event_records(&odd);
    records.push(NewRecord {
        topic: overlord::protocol::Topic::Event,
        at: stamp_ms(last),
        body: "{\"not\": \"an event\"}".into(),
    });
    let mut guard = store.begin_write().unwrap();
    let appended = guard.append(&records).unwrap();
    guard.commit(&appended).unwrap();

    let mut reader = MetricsReader::default();
    reader.catch_up(&store).unwrap();
    let (events, unreadable) = read_events(&store).unwrap();
    assert_eq!(unreadable, 1);
    let nows = nows(&events);
    assert_equal(&store, &mut reader, &nows);
    let all = reader
        .metrics(&store, Window::All, &nows[0])
        .unwrap()
        .unwrap();
    assert!(all.clock_skew_events >= 1 && all.unreadable_timestamps == 1);
}

/// A stored fold whose record no longer has the hash it was made with (the trail rewritten
/// since) is not read: the trail is folded again, to the same figures.
#[test]
fn a_stored_fold_that_no_longer_matches_the_trail_is_folded_again() {
    let dir = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), 6_000);
    let p = paths(dir.path());
    let store = Store::open_without_repair(&p).unwrap();
    let mut reader = MetricsReader::default();
    reader.catch_up(&store).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&p.db).unwrap();
    let marks: i64 = conn
        .query_row("SELECT count(*) FROM metrics_marks", [], |r| r.get(0))
        .unwrap();
    assert!(marks >= 2, "{marks} marks");
    conn.execute_batch(
        "UPDATE metrics_running SET hash = x'00'; UPDATE metrics_marks SET hash = x'00';",
    )
    .unwrap();
    drop(conn);
    let store = Store::open_without_repair(&p).unwrap();
    let mut again = MetricsReader::default();
    let (events, _) = read_events(&store).unwrap();
    assert_eq!(again.catch_up(&store).unwrap(), events.len());
    assert_equal(&store, &mut again, &nows(&events));
}

/// The digest through the running fold is the digest of every event.
#[test]
fn the_digest_through_the_running_fold_equals_the_full_one() {
    let dir = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), 6_000);
    let store = Store::open_without_repair(&paths(dir.path())).unwrap();
    let (events, _) = read_events(&store).unwrap();
    let mut state = State::default();
    for e in &events {
        state.apply(e);
    }
    for now in nows(&events) {
        let (got, _) = overlord::core::digest::render(&store, &state, &now).unwrap();
        let want = metrics::digest::render(&events, &state, &now).unwrap();
        assert_eq!(got, want, "at {now}");
    }
    let (got, _) = overlord::core::digest::render(&store, &state, &nows(&events)[0]).unwrap();
    assert!(got.markdown.contains("## QA trend"));
}

/// Copies of the newest `n` events, stamped after every stored one (a minute apart, an hour
/// on), appended in one transaction as another process would: the same tasks run again.
fn append_copies(p: &StorePaths, n: usize) {
    let mut store = Store::open(p).unwrap();
    let (events, _) = read_events(&store).unwrap();
    let last = events.iter().filter_map(|e| parse_ms(&e.at)).max().unwrap();
    let mut more: Vec<Event> = events[events.len() - n..].to_vec();
    for (i, e) in more.iter_mut().enumerate() {
        e.seq = 0;
        e.at = stamp_ms(last + 3_600_000 + i as i64 * 60_000);
    }
    let mut guard = store.begin_write().unwrap();
    let appended = guard.append(&event_records(&more)).unwrap();
    guard.commit(&appended).unwrap();
}

/// The tasks with a terminal status in the events.
fn finished_tasks(events: &[Event]) -> std::collections::BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskStatusChanged {
                task,
                status: TaskStatus::Done | TaskStatus::Failed,
                ..
            } => Some(task.clone()),
            _ => None,
        })
        .collect()
}

/// Each task's figures are a row of their own: once stored, the fold in memory and the
/// stored fold name no task, so they do not grow with the tasks ever run.
#[test]
fn the_fold_keeps_no_task_once_stored_and_each_task_is_a_row() {
    let dir = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), EVENTS);
    let p = paths(dir.path());
    let store = Store::open_without_repair(&p).unwrap();
    let mut reader = MetricsReader::default();
    reader.catch_up(&store).unwrap();
    assert_eq!(reader.running().task_entries(), 0);
    let (events, _) = read_events(&store).unwrap();
    let tasks = finished_tasks(&events);
    assert!(tasks.len() > 100, "{} tasks", tasks.len());
    drop(store);
    let conn = rusqlite::Connection::open(&p.db).unwrap();
    let state: String = conn
        .query_row("SELECT state FROM metrics_running", [], |r| r.get(0))
        .unwrap();
    for task in &tasks {
        assert!(
            !state.contains(&format!("\"{task}\"")),
            "{task} in the fold"
        );
        let row: String = conn
            .query_row(
                "SELECT row FROM metrics_tasks WHERE task = ?1",
                [task],
                |r| r.get(0),
            )
            .unwrap();
        assert!(row.contains("\"terminal\""), "{task}: {row}");
    }
}

/// Two readers (two processes) that store in turn: the one that finds the other stored first
/// reads that fold again, so no task's figures are counted twice, at a store or a reading.
#[test]
fn readers_that_store_in_turn_count_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), 6_000);
    let p = paths(dir.path());
    let store = Store::open_without_repair(&p).unwrap();
    let mut a = MetricsReader::default();
    a.catch_up(&store).unwrap();
    let first = a.running().through;

    // Enough for a store (1,024 records): b stores first, then a finds it and reads it.
    append_copies(&p, 1_500);
    let mut b = MetricsReader::default();
    assert!(b.catch_up(&store).unwrap() >= 1_500);
    a.catch_up(&store).unwrap();
    assert!(a.running().through > first);
    let (events, _) = read_events(&store).unwrap();
    let at = nows(&events);
    assert_equal(&store, &mut a, &at);
    assert_equal(&store, &mut b, &at);

    // b stores again; a reads figures without catching up first: its stored rows are no
    // longer those of its fold, so it reads the new fold and answers as of the head.
    append_copies(&p, 1_500);
    b.catch_up(&store).unwrap();
    let (events, _) = read_events(&store).unwrap();
    let now = stamp_ms(events.iter().filter_map(|e| parse_ms(&e.at)).max().unwrap() + 1);
    for window in Window::ALL {
        let got = a.metrics(&store, window, &now).unwrap().unwrap();
        assert!(got == full(&events, window, &now).0, "{window}");
    }
    assert_equal(&store, &mut b, &nows(&events));
}

/// A stored task row that cannot be read: the figures are still the full fold's (the trail
/// is folded again from the beginning), and the rows stored over it read again.
#[test]
fn an_unreadable_task_row_is_folded_again_from_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    store_gen::generate(dir.path(), 6_000);
    let p = paths(dir.path());
    let store = Store::open_without_repair(&p).unwrap();
    MetricsReader::default().catch_up(&store).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&p.db).unwrap();
    let spoiled = conn
        .execute(
            "UPDATE metrics_tasks SET row = '{\"attempts\": \"many\"' WHERE task IN
             (SELECT task FROM metrics_tasks ORDER BY task LIMIT 3)",
            [],
        )
        .unwrap();
    assert_eq!(spoiled, 3);
    drop(conn);
    let store = Store::open_without_repair(&p).unwrap();
    let mut reader = MetricsReader::default();
    reader.catch_up(&store).unwrap();
    let (events, _) = read_events(&store).unwrap();
    assert_equal(&store, &mut reader, &nows(&events));
    drop(store);
    let conn = rusqlite::Connection::open(&p.db).unwrap();
    let bad: i64 = conn
        .query_row(
            "SELECT count(*) FROM metrics_tasks WHERE json_valid(row) = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
}
