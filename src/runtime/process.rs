//! One run of an agent CLI as a child process: spawned in its own process group with stdin on
//! `/dev/null` (or, for Claude Code's stream-json input, a pipe we write the prompt to),
//! stdout read line by line into the adapter's parser, stderr kept in a ring buffer, both
//! written to a size-capped log. Stopping a run (a cancel, a timeout) goes SIGINT → SIGTERM →
//! SIGKILL to the whole group with a grace period between steps; a pause is SIGSTOP/SIGCONT
//! to the group. When the CLI exits, whatever it left running in its group is stopped too, so
//! no run leaves an orphan behind.
//!
//! Signals go to the group through rustix, never through `kill(1)` (procps-ng 4.0's
//! `kill -KILL -N` has been seen to signal far more than group N).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

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

/// What the supervisor can ask of a running process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
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
        if let Some(e) = &self.spawn_error {
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

fn pgid(pid: u32) -> Option<rustix::process::Pid> {
    rustix::process::Pid::from_raw(pid as i32)
}

fn signal_group(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = pgid(pid) {
        let _ = rustix::process::kill_process_group(p, sig);
    }
}

/// Whether any process is left in the group.
fn group_alive(pid: u32) -> bool {
    pgid(pid).is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
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
    mut parser: Box<dyn AgentParser + Send>,
    events: mpsc::Sender<AgentEvent>,
    mut control: mpsc::UnboundedReceiver<Control>,
) -> RunEnd {
    let started = Instant::now();
    let inv = &opts.invocation;
    let mut end = RunEnd::default();
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
    if !inv.cwd.is_dir() {
        end.spawn_error = Some(if inv.cwd.exists() {
            format!(
                "the work directory {} is not a directory",
                inv.cwd.display()
            )
        } else {
            format!("the work directory {} does not exist", inv.cwd.display())
        });
        return end;
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            end.spawn_error = Some(spawn_message(&inv.program, &e));
            return end;
        }
    };
    let pid = child.id().unwrap_or(0);
    let mut log = Log::open(opts.log.as_deref());
    log.line(
        "---",
        &format!("{} {} (pid {pid})", inv.program, inv.args.join(" ")),
    );
    // Claude's input mode: the prompt, then interrupts, go through the writer task; `None`
    // closes stdin.
    let (mut stdin, writer) = match child.stdin.take().map(stdin_writer) {
        Some((tx, task)) => (Some(tx), Some(task)),
        None => (None, None),
    };
    if let (Some(tx), Some(first)) = (stdin.as_ref(), inv.stdin.as_ref()) {
        let _ = tx.send(format!("{first}\n"));
    }
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // Readers send lines to this task, which owns the parser, the log and the timers.
    let (line_tx, mut line_rx) = mpsc::channel::<(bool, Vec<u8>, bool)>(256);
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
    drop(line_tx);

    let mut stderr_tail: VecDeque<String> = VecDeque::new();
    let mut deadline = opts.timeout.map(|t| Instant::now() + t);
    let mut suspended_at: Option<Instant> = None;
    // The stop sequence: the next step and when it is due.
    let mut stopping: Option<(u8, Instant)> = None;
    let mut status: Option<std::process::ExitStatus> = None;
    let mut streams_open = true;
    let mut interrupt_n = 0u32;
    let mut finished_seen = false;
    let mut control_open = true;

    let handle_line = |is_out: bool,
                       bytes: Vec<u8>,
                       cut: bool,
                       parser: &mut Box<dyn AgentParser + Send>,
                       log: &mut Log,
                       stderr_tail: &mut VecDeque<String>,
                       end: &mut RunEnd|
     -> Vec<AgentEvent> {
        let text = String::from_utf8_lossy(&bytes);
        let line = text.trim_end_matches(['\n', '\r']);
        if cut {
            end.cut_lines += 1;
        }
        if is_out {
            log.line("out", line);
            let mut evs = parser.line(line);
            if cut {
                evs.push(AgentEvent::Warning {
                    message: format!("a line of output longer than {MAX_LINE} bytes was cut"),
                    error: None,
                    raw: String::new(),
                });
            }
            evs
        } else {
            log.line("err", line);
            if stderr_tail.len() == STDERR_LINES {
                stderr_tail.pop_front();
            }
            stderr_tail.push_back(stderr_entry(line));
            Vec::new()
        }
    };

    loop {
        if status.is_some() && !streams_open {
            break;
        }
        let next_timer = match (stopping, deadline, suspended_at) {
            (Some((_, at)), _, _) => Some(at),
            (None, Some(d), None) => Some(d),
            _ => None,
        };
        let sleep = async {
            match next_timer {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            line = line_rx.recv(), if streams_open => match line {
                Some((is_out, bytes, cut)) => {
                    for ev in handle_line(is_out, bytes, cut, &mut parser, &mut log, &mut stderr_tail, &mut end) {
                        if ev.is_finished() {
                            finished_seen = true;
                        }
                        end.events += 1;
                        if events.send(ev).await.is_err() {
                            // Nobody listens any more: stop the run.
                            if stopping.is_none() {
                                parser.cancel_requested();
                                end.cancelled = true;
                                stopping = Some((0, Instant::now()));
                            }
                        }
                    }
                    // Claude's input mode keeps the process for the next message: the
                    // turn is over, so close stdin and let it exit.
                    if finished_seen && stdin.is_some() {
                        stdin = None;
                    }
                }
                None => streams_open = false,
            },
            st = child.wait(), if status.is_none() => {
                match st {
                    Ok(s) => status = Some(s),
                    Err(e) => {
                        tracing::warn!(error = %e, "waiting for the agent failed");
                        signal_group(pid, rustix::process::Signal::KILL);
                        status = child.wait().await.ok();
                        if status.is_none() { break; }
                    }
                }
                // Anything it left running in its group would outlive it (and may hold our
                // pipes open): stop it.
                // Members that were ending with it (signalled with the group, or exiting
                // with their parent) may not be reaped yet: give them a moment first.
                let settle = Instant::now() + Duration::from_millis(300);
                while group_alive(pid) && Instant::now() < settle {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if group_alive(pid) {
                    end.leftovers = true;
                    signal_group(pid, rustix::process::Signal::TERM);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if group_alive(pid) {
                        signal_group(pid, rustix::process::Signal::KILL);
                    }
                }
                // Give the pipes a moment to drain; a process that left the group may hold
                // them, so do not wait forever.
                let drain_until = Instant::now() + Duration::from_secs(5);
                while streams_open {
                    match tokio::time::timeout_at(drain_until.into(), line_rx.recv()).await {
                        Ok(Some((is_out, bytes, cut))) => {
                            for ev in handle_line(is_out, bytes, cut, &mut parser, &mut log, &mut stderr_tail, &mut end) {
                                end.events += 1;
                                let _ = events.send(ev).await;
                            }
                        }
                        Ok(None) | Err(_) => streams_open = false,
                    }
                }
            },
            ctl = control.recv(), if control_open => match ctl {
                Some(Control::Cancel) | None => {
                    // A controller that went away cannot stop the run later: stop it now.
                    control_open = ctl.is_some();
                    if stopping.is_none() && status.is_none() {
                        parser.cancel_requested();
                        end.cancelled = true;
                        stopping = Some((0, Instant::now()));
                    }
                }
                Some(Control::Suspend) => {
                    if suspended_at.is_none() && status.is_none() {
                        signal_group(pid, rustix::process::Signal::STOP);
                        suspended_at = Some(Instant::now());
                    }
                }
                Some(Control::Resume) => {
                    if let Some(at) = suspended_at.take() {
                        signal_group(pid, rustix::process::Signal::CONT);
                        if let Some(d) = deadline.as_mut() {
                            *d += at.elapsed();
                        }
                    }
                }
            },
            _ = sleep => {
                if stopping.is_none() {
                    // The deadline passed.
                    parser.cancel_requested();
                    end.timed_out = true;
                    stopping = Some((0, Instant::now()));
                    deadline = None;
                }
                if let Some((step, _)) = stopping {
                    if status.is_some() {
                        stopping = None;
                        continue;
                    }
                    if suspended_at.take().is_some() {
                        signal_group(pid, rustix::process::Signal::CONT);
                    }
                    let next = Instant::now() + opts.grace;
                    match step {
                        0 if opts.interrupt_by_stdin && stdin.is_some() => {
                            interrupt_n += 1;
                            let req = claude_interrupt(&format!("overlord-interrupt-{interrupt_n}"));
                            let sent = stdin
                                .as_ref()
                                .is_some_and(|tx| tx.send(format!("{req}\n")).is_ok());
                            // Stdin is gone (the CLI closed it): straight to the signals.
                            stopping = Some((1, if sent { next } else { Instant::now() }));
                        }
                        0 | 1 => {
                            signal_group(pid, rustix::process::Signal::INT);
                            end.signal_sent = Some("SIGINT");
                            stopping = Some((2, next));
                        }
                        2 => {
                            signal_group(pid, rustix::process::Signal::TERM);
                            end.signal_sent = Some("SIGTERM");
                            stopping = Some((3, next));
                        }
                        _ => {
                            signal_group(pid, rustix::process::Signal::KILL);
                            let _ = child.start_kill();
                            end.signal_sent = Some("SIGKILL");
                            stopping = Some((3, Instant::now() + Duration::from_secs(3600)));
                        }
                    }
                }
            }
        }
    }
    drop(stdin);
    for r in readers.into_iter().chain(writer) {
        r.abort();
    }
    end.exit = status.and_then(|s| s.code());
    for ev in parser.finish(end.exit) {
        end.events += 1;
        let _ = events.send(ev).await;
    }
    end.usage = parser.usage_tracker();
    end.stderr_tail = stderr_tail.into_iter().collect();
    end.elapsed = started.elapsed();
    log.line("---", &format!("ended: {}", end.describe()));
    end
}
