//! Diff viewer benchmarks (see docs/PERFORMANCE.md), on a 100,000-line Rust-like file with ~2%
//! scattered edits, drawn into a 240×60 `TestBackend`, with the highlighter thread already
//! running (it starts with the console):
//! - open: diff model + view + highlight requests for the first screen + waiting for every
//!   answer + drawing the highlighted screen (a fresh text each time: nothing cached);
//! - jump to the middle: the first screen at line ~50,000 of a freshly opened file (the
//!   worker starts from a fresh state a little above it, not from the file's start);
//! - page scroll frame: the page key, the requests for the new page and the draw (the frame the
//!   UI loop pays; colours follow from the worker);
//! - page scroll until highlighted: the same plus waiting for the worker and drawing again.
//!
//! - keys: 100 × `j` and 100 × PageDown through the console's input path
//!   (`run::on_terminal`) on the same diff at 160×48, drawn once after the burst (the run
//!   loop drains the input before drawing) against a frame after every key (what it did
//!   before) and against the render floor (drawing one frame of that screen).
//!
//! `cargo bench --bench tui_diff`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use overlord::tui::diff_view::{render, DiffView};
use overlord::tui::highlight::{Highlighter, Highlights};
use overlord::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

#[path = "../tests/common/generate.rs"]
mod generate;
use generate::{scattered_edits, source};

const W: u16 = 240;
const H: u16 = 60;

struct Screen {
    term: Terminal<TestBackend>,
    theme: Theme,
    hl: Highlighter,
    have: Highlights,
}

impl Screen {
    fn new() -> Screen {
        let theme = Theme::dark();
        let hl = Highlighter::spawn(&theme.syntax).expect("highlighter");
        Screen {
            term: Terminal::new(TestBackend::new(W, H)).expect("terminal"),
            theme,
            hl,
            have: Highlights::default(),
        }
    }

    fn area() -> Rect {
        Rect::new(0, 0, W, H)
    }

    /// Sends the requests for what is on screen; returns how many answers to expect.
    fn request(&mut self, view: &DiffView) -> usize {
        let generation = self.hl.latest() + 1;
        let requests = view.highlight_requests(generation, Self::area(), &self.have);
        let n = requests.len();
        for r in requests {
            self.hl.request(r);
        }
        n
    }

    fn wait(&mut self, n: usize) {
        for _ in 0..n {
            let r = self
                .hl
                .next_timeout(Duration::from_secs(60))
                .expect("a highlight result");
            self.have.insert(r);
        }
    }

    fn draw(&mut self, view: &DiffView) {
        let (have, theme) = (&self.have, &self.theme);
        self.term
            .draw(|f| render(view, have, theme, f.area(), f.buffer_mut()))
            .expect("draw");
    }
}

fn bench(c: &mut Criterion) {
    let old = source(100_000, 7);
    let new = scattered_edits(&old, 11);
    let mut screen = Screen::new();
    let page = DiffView::page_height(Screen::area());

    let mut group = c.benchmark_group("tui_diff_100k_scattered_2pct");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));

    group.bench_function("open_to_first_highlighted_screen", |b| {
        b.iter(|| {
            screen.have.clear();
            let view = DiffView::from_texts("src/big.rs", &old, &new);
            let n = screen.request(&view);
            assert!(n > 0);
            screen.wait(n);
            screen.draw(&view);
            view
        })
    });

    group.sample_size(10);
    group.bench_function("jump_to_middle_first_highlighted_screen", |b| {
        b.iter_batched(
            || {
                let mut view = DiffView::from_texts("src/big.rs", &old, &new);
                let mid = view.hunk_rows()[view.hunk_rows().len() / 2];
                view.scroll_down(mid);
                view
            },
            |view| {
                screen.have.clear();
                let n = screen.request(&view);
                screen.wait(n);
                screen.draw(&view);
                view
            },
            BatchSize::PerIteration,
        )
    });
    // One view scrolled page by page from the top (wrapping), as a reader pages through.
    let mut view = DiffView::from_texts("src/big.rs", &old, &new);
    screen.have.clear();
    let n = screen.request(&view);
    screen.wait(n);
    group.sampling_mode(SamplingMode::Auto).sample_size(50);
    group.bench_function("page_scroll_frame", |b| {
        b.iter(|| {
            if !view.page_down(page) {
                view.top();
            }
            screen.request(&view);
            screen.hl.poll(&mut screen.have);
            screen.draw(&view);
        })
    });
    // Let the worker finish what the frames asked for before timing the next one.
    while screen.hl.next_timeout(Duration::from_millis(200)).is_some() {}
    // From the top with nothing highlighted, and forgetting the colours at each wrap, so
    // every page waits for the worker.
    view.top();
    screen.have.clear();
    group.bench_function("page_scroll_until_highlighted", |b| {
        b.iter(|| {
            // A whole new page each time: back to the top before a partial last page.
            if view.scroll() + 2 * page as usize > view.row_count() {
                view.top();
                screen.have.clear();
            } else {
                view.page_down(page);
            }
            let n = screen.request(&view);
            assert!(n > 0, "a page with nothing to highlight");
            screen.draw(&view);
            screen.wait(n);
            screen.draw(&view);
        })
    });
    group.finish();
}

