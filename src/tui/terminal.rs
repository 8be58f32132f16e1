//! The terminal while the console owns it: raw mode, the alternate screen and mouse capture
//! on entry, and always restored on the way out — on return, on error and on panic (the
//! panic hook restores it before the message is printed, so the message is readable).

use std::io::{self, Write};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        ) {
            let _ = disable_raw_mode();
            return Err(e);
        }
        Ok(TerminalGuard { _private: () })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen (harmless when not in them).
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// What the panic hook tells the user after the panic's own message: where the log is, and
/// whatever they would otherwise lose track of (the demo's scratch project).
static AFTER_A_CRASH: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A line for the user should the console crash (printed after the terminal is restored).
pub fn tell_after_a_crash(line: impl Into<String>) {
    if let Ok(mut lines) = AFTER_A_CRASH.lock() {
        lines.push(line.into());
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            // `try_lock`: a panic while the list is held must not hang the hook.
            let lines = AFTER_A_CRASH
                .try_lock()
                .map(|l| l.clone())
                .unwrap_or_default();
            if !lines.is_empty() {
                eprintln!("overlord-tui: the console stopped on an internal error (a bug).");
                for line in lines {
                    eprintln!("  {line}");
                }
            }
        }));
    });
}
