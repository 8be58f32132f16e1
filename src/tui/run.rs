//! The console's runner: owns the repository like `overlord-tui run` (the core, the socket,
//! the supervisor), takes the terminal, and loops — keys from an input thread, the core's
//! events, replies, a clock tick — drawing a frame only when something changed.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use tokio::sync::{broadcast, mpsc, Notify};

use super::app::{App, Intent};
use super::diff_source::DiffSource;
use super::diff_view::{DiffView, Layout};
use super::highlight::Highlighter;
use super::keymap::{Action, Context, Keymap};
use super::metrics_source::{Loaded, MetricsWorker, Request};
use super::screen::{self, Frame};
use super::terminal::TerminalGuard;
use super::theme::Theme;
use super::watch::Touched;
use crate::config::Config;
use crate::core::Handle;
use crate::protocol::{Command, Event, Origin, Reply};
use crate::runtime::supervisor::RawOutput;

/// How often the metrics pane, while shown, is computed again without new events.
const METRICS_REFRESH: Duration = Duration::from_secs(30);

/// What the runner counts (frames drawn: none while nothing changes).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub frames: u64,
}

/// The theme and keymap, with the warnings about the user's files.
pub fn load_look(root: &Path, config: &Config) -> (Theme, Keymap, Vec<String>) {
    let mut warnings = Vec::new();
    let theme_file = root.join(".overlord/theme.toml");
    let theme = if theme_file.exists() {
        let (t, w) = Theme::load(&theme_file, ".overlord/theme.toml");
        warnings.extend(w.iter().map(|w| w.to_string()));
        t
    } else {
        match Theme::builtin(&config.console.theme) {
            Some(t) => t,
            None => {
                warnings.push(format!(
                    ".overlord/config.toml: [console] theme = \"{}\" is not dark, light or high-contrast (using dark)",
                    config.console.theme
                ));
                Theme::dark()
            }
        }
    };
    let keymap_file = root.join(".overlord/keymap.toml");
    let (keymap, w) = if keymap_file.exists() {
        Keymap::load(&keymap_file, ".overlord/keymap.toml")
    } else {
        Keymap::defaults()
    };
    warnings.extend(w.iter().map(|w| w.to_string()));
    // While the sandbox does not confine agents (docs/governance.md, "The sandbox").
    warnings.extend(crate::runtime::sandbox::standing_warning(
        config,
        &crate::runtime::sandbox::probe(),
    ));
    (theme, keymap, warnings)
}

fn help(keymap: &Keymap) -> Vec<super::help::Section> {
    keymap
        .help()
        .into_iter()
        .map(|(c, keys)| {
            (
                format!("{c:?}"),
                keys.into_iter().map(|(k, w)| (k, w.to_string())).collect(),
            )
        })
        .collect()
}

/// Runs the console until the human quits. `handle` is the core this process owns.
pub async fn run(
    handle: Handle,
    root: &Path,
    config: &Config,
    raw: RawOutput,
    user: String,
) -> Result<Stats, String> {
    let (_, no_narration) = mpsc::unbounded_channel();
    run_narrated(handle, root, config, raw, user, no_narration).await
}

