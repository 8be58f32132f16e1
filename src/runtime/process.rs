//! One run of an agent CLI as a child process: spawned in its own process group with stdin on
//! `/dev/null` (or, for Claude Code's stream-json input, a pipe we write the prompt to),
//! stdout read line by line into the adapter's parser, stderr kept in a ring buffer, both
//! written to a size-capped log. Stopping a run (a cancel, a timeout) goes SIGINT → SIGTERM →
//! SIGKILL to the whole tree (its group and every descendant a scan of `/proc` has seen, `setsid`
//! grandchildren included: see `tree`) with a grace period between steps; a pause is
//! SIGSTOP/SIGCONT to the tree. When the CLI exits, whatever it left running is stopped too,
//! so no run leaves an orphan behind. The caller learns the CLI's pid and start time as soon as
//! it is spawned (the owner records them: who speaks for the agent, what a restart must stop).
//!
//! Signals go to the group through rustix, never through `kill(1)` (procps-ng 4.0's
//! `kill -KILL -N` has been seen to signal far more than group N).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use super::tree::ProcTree;
use crate::agent::adapter::{claude_interrupt, Invocation};
use crate::agent::parse::AgentParser;
use crate::agent::{AgentEvent, UsageTracker};

/// The longest line of output kept whole; the rest of a longer line is dropped (and said so).
pub const MAX_LINE: usize = 1 << 20;
/// Lines of stderr kept for messages and the log view.
pub const STDERR_LINES: usize = 200;
/// The most of one stderr line kept in [`RunEnd::stderr_tail`] (the log has more).
pub const MAX_STDERR_LINE: usize = 4096;
/// The most a run's log file grows to.
pub const MAX_LOG: u64 = 32 << 20;
/// How often the CLI's descendants are looked for in `/proc` while it runs (one scan costs
/// about a millisecond with a few hundred processes).
pub const SCAN_EVERY: Duration = Duration::from_millis(250);

/// The CLI's process, as soon as it is spawned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawned {
    pub pid: u32,
    /// Its start time (`/proc/<pid>/stat` field 22; 0 when `/proc` cannot be read).
    pub start_ticks: u64,
}

/// What the supervisor can ask of a running process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// A line for the CLI's stdin (the `acp` client's: a human's answer to a permission
    /// request); dropped when stdin is not a pipe or already closed.
    Input(String),
    /// Stop the run (interrupt, then signals with grace periods).
    Cancel,
    /// SIGSTOP the group (the run's deadline stops counting).
    Suspend,
    /// SIGCONT the group.
    Resume,
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    /// The exit code (`None`: killed by a signal, or never started).
    pub exit: Option<i32>,
    /// Could not be started (the message says why: not installed, not executable, …).
    pub spawn_error: Option<String>,
    /// Not started because a live process still holds its task or worktree (the message says
    /// which); unlike a spawn error, it may be tried again.
    pub not_started: Option<String>,
    pub cancelled: bool,
    pub timed_out: bool,
    /// The last signal we had to send (`SIGINT`, `SIGTERM`, `SIGKILL`), when we sent one.
    pub signal_sent: Option<&'static str>,
    /// Processes the CLI left running in its group after it exited (stopped by us).
    pub leftovers: bool,
    /// The last lines of stderr.
    pub stderr_tail: Vec<String>,
    /// Lines longer than [`MAX_LINE`] that were cut.
    pub cut_lines: u64,
    /// Normalized events the parser gave.
    pub events: u64,
    /// The session's cumulative usage after this run (Codex, Claude Code).
    pub usage: Option<UsageTracker>,
    pub elapsed: Duration,
}

impl RunEnd {
    /// One line about the end for messages (`exit 1`, `timed out after 30s`, `not installed`).
    pub fn describe(&self) -> String {
        if let Some(e) = self.spawn_error.as_ref().or(self.not_started.as_ref()) {
            return e.clone();
        }
        let mut s = if self.timed_out {
            format!("timed out after {}s", self.elapsed.as_secs())
        } else if self.cancelled {
            "cancelled".to_string()
        } else {
            match self.exit {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".to_string(),
            }
        };
        if let Some(sig) = self.signal_sent {
            s.push_str(&format!(" (stopped with {sig})"));
        }
        s
    }
}

