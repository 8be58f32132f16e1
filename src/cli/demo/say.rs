//! The demo's voice: the stage it is at ("stage 4/8: a concern climbs to you") on the
//! console's narration row, or on stderr headless; detail lines in the log (on stderr
//! headless); and its pace — each stage stays on screen at least `pace` before the demo moves
//! on, so that a newcomer can follow (none headless or in the tests).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// The stages the demo narrates.
pub(super) const STAGES: usize = 8;

/// How long each stage stays on screen in the console unless `--pace` says otherwise.
pub(super) const CONSOLE_PACE_SECS: f64 = 5.0;

#[derive(Clone)]
pub(super) struct Say {
    /// Headless: everything on stderr.
    stderr: bool,
    /// The console's narration row.
    screen: Option<mpsc::UnboundedSender<String>>,
    pace: Duration,
    /// When the stage now shown began.
    since: Arc<Mutex<Instant>>,
}

impl Say {
    /// Lines on stderr.
    pub(super) fn headless(pace: Duration) -> Say {
        Say {
            stderr: true,
            screen: None,
            pace,
            since: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Stages on the console's narration row (and in the log), detail lines in the log.
    pub(super) fn console(pace: Duration, screen: mpsc::UnboundedSender<String>) -> Say {
        Say {
            stderr: false,
            screen: Some(screen),
            pace,
            since: Arc::new(Mutex::new(Instant::now())),
        }
    }

    pub(super) fn pace(&self) -> Duration {
        self.pace
    }

    pub(super) fn in_console(&self) -> bool {
        self.screen.is_some()
    }

    /// A detail line: on stderr headless, in the log under the console (which owns the
    /// screen).
    pub(super) fn line(&self, text: &str) {
        if self.stderr {
            eprintln!("demo: {text}");
        } else {
            tracing::info!("demo: {text}");
        }
    }

    /// Waits until the stage shown has been there for the pace, and at least `least` (the
    /// demo acts as the human only then).
    pub(super) async fn hold(&self, least: Duration) {
        let since = self
            .since
            .lock()
            .map(|s| *s)
            .unwrap_or_else(|_| Instant::now());
        tokio::time::sleep_until((since + self.pace.max(least)).into()).await;
    }

    /// Stage `n` of [`STAGES`], once the one before has had its time.
    pub(super) async fn stage(&self, n: usize, text: &str) {
        self.hold(Duration::ZERO).await;
        self.show(format!("stage {n}/{STAGES}: {text}"));
    }

    /// The last word, after the last stage's time: it stays until the human quits.
    pub(super) async fn end(&self, text: &str) {
        self.hold(Duration::ZERO).await;
        self.show(text.to_string());
    }

    fn show(&self, text: String) {
        self.line(&text);
        if let Some(s) = &self.screen {
            let _ = s.send(text);
        }
        if let Ok(mut since) = self.since.lock() {
            *since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::sync::mpsc;

    // Not `super::*`: that reads as the demo's module (an import loop to the layout test).
    use crate::cli::demo::say::{Say, STAGES};

    /// A stage stays on screen at least the pace before the next one is shown, and the demo
    /// acts as the human only after it; with no pace nothing waits.
    #[tokio::test]
    async fn each_stage_stays_on_screen_at_least_the_pace() {
        let pace = Duration::from_millis(300);
        let (tx, mut shown) = mpsc::unbounded_channel();
        let say = Say::console(pace, tx);
        say.stage(1, "the plan").await;
        let first = Instant::now();
        assert_eq!(shown.recv().await.unwrap(), "stage 1/8: the plan");
        say.hold(Duration::ZERO).await;
        assert!(first.elapsed() >= pace, "{:?}", first.elapsed());
        say.stage(2, "the spec").await;
        assert_eq!(shown.recv().await.unwrap(), "stage 2/8: the spec");
        // A longer least time wins over the pace.
        let second = Instant::now();
        say.hold(Duration::from_millis(500)).await;
        assert!(second.elapsed() >= Duration::from_millis(450));
        say.end("cycle done").await;
        assert_eq!(shown.recv().await.unwrap(), "cycle done");

        let quick = Say::headless(Duration::ZERO);
        let start = Instant::now();
        for n in 1..=STAGES {
            quick.stage(n, "headless").await;
        }
        assert!(start.elapsed() < pace, "{:?}", start.elapsed());
    }
}
