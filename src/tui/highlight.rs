//! Syntax highlighting for the diff viewer, off the UI loop: one worker thread owns syntect
//! (the `onig` engine, the bundled syntax and theme dumps) and, per file side, the parse
//! state at checkpoints every [`CHECKPOINT_EVERY`] lines, so scrolling on reuses the work
//! already done and a jump to the middle restarts from the nearest checkpoint instead of the
//! file's start. Requests carry a generation; the worker skips requests a newer generation
//! has overtaken, and the client drops results of an older generation than its latest.

use std::collections::HashMap;
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
    thread: Option<JoinHandle<()>>,
}

impl Highlighter {
    /// Starts the worker with the named syntect theme (an unknown name falls back to
    /// `base16-ocean.dark`).
    pub fn spawn(syntax_theme: &str) -> std::io::Result<Highlighter> {
        let (req_tx, req_rx) = mpsc::channel::<HighlightRequest>();
        let (res_tx, res_rx) = mpsc::channel::<HighlightResult>();
        let theme_name = syntax_theme.to_string();
        let thread = std::thread::Builder::new()
            .name("highlighter".into())
            .spawn(move || worker(&theme_name, req_rx, res_tx))?;
        Ok(Highlighter {
            requests: Some(req_tx),
            results: res_rx,
            latest: 0,
            thread: Some(thread),
        })
    }

    /// Sends a request; its generation becomes the latest one if it is newer.
    pub fn request(&mut self, request: HighlightRequest) {
        self.latest = self.latest.max(request.generation);
        if let Some(tx) = &self.requests {
            let _ = tx.send(request);
        }
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
    /// `checkpoints[k]`: the state before line `k * CHECKPOINT_EVERY` (0-based).
    checkpoints: Vec<(ParseState, HighlightState)>,
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

fn worker(theme_name: &str, rx: Receiver<HighlightRequest>, tx: Sender<HighlightResult>) {
    let ss = SyntaxSet::load_defaults_newlines();
    let mut themes = ThemeSet::load_defaults();
    let theme = themes
        .themes
        .remove(theme_name)
        .or_else(|| themes.themes.remove("base16-ocean.dark"))
        .unwrap_or_default();
    let hl = SyntectHighlighter::new(&theme);
    let mut files: HashMap<(usize, TextSide), FileState> = HashMap::new();
    let mut line_buf = String::new();
    while let Ok(first) = rx.recv() {
        // Take everything waiting and keep only the newest generation's requests.
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let newest = batch.iter().map(|r| r.generation).max().unwrap_or(0);
        for req in batch.into_iter().filter(|r| r.generation == newest) {
            let result = answer(&ss, &hl, &mut files, &mut line_buf, req);
            if tx.send(result).is_err() {
                return;
            }
        }
    }
}

fn answer(
    ss: &SyntaxSet,
    hl: &SyntectHighlighter<'_>,
    files: &mut HashMap<(usize, TextSide), FileState>,
    line_buf: &mut String,
    req: HighlightRequest,
) -> HighlightResult {
    let key = (req.file, req.side);
    let fresh = files
        .get(&key)
        .is_none_or(|f| !Arc::ptr_eq(&f.text, &req.text));
    if fresh {
        let syntax = syntax_for(ss, &req.path, req.text.first().map(String::as_str));
        let index = ss
            .syntaxes()
            .iter()
            .position(|s| s.name == syntax.name)
            .unwrap_or(0);
        let start = (
            ParseState::new(&ss.syntaxes()[index]),
            HighlightState::new(hl, ScopeStack::new()),
        );
        files.insert(
            key,
            FileState {
                text: req.text.clone(),
                syntax: index,
                checkpoints: vec![start],
            },
        );
    }
    let mut out = HighlightResult {
        generation: req.generation,
        file: req.file,
        side: req.side,
        lines: Vec::new(),
        parsed: 0,
    };
    let Some(state) = files.get_mut(&key) else {
        return out;
    };
    let total = state.text.len() as u32;
    let mut wanted: Vec<u32> = req
        .lines
        .iter()
        .copied()
        .filter(|&n| n >= 1 && n <= total)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let Some(&last) = wanted.last() else {
        return out;
    };
    let first = wanted[0] - 1; // 0-based
    let k = ((first / CHECKPOINT_EVERY) as usize).min(state.checkpoints.len() - 1);
    let (mut parse, mut high) = state.checkpoints[k].clone();
    let mut at = k as u32 * CHECKPOINT_EVERY;
    let mut want = wanted.iter().peekable();
    while at < last {
        if at.is_multiple_of(CHECKPOINT_EVERY) {
            let idx = (at / CHECKPOINT_EVERY) as usize;
            if idx == state.checkpoints.len() {
                state.checkpoints.push((parse.clone(), high.clone()));
            }
        }
        let text = &state.text[at as usize];
        let emit = want.peek().is_some_and(|&&n| n == at + 1);
        if emit {
            want.next();
        }
        out.parsed += 1;
        if text.len() > MAX_LINE_BYTES {
            if emit {
                out.lines.push((at + 1, Vec::new()));
            }
            at += 1;
            continue;
        }
        line_buf.clear();
        line_buf.push_str(text);
        line_buf.push('\n');
        let ops = match parse.parse_line(line_buf, ss) {
            Ok(ops) => ops,
            Err(_) => {
                // A broken grammar state: start over plain from here.
                parse = ParseState::new(&ss.syntaxes()[state.syntax]);
                high = HighlightState::new(hl, ScopeStack::new());
                if emit {
                    out.lines.push((at + 1, Vec::new()));
                }
                at += 1;
                continue;
            }
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
            out.lines.push((at + 1, ranges));
        }
        at += 1;
    }
    out
}