/// The settings of one run.
pub struct RunOptions {
    pub invocation: Invocation,
    /// More environment (the `OVERLORD_*` variables).
    pub env: Vec<(String, String)>,
    /// Stop the run after this long (time spent suspended does not count).
    pub timeout: Option<Duration>,
    /// Between SIGINT, SIGTERM and SIGKILL.
    pub grace: Duration,
    /// The run's log (stdout and stderr lines, prefixed), capped at [`MAX_LOG`].
    pub log: Option<PathBuf>,
    /// Claude's stream-json input: interrupts are written to stdin first.
    pub interrupt_by_stdin: bool,
    /// The `acp` adapter: SIGINT to the client alone first, which cancels the agent's turn in
    /// the protocol (`session/cancel`); the whole tree is signalled only after the grace.
    pub interrupt_root_first: bool,
}

struct Log {
    file: Option<std::fs::File>,
    written: u64,
}

impl Log {
    fn open(path: Option<&Path>) -> Log {
        let file = path.and_then(|p| {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| tracing::warn!(path = %p.display(), error = %e, "cannot open the agent log"))
                .ok()
        });
        Log { file, written: 0 }
    }

    fn line(&mut self, prefix: &str, line: &str) {
        let Some(f) = self.file.as_mut() else { return };
        if self.written >= MAX_LOG {
            return;
        }
        let text = format!("{prefix} {line}\n");
        self.written += text.len() as u64;
        let _ = f.write_all(text.as_bytes());
        if self.written >= MAX_LOG {
            let _ = f.write_all(b"--- log truncated: it reached its size limit ---\n");
        }
    }
}

/// Reads one line of at most `max` bytes into `buf` (cleared first); the rest of a longer
/// line is skipped. Returns `None` at end of stream, else whether the line was cut.
async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(any.then_some(cut));
        }
        any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if room < take {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        if done {
            return Ok(Some(cut));
        }
    }
}

/// A readable reason a program could not be started.
fn spawn_message(program: &str, e: &std::io::Error) -> String {
    match e.kind() {
        // The program is there, yet exec says "not found": the interpreter of its `#!` line
        // is missing (a node CLI without node).
        std::io::ErrorKind::NotFound => match super::adapters::find_program(program) {
            Some(path) => format!(
                "{program} ({}) could not be started: {e}; is the interpreter on its #! line installed?",
                path.display()
            ),
            None => {
                let where_ = if program.contains('/') {
                    "no such file"
                } else {
                    "not found in PATH"
                };
                format!(
                    "{program} is not installed ({where_}); install it or set binary = \"…\" in [adapters.…] of .overlord/config.toml"
                )
            }
        },
        std::io::ErrorKind::PermissionDenied => format!("{program} cannot be executed: {e}"),
        _ => format!("{program} could not be started: {e}"),
    }
}

/// A line of stderr as kept in the ring buffer: at most [`MAX_STDERR_LINE`] bytes.
fn stderr_entry(line: &str) -> String {
    if line.len() <= MAX_STDERR_LINE {
        return line.to_string();
    }
    let kept = crate::agent::classify::cut(line, MAX_STDERR_LINE);
    format!("{kept}… ({} bytes)", line.len())
}

/// Feeds the CLI's stdin from a task of its own, so that a CLI that does not read it (a
/// full pipe) never blocks the run's loop: cancels and timeouts still work. Dropping the
/// sender closes stdin once what was sent is written.
fn stdin_writer(
    mut w: tokio::process::ChildStdin,
) -> (mpsc::UnboundedSender<String>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            let written = match w.write_all(line.as_bytes()).await {
                Ok(()) => w.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "cannot write to the agent's stdin");
                break;
            }
        }
    });
    (tx, task)
}

