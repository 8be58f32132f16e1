//! Diff benchmarks, side by side in one run (see docs/PERFORMANCE.md):
//! - the full diff model (read both files, Histogram line diff, hunks with context,
//!   word-level spans) against `git diff --no-index --histogram` on the same pair of
//!   100,000-line files, with ~2% scattered edits and with a 5,000-line moved block;
//! - whole processes on a commit of 5,000 files each changed by two lines:
//!   `overlord-tui diff A B [--stat|--json]` against `git diff --histogram A B [--stat]`,
//!   output to a pipe that is read and dropped; with the peak resident memory of each
//!   (`/usr/bin/time -f %M`, median of 5 runs) printed beside them;
//! - whole processes on one 100,000-line file with ~2% scattered edits committed twice:
//!   `overlord-tui diff HEAD~1 HEAD` against `git diff --histogram HEAD~1 HEAD`.
//!
//! `cargo bench --bench diff` (`cargo test --bench diff`: each case once, quick)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use overlord::core::diff::text::{diff_text, CONTEXT};

#[path = "../tests/common/generate.rs"]
mod generate;
use generate::{moved_block, scattered_edits, source};

fn git_diff(dir: &Path) {
    let status = Command::new("git")
        .args([
            "diff",
            "--no-index",
            "--histogram",
            "--no-color",
            "old",
            "new",
        ])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(Stdio::null())
        .status()
        .expect("git");
    assert_eq!(
        status.code(),
        Some(1),
        "git diff --no-index exits 1 on differences"
    );
}

fn ours(dir: &Path) -> usize {
    let old = std::fs::read_to_string(dir.join("old")).expect("old");
    let new = std::fs::read_to_string(dir.join("new")).expect("new");
    diff_text(&old, &new, CONTEXT).hunks.len()
}

/// Runs a whole process in `dir`, its output read (as a pager or a script would) and dropped.
fn whole(dir: &Path, program: &str, args: &[&str]) -> usize {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .stderr(Stdio::null())
        .output()
        .expect("run");
    assert!(out.status.success(), "{program} {args:?}");
    out.stdout.len()
}

/// The peak resident memory of a whole process in KiB, median of 5 runs (`None` without
/// GNU time at /usr/bin/time).
fn max_rss_kib(dir: &Path, program: &str, args: &[&str]) -> Option<u64> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", program])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", dir)
            .stdout(Stdio::null())
            .output()
            .ok()?;
        let err = String::from_utf8_lossy(&out.stderr);
        runs.push(err.lines().last()?.trim().parse::<u64>().ok()?);
    }
    runs.sort_unstable();
    Some(runs[runs.len() / 2])
}

/// Prints the peak memory of both sides of each comparison.
fn print_memory(dir: &Path, cases: &[(&str, Vec<&str>, Vec<&str>)]) {
    let ours = env!("CARGO_BIN_EXE_overlord-tui");
    for (name, git_args, our_args) in cases {
        match (
            max_rss_kib(dir, "git", git_args),
            max_rss_kib(dir, ours, our_args),
        ) {
            (Some(g), Some(o)) => eprintln!(
                "peak memory {name}: git {g} KiB, overlord-tui {o} KiB ({:.2}×)",
                o as f64 / g as f64
            ),
            _ => eprintln!("peak memory {name}: not measured (no GNU time at /usr/bin/time)"),
        }
    }
}

/// Commits `text` as `big.rs`, then `edited` on top: `HEAD~1..HEAD` is the one big file's diff.
fn big_file_repo(text: &str, edited: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let git = |args: &[&str]| whole(dir.path(), "git", args);
    git(&["init", "-q", "-b", "main"]);
    let id = ["-c", "user.name=B", "-c", "user.email=b@example.com"];
    for (content, msg) in [(text, "one"), (edited, "two")] {
        std::fs::write(dir.path().join("big.rs"), content).expect("write");
        git(&["add", "big.rs"]);
        git(&[&id[..], &["commit", "-qm", msg][..]].concat());
    }
    dir
}

