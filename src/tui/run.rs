//! The console's runner: owns the repository like `overlord-tui run` (the core, the socket,
//! the supervisor), takes the terminal, and loops — keys from an input thread, the core's
//! events, replies, a clock tick — drawing a frame only when something changed.

use std::path::Path;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers, MouseEventKind};
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
    let mut stats = Stats::default();
    // Ages and countdowns move with the clock: a frame a second while anything runs.
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

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
                .draw(|f| screen::render(&app.screen, &frame, f.area(), f.buffer_mut()))
                .map_err(|e| format!("cannot draw: {e}"))?;
            stats.frames += 1;
            app.dirty = false;
        }
        let intents = tokio::select! {
            key = keys.recv() => match key {
                Some(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                    let layers = app.layers();
                    match keymap.resolve(&layers, k) {
                        Some(action) => app.on_action(action),
                        None => {
                            if layers.first() == Some(&Context::Palette) {
                                match k.code {
                                    KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => app.on_text(c),
                                    KeyCode::Backspace => app.on_backspace(),
                                    _ => {}
                                }
                            } else if k.code == KeyCode::Char('/') {
                                app.on_action(super::keymap::Action::Palette);
                            }
                            Vec::new()
                        }
                    }
                }
                Some(TermEvent::Mouse(m)) => match m.kind {
                    MouseEventKind::ScrollUp => app.on_action(super::keymap::Action::Up),
                    MouseEventKind::ScrollDown => app.on_action(super::keymap::Action::Down),
                    _ => Vec::new(),
                },
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