/// [`run`], with a narration: each line received is shown on a row of its own (the demo
/// says which stage it is at).
pub async fn run_narrated(
    handle: Handle,
    root: &Path,
    config: &Config,
    raw: RawOutput,
    user: String,
    narration: mpsc::UnboundedReceiver<String>,
) -> Result<Stats, String> {
    let (theme, keymap, warnings) = load_look(root, config);
    let state = handle.snapshot().await.ok_or("the core has stopped")?;
    let events = handle.subscribe();
    // The activity log as it was before this console started (the newest events stored).
    let store = crate::store::StorePaths::under(&root.join(".overlord"));
    let mut app = super::history::app_at_start(state, &store);
    app.screen.warnings.extend(warnings);
    app.theme = Some(theme.clone());
    let origin = Origin::Console { user };

    super::terminal::tell_after_a_crash(format!(
        "its log: {}",
        root.join(".overlord")
            .join("logs")
            .join("overlord.log")
            .display()
    ));
    let _guard = TerminalGuard::enter().map_err(|e| format!("cannot take the terminal: {e}"))?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .map_err(|e| format!("cannot draw on the terminal: {e}"))?;
    let _ = terminal.clear();

    let keys = read_keys()?;
    let (reply_tx, replies) = mpsc::unbounded_channel::<Reply>();
    // Diffs load on blocking threads and come back here with their generation.
    let (diff_tx, diffs) = mpsc::unbounded_channel::<LoadedDiff>();
    let (history_tx, older) = mpsc::unbounded_channel::<LoadedHistory>();
    let (metrics_worker, figures) = start_metrics_worker(root)?;
    let (highlighted, highlighter) = start_highlighter(&theme);
    // Files agents touch, as they touch them (the swarm and the diff of their task).
    let (_watcher, touched) = match super::watch::worktrees(root) {
        Ok((w, rx)) => (Some(w), rx),
        Err(e) => {
            tracing::warn!("cannot watch the worktrees: {e}");
            (None, mpsc::unbounded_channel().1)
        }
    };
    let mut inputs = Inputs {
        keys,
        events,
        diffs,
        older,
        figures,
        touched,
        highlighted,
        replies,
        narration,
        // Ages and countdowns move with the clock: a frame a second while anything runs.
        clock: every(Duration::from_secs(1)),
        // The windows slide with time: the shown metrics are computed again now and then.
        metrics_clock: every(METRICS_REFRESH),
    };
    let mut colours = Colours {
        highlighter,
        generation: 0,
        due: 0,
        asked_for: None,
    };
    let mut display = Display {
        terminal,
        theme,
        keymap,
        config,
        raw,
        size: Rect::default(),
        stats: Stats::default(),
    };
    let runner = Runner {
        handle: &handle,
        root,
        config,
        origin,
        reply_tx,
        diff_tx,
        history_tx,
        metrics_worker,
    };

    loop {
        if app.dirty {
            display.draw(&mut app)?;
            colours.ask(&mut app, display.size);
        }
        let mut intents = next_intents(&mut app, &mut inputs, &mut colours, &display).await;
        // Everything the terminal has sent meanwhile (a key held down repeats faster than a
        // frame is drawn) is handled before the next frame: one frame for a burst of keys.
        intents.extend(drain_terminal(
            &mut app,
            &display.keymap,
            display.size,
            &mut inputs.keys,
        ));
        // And the core's events already sent (a burst of them is one frame too).
        loop {
            match inputs.events.try_recv() {
                Ok(e) => intents.extend(app.on_event(e)),
                Err(broadcast::error::TryRecvError::Lagged(_)) => intents.push(Intent::Snapshot),
                Err(_) => break,
            }
        }
        for intent in intents {
            if let Intent::SwitchTheme { .. } = &intent {
                colours.follow_theme(&mut app, &inputs.highlighted);
            }
            if runner.carry_out(intent, &mut app).await.is_break() {
                let stats = display.stats;
                tracing::info!(
                    frames = stats.frames,
                    "console closed; frames drawn: {}",
                    stats.frames
                );
                return Ok(stats);
            }
        }
    }
}

/// A diff loaded off the UI loop, with the generation it was asked for.
type LoadedDiff = (u64, Result<DiffView, String>);
/// A page of older resolved concerns: its offset, and (how many there are, the page) or why not.
type LoadedHistory = (
    u64,
    Result<(u64, Vec<crate::protocol::model::Concern>), String>,
);

/// Keys from a thread of their own (crossterm's read blocks).
fn read_keys() -> Result<mpsc::UnboundedReceiver<TermEvent>, String> {
    let (key_tx, keys) = mpsc::unbounded_channel::<TermEvent>();
    std::thread::Builder::new()
        .name("overlord-input".into())
        .spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if key_tx.send(ev).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(keys)
}

/// The metrics pane's figures: a worker thread reads the store (only what is new each time)
/// and computes them; answers come back with their generation.
fn start_metrics_worker(
    root: &Path,
) -> Result<(MetricsWorker, mpsc::UnboundedReceiver<Loaded>), String> {
    let (metrics_tx, figures) = mpsc::unbounded_channel::<Loaded>();
    let metrics_worker = MetricsWorker::spawn(
        crate::store::StorePaths::under(&root.join(".overlord")),
        metrics_tx,
    )
    .map_err(|e| format!("cannot start the metrics worker: {e}"))?;
    Ok((metrics_worker, figures))
}