fn big_file_bench(c: &mut Criterion) {
    let base = source(100_000, 7);
    let dir = big_file_repo(&base, &scattered_edits(&base, 11));
    let ours = env!("CARGO_BIN_EXE_overlord-tui");
    let git_args = ["diff", "--histogram", "--no-color", "HEAD~1", "HEAD"];
    let our_args = ["diff", "HEAD~1", "HEAD"];
    // Both print the same patch, give or take git's index lines.
    assert!(whole(dir.path(), ours, &our_args) > 0);
    print_memory(
        dir.path(),
        &[("100k_file", git_args.to_vec(), our_args.to_vec())],
    );
    let mut group = c.benchmark_group("diff_100k_whole_process");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("git_diff_histogram", |b| {
        b.iter(|| whole(dir.path(), "git", &git_args))
    });
    group.bench_function("overlord_diff", |b| {
        b.iter(|| whole(dir.path(), ours, &our_args))
    });
    group.finish();
}

const FILES: usize = 5_000;

/// A repository whose `HEAD~1..HEAD` changes each of 5,000 files (40 lines) by two lines.
fn many_files() -> tempfile::TempDir {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let git = |args: &[&str]| whole(dir.path(), "git", args);
    git(&["init", "-q", "-b", "main"]);
    let text = |n: usize, edited: bool| -> String {
        (0..40)
            .map(|l| {
                if edited && (l == 7 || l == 29) {
                    format!("let v{l} = f({n}, {l}) + 1; // edited\n")
                } else {
                    format!("let v{l} = f({n}, {l});\n")
                }
            })
            .collect()
    };
    // Both commits through fast-import: 10,000 blobs without 10,000 `git add`s.
    let mut stream = Vec::new();
    for (c, edited) in [(1, false), (2, true)] {
        for n in 0..FILES {
            let t = text(n, edited);
            write!(
                stream,
                "blob\nmark :{}\ndata {}\n{t}\n",
                c * FILES + n,
                t.len()
            )
            .unwrap();
        }
        let msg = format!("commit {c}");
        write!(
            stream,
            "commit refs/heads/main\ncommitter B <b@example.com> 1767225600 +0000\ndata {}\n{msg}\n",
            msg.len()
        )
        .unwrap();
        for n in 0..FILES {
            writeln!(
                stream,
                "M 100644 :{} d{:02}/f{n:04}.txt",
                c * FILES + n,
                n % 50
            )
            .unwrap();
        }
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success());
    git(&["reset", "-q", "--hard"]);
    dir
}

fn many_files_bench(c: &mut Criterion) {
    let dir = many_files();
    let ours = env!("CARGO_BIN_EXE_overlord-tui");
    let (a, b) = ("HEAD~1", "HEAD");
    // The same changes counted by both.
    let stat = whole(dir.path(), ours, &["diff", a, b, "--stat"]);
    assert!(stat > 0);
    let cases = [
        (
            "stat",
            vec!["diff", "--stat", a, b],
            vec!["diff", a, b, "--stat"],
        ),
        (
            "text",
            vec!["diff", "--histogram", "--no-color", a, b],
            vec!["diff", a, b],
        ),
        (
            "json_vs_patch",
            vec!["diff", "--histogram", "--no-color", a, b],
            vec!["diff", a, b, "--json"],
        ),
    ];
    print_memory(dir.path(), &cases);
    let mut group = c.benchmark_group(format!("diff_{FILES}_files"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, git_args, our_args) in cases {
        group.bench_function(format!("git_{name}"), |bch| {
            bch.iter(|| whole(dir.path(), "git", &git_args))
        });
        group.bench_function(format!("overlord_{name}"), |bch| {
            bch.iter(|| whole(dir.path(), ours, &our_args))
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let base = source(100_000, 7);
    for (name, new) in [
        ("scattered_2pct", scattered_edits(&base, 11)),
        ("moved_block_5000", moved_block(&base, 20_000, 5_000)),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("old"), &base).expect("write");
        std::fs::write(dir.path().join("new"), &new).expect("write");
        assert!(ours(dir.path()) > 0);
        let mut group = c.benchmark_group(format!("diff_100k_{name}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(10));
        group.bench_function("git_diff_no_index_histogram", |b| {
            b.iter(|| git_diff(dir.path()))
        });
        group.bench_function("overlord_diff_model", |b| b.iter(|| ours(dir.path())));
        group.finish();
    }
}

criterion_group!(benches, bench, big_file_bench, many_files_bench);
criterion_main!(benches);
