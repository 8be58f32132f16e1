//! The demo's stage lines: on stderr headless, in the log under the console.

/// Stage lines: on stderr headless, in the log under the console (which owns the screen).
#[derive(Clone, Copy)]
pub(super) struct Say {
    pub(super) stderr: bool,
}

impl Say {
    pub(super) fn line(&self, text: &str) {
        if self.stderr {
            eprintln!("demo: {text}");
        } else {
            tracing::info!("demo: {text}");
        }
    }
}
