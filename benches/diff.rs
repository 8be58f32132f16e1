//! Diff benchmarks, side by side in one run (see docs/PERFORMANCE.md): the full diff model
//! (read both files, Histogram line diff, hunks with context, word-level spans) against
//! `git diff --no-index --histogram` on the same pair of 100,000-line files, with ~2%
//! scattered edits and with a 5,000-line moved block.
//!
//! `cargo bench --bench diff`

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

criterion_group!(benches, bench);
criterion_main!(benches);
