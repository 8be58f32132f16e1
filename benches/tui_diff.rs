//! Diff viewer benchmarks (see docs/PERFORMANCE.md), on a 100,000-line Rust-like file with ~2%
//! scattered edits, drawn into a 240×60 `TestBackend`, with the highlighter thread already
//! running (it starts with the console):
//! - open: diff model + view + highlight requests for the first screen + waiting for every
//!   answer + drawing the highlighted screen (a fresh text each time: nothing cached);
//! - jump to the middle: the first screen at line ~50,000 of a freshly opened file (syntect
//!   must read the file up to there once);
//! - page scroll frame: the page key, the requests for the new page and the draw (the frame the
//!   UI loop pays; colours follow from the worker);
//! - jump to the middle after read-ahead: the same once the worker had idle time;
//! - page scroll until highlighted: the same plus waiting for the worker and drawing again.
//!
//! `cargo bench --bench tui_diff`

use std::time::{Duration, Instant};

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
    // The same jump after the worker had idle time to read the file ahead (it does after
    // answering the first screen): it starts from a checkpoint near the landing point.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("jump_to_middle_after_read_ahead", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut view = DiffView::from_texts("src/big.rs", &old, &new);
                screen.have.clear();
                let n = screen.request(&view);
                screen.wait(n);
                std::thread::sleep(Duration::from_secs(4));
                let mid = view.hunk_rows()[view.hunk_rows().len() / 2];
                view.scroll_down(mid);
                screen.have.clear();
                let t = Instant::now();
                let n = screen.request(&view);
                screen.wait(n);
                screen.draw(&view);
                total += t.elapsed();
            }
            total
        })
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

criterion_group!(benches, bench);
criterion_main!(benches);