/// Syntax colours come from a thread of their own, which wakes the loop when a result is
/// ready (no polling).
fn start_highlighter(theme: &Theme) -> (Arc<Notify>, Option<Highlighter>) {
    let highlighted = Arc::new(Notify::new());
    let wake = highlighted.clone();
    let highlighter =
        Highlighter::spawn_with_waker(&theme.syntax, Box::new(move || wake.notify_one())).ok();
    (highlighted, highlighter)
}

fn every(period: Duration) -> tokio::time::Interval {
    let mut clock = tokio::time::interval(period);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    clock
}

/// Everything the loop waits on.
struct Inputs {
    keys: mpsc::UnboundedReceiver<TermEvent>,
    events: broadcast::Receiver<Event>,
    diffs: mpsc::UnboundedReceiver<LoadedDiff>,
    older: mpsc::UnboundedReceiver<LoadedHistory>,
    figures: mpsc::UnboundedReceiver<Loaded>,
    touched: mpsc::UnboundedReceiver<Touched>,
    /// Woken when the highlighter has a result.
    highlighted: Arc<Notify>,
    replies: mpsc::UnboundedReceiver<Reply>,
    narration: mpsc::UnboundedReceiver<String>,
    clock: tokio::time::Interval,
    metrics_clock: tokio::time::Interval,
}

/// Waits for the next input of any kind and hands it to the app.
async fn next_intents(
    app: &mut App,
    inputs: &mut Inputs,
    colours: &mut Colours,
    display: &Display<'_>,
) -> Vec<Intent> {
    tokio::select! {
        key = inputs.keys.recv() => on_terminal(app, &display.keymap, display.size, key),
        ev = inputs.events.recv() => match ev {
            Ok(e) => app.on_event(e),
            Err(broadcast::error::RecvError::Lagged(_)) => vec![Intent::Snapshot],
            Err(broadcast::error::RecvError::Closed) => vec![Intent::Quit],
        },
        loaded = inputs.diffs.recv() => match loaded {
            Some((generation, result)) => app.on_diff_loaded(generation, result),
            None => Vec::new(),
        },
        Some((offset, page)) = inputs.older.recv() => app.on_history_loaded(offset, page),
        loaded = inputs.figures.recv() => {
            if let Some((generation, result)) = loaded {
                app.on_metrics_loaded(generation, result);
            }
            Vec::new()
        }
        _ = inputs.metrics_clock.tick() => app.refresh_metrics(),
        Some(t) = inputs.touched.recv() => app.on_touched(t),
        _ = inputs.highlighted.notified(), if colours.due > 0 => {
            colours.collect(app);
            Vec::new()
        }
        reply = inputs.replies.recv() => {
            if let Some(r) = reply {
                app.on_reply(&r);
            }
            Vec::new()
        }
        Some(text) = inputs.narration.recv() => {
            app.on_narration(text);
            Vec::new()
        }
        _ = inputs.clock.tick() => {
            if app.state.active_agents().next().is_some() {
                app.dirty = true;
            }
            Vec::new()
        }
    }
}

/// Handles every terminal input already waiting in `keys`, without waiting for more.
pub fn drain_terminal(
    app: &mut App,
    keymap: &Keymap,
    size: Rect,
    keys: &mut mpsc::UnboundedReceiver<TermEvent>,
) -> Vec<Intent> {
    let mut out = Vec::new();
    while let Ok(ev) = keys.try_recv() {
        out.extend(on_terminal(app, keymap, size, Some(ev)));
        if out.contains(&Intent::Quit) {
            break;
        }
    }
    out
}