/// Runs one turn of a CLI to its end. Every normalized event goes to `events` as it is
/// parsed (the channel is bounded: a slow reader slows the CLI down, nothing is dropped).
pub async fn run(
    opts: RunOptions,
    parser: Box<dyn AgentParser + Send>,
    events: mpsc::Sender<AgentEvent>,
    control: mpsc::UnboundedReceiver<Control>,
) -> RunEnd {
    run_reporting(opts, parser, events, control, None).await
}

/// [`run`], telling `spawned` the CLI's pid and start time right after it is spawned (before
/// its first line is read). When it cannot be spawned, `spawned` is dropped unsent.
pub async fn run_reporting(
    opts: RunOptions,
    parser: Box<dyn AgentParser + Send>,
    events: mpsc::Sender<AgentEvent>,
    mut control: mpsc::UnboundedReceiver<Control>,
    spawned: Option<oneshot::Sender<Spawned>>,
) -> RunEnd {
    let started = Instant::now();
    let inv = &opts.invocation;
    let mut child = match spawn(&opts) {
        Ok(c) => c,
        Err(message) => {
            return RunEnd {
                spawn_error: Some(message),
                ..RunEnd::default()
            }
        }
    };
    let pid = child.id().unwrap_or(0);
    let tree = ProcTree::new(pid);
    if let Some(tx) = spawned {
        let _ = tx.send(Spawned {
            pid,
            start_ticks: tree.root_start(),
        });
    }
    let mut log = Log::open(opts.log.as_deref());
    log.line(
        "---",
        &format!("{} {} (pid {pid})", inv.program, inv.args.join(" ")),
    );
    let (stdin, writer) = open_stdin(&mut child, inv);
    let (mut lines, readers) = read_output(&mut child);
    let mut turn = Running {
        deadline: opts.timeout.map(|t| Instant::now() + t),
        opts: &opts,
        tree,
        parser,
        events,
        log,
        end: RunEnd::default(),
        stderr_tail: VecDeque::new(),
        stdin,
        suspended_at: None,
        stopping: None,
        status: None,
        streams_open: true,
        interrupt_n: 0,
        finished_seen: false,
        control_open: true,
    };
    turn.watch(&mut child, &mut lines, &mut control).await;
    turn.stdin = None;
    for r in readers.into_iter().chain(writer) {
        r.abort();
    }
    turn.finish(started).await
}

