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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{fail, init_logging, own, print_progress, print_verification, stopped, Failed};
use super::{Outcome, Owner};
use crate::core::Handle;
use crate::protocol::model::{ApprovalKind, CheckpointKind, ConcernStatus, Role, TaskStatus};
use crate::protocol::{parse, Command, EventKind, Origin, ReplyData, State};
use crate::store::{verify, Store};
use crate::workspace::Workspace;

pub struct DemoArgs {
    pub dir: Option<PathBuf>,
    pub auto: bool,
    pub headless: bool,
}

/// The sample crate, committed as the project's first commit.
const PROJECT: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../assets/demo/project/Cargo.toml"),
    ),
    (
        ".gitignore",
        include_str!("../../assets/demo/project/gitignore"),
    ),
    (
        "README.md",
        include_str!("../../assets/demo/project/README.md"),
    ),
    (
        "src/lib.rs",
        include_str!("../../assets/demo/project/src/lib.rs"),
    ),
    (
        "src/mean.rs",
        include_str!("../../assets/demo/project/src/mean.rs"),
    ),
    (
        "src/median.rs",
        include_str!("../../assets/demo/project/src/median.rs"),
    ),
];

/// Overlord's side, under `.overlord/` (not committed): configuration, QA policy, the plan
/// and one script per task.
const OVERLORD: &[(&str, &str)] = &[
    (
        "config.toml",
        include_str!("../../assets/demo/overlord/config.toml"),
    ),
    (
        "QA_POLICY.yaml",
        include_str!("../../assets/demo/overlord/QA_POLICY.yaml"),
    ),
    (
        "demo-plan.json",
        include_str!("../../assets/demo/overlord/plan.json"),
    ),
    (
        "scripts/design.toml",
        include_str!("../../assets/demo/overlord/scripts/design.toml"),
    ),
    (
        "scripts/impl-mean.toml",
        include_str!("../../assets/demo/overlord/scripts/impl-mean.toml"),
    ),
    (
        "scripts/impl-median.toml",
        include_str!("../../assets/demo/overlord/scripts/impl-median.toml"),
    ),
    (
        "scripts/tests.toml",
        include_str!("../../assets/demo/overlord/scripts/tests.toml"),
    ),
    (
        "scripts/tests-fix-1.toml",
        include_str!("../../assets/demo/overlord/scripts/tests-fix-1.toml"),
    ),
    (
        "scripts/impl-mode.toml",
        include_str!("../../assets/demo/overlord/scripts/impl-mode.toml"),
    ),
];

/// The file the phase-2 script waits for: written once the first checkpoint is saved, so that
/// each Save integrates its own change.
const PHASE_2_SIGNAL: &str = "demo-phase-2";

/// The longest any one stage may take before the demo gives up (a stalled stage never hangs).
const STAGE_SECS: u64 = 90;
/// And the whole cycle.
const TOTAL_SECS: u64 = 300;

/// What the human's commands say they come from.
fn demo_origin() -> Origin {
    Origin::Cli {
        user: "demo".into(),
    }
}

