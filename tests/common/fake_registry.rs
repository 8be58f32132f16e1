//! A loopback stand-in for the package registries: serves the answers recorded from the real
//! crates.io index, npm registry and PyPI JSON API (tests/fixtures/registry/, see its README)
//! under `/crates`, `/npm` and `/pypi`, and 404 for any package not recorded — which is what
//! the real registries answered for the made-up names the tests use. Counts the requests.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct FakeRegistry {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
}

impl FakeRegistry {
    pub fn start() -> FakeRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake registry");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let count = count.clone();
                std::thread::spawn(move || serve(stream, &count));
            }
        });
        FakeRegistry { base, requests }
    }

    /// The `[deps]` environment overrides pointing at this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "OVERLORD_REGISTRY_CRATES".into(),
                format!("{}/crates", self.base),
            ),
            ("OVERLORD_REGISTRY_NPM".into(), format!("{}/npm", self.base)),
            (
                "OVERLORD_REGISTRY_PYPI".into(),
                format!("{}/pypi", self.base),
            ),
        ]
    }

    /// The `[deps]` section pointing at this fake.
    pub fn config(&self) -> overlord::config::DepsConfig {
        overlord::config::DepsConfig {
            crates_index: format!("{}/crates", self.base),
            npm_registry: format!("{}/npm", self.base),
            pypi: format!("{}/pypi", self.base),
            cache_ttl_secs: 0,
            timeout_secs: 5,
        }
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A base URL nothing listens on (a port that was just free).
pub fn unreachable_base() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("address");
    drop(l);
    format!("http://{addr}")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registry")
}

fn serve(stream: TcpStream, count: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Drain the headers.
    let mut h = String::new();
    while reader.read_line(&mut h).map(|n| n > 0).unwrap_or(false) && h != "\r\n" {
        h.clear();
    }
    count.fetch_add(1, Ordering::SeqCst);
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let rel = path
        .trim_start_matches('/')
        .replace("%2f", "/")
        .replace("%2F", "/");
    let file = fixtures().join(&rel);
    let safe = !rel.split('/').any(|p| p == ".." || p.is_empty());
    let (status, body) = match std::fs::read(&file) {
        Ok(b) if safe && file.is_file() => ("200 OK", b),
        _ => ("404 Not Found", b"Not Found".to_vec()),
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(&body);
}