/// A key, a mouse action, a paste or a resize from the terminal (`None`: the input thread
/// ended). `size` is the terminal's area at the last frame.
pub fn on_terminal(
    app: &mut App,
    keymap: &Keymap,
    size: Rect,
    ev: Option<TermEvent>,
) -> Vec<Intent> {
    match ev {
        Some(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => on_key(app, keymap, k),
        Some(TermEvent::Mouse(m)) => on_mouse(app, size, m),
        Some(TermEvent::Paste(text)) => {
            app.on_paste(&text);
            Vec::new()
        }
        Some(TermEvent::Resize(width, height)) => {
            app.screen.size = Rect::new(0, 0, width, height);
            app.dirty = true;
            Vec::new()
        }
        Some(_) => Vec::new(),
        None => vec![Intent::Quit],
    }
}

/// A bound key is an action; an unbound one edits the command bar when it is open, and `/`
/// opens it.
fn on_key(app: &mut App, keymap: &Keymap, k: KeyEvent) -> Vec<Intent> {
    crate::core::failpoint::panic_at("console.key");
    let layers = app.layers();
    if layers.first() == Some(&Context::Help) {
        return on_help_key(app, keymap, k);
    }
    // A search or filter being typed in the diff takes every key.
    if layers.first() == Some(&Context::Diff) && app.diff_prompt_open() {
        app.on_diff_prompt_key(k);
        return Vec::new();
    }
    match keymap.resolve(&layers, k) {
        Some(action) => {
            let out = app.on_action(action);
            if app.screen.help {
                count_help_rows(app, keymap);
            }
            out
        }
        None => {
            if layers.first() == Some(&Context::Palette) {
                app.on_edit(k);
            } else if k.code == KeyCode::Char('/') {
                app.on_action(Action::Palette);
            }
            Vec::new()
        }
    }
}

/// A key while the help is open: the help's keys scroll and close it; while a filter is
/// typed, characters and backspace edit it; any other character starts a filter. Nothing
/// reaches the pane behind.
fn on_help_key(app: &mut App, keymap: &Keymap, k: KeyEvent) -> Vec<Intent> {
    count_help_rows(app, keymap);
    let filter = app.screen.help_view.filter.clone();
    let typed = match k.code {
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    };
    if filter.is_some() {
        if let Some(c) = typed {
            app.on_help_text(c);
            return Vec::new();
        }
        if k.code == KeyCode::Backspace {
            app.on_help_backspace();
            return Vec::new();
        }
    }
    match keymap.resolve(&[Context::Help], k) {
        Some(action) => app.on_action(action),
        None => {
            if let Some(c) = typed {
                app.on_help_text(c);
            }
            Vec::new()
        }
    }
}

/// How many rows the help shows with its filter (what its scrolling stops at).
fn count_help_rows(app: &mut App, keymap: &Keymap) {
    let filter = app.screen.help_view.filter.as_deref();
    app.screen.help_view.rows = super::help::rows(&help(keymap), filter).len();
}

/// Scrolling or clicking over a pane (or its tab) focuses it first. Over the help the wheel
/// scrolls the help, and nothing reaches the pane behind an overlay.
fn on_mouse(app: &mut App, size: Rect, m: MouseEvent) -> Vec<Intent> {
    let at = screen::areas(&app.screen, size).and_then(|a| a.pane_at(m.column, m.row));
    let modal = app.layers().first().is_some_and(|c| c.is_modal());
    if app.screen.help && app.screen.confirm.is_none() && app.screen.command.is_none() {
        return match m.kind {
            MouseEventKind::ScrollUp => app.on_action(Action::Up),
            MouseEventKind::ScrollDown => app.on_action(Action::Down),
            _ => Vec::new(),
        };
    }
    match m.kind {
        MouseEventKind::Down(_) | MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
            if !modal =>
        {
            let mut out = match at {
                Some(p) if p != app.screen.focus => app.focus(p),
                _ => Vec::new(),
            };
            out.extend(match m.kind {
                MouseEventKind::ScrollUp => app.on_action(Action::Up),
                MouseEventKind::ScrollDown => app.on_action(Action::Down),
                _ => Vec::new(),
            });
            if matches!(m.kind, MouseEventKind::Down(_)) && at == Some(screen::Pane::Diff) {
                app.click_diff(m.column, m.row);
            }
            out
        }
        _ => Vec::new(),
    }
}

/// What a frame is drawn with besides the app: the colours, the keys (for the hints and the
/// help) and when an agent counts as stalled.
pub struct Look<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    pub stall_secs: u64,
}

