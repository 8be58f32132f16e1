//! Syntax highlighting for the diff viewer, off the UI loop: one worker thread owns syntect
//! (the `onig` engine, the bundled syntax and theme dumps) and, per file side, the parse
//! state at checkpoints every [`CHECKPOINT_EVERY`] lines, so scrolling on reuses the work
//! already done and a jump back restarts from the nearest checkpoint. Requests carry a
//! generation; the worker skips requests a newer generation has overtaken (and abandons a
//! long parse when one arrives), and the client drops results of an older generation.
//!
//! The work is bounded by what the viewer shows: it asks for the lines on screen and a fixed
//! look-ahead around them, and the worker does nothing else — no reading the rest of the file
//! while idle. syntect's state at a line depends on every line before it, so a jump far past
//! the parsed part would cost the whole file up to there; instead, when the nearest
//! checkpoint is more than [`MAX_CATCH_UP`] lines back, the worker starts from a fresh state
//! [`SYNC_BACK`] lines above the target (as vim's `syntax sync minlines` does). That state can
//! be wrong inside a construct that opened further up (a long block comment or string) —
//! rare, and the price of never spending seconds of CPU on lines nobody looks at.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use ratatui::style::{Color, Modifier, Style};
use syntect::highlighting::{
    FontStyle, HighlightIterator, HighlightState, Highlighter as SyntectHighlighter, ThemeSet,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

/// The parse state is saved every this many lines of a file side.
pub const CHECKPOINT_EVERY: u32 = 128;

/// A jump further than this past the nearest checkpoint starts from a fresh state.
pub const MAX_CATCH_UP: u32 = 2_048;
/// How far above the first wanted line a fresh start begins.
pub const SYNC_BACK: u32 = 256;

/// Lines longer than this are not parsed (they stay plain; the state carries over them).
pub const MAX_LINE_BYTES: usize = 8_192;

/// The old or the new text of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextSide {
    Old,
    New,
}

/// A run of a line's text (`start..end` in bytes) and its syntax style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StyledRange {
    pub start: u32,
    pub end: u32,
    pub style: Style,
}

/// Highlight these lines (1-based numbers, any order) of one side of one file.
#[derive(Debug, Clone)]
pub struct HighlightRequest {
    pub generation: u64,
    /// The caller's name for the file (its index in the diff); with `side`, the cache key.
    pub file: usize,
    pub side: TextSide,
    /// The path, to choose the syntax by extension.
    pub path: String,
    /// The whole text of that side, one entry per line without its line ending. A different
    /// `Arc` for the same key resets the cached state.
    pub text: Arc<Vec<String>>,
    pub lines: Vec<u32>,
}

/// The highlighted lines of a request.
#[derive(Debug, Clone)]
pub struct HighlightResult {
    pub generation: u64,
    pub file: usize,
    pub side: TextSide,
    pub lines: Vec<(u32, Vec<StyledRange>)>,
    /// How many lines the worker parsed to answer (what a checkpoint saves shows here).
    pub parsed: u64,
    /// How far into this file side the worker has saved a parse state (its read-ahead).
    pub read_to: u32,
}

/// Highlighted lines the viewer has received, by (file, side, 1-based line number).
#[derive(Debug, Clone, Default)]
pub struct Highlights {
    lines: HashMap<(usize, TextSide, u32), Vec<StyledRange>>,
}

impl Highlights {
    pub fn get(&self, file: usize, side: TextSide, line: u32) -> Option<&[StyledRange]> {
        self.lines.get(&(file, side, line)).map(Vec::as_slice)
    }

    pub fn contains(&self, file: usize, side: TextSide, line: u32) -> bool {
        self.lines.contains_key(&(file, side, line))
    }

