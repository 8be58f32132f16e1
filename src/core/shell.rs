//! Running the project's own commands (worktree set-up, QA gates): `sh -c` in a directory,
//! with a deadline, stdout and stderr drained while it runs (a chatty command must not fill
//! a pipe and block) and their tail kept for reports. The whole output can also go to a log.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How much of the output's end is kept for messages.
const KEEP: usize = 16 * 1024;

#[derive(Debug)]
pub struct ShellRun {
    /// `None` when the command was stopped (at its deadline, or cancelled).
    pub status: Option<ExitStatus>,
    /// Why it was stopped, when it was.
    pub stopped: Option<Stopped>,
    pub elapsed: Duration,
    /// The end of stdout and stderr, interleaved as read.
    pub tail: String,
}

impl ShellRun {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The last `n` lines of output joined with ` | `.
    pub fn tail_lines(&self, n: usize) -> String {
        let lines: Vec<String> = self
            .tail
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match l.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &l[..cut]),
                None => l.to_string(),
            })
            .collect();
        lines[lines.len().saturating_sub(n)..].join(" | ")
    }

    pub fn describe(&self) -> String {
        match self.status {
            None if self.stopped == Some(Stopped::Cancelled) => "cancelled".to_string(),
            None => format!("timed out after {}s", self.elapsed.as_secs()),
            Some(s) => match s.code() {
                Some(c) => format!("exit {c}"),
                None => format!("{s}"),
            },
        }
    }
}

/// Runs `command` with `sh -c` in `dir`. `log`: a file that receives the whole output.
pub fn run(
    command: &str,
    dir: &Path,
    env: &[(&str, &str)],
    timeout: Option<Duration>,
    log: Option<&Path>,
) -> std::io::Result<ShellRun> {
    run_with(
        command,
        dir,
        Options {
            env,
            timeout,
            log,
            ..Options::default()
        },
    )
}

/// What else a run can do besides [`run`]'s basics.
#[derive(Default)]
pub struct Options<'a> {
    pub env: &'a [(&'a str, &'a str)],
    pub timeout: Option<Duration>,
    /// Receives the whole output, stdout and stderr merged line by line (a line is never
    /// split by the other stream).
    pub log: Option<&'a Path>,
    /// Receives stdout alone (for formats such as JSON that stderr text would break); with
    /// `one_pipe`, both streams.
    pub stdout: Option<&'a Path>,
    /// Give the command one pipe for stdout and stderr, so that lines written to both keep
    /// their order (cargo's `Running …` headers on stderr before the tests' lines on stdout).
    /// Two pipes read by two threads can interleave them differently.
    pub one_pipe: bool,
    /// Set from another thread to stop the command (and its process group).
    pub cancel: Option<&'a AtomicBool>,
    /// Called on the calling thread with each complete line of output, as it arrives.
    pub on_line: Option<&'a mut dyn FnMut(&str)>,
}

/// Why a command ended without an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    TimedOut,
    Cancelled,
}

struct Sinks {
    log: Option<Mutex<std::fs::File>>,
    stdout: Option<Mutex<std::fs::File>>,
    tail: Mutex<Vec<u8>>,
    lines: Option<Mutex<mpsc::Sender<String>>>,
}

/// [`run`] with [`Options`].
pub fn run_with(command: &str, dir: &Path, opts: Options<'_>) -> std::io::Result<ShellRun> {
    let started = Instant::now();
    let mut cmd = sh(command, dir, opts.env);
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let sinks = Arc::new(Sinks::open(&opts, line_tx)?);
    // One pipe for both streams keeps their lines in the order the command wrote them.
    let shared = if opts.one_pipe {
        let (reader, writer) = std::io::pipe()?;
        cmd.stdout(writer.try_clone()?).stderr(writer);
        Some(reader)
    } else {
        None
    };
    let mut child = cmd.spawn()?;
    // The command's copies of the shared pipe's write end must go, or it never ends.
    drop(cmd);
    let readers: Vec<_> = pipes(&mut child, shared)
        .into_iter()
        .map(|(is_stdout, pipe)| {
            let sinks = sinks.clone();
            std::thread::spawn(move || drain(is_stdout, pipe, &sinks))
        })
        .collect();
    let mut on_line = opts.on_line;
    let mut deliver = |rx: &mpsc::Receiver<String>| {
        if let Some(f) = on_line.as_mut() {
            while let Ok(line) = rx.try_recv() {
                f(&line);
            }
        }
    };
    let deadline = opts.timeout.map(|t| started + t);
    let (status, stopped) = wait(&mut child, opts.cancel, deadline, || deliver(&line_rx))?;
    join_readers(readers, || deliver(&line_rx));
    deliver(&line_rx);
    let tail = sinks.tail.lock().map(|t| t.clone()).unwrap_or_default();
    Ok(ShellRun {
        status,
        stopped,
        elapsed: started.elapsed(),
        tail: String::from_utf8_lossy(&tail).into_owned(),
    })
}

