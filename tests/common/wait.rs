//! Waiting for something to happen rather than for time to pass: poll the condition itself
//! (a file, a process's state, a handler installed, a pipe drained) until a generous
//! deadline, and fail saying what was awaited. A loaded CI machine can be many times slower
//! than a laptop; a passing test never waits anywhere near the deadline.

use std::path::Path;
use std::time::{Duration, Instant};

/// How long a test waits for something that normally takes moments.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The pause between two looks at the condition.
const POLL: Duration = Duration::from_millis(20);

/// Polls `f` until it gives a value; panics after `within`, naming `what`.
pub fn wait_for<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Polls `f` until it holds; panics after `within`, naming `what`.
pub fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    wait_for(what, within, || f().then_some(()))
}

/// [`wait_for`] inside a tokio runtime (the runtime's other tasks run between looks).
pub async fn wait_for_async<T>(
    what: &str,
    within: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_until`] inside a tokio runtime.
pub async fn wait_until_async(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    wait_for_async(what, within, || f().then_some(())).await
}

/// The first line of `path` as a pid.
fn pid_in(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The pid a process writes to `path` (the first, when several append theirs), once it has.
pub fn read_pid(path: &Path) -> i32 {
    wait_for(&format!("a pid in {}", path.display()), PATIENCE, || {
        pid_in(path)
    })
}

/// [`read_pid`] inside a tokio runtime.
pub async fn wait_pid(path: &Path) -> i32 {
    wait_for_async(&format!("a pid in {}", path.display()), PATIENCE, || {
        pid_in(path)
    })
    .await
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T`, `Z`, …); `None` once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Waits until process `pid` is stopped (`T`, by SIGSTOP), naming `what` on failure.
pub fn wait_stopped(what: &str, pid: i32) {
    wait_until(what, PATIENCE, || proc_state(pid) == Some('T'));
}

/// Whether process `pid` has a handler installed for signal number `signo` (the `SigCgt`
/// mask of `/proc/<pid>/status`): a signal sent before that would meet the default action.
pub fn catches_signal(pid: i32, signo: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signo - 1)) != 0)
}

/// The bytes written into the pipe that process `pid` has open as `fd` and not read yet;
/// `None` when that is not a pipe (or the process is gone).
pub fn pipe_unread(pid: i32, fd: i32) -> Option<u64> {
    let path = format!("/proc/{pid}/fd/{fd}");
    let link = std::fs::read_link(&path).ok()?;
    if !link.to_string_lossy().starts_with("pipe:") {
        return None;
    }
    // Read and write: opening a pipe for one end only blocks until the other end has an
    // owner; for both it never does. Nothing is read or written through this copy.
    let pipe = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .ok()?;
    rustix::io::ioctl_fionread(&pipe).ok()
}