/// One frame of the console into `buf`: exactly what the terminal shows, for any backend
/// (the tests draw into ratatui's `TestBackend` through here).
pub fn draw_frame(
    app: &App,
    look: &Look<'_>,
    raw_lines: &[String],
    now: time::OffsetDateTime,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let layers = app.layers();
    let hint_list = super::hints::ordered(look.keymap, &layers);
    let help_list = help(look.keymap);
    let frame = Frame {
        state: &app.state,
        // A theme chosen at run time (`/theme`) over the one the console started with.
        theme: app.theme.as_ref().unwrap_or(look.theme),
        now,
        log: &app.log,
        raw: raw_lines,
        hints: &hint_list,
        help: &help_list,
        stall_secs: look.stall_secs,
        decide: (
            first_key(look.keymap, Context::Global, Action::FocusPlan),
            first_key(look.keymap, Context::Plan, Action::Approve),
        ),
    };
    screen::render(&app.screen, &frame, area, buf);
}

/// The first key bound to `action` in `context`, as the keymap writes it.
fn first_key(keymap: &Keymap, context: Context, action: Action) -> Option<String> {
    keymap.keys(context, action).first().map(|k| k.to_string())
}

/// The terminal and what a frame is drawn with.
struct Display<'a> {
    terminal: Terminal<CrosstermBackend<std::io::Stdout>>,
    theme: Theme,
    keymap: Keymap,
    config: &'a Config,
    raw: RawOutput,
    /// The terminal's size at the last frame.
    size: Rect,
    stats: Stats,
}

impl Display<'_> {
    fn draw(&mut self, app: &mut App) -> Result<(), String> {
        let now = time::OffsetDateTime::now_utc();
        let raw_lines = app
            .screen
            .activity
            .agent
            .as_deref()
            .map(|a| self.raw.lines(a))
            .unwrap_or_default();
        app.screen.activity.raw_len = raw_lines.len();
        let look = Look {
            theme: &self.theme,
            keymap: &self.keymap,
            stall_secs: self.config.agents.stall_secs,
        };
        let size = &mut self.size;
        self.terminal
            .draw(|f| {
                *size = f.area();
                draw_frame(app, &look, &raw_lines, now, *size, f.buffer_mut())
            })
            .map_err(|e| format!("cannot draw: {e}"))?;
        app.screen.size = self.size;
        self.stats.frames += 1;
        app.dirty = false;
        Ok(())
    }
}

/// The syntax colours of the diff on screen: the highlighter, and what was asked of it.
struct Colours {
    highlighter: Option<Highlighter>,
    generation: u64,
    /// Results still to come for the latest requests.
    due: usize,
    /// What those requests were for (the diff, file, place, layout and area): the same view is
    /// not asked for twice.
    asked_for: Option<(u64, usize, usize, bool, Rect)>,
}

impl Colours {
    /// The theme changed: the diff's syntax colours come from its syntax theme now (a new
    /// highlighter; the colours of the old one are dropped).
    fn follow_theme(&mut self, app: &mut App, wake: &Arc<Notify>) {
        let Some(theme) = app.theme.as_ref() else {
            return;
        };
        let wake = wake.clone();
        self.highlighter =
            Highlighter::spawn_with_waker(&theme.syntax, Box::new(move || wake.notify_one())).ok();
        self.due = 0;
        self.asked_for = None;
        app.screen.diff.highlights.clear();
        app.dirty = true;
    }

    /// Asks for the colours of the diff lines now on screen that have none yet.
    fn ask(&mut self, app: &mut App, size: Rect) {
        let diff_area = screen::diff_area(&app.screen, size);
        app.screen.diff.area = diff_area.unwrap_or_default();
        if let (Some(area), Some(view), Some(h)) = (
            diff_area,
            app.screen.diff.view.as_ref(),
            self.highlighter.as_mut(),
        ) {
            let key = Some((
                app.screen.diff.generation,
                view.selected(),
                view.scroll(),
                view.layout() == Layout::Unified,
                area,
            ));
            if self.due == 0 || key != self.asked_for {
                let requests =
                    view.highlight_requests(self.generation + 1, area, &app.screen.diff.highlights);
                if !requests.is_empty() {
                    self.generation += 1;
                    self.due = requests.len();
                    self.asked_for = key;
                    for r in requests {
                        h.request(r);
                    }
                }
            }
        }
    }

