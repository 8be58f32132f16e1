//! One writer: concurrent writers from several processes never fork or corrupt the chain,
//! with and without a running owner (`overlord-tui serve`).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::ConcernId;
use overlord::store::verify::verify;
use overlord::store::Store;
use serde_json::Value;

use crate::common::*;

fn raise_many(repo: &Repo, writer: usize, n: usize) -> std::thread::JoinHandle<Vec<bool>> {
    let path = repo.path().to_path_buf();
    let home = repo.home.path().to_path_buf();
    std::thread::spawn(move || {
        (0..n)
            .map(|i| {
                let mut cmd = bin();
                cmd.args([
                    "concern",
                    "raise",
                    "--from",
                    "tester",
                    "--severity",
                    "info",
                    "--category",
                    "load",
                    &format!("writer {writer} concern {i}"),
                ])
                .current_dir(&path);
                sandbox(&mut cmd, &home);
                cmd.output().map(|o| o.status.success()).unwrap_or(false)
            })
            .collect()
    })
}

fn check_store(repo: &Repo, expected_concerns: u64) {
    let store = Store::open_without_repair(&repo.workspace().store_paths()).unwrap();
    let report = verify(&store).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    let core = Core::open(&repo.workspace(), &Config::default()).unwrap();
    let state = core.state();
    assert_eq!(state.concerns.len() as u64, expected_concerns);
    // Ids are dense and unique: no two writers handed out the same one.
    for n in 1..=expected_concerns {
        assert!(state.concerns.contains_key(&ConcernId(n)), "C-{n} missing");
    }
    assert_eq!(state.last_event_seq, expected_concerns);
}

#[test]
fn two_processes_writing_directly_never_fork_the_chain() {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    let a = raise_many(&repo, 1, 15);
    let b = raise_many(&repo, 2, 15);
    // And an in-process writer on its own connection at the same time.
    let mut core = Core::open(&repo.workspace(), &Config::default()).unwrap();
    for i in 0..15 {
        ok(
            &mut core,
            &format!("/raise --severity warning --category load in-process {i}"),
        );
    }
    assert!(a.join().unwrap().into_iter().all(|ok| ok));
    assert!(b.join().unwrap().into_iter().all(|ok| ok));
    check_store(&repo, 45);
}

pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn serve(repo: &Repo) -> Server {
    let mut cmd = bin();
    cmd.arg("serve")
        .current_dir(repo.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    sandbox(&mut cmd, repo.home.path());
    let child = cmd.spawn().unwrap();
    let sock = repo.path().join(".overlord/overlord.sock");
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Server(child)
}

#[test]
fn with_an_owner_running_clients_go_through_its_socket() {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    let mut server = serve(&repo);
    let sock = repo.path().join(".overlord/overlord.sock");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second owner is refused.
    let o = repo.run(&["serve"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already owns"), "{}", stderr(&o));

    let a = raise_many(&repo, 1, 12);
    let b = raise_many(&repo, 2, 12);
    // A writer that opens the store directly while the owner runs is still safe.
    let mut direct = Core::open(&repo.workspace(), &Config::default()).unwrap();
    for i in 0..6 {
        ok(
            &mut direct,
            &format!("/raise --severity warning --category load direct {i}"),
        );
    }
    assert!(a.join().unwrap().into_iter().all(|ok| ok));
    assert!(b.join().unwrap().into_iter().all(|ok| ok));
    // The owner saw the direct writes too (it catches up before every command).
    let o = repo.run(&["status", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["report"]["open_concerns"]["info"], 24);
    assert_eq!(v["report"]["open_concerns"]["warning"], 6);

    // SIGTERM stops it cleanly and removes the socket.
    let pid = server.0.id() as i32;
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = server.0.wait().unwrap();
    assert!(status.success(), "serve exited with {status:?}");
    assert!(!sock.exists());
    check_store(&repo, 30);
    // With no owner, the CLI opens the store itself again.
    let o = repo.run(&["cmd", "/ack C-30"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_stale_socket_does_not_block_the_cli() {
    let repo = Repo::new();
    repo.workspace().init().unwrap();
    let sock = repo.path().join(".overlord/overlord.sock");
    {
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    } // the listener is gone; the file stays behind
    assert!(sock.exists());
    let o = repo.run(&["cmd", "/raise --severity info --category x stale socket"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let server = serve(&repo);
    let o = repo.run(&["cmd", "/ack C-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    drop(server);
}

#[test]
fn the_socket_survives_bad_requests_and_streams_events() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;

    let repo = Repo::new();
    repo.workspace().init().unwrap();
    let server = serve(&repo);
    let sock = repo.path().join(".overlord/overlord.sock");

    let stream = UnixStream::connect(&sock).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    let mut ask = |request: &str, line: &mut String| {
        writer.write_all(request.as_bytes()).unwrap();
        line.clear();
        reader.read_line(line).unwrap();
        serde_json::from_str::<Value>(line).unwrap()
    };
    let v = ask("this is not json\n", &mut line);
    assert_eq!(v["kind"], "error");
    assert!(v["message"].as_str().unwrap().contains("malformed request"));
    let v = ask(
        "{\"op\":\"submit\",\"origin\":{\"via\":\"system\"},\"command\":{\"cmd\":\"nope\"}}\n",
        &mut line,
    );
    assert_eq!(v["kind"], "error");
    let v = ask("{\"op\":\"ping\"}\n", &mut line);
    assert_eq!(v["kind"], "pong");

    // A subscriber sees the events of commands sent by others.
    let mut sub = overlord::core::ipc::Client::connect(&sock).unwrap();
    sub.subscribe().unwrap();
    let o = repo.run(&["cmd", "/raise --severity info --category x streamed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    match sub.next_event().unwrap() {
        overlord::core::ipc::IpcResponse::Event { event } => {
            assert_eq!(event.seq, 1);
            assert!(matches!(
                event.kind,
                overlord::protocol::EventKind::ConcernRaised { .. }
            ));
        }
        other => panic!("expected an event, got {other:?}"),
    }

    // An over-long request is refused, and the server keeps serving.
    let mut long = UnixStream::connect(&sock).unwrap();
    long.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let big = vec![b'x'; overlord::core::ipc::MAX_LINE + 10];
    let _ = long.write_all(&big);
    let mut reply = String::new();
    let _ = BufReader::new(long).read_line(&mut reply);
    assert!(reply.contains("longer than"), "{reply}");
    let o = repo.run(&["cmd", "/ack C-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    drop(server);
}

/// `.overlord/` is owner-only whatever the umask: `init` under `umask 000` makes nothing
/// others can read, and an owner starting re-tightens what was loosened since.
#[test]
fn overlord_files_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.clone());
            if p.is_dir() {
                walk(&p, out);
            }
        }
    }
    let repo = Repo::new();
    let exe = bin().get_program().to_owned();
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "umask 000 && exec \"$0\" init"])
        .arg(&exe)
        .current_dir(repo.path());
    sandbox(&mut cmd, repo.home.path());
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = repo.path().join(".overlord");
    let mut all = vec![dir.clone()];
    walk(&dir, &mut all);
    assert!(all.len() > 5, "{all:?}");
    for p in &all {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(p), want, "{}", p.display());
    }

    let config = dir.join("config.toml");
    let logs = dir.join("logs");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _server = serve(&repo);
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(&logs), 0o700);
}
