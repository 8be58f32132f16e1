//! Running the project's own commands (worktree set-up, QA gates): `sh -c` in a directory,
//! with a deadline, stdout and stderr drained while it runs (a chatty command must not fill
//! a pipe and block) and their tail kept for reports. The whole output can also go to a log.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How much of the output's end is kept for messages.
const KEEP: usize = 16 * 1024;

#[derive(Debug)]
pub struct ShellRun {
    /// `None` when the command was stopped at its deadline.
    pub status: Option<ExitStatus>,
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
    let started = Instant::now();
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
    let mut child = cmd.spawn()?;
    let log_file = match log {
        Some(p) => Some(std::sync::Arc::new(std::sync::Mutex::new(
            std::fs::File::create(p)?,
        ))),
        None => None,
    };
    let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let mut readers = Vec::new();
    let pipes: Vec<Box<dyn Read + Send>> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for mut pipe in pipes {
        let tail = tail.clone();
        let log_file = log_file.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Some(f) = &log_file {
                    if let Ok(mut f) = f.lock() {
                        let _ = f.write_all(&buf[..n]);
                    }
                }
                if let Ok(mut t) = tail.lock() {
                    t.extend_from_slice(&buf[..n]);
                    if t.len() > 2 * KEEP {
                        let cut = t.len() - KEEP;
                        t.drain(..cut);
                    }
                }
            }
        }));
    }
    let deadline = timeout.map(|t| started + t);
    let status = loop {
        match child.try_wait()? {
            Some(status) => break Some(status),
            None if deadline.is_some_and(|d| Instant::now() >= d) => {
                // The process group we created for it (its pid is the group id), so what it
                // started stops too. Never through `kill(1)`: procps-ng 4.0's `kill -KILL -N`
                // has been seen to signal far more than group N.
                if let Some(pgid) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ =
                        rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    // A process that left the group (setsid) may still hold the pipes: do not wait for it
    // forever once the command itself is done.
    let drained = Instant::now() + Duration::from_secs(5);
    for r in readers {
        while !r.is_finished() && Instant::now() < drained {
            std::thread::sleep(Duration::from_millis(5));
        }
        if r.is_finished() {
            let _ = r.join();
        }
    }
    let tail = tail.lock().map(|t| t.clone()).unwrap_or_default();
    Ok(ShellRun {
        status,
        elapsed: started.elapsed(),
        tail: String::from_utf8_lossy(&tail).into_owned(),
    })
}