    /// Takes the results that arrived. Only the latest generation's results come out; older
    /// are dropped.
    fn collect(&mut self, app: &mut App) {
        match self.highlighter.as_mut() {
            Some(h) => {
                while let Some(r) = h.try_next() {
                    app.screen.diff.highlights.insert(r);
                    self.due = self.due.saturating_sub(1);
                    app.dirty = true;
                }
            }
            None => self.due = 0,
        }
    }
}

/// Carries the app's intents out: the core, the loaders, the alerts.
struct Runner<'a> {
    handle: &'a Handle,
    root: &'a Path,
    config: &'a Config,
    origin: Origin,
    reply_tx: mpsc::UnboundedSender<Reply>,
    diff_tx: mpsc::UnboundedSender<LoadedDiff>,
    history_tx: mpsc::UnboundedSender<LoadedHistory>,
    metrics_worker: MetricsWorker,
}

impl Runner<'_> {
    /// `Break` when the console should close.
    async fn carry_out(&self, intent: Intent, app: &mut App) -> ControlFlow<()> {
        match intent {
            Intent::Quit => return ControlFlow::Break(()),
            Intent::Snapshot => {
                if let Some(s) = self.handle.snapshot().await {
                    app.on_snapshot(s);
                }
            }
            Intent::Alert(c) => super::alert::critical(
                &c,
                self.config.console.bell,
                self.config.console.desktop_notifications,
            ),
            Intent::LoadDiff { source, generation } => self.load_diff(source, generation),
            Intent::LoadHistory { offset } => self.load_history(offset),
            Intent::LoadMetrics {
                window,
                generation,
                after_events,
            } => self.metrics_worker.request(Request {
                window,
                generation,
                after_events,
            }),
            Intent::Submit(command) => self.submit(command),
            Intent::SwitchTheme { name, save } => {
                if save {
                    let file = self.root.join(".overlord").join("config.toml");
                    app.screen.reply =
                        Some(match crate::config::save_console_theme(&file, &name) {
                            Ok(()) => (
                                true,
                                format!("theme {name}, saved to .overlord/config.toml"),
                            ),
                            Err(e) => (false, format!("theme {name}, not saved: {e}")),
                        });
                    app.dirty = true;
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn load_diff(&self, source: DiffSource, generation: u64) {
        let (root, tx) = (self.root.to_path_buf(), self.diff_tx.clone());
        tokio::task::spawn_blocking(move || {
            let loaded = super::diff_source::load(&root, &source);
            let _ = tx.send((generation, loaded));
        });
    }

    /// Older resolved concerns, read from the store's history off the UI loop.
    fn load_history(&self, offset: u64) {
        let (root, tx) = (self.root.to_path_buf(), self.history_tx.clone());
        tokio::task::spawn_blocking(move || {
            let paths = crate::store::StorePaths::under(&root.join(".overlord"));
            let page = crate::store::Store::open_without_repair(&paths)
                .map_err(|e| e.to_string())
                .and_then(|store| {
                    crate::core::history::finished(
                        &store,
                        "concern",
                        offset,
                        super::panes::concerns::HISTORY_PAGE,
                    )
                    .map_err(|e| e.to_string())
                })
                .map(|p| {
                    let concerns = p
                        .items
                        .into_iter()
                        .filter_map(|v| serde_json::from_value(v).ok());
                    (p.total, concerns.collect())
                });
            let _ = tx.send((offset, page));
        });
    }

    /// Saves and rollbacks run long: answer in the background.
    fn submit(&self, command: Command) {
        let (h, o, tx) = (
            self.handle.clone(),
            self.origin.clone(),
            self.reply_tx.clone(),
        );
        tokio::spawn(async move {
            let r = h.submit(o, command).await;
            let _ = tx.send(r);
        });
    }
}