/// The CLI's command: its arguments, work directory, environment and pipes, in a process
/// group of its own.
fn command(opts: &RunOptions) -> tokio::process::Command {
    let inv = &opts.invocation;
    let mut cmd = tokio::process::Command::new(&inv.program);
    cmd.args(&inv.args)
        .current_dir(&inv.cwd)
        .stdin(if inv.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    for (k, v) in inv.env.iter().chain(opts.env.iter()) {
        cmd.env(k, v);
    }
    cmd
}

/// Starts the CLI; the error says why it could not be started.
fn spawn(opts: &RunOptions) -> Result<tokio::process::Child, String> {
    let inv = &opts.invocation;
    let mut cmd = command(opts);
    if !inv.cwd.is_dir() {
        return Err(if inv.cwd.exists() {
            format!(
                "the work directory {} is not a directory",
                inv.cwd.display()
            )
        } else {
            format!("the work directory {} does not exist", inv.cwd.display())
        });
    }
    cmd.spawn().map_err(|e| spawn_message(&inv.program, &e))
}

/// Claude's input mode: the prompt, then interrupts, go through the writer task; `None`
/// closes stdin.
fn open_stdin(
    child: &mut tokio::process::Child,
    inv: &Invocation,
) -> (
    Option<mpsc::UnboundedSender<String>>,
    Option<tokio::task::JoinHandle<()>>,
) {
    let (stdin, writer) = match child.stdin.take().map(stdin_writer) {
        Some((tx, task)) => (Some(tx), Some(task)),
        None => (None, None),
    };
    if let (Some(tx), Some(first)) = (stdin.as_ref(), inv.stdin.as_ref()) {
        let _ = tx.send(format!("{first}\n"));
    }
    (stdin, writer)
}

/// A line of output as a reader passes it on: from stdout (else stderr), its bytes, whether
/// it was cut.
type Line = (bool, Vec<u8>, bool);

/// Readers of stdout and stderr send their lines to the run's loop, which owns the parser,
/// the log and the timers.
fn read_output(
    child: &mut tokio::process::Child,
) -> (mpsc::Receiver<Line>, Vec<tokio::task::JoinHandle<()>>) {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (line_tx, line_rx) = mpsc::channel::<Line>(256);
    let mut readers = Vec::new();
    for (is_out, pipe) in [
        (
            true,
            stdout.map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
        (
            false,
            stderr.map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let tx = line_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut r = BufReader::with_capacity(64 * 1024, pipe);
            let mut buf = Vec::new();
            while let Ok(Some(cut)) = read_line_bounded(&mut r, &mut buf, MAX_LINE).await {
                if tx
                    .send((is_out, std::mem::take(&mut buf), cut))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }));
    }
    (line_rx, readers)
}

/// A run between its start and its end: what its loop keeps across wake-ups.
struct Running<'a> {
    opts: &'a RunOptions,
    /// The CLI's group and the descendants seen so far.
    tree: ProcTree,
    parser: Box<dyn AgentParser + Send>,
    events: mpsc::Sender<AgentEvent>,
    log: Log,
    end: RunEnd,
    stderr_tail: VecDeque<String>,
    stdin: Option<mpsc::UnboundedSender<String>>,
    deadline: Option<Instant>,
    suspended_at: Option<Instant>,
    /// The stop sequence: the next step and when it is due.
    stopping: Option<(u8, Instant)>,
    status: Option<std::process::ExitStatus>,
    streams_open: bool,
    interrupt_n: u32,
    finished_seen: bool,
    control_open: bool,
}

