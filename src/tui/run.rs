//! The console's runner: owns the repository like `overlord-tui run` (the core, the socket,
//! the supervisor), takes the terminal, and loops — keys from an input thread, the core's
//! events, replies, a clock tick — drawing a frame only when something changed.

use std::path::Path;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, MouseEventKind};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::{broadcast, mpsc};

use super::app::{App, Intent};
use super::keymap::{Context, Keymap};
use super::screen::{self, Frame};
use super::terminal::TerminalGuard;
use super::theme::Theme;
use crate::config::Config;
use crate::core::Handle;
use crate::protocol::{Origin, Reply};
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
    (theme, keymap, warnings)
}

fn hints(keymap: &Keymap, layers: &[Context]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for c in layers {
        for (k, what) in keymap.hints(*c) {
            if !out.iter().any(|(_, w)| w == what) {
                out.push((k, what.to_string()));
            }
        }
    }
    out
}

fn help(keymap: &Keymap) -> Vec<(String, Vec<(String, String)>)> {
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
    let (theme, keymap, warnings) = load_look(root, config);
    let state = handle.snapshot().await.ok_or("the core has stopped")?;
    let mut events = handle.subscribe();
    let mut app = App::new(state);
    app.screen.warnings = warnings;
    let origin = Origin::Console { user };

    let _guard = TerminalGuard::enter().map_err(|e| format!("cannot take the terminal: {e}"))?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .map_err(|e| format!("cannot draw on the terminal: {e}"))?;
    let _ = terminal.clear();

    // Keys from a thread of their own (crossterm's read blocks).
    let (key_tx, mut keys) = mpsc::unbounded_channel::<TermEvent>();
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
    let (reply_tx, mut replies) = mpsc::unbounded_channel::<Reply>();
    // Diffs load on blocking threads and come back here with their generation.
    let (diff_tx, mut diffs) =
        mpsc::unbounded_channel::<(u64, Result<super::diff_view::DiffView, String>)>();
    // The metrics pane's figures: a worker thread reads the store (only what is new each time)
    // and computes them; answers come back with their generation.
    let (metrics_tx, mut figures) = mpsc::unbounded_channel::<super::metrics_source::Loaded>();
    let metrics_worker = super::metrics_source::MetricsWorker::spawn(
        crate::store::StorePaths::under(&root.join(".overlord")),
        metrics_tx,
    )
    .map_err(|e| format!("cannot start the metrics worker: {e}"))?;
    // Syntax colours come from a thread of their own, which wakes the loop when a result is
    // ready (no polling).
    let highlighted = std::sync::Arc::new(tokio::sync::Notify::new());
    let wake = highlighted.clone();
    let mut highlighter = super::highlight::Highlighter::spawn_with_waker(
        &theme.syntax,
        Box::new(move || wake.notify_one()),
    )
    .ok();
    let mut highlight_generation = 0u64;
    // Results still to come for the latest requests, and what those requests were for (the
    // diff, file, place, layout and area): the same view is not asked for twice.
    let mut highlights_due = 0usize;
    let mut asked_for = None;
    // Files agents touch, as they touch them (the swarm and the diff of their task).
    let (_watcher, mut touched) = match super::watch::worktrees(root) {
        Ok((w, rx)) => (Some(w), rx),
        Err(e) => {
            tracing::warn!("cannot watch the worktrees: {e}");
            (None, mpsc::unbounded_channel().1)
        }
    };
    let mut size = ratatui::layout::Rect::default();
    let mut stats = Stats::default();
    // Ages and countdowns move with the clock: a frame a second while anything runs.
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The windows slide with time: the shown metrics are computed again now and then.
    let mut metrics_clock = tokio::time::interval(METRICS_REFRESH);
    metrics_clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        if app.dirty {
            let now = time::OffsetDateTime::now_utc();
            let layers = app.layers();
            let hint_list = hints(&keymap, &layers);
            let help_list = help(&keymap);
            let raw_lines = app
                .screen
                .activity
                .agent
                .as_deref()
                .map(|a| raw.lines(a))
                .unwrap_or_default();
            let frame = Frame {
                state: &app.state,
                theme: &theme,
                now,
                log: &app.log,
                raw: &raw_lines,
                hints: &hint_list,
                help: &help_list,
                stall_secs: config.agents.stall_secs,
            };
            terminal
                .draw(|f| {
                    size = f.area();
                    screen::render(&app.screen, &frame, size, f.buffer_mut())
                })
                .map_err(|e| format!("cannot draw: {e}"))?;
            stats.frames += 1;
            app.dirty = false;
            // Ask for the colours of the diff lines now on screen that have none yet.
            let diff_area = screen::diff_area(&app.screen, size);
            app.screen.diff.area = diff_area.unwrap_or_default();
            if let (Some(area), Some(view), Some(h)) = (
                diff_area,
                app.screen.diff.view.as_ref(),
                highlighter.as_mut(),
            ) {
                let key = Some((
                    app.screen.diff.generation,
                    view.selected(),
                    view.scroll(),
                    view.layout() == super::diff_view::Layout::Unified,
                    area,
                ));
                if highlights_due == 0 || key != asked_for {
                    let requests = view.highlight_requests(
                        highlight_generation + 1,
                        area,
                        &app.screen.diff.highlights,
                    );
                    if !requests.is_empty() {
                        highlight_generation += 1;
                        highlights_due = requests.len();
                        asked_for = key;
                        for r in requests {
                            h.request(r);
                        }
                    }
                }
            }
        }
        let intents = tokio::select! {
            key = keys.recv() => match key {
                Some(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                    let layers = app.layers();
                    match keymap.resolve(&layers, k) {
                        Some(action) => app.on_action(action),
                        None => {
                            if layers.first() == Some(&Context::Palette) {
                                app.on_edit(k);
                            } else if k.code == KeyCode::Char('/') {
                                app.on_action(super::keymap::Action::Palette);
                            }
                            Vec::new()
                        }
                    }
                }
                Some(TermEvent::Mouse(m)) => {
                    // Scrolling or clicking over a pane (or its tab) focuses it first.
                    let at = screen::areas(&app.screen, size)
                        .and_then(|a| a.pane_at(m.column, m.row));
                    let modal = app.layers().first().is_some_and(|c| c.is_modal());
                    match m.kind {
                        MouseEventKind::Down(_) | MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
                            if !modal =>
                        {
                            let mut out = match at {
                                Some(p) if p != app.screen.focus => app.focus(p),
                                _ => Vec::new(),
                            };
                            out.extend(match m.kind {
                                MouseEventKind::ScrollUp => app.on_action(super::keymap::Action::Up),
                                MouseEventKind::ScrollDown => app.on_action(super::keymap::Action::Down),
                                _ => Vec::new(),
                            });
                            out
                        }
                        _ => Vec::new(),
                    }
                }
                Some(TermEvent::Paste(text)) => {
                    app.on_paste(&text);
                    Vec::new()
                }
                Some(TermEvent::Resize(..)) => {
                    app.dirty = true;
                    Vec::new()
                }
                Some(_) => Vec::new(),
                None => vec![Intent::Quit],
            },
            ev = events.recv() => match ev {
                Ok(e) => app.on_event(e),
                Err(broadcast::error::RecvError::Lagged(_)) => vec![Intent::Snapshot],
                Err(broadcast::error::RecvError::Closed) => vec![Intent::Quit],
            },
            loaded = diffs.recv() => match loaded {
                Some((generation, result)) => app.on_diff_loaded(generation, result),
                None => Vec::new(),
            },
            loaded = figures.recv() => {
                if let Some((generation, result)) = loaded {
                    app.on_metrics_loaded(generation, result);
                }
                Vec::new()
            }
            _ = metrics_clock.tick() => app.refresh_metrics(),
            Some(t) = touched.recv() => app.on_touched(t),
            _ = highlighted.notified(), if highlights_due > 0 => {
                match highlighter.as_mut() {
                    Some(h) => {
                        // Only the latest generation's results come out; older are dropped.
                        while let Some(r) = h.try_next() {
                            app.screen.diff.highlights.insert(r);
                            highlights_due = highlights_due.saturating_sub(1);
                            app.dirty = true;
                        }
                    }
                    None => highlights_due = 0,
                }
                Vec::new()
            }
            reply = replies.recv() => {
                if let Some(r) = reply {
                    app.on_reply(&r);
                }
                Vec::new()
            }
            _ = clock.tick() => {
                if app.state.active_agents().next().is_some() {
                    app.dirty = true;
                }
                Vec::new()
            }
        };
        for intent in intents {
            match intent {
                Intent::Quit => {
                    tracing::info!(
                        frames = stats.frames,
                        "console closed; frames drawn: {}",
                        stats.frames
                    );
                    return Ok(stats);
                }
                Intent::Snapshot => {
                    if let Some(s) = handle.snapshot().await {
                        app.on_snapshot(s);
                    }
                }
                Intent::Alert(c) => super::alert::critical(
                    &c,
                    config.console.bell,
                    config.console.desktop_notifications,
                ),
                Intent::LoadDiff { source, generation } => {
                    let (root, tx) = (root.to_path_buf(), diff_tx.clone());
                    tokio::task::spawn_blocking(move || {
                        let loaded = super::diff_source::load(&root, &source);
                        let _ = tx.send((generation, loaded));
                    });
                }
                Intent::LoadMetrics {
                    window,
                    generation,
                    after_events,
                } => metrics_worker.request(super::metrics_source::Request {
                    window,
                    generation,
                    after_events,
                }),
                Intent::Submit(command) => {
                    // Saves and rollbacks run long: answer in the background.
                    let (h, o, tx) = (handle.clone(), origin.clone(), reply_tx.clone());
                    tokio::spawn(async move {
                        let r = h.submit(o, command).await;
                        let _ = tx.send(r);
                    });
                }
            }
        }
    }
}