pub fn demo(args: DemoArgs) -> Outcome {
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

/// Where the project goes: DIR (new or empty, kept) or a fresh temporary directory.
fn place(dir: Option<&Path>) -> Result<(PathBuf, bool), Failed> {
    match dir {
        Some(dir) => {
            if dir.exists() {
                if !dir.is_dir() {
                    return Err(fail(format!(
                        "{} is not a directory: the demo needs a new or empty directory",
                        dir.display()
                    )));
                }
                let mut entries =
                    std::fs::read_dir(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
                if entries.next().is_some() {
                    return Err(fail(format!(
                        "{} is not empty: the demo makes its project in a new or empty directory (nothing in it was touched)",
                        dir.display()
                    )));
                }
            }
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            let root = dir
                .canonicalize()
                .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            Ok((root, true))
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            let root = std::env::temp_dir()
                .join(format!("overlord-demo-{}-{nanos:09}", std::process::id()));
            std::fs::create_dir(&root).map_err(|e| fail(format!("{}: {e}", root.display())))?;
            let root = root.canonicalize().map_err(fail)?;
            Ok((root, false))
        }
    }
}

/// The demo never depends on the user's git configuration (identity, signing, hooks) and
/// keeps cargo's build output inside the project. Set before any thread starts.
fn sandbox_env(root: &Path) {
    std::env::set_var("GIT_CONFIG_GLOBAL", "/dev/null");
    std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "OVERLORD_AGENT",
        "OVERLORD_ROLE",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("CARGO_TARGET_DIR", root.join(".overlord/cargo-target"));
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// `git init` (on `main`), the sample crate as the first commit, `overlord-tui init`, and the
/// demo's configuration, policy, plan and scripts.
fn prepare(root: &Path) -> Result<Workspace, Failed> {
    let git_err = |e: git2::Error| fail(format!("git: {}", e.message()));
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = git2::Repository::init_opts(root, &opts).map_err(git_err)?;
    for (path, text) in PROJECT {
        write(&root.join(path), text)?;
    }
    let mut index = repo.index().map_err(git_err)?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(git_err)?;
    index.write().map_err(git_err)?;
    let tree = repo
        .find_tree(index.write_tree().map_err(git_err)?)
        .map_err(git_err)?;
    let who = git2::Signature::now("Overlord demo", "demo@overlord.local").map_err(git_err)?;
    repo.commit(
        Some("HEAD"),
        &who,
        &who,
        "tally: the empty crate",
        &tree,
        &[],
    )
    .map_err(git_err)?;
    let ws = Workspace::discover(root).map_err(fail)?;
    ws.init().map_err(fail)?;
    for (path, text) in OVERLORD {
        write(&ws.dir.join(path), text)?;
    }
    Ok(ws)
}

/// Stage lines: on stderr headless, in the log under the console (which owns the screen).
#[derive(Clone, Copy)]
struct Say {
    stderr: bool,
}

impl Say {
    fn line(&self, text: &str) {
        if self.stderr {
            eprintln!("demo: {text}");
        } else {
            tracing::info!("demo: {text}");
        }
    }
}

fn run(root: &Path, args: &DemoArgs) -> Outcome {
    let ws = prepare(root)?;
    init_logging(&ws);
    let say = Say {
        stderr: args.headless,
    };
    say.line(&format!("sample project in {}", root.display()));
    let sink = Arc::new(Mutex::new(Vec::<String>::new()));
    let cycle: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
    let (sink2, cycle2, auto, headless) = (sink.clone(), cycle.clone(), args.auto, args.headless);
    let owned = own(ws.clone(), true, move |owner: Owner| async move {
        let bridge = discord_bridge(&owner, sink2.clone(), headless, say).await;
        let driver = {
            let handle = owner.handle.clone();
            let ws = owner.ws.clone();
            let cycle = cycle2.clone();
            tokio::spawn(async move {
                let r = tokio::time::timeout(
                    Duration::from_secs(TOTAL_SECS),
                    drive(&handle, &ws, auto, say),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(format!("the cycle did not complete within {TOTAL_SECS} s"))
                });
                match &r {
                    Ok(()) => say.line("the cycle is complete"),
                    Err(e) => say.line(&format!("stopped: {e}")),
                }
                if let Ok(mut c) = cycle.lock() {
                    *c = Some(r);
                }
            })
        };
        let outcome = if headless {
            let printer = tokio::spawn(print_progress(owner.handle.subscribe()));
            tokio::select! {
                _ = driver => {}
                _ = stopped(owner.stop.clone()) => say.line("interrupted"),
            }
            printer.abort();
            Ok(())
        } else {
            console(&owner, driver).await
        };
        if let Some((stop, b)) = bridge {
            // The last alerts (the rollback) get a moment to go out.
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until
                && !sink2
                    .lock()
                    .map(|l| {
                        l.iter().any(|l| l.contains("rolled back"))
                            && l.iter().any(|l| l.contains("Daily digest"))
                    })
                    .unwrap_or(true)
                && cycle2
                    .lock()
                    .map(|c| matches!(*c, Some(Ok(()))))
                    .unwrap_or(false)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
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

#[cfg(feature = "tui")]
async fn console(owner: &Owner, driver: tokio::task::JoinHandle<()>) -> Outcome {
    let raw = owner.raw.clone().unwrap_or_default();
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "human".into());
    let r = tokio::select! {
        r = crate::tui::run::run(owner.handle.clone(), &owner.ws.root, &owner.config, raw, user) => {
            r.map(|_| ()).map_err(fail)
        }
        _ = stopped(owner.stop.clone()) => Ok(()),
    };
    driver.abort();
    r
}

#[cfg(not(feature = "tui"))]
async fn console(_owner: &Owner, driver: tokio::task::JoinHandle<()>) -> Outcome {
    driver.abort();
    Err(fail("this overlord-tui was built without the console"))
}

/// The printed result; `Ok` only when the cycle completed, the timeline has its two Saves and
/// its rollback, and the audit trail verifies against git.
fn report(
    ws: &Workspace,
    owned: Outcome,
    cycle: Option<Result<(), String>>,
    discord: &[String],
) -> Outcome {
    let store = Store::open_without_repair(&ws.store_paths()).map_err(fail)?;
    let mut state = State::default();
    for (seq, body) in store.event_bodies_after(0).map_err(fail)? {
        let event: crate::protocol::Event = serde_json::from_str(&body)
            .map_err(|e| fail(format!("audit record {seq} is not an event: {e}")))?;
        state.apply(&event);
    }
    println!("== Timeline");
    for c in &state.checkpoints {
        let kind = match c.kind {
            CheckpointKind::Save => "save",
            CheckpointKind::Rollback => "rollback",
            CheckpointKind::Promotion => "promotion",
        };
        let restores = c
            .restores
            .as_ref()
            .map(|r| format!(" (restores {r})"))
            .unwrap_or_default();
        println!(
            "{}  {kind:<8}  {}  {}{restores}",
            c.name,
            &c.commit[..c.commit.len().min(10)],
            c.summary.lines().next().unwrap_or("")
        );
    }
    println!("\n== Audit summary");
    let summary = crate::store::summary::summarize(&store).map_err(fail)?;
    print!("{}", summary.render_text());
    println!("\n== audit verify --git");
    let verified = verify::verify(&store).map_err(fail)?;
    let git_report = super::verify_git(ws, &store)?;
    let ok = print_verification(&verified, Some(&git_report));
    println!("\n== Discord (what would have been posted)");
    if discord.is_empty() {
        println!("(nothing)");
    }
    for line in discord {
        println!("discord: {line}");
    }
    owned?;
    let saves = count(&state, CheckpointKind::Save);
    let rollbacks = count(&state, CheckpointKind::Rollback);
    match cycle {
        Some(Ok(())) if saves == 2 && rollbacks == 1 && ok => {
            println!("\ndemo: the whole cycle completed and the audit trail verifies");
            Ok(())
        }
        Some(Ok(())) if !ok => Err(fail("the audit trail does not verify (see above)")),
        Some(Ok(())) => Err(fail(format!(
            "the timeline has {saves} Save(s) and {rollbacks} rollback(s), not 2 and 1"
        ))),
        Some(Err(e)) => Err(fail(format!("the demo did not complete: {e}"))),
        None => Err(fail("the demo stopped before the cycle completed")),
    }
}

fn count(state: &State, kind: CheckpointKind) -> usize {
    state.checkpoints.iter().filter(|c| c.kind == kind).count()
}

/// Plays the human, stage by stage.
async fn drive(handle: &Handle, ws: &Workspace, auto: bool, say: Say) -> Result<(), String> {
    let plan = ws.dir.join("demo-plan.json");
    say.line("importing the two-phase plan");
    submit(
        handle,
        Command::ImportPlan {
            path: plan.display().to_string(),
        },
    )
    .await?;
    let a = wait(handle, "the plan's approval request", STAGE_SECS, |s| {
        pending(s, ApprovalKind::Plan)
    })
    .await?;
    command(handle, &format!("/approve {a} the demo's plan")).await?;

    wait(handle, "the PM's project initiation", STAGE_SECS, |s| {
        s.handoffs
            .iter()
            .any(|h| h.purpose.starts_with("project initiation"))
            .then_some(())
    })
    .await?;
    say.line("PM: project initiated, hand-off to the designer");

    let a = wait(handle, "the design spec", STAGE_SECS, |s| {
        pending(s, ApprovalKind::DesignSpec)
    })
    .await?;
    if auto {
        say.line(&format!(
            "the design spec awaits the human's approval ({a}); approving it in 3 s (--auto)"
        ));
        tokio::time::sleep(Duration::from_secs(3)).await;
        if pending(&snapshot(handle).await?, ApprovalKind::DesignSpec).as_deref() == Some(&a) {
            command(handle, &format!("/approve {a} clear enough to start")).await?;
        }
    } else {
        say.line(&format!(
            "the design spec awaits your approval: `a` in the Plan pane (3), or `:` then /approve {a}"
        ));
    }
    // Interactive: as long as the human takes (a rejection sends it back to the designer).
    let secs = if auto { STAGE_SECS } else { 24 * 3600 };
    wait(handle, "the design spec's approval", secs, |s| {
        task_is(s, "design", TaskStatus::Done).then_some(())
    })
    .await?;
    say.line("design approved: two implementers start in parallel worktrees");

    let c = wait(
        handle,
        "the implementer's concern reaching the human",
        STAGE_SECS,
        |s| {
            s.concerns
                .values()
                .find(|c| c.category == "spec_ambiguity" && c.to == Role::Human)
                .map(|c| c.id.to_string())
        },
    )
    .await?;
    say.line(&format!(
        "{c} escalated to the human; acknowledging and resolving it"
    ));
    tokio::time::sleep(Duration::from_secs(if auto { 1 } else { 5 })).await;
    let status = |s: &State| {
        s.concerns
            .values()
            .find(|x| x.id.to_string() == c)
            .map(|x| x.status)
    };
    let s = snapshot(handle).await?;
    if status(&s) == Some(ConcernStatus::Open) {
        command(handle, &format!("/ack {c}")).await?;
    }
    let s = snapshot(handle).await?;
    if status(&s) != Some(ConcernStatus::Resolved) {
        command(
            handle,
            &format!("/resolve {c} an empty slice has no mean: None, as implemented"),
        )
        .await?;
    }

    let fix = wait(
        handle,
        "the branch todo of a failing test",
        STAGE_SECS,
        |s| find_task(s, |t| t.parent_id.as_deref() == Some("tests")).map(|t| t.id.clone()),
    )
    .await?;
    say.line(&format!(
        "a test failed: branch todo {fix} for the implementer"
    ));

    let a = wait(handle, "the test plan", STAGE_SECS, |s| {
        pending(s, ApprovalKind::TestPlan)
    })
    .await?;
    say.line(&format!("the fix passes; approving the test plan ({a})"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    if pending(&snapshot(handle).await?, ApprovalKind::TestPlan).as_deref() == Some(&a) {
        command(handle, &format!("/approve {a} the plan covers the spec")).await?;
    }
    wait(handle, "phase 1 done", STAGE_SECS, |s| {
        ["design", "impl-mean", "impl-median", "tests"]
            .iter()
            .all(|t| task_is(s, t, TaskStatus::Done))
            .then_some(())
    })
    .await?;

    say.line("Save: merging phase 1 and running the QA gates");
    let first = operation(handle, Command::Save).await?;
    say.line(&format!("checkpoint {first} saved"));

    std::fs::write(ws.dir.join(PHASE_2_SIGNAL), "")
        .map_err(|e| format!("{}: {e}", ws.dir.join(PHASE_2_SIGNAL).display()))?;
    say.line("phase 2: the second change (tally::mode)");
    wait(handle, "the second change", STAGE_SECS, |s| {
        task_is(s, "impl-mode", TaskStatus::Done).then_some(())
    })
    .await?;
    say.line("Save: the second change");
    let second = operation(handle, Command::Save).await?;
    say.line(&format!("checkpoint {second} saved"));

    say.line(&format!("rollback to {first}"));
    let back = operation(
        handle,
        Command::Rollback {
            checkpoint: first.clone(),
            branch: None,
            reason: Some("demo: back to the first checkpoint".into()),
        },
    )
    .await?;
    say.line(&format!("{back} restores {first}"));

    // The day's digest, as `[reports] daily_at` writes it, with its own core (like the owner's
    // daily task): the report, the status documents and the audit records on the
    // integration branch, and its summary on #system-health.
    let ws2 = ws.clone();
    let written = tokio::task::spawn_blocking(move || {
        let config = super::load_config(&ws2);
        let mut core = crate::core::Core::open(&ws2, &config).map_err(|e| e.to_string())?;
        crate::core::digest::write_daily(&mut core, &crate::core::now())
    })
    .await
    .map_err(|e| e.to_string())??;
    say.line(&format!(
        "the daily digest: reports/{} committed on the integration branch",
        written.digest.file_name()
    ));
    Ok(())
}

async fn snapshot(handle: &Handle) -> Result<State, String> {
    handle
        .snapshot()
        .await
        .ok_or_else(|| "the core stopped".to_string())
}

async fn submit(handle: &Handle, command: Command) -> Result<crate::protocol::Reply, String> {
    let line = crate::protocol::print(&command);
    let reply = handle.submit(demo_origin(), command).await;
    if reply.ok {
        Ok(reply)
    } else {
        Err(format!("{line} was refused: {}", reply.message))
    }
}

async fn command(handle: &Handle, line: &str) -> Result<(), String> {
    let command = parse(line).map_err(|e| format!("{line}: {e}"))?;
    submit(handle, command).await.map(drop)
}

/// Polls the state until `f` finds something, or gives up after `secs` with what it waited for.
async fn wait<T>(
    handle: &Handle,
    what: &str,
    secs: u64,
    f: impl Fn(&State) -> Option<T>,
) -> Result<T, String> {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = snapshot(handle).await?;
        if let Some(t) = f(&s) {
            return Ok(t);
        }
        if let Some(failed) = find_task(&s, |t| t.status == TaskStatus::Failed) {
            return Err(format!(
                "task {} failed while waiting for {what}: {}",
                failed.id,
                failed
                    .commentary
                    .last()
                    .map(String::as_str)
                    .unwrap_or("no reason given")
            ));
        }
        if Instant::now() > until {
            return Err(format!("stalled: no {what} after {secs} s"));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// A Save or rollback, to its end; the name of the checkpoint it made.
async fn operation(handle: &Handle, command: Command) -> Result<String, String> {
    let mut events = handle.subscribe();
    let before = snapshot(handle).await?.checkpoints.len();
    let reply = submit(handle, command).await?;
    let id = match &reply.data {
        ReplyData::Operation(op) => op.id,
        _ => return Err(format!("no operation started: {}", reply.message)),
    };
    let until = tokio::time::Instant::now() + Duration::from_secs(STAGE_SECS);
    loop {
        let ev = match tokio::time::timeout_at(until, events.recv()).await {
            Err(_) => {
                return Err(format!(
                    "stalled: operation {id} did not finish in {STAGE_SECS} s"
                ))
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                let s = snapshot(handle).await?;
                if s.operation.is_none() && s.checkpoints.len() > before {
                    break;
                }
                continue;
            }
            Ok(Err(_)) => return Err("the core stopped".into()),
            Ok(Ok(ev)) => ev,
        };
        if let EventKind::OperationFinished {
            id: done,
            outcome,
            message,
            ..
        } = &ev.kind
        {
            if *done == id {
                if *outcome != crate::protocol::model::OperationOutcome::Checkpointed {
                    return Err(format!("operation {id} ended {outcome:?}: {message}"));
                }
                break;
            }
        }
    }
    let s = snapshot(handle).await?;
    s.checkpoints
        .get(before..)
        .and_then(|new| new.last())
        .map(|c| c.name.clone())
        .ok_or_else(|| format!("operation {id} finished without a checkpoint"))
}

fn pending(s: &State, kind: ApprovalKind) -> Option<String> {
    s.approvals
        .values()
        .find(|a| a.kind == kind && a.decision.is_none())
        .map(|a| a.id.to_string())
}

fn find_task(
    s: &State,
    f: impl Fn(&crate::protocol::model::Task) -> bool,
) -> Option<&crate::protocol::model::Task> {
    s.plan
        .as_ref()?
        .phases
        .iter()
        .flat_map(|p| p.tasks.iter())
        .find(|t| f(t))
}

fn task_is(s: &State, id: &str, status: TaskStatus) -> bool {
    find_task(s, |t| t.id == id).is_some_and(|t| t.status == status)
}

/// Discord for the demo: the real one when credentials are in the environment, else the real
/// bridge in webhook mode against a local sink that prints what would have been posted.
#[cfg(feature = "discord")]
async fn discord_bridge(
    owner: &Owner,
    lines: Arc<Mutex<Vec<String>>>,
    echo: bool,
    say: Say,
) -> Option<(tokio::sync::watch::Sender<bool>, crate::discord::Bridge)> {
    use crate::discord::{link::CoreLink, ApiBase, Credentials, WebhookUrl};
    let mut config = owner.config.discord.clone();
    let real = real_discord(&mut config);
    let credentials = match real {
        Some(c) => {
            say.line(
                "Discord: alerts go to the real Discord (credentials found in the environment)",
            );
            c
        }
        None => {
            let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    say.line(&format!("Discord sink: cannot listen on loopback: {e}"));
                    return None;
                }
            };
            let port = listener.local_addr().ok()?.port();
            tokio::spawn(sink::serve(listener, lines, echo));
            Credentials {
                base: ApiBase::parse(&format!("http://127.0.0.1:{port}")).ok()?,
                token: None,
                webhook: Some(WebhookUrl::new(1, "demo-token").ok()?),
            }
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    match crate::discord::start(
        &config,
        credentials,
        CoreLink::Local(owner.handle.clone()),
        stop_rx,
    ) {
        Ok(b) => Some((stop_tx, b)),
        Err(e) => {
            say.line(&format!("Discord: the bridge did not start: {e}"));
            None
        }
    }
}

/// A webhook URL (`$OVERLORD_DISCORD_WEBHOOK_URL`), or a bot token (`$OVERLORD_DISCORD_TOKEN`)
/// with `$OVERLORD_DEMO_DISCORD_CHANNEL`, the channel every alert of the demo goes to.
#[cfg(feature = "discord")]
fn real_discord(config: &mut crate::config::DiscordConfig) -> Option<crate::discord::Credentials> {
    let mut c = crate::discord::credentials(config).ok()?;
    if c.token.is_some() {
        match std::env::var("OVERLORD_DEMO_DISCORD_CHANNEL") {
            Ok(ch) if !ch.trim().is_empty() => {
                let ch = crate::config::Snowflake(ch.trim().to_string());
                config.channels.concerns = Some(ch.clone());
                config.channels.approvals = Some(ch.clone());
                config.channels.updates = Some(ch.clone());
                config.channels.health = Some(ch);
            }
            // No channel to post to: a webhook if there is one, else the local sink.
            _ if c.webhook.is_some() => c.token = None,
            _ => return None,
        }
    }
    Some(c)
}

#[cfg(not(feature = "discord"))]
async fn discord_bridge(
    _owner: &Owner,
    _lines: Arc<Mutex<Vec<String>>>,
    _echo: bool,
    _say: Say,
) -> Option<(tokio::sync::watch::Sender<bool>, NoBridge)> {
    None
}

#[cfg(not(feature = "discord"))]
struct NoBridge;

#[cfg(not(feature = "discord"))]
impl NoBridge {
    async fn join(self) {}
}

#[cfg(feature = "discord")]
mod sink;
