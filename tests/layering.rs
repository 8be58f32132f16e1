//! The core knows nothing of the front ends: `protocol`, `core`, `store` and the shared
//! modules never import ratatui, crossterm or serenity (CI also builds the core with the
//! front ends compiled out: `cargo check --no-default-features`).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn core_and_protocol_do_not_import_front_end_crates() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in [
        "protocol", "core", "store", "qa", "agent", "runtime", "metrics",
    ] {
        rust_files(&src.join(dir), &mut files);
    }
    for f in ["config.rs", "workspace.rs", "lib.rs"] {
        files.push(src.join(f));
    }
    assert!(files.len() > 10, "the layout moved: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for banned in [
                "ratatui",
                "crossterm",
                "serenity",
                "poise",
                "tui_textarea",
                "clap",
            ] {
                assert!(
                    !code.contains(banned),
                    "{}:{}: the core must not use {banned}: {line}",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}

#[test]
fn protocol_does_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protocol");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            "std::fs",
            "std::net",
            "rusqlite",
            "tokio",
            "SystemTime",
            "OffsetDateTime",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", file.display());
        }
    }
}

/// The metrics are a pure function of the events: no files, no sockets, no store, no clock
/// (`now` is a parameter; `OffsetDateTime` only parses the events' stamps).
#[test]
fn metrics_do_no_io_and_read_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() >= 3, "the layout moved: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            "std::fs",
            "std::net",
            "std::io",
            "rusqlite",
            "tokio",
            "SystemTime",
            "Instant",
            "now_utc",
            "crate::core",
            "crate::store",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", file.display());
        }
    }
}
