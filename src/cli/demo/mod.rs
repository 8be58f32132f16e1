//! `overlord-tui demo`: a scratch sample project (`assets/demo/project`, a small Rust crate)
//! and a scripted swarm (`assets/demo/overlord`) that runs one whole cycle with the real core,
//! supervisor, agents' processes, git and QA gates: plan → PM initiation → design spec → the
//! human's approval → two implementers in parallel → a concern climbing to the human → the
//! tester's plan and tests → a failing test → a branch todo → the fix → QA → Save →
//! checkpoint → a second change → Save → rollback to the first checkpoint.
//!
//! The demo's own part is the *driver*: it plays the human through the core's commands (with
//! the origin `cli:demo`, so the audit trail shows each of them) and waits for each stage with
//! a deadline. Discord alerts go to a local sink that prints what would have been posted.
//!
//! Here: the subcommand's arguments and its run (the project made, the repository owned, the
//! driver and the console or the progress lines side by side, the result reported). The
//! stages are in `drive.rs`, the human's hands in `human.rs`, the project in `project.rs`,
//! the result in `report.rs`, Discord in `discord.rs` and `sink.rs`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;

use crate::cli::logging::init_logging;
use crate::cli::output::{fail, Outcome};
use crate::cli::owner::{own, stopped, Owner};
use crate::cli::serve::print_progress;
use crate::core::Handle;
use crate::workspace::Workspace;

use discord::discord_bridge;
use drive::drive;
use project::{place, prepare, sandbox_env};
use report::report;
use say::{Say, CONSOLE_PACE_SECS, STAGES};

mod discord;
mod drive;
mod human;
mod project;
mod report;
mod say;
#[cfg(feature = "discord")]
mod sink;

// No doc comment here: the subcommand's help is the `Sub::Demo` variant's.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Make the project here (a new or empty directory, kept afterwards) instead of in a
    /// temporary directory
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Approve the design spec after a few seconds instead of waiting for you
    #[arg(long)]
    pub auto: bool,
    /// No console: progress on stderr, then the timeline, the audit summary, the audit
    /// verification and the Discord messages on stdout (implies --auto); exit 0 only when
    /// the whole cycle completed and the audit trail verifies
    #[arg(long)]
    pub headless: bool,
    /// Keep each of the eight stages on screen at least SECS seconds before the demo moves
    /// on (default: 5 in the console, 0 with --headless)
    #[arg(long, value_name = "SECS", value_parser = parse_pace, allow_negative_numbers = true)]
    pub pace: Option<f64>,
}

/// `--pace`: seconds, from 0 to 600.
fn parse_pace(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if (0.0..=600.0).contains(&secs) => Ok(secs),
        _ => Err(format!("'{text}' is not a number of seconds from 0 to 600")),
    }
}

/// The longest the whole cycle may take before the demo gives up.
const TOTAL_SECS: u64 = 300;

/// How the cycle ended: `None` until the driver is done.
type Cycle = Arc<Mutex<Option<Result<(), String>>>>;

pub fn demo(args: DemoArgs) -> Outcome {
    // --headless implies --auto.
    let args = DemoArgs {
        auto: args.auto || args.headless,
        ..args
    };
    if !args.headless {
        #[cfg(not(feature = "tui"))]
        return Err(fail(
            "this overlord-tui was built without the console: run `overlord-tui demo --headless`",
        ));
        #[cfg(feature = "tui")]
        {
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
                return Err(fail(
                    "the demo opens the console, which needs a terminal: run `overlord-tui demo --headless` without one",
                ));
            }
        }
    }
    let (root, keep) = place(args.dir.as_deref())?;
    sandbox_env(&root);
    #[cfg(feature = "tui")]
    crate::tui::terminal::tell_after_a_crash(format!(
        "the demo's project is left in {}",
        root.display()
    ));
    let result = run(&root, &args);
    match (&result, keep) {
        (_, true) => eprintln!("demo: the project is kept in {}", root.display()),
        (Ok(()), false) => {
            let _ = std::fs::remove_dir_all(&root);
        }
        (Err(_), false) => eprintln!(
            "demo: the project is left in {} for a look (its log: .overlord/logs/overlord.log)",
            root.display()
        ),
    }
    result
}