/// The console showing `view` in the diff pane, with its keys and look, on a `TestBackend`.
struct Console {
    app: overlord::tui::app::App,
    keymap: overlord::tui::keymap::Keymap,
    theme: Theme,
    term: Terminal<TestBackend>,
}

impl Console {
    fn new(view: DiffView) -> Console {
        let mut app = overlord::tui::app::App::new(overlord::protocol::State::default());
        app.screen.diff.view = Some(view);
        app.screen.focus = overlord::tui::screen::Pane::Diff;
        let mut c = Console {
            app,
            keymap: overlord::tui::keymap::Keymap::defaults().0,
            theme: Theme::dark(),
            term: Terminal::new(TestBackend::new(160, 48)).expect("terminal"),
        };
        c.draw();
        c
    }

    fn draw(&mut self) {
        let look = overlord::tui::run::Look {
            theme: &self.theme,
            keymap: &self.keymap,
            stall_secs: 120,
        };
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let app = &self.app;
        let frame = self
            .term
            .draw(|f| {
                overlord::tui::run::draw_frame(app, &look, &[], now, f.area(), f.buffer_mut())
            })
            .expect("draw");
        self.app.screen.size = frame.area;
        // What the run loop records after a frame (the page keys' page).
        self.app.screen.diff.area =
            overlord::tui::screen::diff_area(&self.app.screen, frame.area).unwrap_or_default();
        self.app.dirty = false;
    }

    fn key(&mut self, code: crossterm::event::KeyCode) {
        let ev = crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
            code,
            crossterm::event::KeyModifiers::NONE,
        ));
        let size = self.app.screen.size;
        let _ = overlord::tui::run::on_terminal(&mut self.app, &self.keymap, size, Some(ev));
    }

    /// Back to the top when the next burst would run off the end.
    fn rewind(&mut self) {
        let v = self.app.screen.diff.view.as_mut().expect("a view");
        if v.scroll() + 100 * 48 > v.row_count() {
            v.top();
        }
    }
}

/// 100 × a key, drawn once after the burst or after every key, against one frame.
fn keys(c: &mut Criterion) {
    use crossterm::event::KeyCode;
    let old = source(100_000, 7);
    let new = scattered_edits(&old, 11);
    let mut console = Console::new(DiffView::from_texts("src/big.rs", &old, &new));
    let mut group = c.benchmark_group("tui_diff_keys_100k_160x48");
    group.sample_size(30);
    group.bench_function("render_floor_one_frame", |b| b.iter(|| console.draw()));
    for (name, code) in [("j", KeyCode::Char('j')), ("pagedown", KeyCode::PageDown)] {
        group.bench_function(format!("100_{name}_drained_one_frame"), |b| {
            b.iter(|| {
                console.rewind();
                for _ in 0..100 {
                    console.key(code);
                }
                console.draw();
            })
        });
        group.bench_function(format!("100_{name}_frame_per_key"), |b| {
            b.iter(|| {
                console.rewind();
                for _ in 0..100 {
                    console.key(code);
                    console.draw();
                }
            })
        });
    }
    group.finish();
}

/// This process's CPU time so far (user + system), from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The background work of opening the diff: the CPU time the highlighter spends after the
/// first screen is asked for (the screen and its look-ahead, until it is idle), against
/// highlighting the whole file (what the worker used to do, reading ahead while idle).
/// Printed, not timed by criterion; the whole-file figure is skipped under `--test`.
fn background(_c: &mut Criterion) {
    let old = source(100_000, 7);
    let new = scattered_edits(&old, 11);
    let view = DiffView::from_texts("src/big.rs", &old, &new);
    let area = Rect::new(0, 0, 160, 46);
    let mut hl = Highlighter::spawn("base16-ocean.dark").expect("highlighter");
    let requests = view.highlight_requests(1, area, &Highlights::default());
    let mut seen = std::collections::BTreeSet::new();
    let whole: Vec<_> = requests
        .iter()
        .filter(|r| seen.insert(r.side))
        .map(|r| overlord::tui::highlight::HighlightRequest {
            generation: 2,
            file: r.file + 100,
            lines: (1..=r.text.len() as u32).collect(),
            ..r.clone()
        })
        .collect();
    let n = requests.len();
    let before = cpu_time();
    for r in requests {
        hl.request(r);
    }
    for _ in 0..n {
        hl.next_timeout(Duration::from_secs(60)).expect("colours");
    }
    let shown = cpu_time() - before;
    eprintln!(
        "background: opening the 100,000-line diff and viewing the top: {} lines parsed, {:.3} s CPU",
        hl.parsed_total(),
        shown.as_secs_f64()
    );
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let parsed = hl.parsed_total();
    let before = cpu_time();
    let sent = whole.len();
    for r in whole {
        hl.request(r);
    }
    for _ in 0..sent {
        hl.next_timeout(Duration::from_secs(600)).expect("colours");
    }
    eprintln!(
        "background: highlighting the whole file (both sides, as the idle read-ahead did): {} lines parsed, {:.3} s CPU",
        hl.parsed_total() - parsed,
        (cpu_time() - before).as_secs_f64()
    );
}

criterion_group!(benches, bench, keys, background);
criterion_main!(benches);
