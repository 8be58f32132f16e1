//! `audit verify` against the chain-only walk on an existing store, side by side in one
//! process, round by round: what `benches/audit.rs` times as `verify_chain` and
//! `verify_whole`, on any store (the growth generator's million events, for one) without
//! building the bench's own.
//!
//! `cargo run --release --example audit_verify_ratio -- <workspace dir> [rounds]` (each
//! round: the wall and CPU time of each, and the ratio of the wall times).

use std::time::Instant;

use overlord::store::verify::{verify, verify_chain};
use overlord::store::Store;
use overlord::workspace::Workspace;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| ".".into());
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let ws = Workspace::discover(std::path::Path::new(&dir)).expect("a workspace");
    let store = Store::open_without_repair(&ws.store_paths()).expect("the store");
    let mut ratios = Vec::new();
    let mut records = 0;
    println!("| round | chain-only walk: wall, CPU | audit verify: wall, CPU | wall ratio |");
    println!("|---|---|---|---|");
    for round in 1..=rounds {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let chain = verify_chain(&store).expect("the chain walk");
        let (chain_s, chain_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        assert!(chain.first_break.is_none(), "{:?}", chain.first_break);
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let whole = verify(&store).expect("audit verify");
        let (whole_s, whole_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        assert!(whole.ok, "{:?}", whole.findings);
        assert_eq!(whole.records, chain.records);
        records = chain.records;
        ratios.push(whole_s / chain_s);
        println!(
            "| {round} | {chain_s:.3} s, {chain_cpu:.2} s | {whole_s:.3} s, {whole_cpu:.2} s | {:.2} |",
            whole_s / chain_s
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{records} records; median ratio {:.2}",
        ratios[ratios.len() / 2]
    );
}

/// The process's CPU time so far (user + system, all threads), from `/proc/self/stat` (0 where
/// there is none): on a shared machine the wall time stretches, the CPU time much less.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's name (in parentheses): utime and stime are 14th and 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}
