//! The growth table (issue 23): the release binary run as whole processes on stores of 1,000,
//! 10,000 and 100,000 events (and 1,000,000 when asked), made by the store generator
//! (`common/store_gen.rs`) — wall time and peak resident memory of `status`, `status --json`,
//! `metrics --json` and `audit verify`, the console's first frame in tmux against a `less`
//! floor, and `concern raise` without an owner at 0 and at 10,000 open concerns.
//!
//! - `cargo bench --bench growth` — the table for 1k, 10k and 100k events;
//!   `OVERLORD_GROWTH_EVENTS=1000,1000000` picks the sizes; `OVERLORD_GROWTH_DIR=<dir>` keeps
//!   the generated stores there (and reuses them on the next run).
//! - `cargo bench --bench growth -- --generate 1000000 <dir>` — only builds a store of a
//!   million events in `<dir>` (a new git repository), for anyone to measure by hand.
//! - Under `cargo test --bench growth` (CI runs every bench once) it is quick: 1,000 events,
//!   one run of each command, 200 open concerns.

#[path = "common/store_gen.rs"]
mod store_gen;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_overlord-tui");

/// One measured process: its wall time, peak resident memory (KiB, when `/usr/bin/time`
/// can tell) and how many bytes it printed.
#[derive(Debug, Clone, Copy)]
struct Measured {
    wall: Duration,
    rss_kib: Option<u64>,
    printed: u64,
}

/// The sandboxed environment every run gets (no host git configuration).
struct Env {
    home: tempfile::TempDir,
    scratch: tempfile::TempDir,
    gnu_time: bool,
}