    pub fn insert(&mut self, result: HighlightResult) {
        for (no, ranges) in result.lines {
            self.lines.insert((result.file, result.side, no), ranges);
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn clear(&mut self) {
        self.lines.clear();
    }
}

/// The handle of the highlighter thread. Dropping it stops the thread.
pub struct Highlighter {
    requests: Option<Sender<HighlightRequest>>,
    results: Receiver<HighlightResult>,
    latest: u64,
    /// The newest generation requested, for the worker to abandon overtaken work
    /// (`u64::MAX`: closing).
    shared_latest: Arc<AtomicU64>,
    /// Lines the worker has parsed in all (tests and benches bound the work with it).
    parsed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Highlighter {
    /// Starts the worker with the named syntect theme (an unknown name falls back to
    /// `base16-ocean.dark`).
    pub fn spawn(syntax_theme: &str) -> std::io::Result<Highlighter> {
        Highlighter::spawn_with_waker(syntax_theme, Box::new(|| {}))
    }

    /// As [`Highlighter::spawn`]; `waker` is called after each result is sent, so an event
    /// loop can sleep until there is something to collect instead of polling.
    pub fn spawn_with_waker(
        syntax_theme: &str,
        waker: Box<dyn Fn() + Send>,
    ) -> std::io::Result<Highlighter> {
        let (req_tx, req_rx) = mpsc::channel::<HighlightRequest>();
        let (res_tx, res_rx) = mpsc::channel::<HighlightResult>();
        let theme_name = syntax_theme.to_string();
        let shared_latest = Arc::new(AtomicU64::new(0));
        let parsed = Arc::new(AtomicU64::new(0));
        let counters = (shared_latest.clone(), parsed.clone());
        let thread = std::thread::Builder::new()
            .name("highlighter".into())
            .spawn(move || worker(&theme_name, req_rx, res_tx, counters, waker))?;
        Ok(Highlighter {
            requests: Some(req_tx),
            results: res_rx,
            latest: 0,
            shared_latest,
            parsed,
            thread: Some(thread),
        })
    }

    /// Sends a request; its generation becomes the latest one if it is newer.
    pub fn request(&mut self, request: HighlightRequest) {
        self.latest = self.latest.max(request.generation);
        self.shared_latest.fetch_max(self.latest, Ordering::Relaxed);
        if let Some(tx) = &self.requests {
            let _ = tx.send(request);
        }
    }

    /// How many lines the worker has parsed since it started.
    pub fn parsed_total(&self) -> u64 {
        self.parsed.load(Ordering::Relaxed)
    }

    /// The newest generation requested so far.
    pub fn latest(&self) -> u64 {
        self.latest
    }

    /// The next result of the latest generation, without blocking; older ones are dropped.
    pub fn try_next(&mut self) -> Option<HighlightResult> {
        loop {
            match self.results.try_recv() {
                Ok(r) if r.generation < self.latest => continue,
                Ok(r) => return Some(r),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
            }
        }
    }

    /// Waits up to `timeout` for the next result of the latest generation (tests, benches).
    pub fn next_timeout(&mut self, timeout: std::time::Duration) -> Option<HighlightResult> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.results.recv_timeout(left) {
                Ok(r) if r.generation < self.latest => continue,
                Ok(r) => return Some(r),
                Err(_) => return None,
            }
        }
    }

    /// Moves every waiting result into `into`; true when something arrived (draw again).
    pub fn poll(&mut self, into: &mut Highlights) -> bool {
        let mut any = false;
        while let Some(r) = self.try_next() {
            into.insert(r);
            any = true;
        }
        any
    }
}

impl Drop for Highlighter {
    fn drop(&mut self) {
        self.shared_latest.store(u64::MAX, Ordering::Relaxed);
        self.requests = None; // the worker's receive fails and it returns
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The parse state of one side of one file.
struct FileState {
    text: Arc<Vec<String>>,
    syntax: usize,
    /// The state before line `k` (0-based, a multiple of [`CHECKPOINT_EVERY`]).
    checkpoints: BTreeMap<u32, (ParseState, HighlightState)>,
    /// Where the last parse stopped and its state there: the next request going on from there
    /// (the look-ahead after the screen) does not parse again from the checkpoint before.
    last: Option<(u32, (ParseState, HighlightState))>,
}

fn syntax_for<'a>(ss: &'a SyntaxSet, path: &str, first_line: Option<&str>) -> &'a SyntaxReference {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or(name);
    ss.find_syntax_by_extension(ext)
        .or_else(|| first_line.and_then(|l| ss.find_syntax_by_first_line(l)))
        .unwrap_or_else(|| ss.find_syntax_plain_text())
}

fn to_style(s: syntect::highlighting::Style) -> Style {
    let mut style = Style::default().fg(Color::Rgb(s.foreground.r, s.foreground.g, s.foreground.b));
    for (flag, m) in [
        (FontStyle::BOLD, Modifier::BOLD),
        (FontStyle::ITALIC, Modifier::ITALIC),
        (FontStyle::UNDERLINE, Modifier::UNDERLINED),
    ] {
        if s.font_style.contains(flag) {
            style = style.add_modifier(m);
        }
    }
    style
}

/// A 1-based line number and its styled ranges.
type StyledLine = (u32, Vec<StyledRange>);

/// How often (in lines) a long parse looks whether a newer generation has overtaken it.
const CANCEL_CHECK: u32 = 1_024;

struct Worker<'a> {
    ss: &'a SyntaxSet,
    hl: &'a SyntectHighlighter<'a>,
    latest: &'a AtomicU64,
    parsed: &'a AtomicU64,
    files: HashMap<(usize, TextSide), FileState>,
    line_buf: String,
}

