//! Console frame cost, side by side in one run (see docs/PERFORMANCE.md, "Console frames"):
//! the whole console screen at 240×60 over a big session — 200 agents, 10,000 open concerns,
//! a 5,000-event activity log (what the console keeps) — against a plain ratatui frame of the
//! same size full of styled text (60 lines of 24 styled spans), both drawn into a buffer.
//!
//! `cargo bench --bench tui_render`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use overlord::protocol::model::*;
use overlord::protocol::{Event, EventKind, State};
use overlord::tui::panes::activity::Log;
use overlord::tui::screen::{self, Frame, Screen};
use overlord::tui::theme::Theme;

const W: u16 = 240;
const H: u16 = 60;

fn stamp(i: u64) -> String {
    format!(
        "2026-11-21T{:02}:{:02}:{:02}.000Z",
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    )
}

fn big_session() -> (State, Log) {
    let mut state = State::default();
    let mut log = Log::default();
    let mut seq = 0;
    let mut push = |state: &mut State, log: &mut Log, at: String, kind: EventKind| {
        seq += 1;
        let e = Event {
            seq,
            at,
            command_seq: None,
            actor: "system".into(),
            kind,
        };
        state.apply(&e);
        log.push(e);
    };
    let roles = [Role::Designer, Role::Implementer, Role::Tester];
    for i in 0..200u64 {
        let role = roles[(i % 3) as usize];
        let id = format!("{role}-{i}");
        push(
            &mut state,
            &mut log,
            stamp(i),
            EventKind::AgentRegistered {
                agent: Agent::new(&id, role, "codex", &stamp(i)),
            },
        );
        push(
            &mut state,
            &mut log,
            stamp(i + 1),
            EventKind::AgentActivity {
                agent: id,
                events: 100 + i,
                tokens: 1000 * i,
                cost_micros: 5000 * i,
                last_output: Some(format!(
                    "▸ Bash: cargo test --package crate_{i} -- --nocapture"
                )),
                files: vec![format!("src/module_{i}.rs")],
                session_id: Some(format!("thread-{i}")),
            },
        );
    }
    for i in 1..=10_000u64 {
        let sev = [Severity::Info, Severity::Warning, Severity::Critical][(i % 3) as usize];
        push(
            &mut state,
            &mut log,
            stamp(3600 + i),
            EventKind::ConcernRaised {
                concern: Concern {
                    raised_by: Some("implementer-1".into()),
                    ..Concern::raised(
                        ConcernId(i),
                        Role::Implementer,
                        Role::Designer,
                        sev,
                        "spec_ambiguity",
                        format!("The interface of module {i} is ambiguous about errors"),
                        stamp(3600 + i),
                    )
                },
            },
        );
    }
    (state, log)
}

fn plain_frame(buf: &mut Buffer, lines: &[Line<'static>]) {
    Paragraph::new(lines.to_vec()).render(buf.area, buf);
}

fn styled_lines() -> Vec<Line<'static>> {
    let colors = [
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Cyan,
        Color::Gray,
    ];
    (0..H as usize)
        .map(|y| {
            Line::from(
                (0..24)
                    .map(|x| {
                        Span::styled(
                            format!("{:<10}", format!("w{y}x{x}")),
                            Style::default()
                                .fg(colors[(x + y) % colors.len()])
                                .add_modifier(if x % 4 == 0 {
                                    Modifier::BOLD
                                } else {
                                    Modifier::empty()
                                }),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (state, log) = big_session();
    let theme = Theme::dark();
    let hints: Vec<(String, String)> = [("q", "quit"), ("tab", "next pane"), ("S", "save")]
        .iter()
        .map(|(k, w)| (k.to_string(), w.to_string()))
        .collect();
    let help = Vec::new();
    let now = overlord::core::parse_stamp("2026-11-21T12:00:00.000Z").unwrap();
    let screen_state = Screen::default();
    let lines = styled_lines();
    let area = Rect::new(0, 0, W, H);
    let mut g = c.benchmark_group("frame_240x60");
    g.bench_function("plain_styled_text", |b| {
        b.iter(|| {
            let mut buf = Buffer::empty(area);
            plain_frame(&mut buf, black_box(&lines));
            buf
        })
    });
    g.bench_function("console_200_agents_10k_concerns", |b| {
        b.iter(|| {
            let mut buf = Buffer::empty(area);
            let frame = Frame {
                state: &state,
                theme: &theme,
                now,
                log: &log,
                raw: &[],
                hints: &hints,
                help: &help,
                stall_secs: 120,
                decide: Default::default(),
            };
            screen::render(black_box(&screen_state), &frame, area, &mut buf);
            buf
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
