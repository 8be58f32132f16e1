//! Fault injection for the crash tests: when `OVERLORD_FAILPOINT` names a point the process
//! reaches, it exits at once with status 86, as if killed there (no clean-up runs, no reply
//! is written). Unset in normal use; reading one environment variable is the only cost.

/// The exit status of a process stopped at a fail point.
pub const EXIT: i32 = 86;

pub fn hit(point: &str) {
    if std::env::var_os("OVERLORD_FAILPOINT").is_some_and(|v| v == point) {
        eprintln!("overlord: stopped at fail point {point}");
        std::process::exit(EXIT);
    }
}

/// For the console's crash test: panics (instead of exiting) when `OVERLORD_FAILPOINT` names
/// `point`, so the panic hook's clean-up and message can be seen.
pub fn panic_at(point: &str) {
    if std::env::var_os("OVERLORD_FAILPOINT").is_some_and(|v| v == point) {
        panic!("stopped at fail point {point}");
    }
}