impl Env {
    fn new() -> Env {
        let gnu_time = Command::new("/usr/bin/time")
            .args(["-f", "%M", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Env {
            home: tempfile::tempdir().expect("home"),
            scratch: tempfile::tempdir().expect("scratch"),
            gnu_time,
        }
    }

    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(dir)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("USER", "bench")
            .env_remove("OVERLORD_ROLE")
            .env_remove("OVERLORD_AGENT")
            .env_remove("RUST_LOG");
        c
    }

    /// Runs `overlord-tui args` in `dir` once; panics when it fails.
    fn run(&self, dir: &Path, args: &[&str]) -> Measured {
        let out_path = self.scratch.path().join("stdout");
        let rss_path = self.scratch.path().join("rss");
        let mut c = if self.gnu_time {
            let mut c = self.command("/usr/bin/time", dir);
            c.arg("-f").arg("%M").arg("-o").arg(&rss_path).arg(BIN);
            c
        } else {
            self.command(BIN, dir)
        };
        c.args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).expect("stdout file"))
            .stderr(Stdio::piped());
        let start = Instant::now();
        let out = c.output().expect("run overlord-tui");
        let wall = start.elapsed();
        let printed = std::fs::metadata(&out_path).map(|m| m.len()).unwrap_or(0);
        assert!(
            out.status.success(),
            "overlord-tui {} failed in {}: {}\n{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&out_path)
                .unwrap_or_default()
                .chars()
                .take(2_000)
                .collect::<String>()
        );
        let rss_kib = std::fs::read_to_string(&rss_path)
            .ok()
            .and_then(|t| t.trim().lines().last()?.trim().parse().ok());
        Measured {
            wall,
            rss_kib,
            printed,
        }
    }

    /// The median wall time and the highest peak memory of `runs` runs.
    fn measure(&self, dir: &Path, args: &[&str], runs: usize) -> Measured {
        let mut all: Vec<Measured> = (0..runs).map(|_| self.run(dir, args)).collect();
        all.sort_by_key(|m| m.wall);
        Measured {
            rss_kib: all.iter().filter_map(|m| m.rss_kib).max(),
            ..all[all.len() / 2]
        }
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1_000.0;
    if ms >= 1_000.0 {
        format!("{:.2} s", ms / 1_000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

fn cell(m: &Measured) -> String {
    match m.rss_kib {
        Some(k) => format!("{}, {:.1} MiB", ms(m.wall), k as f64 / 1024.0),
        None => ms(m.wall),
    }
}

/// A store of `events` events: reused from `OVERLORD_GROWTH_DIR` when it holds one, else
/// generated (and kept there when the variable is set).
fn store_for(events: u64, keep: Option<&Path>, tmp: &Path) -> (PathBuf, Option<Duration>) {
    let dir = keep.unwrap_or(tmp).join(format!("store-{events}"));
    if dir.join(".overlord/overlord.db").exists() && keep.is_some() {
        eprintln!("reusing the store of {events} events in {}", dir.display());
        return (dir, None);
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("generating a store of {events} events…");
    let start = Instant::now();
    let made = store_gen::generate(&dir, events);
    let took = start.elapsed();
    eprintln!(
        "  {} events, {} records, {} open concerns in {}",
        made.events,
        made.records,
        made.open_concerns,
        ms(took)
    );
    (dir, Some(took))
}

/// The console's first frame, whole process, in tmux: from `new-session` to the screen
/// showing the swarm and the concerns, against `less` showing a file in the same loop. Also
/// the console's resident memory once it drew. `None` without tmux.
fn first_frame(env: &Env, dir: &Path) -> Option<(Duration, Duration, Option<u64>)> {
    let tmux_ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux_ok {
        return None;
    }
    let floor_file = env.scratch.path().join("floor.txt");
    std::fs::write(&floor_file, "Swarm\nConcerns\n").expect("floor file");
    let home = env.home.path().display();
    let console = format!(
        "cd '{}' && exec env HOME='{home}' XDG_CONFIG_HOME='{home}/.config' GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null USER=bench TERM=xterm-256color '{BIN}'",
        dir.display()
    );
    let less = format!(
        "exec env TERM=xterm-256color less '{}'",
        floor_file.display()
    );
    let mut best = (Duration::MAX, Duration::MAX, None);
    for round in 0..3 {
        let (f, _) = in_tmux(&less, round, false);
        let (c, rss) = in_tmux(&console, round, true);
        best.0 = best.0.min(c?);
        best.1 = best.1.min(f?);
        best.2 = best.2.max(rss);
        // The console stopped by the hang-up may write its snapshot on the way out: let it
        // end before the next round opens the store.
        std::thread::sleep(Duration::from_secs(2));
    }
    Some(best)
}

/// Starts `line` in a new tmux server and polls the screen until it shows "Swarm" and
/// "Concerns"; then stops it. The time, and the process's peak resident memory (KiB).
fn in_tmux(line: &str, round: u32, read_rss: bool) -> (Option<Duration>, Option<u64>) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let socket = format!("ovl-growth-{}-{round}-{n}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux")
    };
    let start = Instant::now();
    let ok = tmux(&[
        "new-session",
        "-d",
        "-s",
        "g",
        "-x",
        "160",
        "-y",
        "48",
        line,
    ]);
    assert!(
        ok.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let deadline = start + Duration::from_secs(120);
    let took = loop {
        let screen = tmux(&["capture-pane", "-p", "-t", "g"]);
        let s = String::from_utf8_lossy(&screen.stdout);
        if s.contains("Swarm") && s.contains("Concerns") {
            break Some(start.elapsed());
        }
        if Instant::now() > deadline {
            eprintln!("no first frame in 120 s; the screen:\n{s}");
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let rss = (read_rss && took.is_some())
        .then(|| {
            let pid = String::from_utf8_lossy(&tmux(&["list-panes", "-F", "#{pane_pid}"]).stdout)
                .trim()
                .to_string();
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .flatten();
    let _ = tmux(&["kill-server"]);
    (took, rss)
}

/// `concern raise` without an owner (the CLI opens the store itself) at 0 and at `open`
/// open concerns: the median of `runs` raises each.
fn concern_raise(env: &Env, tmp: &Path, open: u64, runs: usize) -> (Measured, Measured) {
    let args = [
        "concern",
        "raise",
        "--from",
        "tester",
        "--severity",
        "warning",
        "--category",
        "test_failure",
        "Regression tests failing after the loader change",
    ];
    let empty = tmp.join("concerns-0");
    store_gen::generate_open_concerns(&empty, 0);
    let full = tmp.join(format!("concerns-{open}"));
    eprintln!("raising {open} open concerns…");
    store_gen::generate_open_concerns(&full, open);
    (
        env.measure(&empty, &args, runs),
        env.measure(&full, &args, runs),
    )
}

fn sizes(quick: bool) -> Vec<u64> {
    if quick {
        return vec![1_000];
    }
    match std::env::var("OVERLORD_GROWTH_EVENTS") {
        Ok(v) => v
            .split(',')
            .map(|s| s.trim().parse().expect("OVERLORD_GROWTH_EVENTS: numbers"))
            .collect(),
        Err(_) => vec![1_000, 10_000, 100_000],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--generate") {
        let (Some(n), Some(dir)) = (args.get(i + 1), args.get(i + 2)) else {
            eprintln!("usage: cargo bench --bench growth -- --generate <events> <dir>");
            std::process::exit(2);
        };
        let n: u64 = n.parse().expect("<events> is a number");
        let start = Instant::now();
        let made = store_gen::generate(Path::new(dir), n);
        println!(
            "{} events, {} records, {} open concerns in {dir} ({})",
            made.events,
            made.records,
            made.open_concerns,
            ms(start.elapsed())
        );
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --bench growth` does not: one quick round.
    let quick = !args.iter().any(|a| a == "--bench");
    let keep = std::env::var_os("OVERLORD_GROWTH_DIR").map(PathBuf::from);
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new();
    let runs = if quick { 1 } else { 5 };
    println!("| events | records | generated in | console's first frame (`less` floor, ratio, memory) | `status` | `status --json` | `metrics --json` | `audit verify` |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes(quick) {
        let (dir, generated) = store_for(n, keep.as_deref(), tmp.path());
        let records = overlord::store::Store::open_without_repair(
            &overlord::store::StorePaths::under(&dir.join(".overlord")),
        )
        .expect("open")
        .head()
        .0;
        let runs = if n >= 1_000_000 { runs.min(3) } else { runs };
        // The first run warms the page cache; it is not counted.
        env.run(&dir, &["status"]);
        let status = env.measure(&dir, &["status"], runs);
        let json = env.measure(&dir, &["status", "--json"], runs);
        let metrics = env.measure(&dir, &["metrics", "--json"], runs);
        let verify = env.measure(&dir, &["audit", "verify"], runs);
        let frame = if quick { None } else { first_frame(&env, &dir) };
        let frame = match frame {
            Some((c, f, rss)) => format!(
                "{} ({}, {:.2}×){}",
                ms(c),
                ms(f),
                c.as_secs_f64() / f.as_secs_f64(),
                rss.map(|k| format!(", {:.1} MiB", k as f64 / 1024.0))
                    .unwrap_or_default()
            ),
            None => "—".into(),
        };
        println!(
            "| {n} | {records} | {} | {frame} | {} | {} ({} KB printed) | {} | {} |",
            generated.map(ms).unwrap_or_else(|| "kept".into()),
            cell(&status),
            cell(&json),
            json.printed / 1_000,
            cell(&metrics),
            cell(&verify),
        );
    }
    let open = if quick { 200 } else { 10_000 };
    let (at_zero, at_open) = concern_raise(&env, tmp.path(), open, if quick { 1 } else { 21 });
    println!();
    println!(
        "`concern raise` without an owner: {} at 0 open concerns, {} at {open} ({:+.0}%)",
        cell(&at_zero),
        cell(&at_open),
        (at_open.wall.as_secs_f64() / at_zero.wall.as_secs_f64() - 1.0) * 100.0
    );
}