fn run(root: &Path, args: &DemoArgs) -> Outcome {
    let ws = prepare(root)?;
    init_logging(&ws);
    let pace = Duration::from_secs_f64(args.pace.unwrap_or(if args.headless {
        0.0
    } else {
        CONSOLE_PACE_SECS
    }));
    let (narration_tx, narration) = tokio::sync::mpsc::unbounded_channel();
    let say = if args.headless {
        Say::headless(pace)
    } else {
        Say::console(pace, narration_tx)
    };
    say.line(&format!("sample project in {}", root.display()));
    let sink = Arc::new(Mutex::new(Vec::<String>::new()));
    let cycle: Cycle = Arc::new(Mutex::new(None));
    let (sink2, cycle2, auto, headless) = (sink.clone(), cycle.clone(), args.auto, args.headless);
    let owned = own(ws.clone(), true, move |owner: Owner| async move {
        let bridge = discord_bridge(&owner, sink2.clone(), headless, &say).await;
        let driver = spawn_driver(&owner, cycle2.clone(), auto, say.clone());
        let outcome = if headless {
            let printer = tokio::spawn(print_progress(owner.handle.subscribe()));
            tokio::select! {
                _ = driver => {}
                _ = stopped(owner.stop.clone()) => say.line("interrupted"),
            }
            printer.abort();
            Ok(())
        } else {
            console(&owner, driver, narration).await
        };
        if let Some((stop, b)) = bridge {
            let_alerts_out(&sink2, &cycle2).await;
            let _ = stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), b.join()).await;
        }
        outcome
    });
    let cycle = cycle.lock().ok().and_then(|mut c| c.take());
    report(
        &ws,
        owned,
        cycle,
        &sink.lock().map(|l| l.clone()).unwrap_or_default(),
    )
}

/// The driver on its own task, within the whole cycle's deadline; how it ended goes to
/// `cycle`.
fn spawn_driver(owner: &Owner, cycle: Cycle, auto: bool, say: Say) -> tokio::task::JoinHandle<()> {
    let handle: Handle = owner.handle.clone();
    let ws: Workspace = owner.ws.clone();
    tokio::spawn(async move {
        // The pace adds to the time the cycle may take (eight stages and the last word).
        let within = Duration::from_secs(TOTAL_SECS) + say.pace() * (STAGES as u32 + 1);
        let r = tokio::time::timeout(within, drive(&handle, &ws, auto, &say))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the cycle did not complete within {} s",
                    within.as_secs()
                ))
            });
        match (&r, say.in_console()) {
            (Ok(()), true) => {
                say.end("cycle done — 5 timeline · 7 diff · 4 QA · 6 activity · q quits with the report")
                    .await
            }
            (Ok(()), false) => say.line("the cycle is complete"),
            (Err(e), true) => say.end(&format!("the demo stopped: {e} — q quits with the report")).await,
            (Err(e), false) => say.line(&format!("stopped: {e}")),
        }
        if let Ok(mut c) = cycle.lock() {
            *c = Some(r);
        }
    })
}

/// The last alerts (the rollback) get a moment to go out.
async fn let_alerts_out(sink: &Mutex<Vec<String>>, cycle: &Mutex<Option<Result<(), String>>>) {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until
        && !sink
            .lock()
            .map(|l| {
                l.iter().any(|l| l.contains("rolled back"))
                    && l.iter().any(|l| l.contains("Daily digest"))
            })
            .unwrap_or(true)
        && cycle
            .lock()
            .map(|c| matches!(*c, Some(Ok(()))))
            .unwrap_or(false)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(feature = "tui")]
async fn console(
    owner: &Owner,
    driver: tokio::task::JoinHandle<()>,
    narration: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Outcome {
    let raw = owner.raw.clone().unwrap_or_default();
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "human".into());
    let r = tokio::select! {
        r = crate::tui::run::run_narrated(owner.handle.clone(), &owner.ws.root, &owner.config, raw, user, narration) => {
            r.map(|_| ()).map_err(fail)
        }
        _ = stopped(owner.stop.clone()) => Ok(()),
    };
    driver.abort();
    r
}

#[cfg(not(feature = "tui"))]
async fn console(
    _owner: &Owner,
    driver: tokio::task::JoinHandle<()>,
    _narration: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Outcome {
    driver.abort();
    Err(fail("this overlord-tui was built without the console"))
}
