//! Which agent CLIs are there: [`probe`] finds an adapter's program (in `PATH`, or at the
//! path it was given) and asks it for its version, the way `overlord-tui agents` shows them.
//!
//! The version command runs like an agent run does (stdin on `/dev/null`, its own process
//! group, the adapter's environment) and is stopped with its whole group after
//! [`PROBE_TIMEOUT`]: a CLI that hangs, fails or prints garbage on `--version` is reported
//! as an error, never a panic or a hang.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::agent::adapter::{AdapterKind, AdapterSpec};

/// How long a version command may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a version command's output that is read (per stream).
const MAX_OUTPUT: u64 = 64 * 1024;
/// The longest version line that is believed.
const MAX_VERSION: usize = 200;

/// What was found of one adapter's CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The adapter's name (`[adapters.<name>]`).
    pub name: String,
    pub kind: AdapterKind,
    /// The program as configured (`overlord-tui` for the built-in scripted agent).
    pub program: String,
    /// Where it was found.
    pub path: Option<PathBuf>,
    /// The program is there and executable.
    pub installed: bool,
    /// The first non-empty line the version command printed.
    pub version: Option<String>,
    /// Why it is not installed, or why its version could not be read.
    pub error: Option<String>,
}

/// Finds the adapter's CLI and reads its version (see the module documentation).
/// `self_exe` is this overlord-tui: the scripted adapter's program when it names none.
pub fn probe(spec: &AdapterSpec, self_exe: &Path) -> Probe {
    probe_within(spec, self_exe, PROBE_TIMEOUT)
}

/// [`probe`] with another limit on the version command.
pub fn probe_within(spec: &AdapterSpec, self_exe: &Path, timeout: Duration) -> Probe {
    let mut p = Probe {
        name: spec.name.clone(),
        kind: spec.kind,
        program: spec.program().to_string(),
        path: None,
        installed: false,
        version: None,
        error: None,
    };
    if spec.kind == AdapterKind::Scripted && spec.program().trim().is_empty() {
        p.program = "overlord-tui".into();
        p.path = Some(self_exe.to_path_buf());
        p.installed = true;
        p.version = Some(env!("CARGO_PKG_VERSION").to_string());
        return p;
    }
    let program = spec.program().trim();
    let Some(path) = find_program(program) else {
        p.error = Some(if program.contains('/') {
            format!("{program} is not installed (no executable file there)")
        } else {
            format!("{program} is not installed (not found in PATH)")
        });
        return p;
    };
    p.installed = true;
    p.path = Some(path.clone());
    if spec.version_args.is_empty() {
        // No version command (codex-acp): installed, version unknown.
        return p;
    }
    let shown = format!("{program} {}", spec.version_args.join(" "));
    match version_of(&path, spec, timeout) {
        Ok(v) => p.version = Some(v),
        Err(e) => p.error = Some(format!("`{}`: {e}", shown.trim())),
    }
    p
}

/// The executable `program` names: a path when it contains `/`, else the first match in
/// `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| {
            // An empty entry is the current directory.
            if dir.as_os_str().is_empty() {
                PathBuf::from(".").join(program)
            } else {
                dir.join(program)
            }
        })
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn group_kill(pid: u32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

/// Runs the version command; the first non-empty line of stdout (else of stderr).
fn version_of(path: &Path, spec: &AdapterSpec, timeout: Duration) -> Result<String, String> {
    let mut cmd = Command::new(path);
    cmd.args(&spec.version_args)
        .envs(spec.env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot be run: {e}"))?;
    let pid = child.id();
    // Readers on threads: a version command may fill a pipe before it exits, and a process
    // it leaves behind may hold the pipes open.
    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    for (is_out, pipe) in [
        (
            true,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            false,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut buf);
            let _ = tx.send((is_out, buf));
        });
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                group_kill(pid);
                let _ = child.wait();
                return Err(format!("cannot be waited for: {e}"));
            }
        }
    };
    // Whatever it left running in its group goes too (it would hold the pipes).
    group_kill(pid);
    let Some(status) = status else {
        let _ = child.wait();
        return Err(format!(
            "did not finish within {} s (stopped)",
            timeout.as_secs_f64()
        ));
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let drain_until = Instant::now() + Duration::from_secs(2);
    for _ in 0..2 {
        match rx.recv_timeout(drain_until.saturating_duration_since(Instant::now())) {
            Ok((true, b)) => out = b,
            Ok((false, b)) => err = b,
            Err(_) => break,
        }
    }
    let first_line = |bytes: &[u8]| -> Option<Result<String, String>> {
        let line = bytes
            .split(|b| *b == b'\n')
            .map(|l| l.trim_ascii())
            .find(|l| !l.is_empty())?;
        Some(readable(line))
    };
    if !status.success() {
        let why = match status.code() {
            Some(c) => format!("exited with code {c}"),
            None => "was killed by a signal".to_string(),
        };
        let said = first_line(&err)
            .or_else(|| first_line(&out))
            .and_then(Result::ok)
            .map(|l| format!(": {l}"))
            .unwrap_or_default();
        return Err(format!("{why}{said}"));
    }
    match first_line(&out).or_else(|| first_line(&err)) {
        Some(line) => line,
        None => Err("printed nothing".to_string()),
    }
}

/// A version line a person can read: UTF-8, no control characters, not too long.
fn readable(line: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(line).map_err(|_| {
        format!(
            "printed no readable version (not UTF-8: {} bytes)",
            line.len()
        )
    })?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "printed no readable version (control characters in {:?})",
            crate::agent::classify::cut(text, 60)
        ));
    }
    if text.len() > MAX_VERSION {
        return Err(format!(
            "printed no readable version (a line of {} bytes)",
            text.len()
        ));
    }
    Ok(text.to_string())
}