/// `sh -c command` in `dir` with `env`, its output piped, in its own process group.
fn sh(command: &str, dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Its own process group, so a timeout stops the children it started too.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd
}

impl Sinks {
    /// The files the options name, created, and the channel for `on_line` when there is one.
    fn open(opts: &Options<'_>, line_tx: mpsc::Sender<String>) -> std::io::Result<Sinks> {
        Ok(Sinks {
            log: opts
                .log
                .map(std::fs::File::create)
                .transpose()?
                .map(Mutex::new),
            stdout: opts
                .stdout
                .map(std::fs::File::create)
                .transpose()?
                .map(Mutex::new),
            tail: Mutex::new(Vec::new()),
            lines: opts.on_line.is_some().then(|| Mutex::new(line_tx)),
        })
    }

    /// Whole lines of output: to the log, the tail and the `on_line` channel.
    fn lines(&self, whole: &[u8]) {
        if let Some(f) = &self.log {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(whole);
            }
        }
        if let Ok(mut t) = self.tail.lock() {
            t.extend_from_slice(whole);
            if t.len() > 2 * KEEP {
                let cut = t.len() - KEEP;
                t.drain(..cut);
            }
        }
        if let Some(tx) = &self.lines {
            if let Ok(tx) = tx.lock() {
                for line in String::from_utf8_lossy(whole).lines() {
                    let _ = tx.send(line.to_string());
                }
            }
        }
    }
}

/// The pipes to read: the shared one, or the child's stdout and stderr (`true`: stdout).
fn pipes(
    child: &mut std::process::Child,
    shared: Option<std::io::PipeReader>,
) -> Vec<(bool, Box<dyn Read + Send>)> {
    match shared {
        Some(reader) => vec![(true, Box::new(reader) as Box<dyn Read + Send>)],
        None => [
            child
                .stdout
                .take()
                .map(|p| (true, Box::new(p) as Box<dyn Read + Send>)),
            child
                .stderr
                .take()
                .map(|p| (false, Box::new(p) as Box<dyn Read + Send>)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    }
}

/// Reads one pipe to its end (on its own thread) into the sinks.
fn drain(is_stdout: bool, mut pipe: Box<dyn Read + Send>, sinks: &Sinks) {
    let mut buf = [0u8; 8192];
    // Bytes of a line not finished yet: the merged log gets whole lines only.
    let mut partial: Vec<u8> = Vec::new();
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if is_stdout {
            if let Some(f) = &sinks.stdout {
                if let Ok(mut f) = f.lock() {
                    let _ = f.write_all(chunk);
                }
            }
        }
        partial.extend_from_slice(chunk);
        let upto = if n == 0 {
            partial.len()
        } else {
            partial
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
        };
        if upto > 0 {
            let whole: Vec<u8> = partial.drain(..upto).collect();
            sinks.lines(&whole);
        }
        if n == 0 {
            break;
        }
    }
}

/// Waits for the command to end, delivering its lines meanwhile; stops it (and its process
/// group) when cancelled or at the deadline.
fn wait(
    child: &mut std::process::Child,
    cancel: Option<&AtomicBool>,
    deadline: Option<Instant>,
    mut deliver: impl FnMut(),
) -> std::io::Result<(Option<ExitStatus>, Option<Stopped>)> {
    loop {
        deliver();
        if let Some(status) = child.try_wait()? {
            return Ok((Some(status), None));
        }
        let why = if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            Some(Stopped::Cancelled)
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            Some(Stopped::TimedOut)
        } else {
            None
        };
        if let Some(why) = why {
            stop(child);
            return Ok((None, Some(why)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills the command and what it started.
fn stop(child: &mut std::process::Child) {
    // The process group we created for it (its pid is the group id), so
    // what it started stops too. Never through `kill(1)`: procps-ng 4.0's
    // `kill -KILL -N` has been seen to signal far more than group N.
    if let Some(pgid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for the readers, delivering lines meanwhile.
fn join_readers(readers: Vec<std::thread::JoinHandle<()>>, mut deliver: impl FnMut()) {
    // A process that left the group (setsid) may still hold the pipes: do not wait for it
    // forever once the command itself is done.
    let drained = Instant::now() + Duration::from_secs(5);
    for r in readers {
        while !r.is_finished() && Instant::now() < drained {
            deliver();
            std::thread::sleep(Duration::from_millis(5));
        }
        if r.is_finished() {
            let _ = r.join();
        }
    }
}