impl Running<'_> {
    /// The loop: output lines, the CLI's exit, the supervisor's controls and the timers,
    /// until the CLI has exited and its pipes are closed.
    async fn watch(
        &mut self,
        child: &mut tokio::process::Child,
        lines: &mut mpsc::Receiver<Line>,
        control: &mut mpsc::UnboundedReceiver<Control>,
    ) {
        let mut scan = tokio::time::interval(SCAN_EVERY);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.status.is_some() && !self.streams_open {
                break;
            }
            let next_timer = self.next_timer();
            let sleep = async {
                match next_timer {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                line = lines.recv(), if self.streams_open => match line {
                    Some(line) => self.on_line(line).await,
                    None => self.streams_open = false,
                },
                st = child.wait(), if self.status.is_none() => {
                    if !self.on_exit(st, child).await {
                        break;
                    }
                    self.stop_leftovers().await;
                    self.drain(lines).await;
                },
                ctl = control.recv(), if self.control_open => self.on_control(ctl),
                _ = sleep => self.on_timer(child),
                _ = scan.tick(), if self.status.is_none() => {
                    self.tree.scan();
                }
            }
        }
    }

    /// The stop sequence's next step, else the deadline (not while suspended).
    fn next_timer(&self) -> Option<Instant> {
        match (self.stopping, self.deadline, self.suspended_at) {
            (Some((_, at)), _, _) => Some(at),
            (None, Some(d), None) => Some(d),
            _ => None,
        }
    }

    /// One line of output: stdout to the parser, stderr to the ring buffer, both to the log.
    fn take_line(&mut self, (is_out, bytes, cut): Line) -> Vec<AgentEvent> {
        let text = String::from_utf8_lossy(&bytes);
        let line = text.trim_end_matches(['\n', '\r']);
        if cut {
            self.end.cut_lines += 1;
        }
        if is_out {
            self.log.line("out", line);
            let mut evs = self.parser.line(line);
            if cut {
                evs.push(AgentEvent::Warning {
                    message: format!("a line of output longer than {MAX_LINE} bytes was cut"),
                    error: None,
                    raw: String::new(),
                });
            }
            evs
        } else {
            self.log.line("err", line);
            if self.stderr_tail.len() == STDERR_LINES {
                self.stderr_tail.pop_front();
            }
            self.stderr_tail.push_back(stderr_entry(line));
            // A model API retry the CLI announces only on stderr (Gemini CLI) is news; so is
            // a line saying it cannot reach its model API at all (shown and watched like the
            // warnings of its output).
            if let Some(retry) = crate::agent::stderr::api_retry(line) {
                return vec![retry];
            }
            if crate::agent::endpoint::unreachable(line) {
                return vec![AgentEvent::Warning {
                    message: stderr_entry(line),
                    error: None,
                    raw: line.to_string(),
                }];
            }
            Vec::new()
        }
    }

    /// Starts the stop sequence now (the caller says why: cancelled, timed out).
    fn begin_stop(&mut self) {
        self.parser.cancel_requested();
        self.stopping = Some((0, Instant::now()));
    }

    /// A line while the CLI runs: its events go to the supervisor as they are parsed.
    async fn on_line(&mut self, line: Line) {
        for ev in self.take_line(line) {
            if ev.is_finished() {
                self.finished_seen = true;
            }
            self.end.events += 1;
            if self.events.send(ev).await.is_err() {
                // Nobody listens any more: stop the run.
                if self.stopping.is_none() {
                    self.end.cancelled = true;
                    self.begin_stop();
                }
            }
        }
        // Claude's input mode keeps the process for the next message: the
        // turn is over, so close stdin and let it exit.
        if self.finished_seen && self.stdin.is_some() {
            self.stdin = None;
        }
    }

    /// The CLI exited (or waiting for it failed: then it is killed); `false` when its status
    /// cannot be had at all.
    async fn on_exit(
        &mut self,
        st: std::io::Result<std::process::ExitStatus>,
        child: &mut tokio::process::Child,
    ) -> bool {
        match st {
            Ok(s) => self.status = Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "waiting for the agent failed");
                self.tree.scan();
                self.tree.signal(rustix::process::Signal::KILL);
                self.status = child.wait().await.ok();
                if self.status.is_none() {
                    return false;
                }
            }
        }
        true
    }

    /// Anything the CLI left running (in its group, or a descendant seen while it ran, such as
    /// a `setsid` grandchild) would outlive it (and may hold our pipes open): stop it.
    async fn stop_leftovers(&mut self) {
        // Descendants of the ones remembered, started since the last scan.
        self.tree.scan();
        // Members that were ending with it (signalled with the group, or exiting
        // with their parent) may not be reaped yet: give them a moment first.
        let settle = Instant::now() + Duration::from_millis(300);
        while self.tree.running() && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if self.tree.running() {
            self.end.leftovers = true;
            self.tree.scan();
            self.tree.signal(rustix::process::Signal::TERM);
            let until = Instant::now() + Duration::from_millis(200);
            while self.tree.running() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.tree.running() {
                self.tree.scan();
                self.tree.signal(rustix::process::Signal::KILL);
            }
        }
    }

    /// Gives the pipes a moment to drain; a process that left the group may hold them, so
    /// this does not wait forever.
    async fn drain(&mut self, lines: &mut mpsc::Receiver<Line>) {
        let drain_until = Instant::now() + Duration::from_secs(5);
        while self.streams_open {
            match tokio::time::timeout_at(drain_until.into(), lines.recv()).await {
                Ok(Some(line)) => {
                    for ev in self.take_line(line) {
                        self.end.events += 1;
                        let _ = self.events.send(ev).await;
                    }
                }
                Ok(None) | Err(_) => self.streams_open = false,
            }
        }
    }

    /// The supervisor's cancel, pause or resume.
    fn on_control(&mut self, ctl: Option<Control>) {
        match ctl {
            Some(Control::Cancel) | None => {
                // A controller that went away cannot stop the run later: stop it now.
                self.control_open = ctl.is_some();
                if self.stopping.is_none() && self.status.is_none() {
                    self.end.cancelled = true;
                    self.begin_stop();
                }
            }
            Some(Control::Suspend) => {
                if self.suspended_at.is_none() && self.status.is_none() {
                    self.tree.scan();
                    self.tree.signal(rustix::process::Signal::STOP);
                    self.suspended_at = Some(Instant::now());
                }
            }
            Some(Control::Input(line)) => {
                if let Some(tx) = &self.stdin {
                    let _ = tx.send(format!("{}\n", line.trim_end()));
                }
            }
            Some(Control::Resume) => {
                if let Some(at) = self.suspended_at.take() {
                    self.tree.signal(rustix::process::Signal::CONT);
                    if let Some(d) = self.deadline.as_mut() {
                        *d += at.elapsed();
                    }
                }
            }
        }
    }

    /// A timer: the deadline passed (the stop sequence begins), or the sequence's next step
    /// is due.
    fn on_timer(&mut self, child: &mut tokio::process::Child) {
        if self.stopping.is_none() {
            // The deadline passed.
            self.end.timed_out = true;
            self.begin_stop();
            self.deadline = None;
        }
        if let Some((step, _)) = self.stopping {
            if self.status.is_some() {
                self.stopping = None;
                return;
            }
            if self.suspended_at.take().is_some() {
                self.tree.signal(rustix::process::Signal::CONT);
            }
            self.stop_step(step, child);
        }
    }

    /// One step of the stop sequence: Claude's interrupt on stdin, then SIGINT, SIGTERM and
    /// SIGKILL to the tree (a fresh scan first), a grace period apart.
    fn stop_step(&mut self, step: u8, child: &mut tokio::process::Child) {
        let next = Instant::now() + self.opts.grace;
        match step {
            0 if self.opts.interrupt_by_stdin && self.stdin.is_some() => {
                self.interrupt_n += 1;
                let req = claude_interrupt(&format!("overlord-interrupt-{}", self.interrupt_n));
                let sent = self
                    .stdin
                    .as_ref()
                    .is_some_and(|tx| tx.send(format!("{req}\n")).is_ok());
                // Stdin is gone (the CLI closed it): straight to the signals.
                self.stopping = Some((1, if sent { next } else { Instant::now() }));
            }
            0 if self.opts.interrupt_root_first => {
                if let Some(pid) = child
                    .id()
                    .and_then(|p| rustix::process::Pid::from_raw(p as i32))
                {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
                }
                self.end.signal_sent = Some("SIGINT");
                self.stopping = Some((1, next));
            }
            0 | 1 => {
                self.tree.scan();
                self.tree.signal(rustix::process::Signal::INT);
                self.end.signal_sent = Some("SIGINT");
                self.stopping = Some((2, next));
            }
            2 => {
                self.tree.scan();
                self.tree.signal(rustix::process::Signal::TERM);
                self.end.signal_sent = Some("SIGTERM");
                self.stopping = Some((3, next));
            }
            _ => {
                self.tree.scan();
                self.tree.signal(rustix::process::Signal::KILL);
                let _ = child.start_kill();
                self.end.signal_sent = Some("SIGKILL");
                self.stopping = Some((3, Instant::now() + Duration::from_secs(3600)));
            }
        }
    }

    /// The end: the parser's last events, the usage, the stderr tail and the log's last line.
    async fn finish(mut self, started: Instant) -> RunEnd {
        self.end.exit = self.status.and_then(|s| s.code());
        for ev in self.parser.finish(self.end.exit) {
            self.end.events += 1;
            let _ = self.events.send(ev).await;
        }
        self.end.usage = self.parser.usage_tracker();
        self.end.stderr_tail = self.stderr_tail.into_iter().collect();
        self.end.elapsed = started.elapsed();
        self.log
            .line("---", &format!("ended: {}", self.end.describe()));
        self.end
    }
}
