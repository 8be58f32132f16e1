//! Getting the human's attention for a critical concern: the terminal bell and, where
//! `notify-send` exists, a desktop notification (each configurable in `[console]`).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::protocol::model::Concern;
use crate::tui::text::clean;

/// Rings the bell and raises a desktop notification as configured. Never blocks on, or fails
/// because of, the notifier.
pub fn critical(concern: &Concern, bell: bool, desktop: bool) {
    if bell {
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x07");
        let _ = out.flush();
    }
    if desktop {
        let title = format!("Overlord: critical concern {}", concern.id);
        let body = clean(&concern.summary);
        // Fire and forget; a missing notify-send is not an error.
        if let Ok(mut child) = Command::new("notify-send")
            .args([
                "--urgency=critical",
                "--app-name=overlord-tui",
                &title,
                &body,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}