fn worker(
    theme_name: &str,
    rx: Receiver<HighlightRequest>,
    tx: Sender<HighlightResult>,
    (latest, parsed): (Arc<AtomicU64>, Arc<AtomicU64>),
    waker: Box<dyn Fn() + Send>,
) {
    let ss = SyntaxSet::load_defaults_newlines();
    let mut themes = ThemeSet::load_defaults();
    let theme = themes
        .themes
        .remove(theme_name)
        .or_else(|| themes.themes.remove("base16-ocean.dark"))
        .unwrap_or_default();
    let hl = SyntectHighlighter::new(&theme);
    let mut w = Worker {
        ss: &ss,
        hl: &hl,
        latest: &latest,
        parsed: &parsed,
        files: HashMap::new(),
        line_buf: String::new(),
    };
    // Only what is asked: idle, the worker sleeps.
    while let Ok(first) = rx.recv() {
        // Take everything waiting and keep only the newest generation's requests.
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let newest = batch.iter().map(|r| r.generation).max().unwrap_or(0);
        for req in batch.into_iter().filter(|r| r.generation == newest) {
            if let Some(result) = w.answer(req) {
                if tx.send(result).is_err() {
                    return;
                }
                waker();
            }
        }
    }
}

impl Worker<'_> {
    fn answer(&mut self, req: HighlightRequest) -> Option<HighlightResult> {
        let key = (req.file, req.side);
        let fresh = self
            .files
            .get(&key)
            .is_none_or(|f| !Arc::ptr_eq(&f.text, &req.text));
        if fresh {
            let syntax = syntax_for(self.ss, &req.path, req.text.first().map(String::as_str));
            let index = self
                .ss
                .syntaxes()
                .iter()
                .position(|s| s.name == syntax.name)
                .unwrap_or(0);
            let start = (
                ParseState::new(&self.ss.syntaxes()[index]),
                HighlightState::new(self.hl, ScopeStack::new()),
            );
            self.files.insert(
                key,
                FileState {
                    text: req.text.clone(),
                    syntax: index,
                    checkpoints: BTreeMap::from([(0, start)]),
                    last: None,
                },
            );
        }
        let total = req.text.len() as u32;
        let mut wanted: Vec<u32> = req
            .lines
            .iter()
            .copied()
            .filter(|&n| n >= 1 && n <= total)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut out = HighlightResult {
            generation: req.generation,
            file: req.file,
            side: req.side,
            lines: Vec::new(),
            parsed: 0,
            read_to: 0,
        };
        // Wanted lines far apart (hunks of a long file) are parsed in separate runs, so the
        // lines between them are not.
        for cluster in wanted.chunk_by(|a, b| b - a <= MAX_CATCH_UP) {
            let (first, last) = (cluster[0], cluster[cluster.len() - 1]);
            let (lines, parsed) = self.run(key, first - 1, last, cluster, Some(req.generation))?;
            out.lines.extend(lines);
            out.parsed += parsed;
        }
        out.read_to = self
            .files
            .get(&key)
            .and_then(|f| f.checkpoints.keys().next_back().copied())
            .unwrap_or(0);
        Some(out)
    }

    /// Parses lines `from..until` (0-based) of `key` starting at the nearest checkpoint at
    /// or before `from` (or, more than [`MAX_CATCH_UP`] lines back, from a fresh state
    /// [`SYNC_BACK`] lines above `from`), saving new checkpoints on the way, and returns the styled ranges of
    /// the `wanted` lines (1-based) and how many lines it parsed. `None` when a newer
    /// generation than `generation` was requested meanwhile (the answer would be dropped).
    fn run(
        &mut self,
        key: (usize, TextSide),
        from: u32,
        until: u32,
        wanted: &[u32],
        generation: Option<u64>,
    ) -> Option<(Vec<StyledLine>, u64)> {
        let (ss, hl, latest, counter) = (self.ss, self.hl, self.latest, self.parsed);
        let state = self.files.get_mut(&key)?;
        let line_buf = &mut self.line_buf;
        let nearest = state.checkpoints.range(..=from).next_back();
        let last = state
            .last
            .as_ref()
            .filter(|(at, _)| *at <= from && nearest.is_none_or(|(&c, _)| *at > c));
        let (mut at, (mut parse, mut high)) = match (last, nearest) {
            (Some((at, s)), _) if from - at <= MAX_CATCH_UP => (*at, s.clone()),
            (_, Some((&at, s))) if from - at <= MAX_CATCH_UP => (at, s.clone()),
            _ => {
                let at = from.saturating_sub(SYNC_BACK) / CHECKPOINT_EVERY * CHECKPOINT_EVERY;
                let fresh = (
                    ParseState::new(&ss.syntaxes()[state.syntax]),
                    HighlightState::new(hl, ScopeStack::new()),
                );
                (at, fresh)
            }
        };
        let mut want = wanted.iter().peekable();
        let mut lines = Vec::new();
        let mut parsed = 0u64;
        let until = until.min(state.text.len() as u32);
        while at < until {
            if at.is_multiple_of(CHECKPOINT_EVERY) {
                state
                    .checkpoints
                    .entry(at)
                    .or_insert_with(|| (parse.clone(), high.clone()));
            }
            if parsed > 0 && parsed.is_multiple_of(CANCEL_CHECK as u64) {
                let newest = latest.load(Ordering::Relaxed);
                if generation.map_or(newest == u64::MAX, |g| newest > g) {
                    return None;
                }
            }
            let text = &state.text[at as usize];
            let emit = want.peek().is_some_and(|&&n| n == at + 1);
            if emit {
                want.next();
            }
            parsed += 1;
            counter.fetch_add(1, Ordering::Relaxed);
            at += 1;
            if text.len() > MAX_LINE_BYTES {
                if emit {
                    lines.push((at, Vec::new()));
                }
                continue;
            }
            line_buf.clear();
            line_buf.push_str(text);
            line_buf.push('\n');
            let Ok(ops) = parse.parse_line(line_buf, ss) else {
                // A broken grammar state: start over plain from here.
                parse = ParseState::new(&ss.syntaxes()[state.syntax]);
                high = HighlightState::new(hl, ScopeStack::new());
                if emit {
                    lines.push((at, Vec::new()));
                }
                continue;
            };
            let mut ranges = Vec::new();
            let mut pos = 0u32;
            for (style, piece) in HighlightIterator::new(&mut high, &ops, line_buf, hl) {
                let end = (pos + piece.len() as u32).min(text.len() as u32);
                if emit && end > pos {
                    ranges.push(StyledRange {
                        start: pos,
                        end,
                        style: to_style(style),
                    });
                }
                pos += piece.len() as u32;
            }
            if emit {
                lines.push((at, ranges));
            }
        }
        // The state after the last line parsed, when it starts a new checkpoint block.
        if at.is_multiple_of(CHECKPOINT_EVERY) {
            state
                .checkpoints
                .entry(at)
                .or_insert_with(|| (parse.clone(), high.clone()));
        }
        state.last = Some((at, (parse, high)));
        Some((lines, parsed))
    }
}
