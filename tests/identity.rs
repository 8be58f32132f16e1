//! Identity from the connection, not the payload (issue 19 §1), on real processes: a real
//! owner (`overlord-tui serve`), real agent processes recorded in the store with their pid and
//! start time, the real CLI and raw socket requests. Every spoofing route — the environment
//! unset or blank, a raw request claiming the console, Discord or Overlord, a `setsid`
//! grandchild, a daemon that left the agent's tree — is refused and audited.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use overlord::core::ipc::IpcRequest;
use overlord::protocol::model::{Agent, AgentProcess, Role};
use overlord::protocol::{parse, Event, EventKind, Origin};
use overlord::runtime::procs;
use serde_json::Value;

use crate::common::*;

struct Owner {
    repo: Repo,
    serve: Option<Child>,
}

impl Owner {
    /// An initialized repository; with `serve`, an owner runs in it.
    fn new(serve: bool) -> Owner {
        let repo = Repo::new();
        let o = repo.run(&["init"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut owner = Owner { repo, serve: None };
        if serve {
            let mut cmd = bin();
            cmd.arg("serve").current_dir(owner.repo.path());
            sandbox(&mut cmd, owner.repo.home.path());
            owner.serve = Some(cmd.stderr(Stdio::null()).spawn().unwrap());
            let sock = owner.socket();
            wait_until("the owner listens", PATIENCE, || {
                overlord::core::ipc::Client::connect(&sock).is_some()
            });
        }
        owner
    }

    fn socket(&self) -> PathBuf {
        self.repo.path().join(".overlord/overlord.sock")
    }

    /// Records `pid` as agent `name`'s CLI process, as the supervisor does when it starts one.
    fn record_agent(&self, name: &str, role: Role, pid: u32) {
        let start = procs::read(pid)
            .expect("the agent process exists")
            .start_ticks;
        let ws = self.repo.workspace();
        let core = overlord::core::Core::open(&ws, &overlord::config::Config::default()).unwrap();
        let seq = core.state().last_event_seq;
        drop(core);
        let event = |seq: u64, kind: EventKind| Event {
            seq,
            at: "2026-12-07T00:00:00Z".into(),
            command_seq: None,
            actor: "system:supervisor".into(),
            kind,
        };
        append_events(
            &ws,
            &[
                event(
                    seq + 1,
                    EventKind::AgentRegistered {
                        agent: Agent::new(name, role, "command", "2026-12-07T00:00:00Z"),
                    },
                ),
                event(
                    seq + 2,
                    EventKind::AgentProcessStarted {
                        agent: name.into(),
                        process: AgentProcess {
                            pid,
                            start_ticks: start,
                            task: Some("t1".into()),
                            worktree: None,
                        },
                    },
                ),
            ],
        );
    }

    /// The audit's command records: (actor, line) with the response's ok and message.
    fn audited(&self) -> Vec<(String, String, bool, String)> {
        let dir = self.repo.path().join(".overlord/audit");
        let read = |f: &str| -> Vec<Value> {
            std::fs::read_to_string(dir.join(f))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        let commands = read("commands.jsonl");
        let responses = read("responses.jsonl");
        commands
            .iter()
            .map(|c| {
                let body = &c["record"];
                let origin: Origin = serde_json::from_value(body["origin"].clone()).unwrap();
                let response = responses
                    .iter()
                    .find(|r| r["record"]["command_seq"] == c["seq"]);
                let (ok, message) = response
                    .map(|r| {
                        (
                            r["record"]["ok"].as_bool().unwrap_or(false),
                            r["record"]["message"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .unwrap_or((false, String::new()));
                (
                    origin.actor(),
                    body["line"].as_str().unwrap_or("").to_string(),
                    ok,
                    message,
                )
            })
            .collect()
    }
}

impl Drop for Owner {
    /// Stops the owner as a user would (SIGTERM), so it stops its agents too; SIGKILL only if
    /// it does not exit.
    fn drop(&mut self) {
        if let Some(mut c) = self.serve.take() {
            if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let until = std::time::Instant::now() + PATIENCE;
            while c.try_wait().ok().flatten().is_none() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A raw socket request, as any process could write it.
fn raw_request(origin: Origin, line: &str, secret: Option<String>) -> String {
    let request = IpcRequest::Submit {
        origin: Box::new(origin),
        command: Box::new(parse(line).unwrap()),
        secret,
    };
    serde_json::to_string(&request).unwrap()
}

fn send_raw(socket: &Path, line: &str) -> Value {
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap()
}

/// A script run as an agent: waits for `go` on stdin (the test records it first), then runs
/// `body` with `$OVL` the real binary and `$OUT` a directory for its findings.
fn agent_script(owner: &Owner, body: &str, out: &Path) -> Child {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "read go\n{body}\necho finished > \"$OUT/finished\"\n"
        ))
        .current_dir(owner.repo.path())
        .env("OVL", env!("CARGO_BIN_EXE_overlord-tui"))
        .env("OUT", out)
        .env("SOCK", owner.socket())
        .env("OVERLORD_AGENT", "impl-1")
        .env("OVERLORD_ROLE", "implementer")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sandbox(&mut cmd, owner.repo.home.path());
    // `sandbox` clears the agent variables; the agent's own are put back.
    cmd.env("OVERLORD_AGENT", "impl-1")
        .env("OVERLORD_ROLE", "implementer");
    cmd.spawn().unwrap()
}

fn go_and_wait(child: &mut Child, out: &Path) {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    wait_until("the agent script finishes", PATIENCE, || {
        out.join("finished").exists()
    });
    let _ = child.wait();
}

const SPOOFS: &str = r#"
env -u OVERLORD_AGENT -u OVERLORD_ROLE "$OVL" save --json > "$OUT/unset.json" 2>&1
OVERLORD_AGENT=' ' "$OVL" save --json > "$OUT/blank.json" 2>&1
env -u OVERLORD_AGENT OVERLORD_ROLE=project_manager "$OVL" cmd '/resume all' --json > "$OUT/role.json" 2>&1
setsid sh -c 'env -u OVERLORD_AGENT -u OVERLORD_ROLE "$OVL" save --json > "$OUT/setsid.json" 2>&1; echo x > "$OUT/setsid.done"' &
while [ ! -f "$OUT/setsid.done" ]; do sleep 0.05; done
python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(open(sys.argv[2],"rb").read())
f=s.makefile(); open(sys.argv[3],"w").write(f.readline())' "$SOCK" "$OUT/console.req" "$OUT/console.json"
"#;

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {text}", path.display()))
}

fn refused_as_agent(v: &Value, what: &str) {
    // The CLI prints a reply; a raw request gets {"kind":"reply","reply":{...}}.
    let reply = if v.get("reply").is_some() {
        &v["reply"]
    } else {
        v
    };
    assert_eq!(reply["ok"], false, "{what}: {v}");
    let text = v.to_string();
    assert!(text.contains("unauthorized"), "{what}: {v}");
    assert!(text.contains("agent:impl-1"), "{what} is the agent: {v}");
}

#[test]
fn an_agent_process_speaks_as_itself_whatever_its_environment_or_request_claims() {
    let owner = Owner::new(true);
    let out = tempfile::tempdir().unwrap();
    std::fs::write(
        out.path().join("console.req"),
        format!(
            "{}\n",
            raw_request(
                Origin::Console {
                    user: "alice".into()
                },
                "/rollback undo",
                None
            )
        ),
    )
    .unwrap();
    let mut child = agent_script(&owner, SPOOFS, out.path());
    owner.record_agent("impl-1", Role::Implementer, child.id());
    go_and_wait(&mut child, out.path());

    for f in ["unset", "blank", "setsid"] {
        refused_as_agent(&json(&out.path().join(format!("{f}.json"))), f);
    }
    // The registered role counts, not OVERLORD_ROLE: an implementer cannot lift the pause.
    refused_as_agent(&json(&out.path().join("role.json")), "role");
    refused_as_agent(&json(&out.path().join("console.json")), "console");
    // Every one of them is in the audit, rejected, under the agent's name.
    let audited = owner.audited();
    let by_agent: Vec<_> = audited
        .iter()
        .filter(|(actor, _, ok, _)| actor == "agent:impl-1" && !ok)
        .collect();
    assert_eq!(by_agent.len(), 5, "{audited:#?}");
    assert!(
        audited
            .iter()
            .all(|(actor, ..)| actor != "cli:tester" && actor != "console:alice"),
        "{audited:#?}"
    );
    assert!(owner
        .repo
        .path()
        .join(".git/refs/tags")
        .read_dir()
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn a_socket_client_cannot_claim_the_console_overlord_or_discord_without_the_secret() {
    let owner = Owner::new(true);
    let sock = owner.socket();
    let console = Origin::Console {
        user: "alice".into(),
    };
    let discord = Origin::Discord {
        user_id: "42".into(),
        name: "rev".into(),
        roles: vec![],
    };
    for (origin, what) in [
        (console, "console"),
        (Origin::System, "system"),
        (discord.clone(), "discord"),
    ] {
        let v = send_raw(&sock, &raw_request(origin, "/pause all", None));
        assert_eq!(v["reply"]["ok"], false, "{what}: {v}");
        let message = v["reply"]["message"].as_str().unwrap_or("");
        assert!(message.contains("refused"), "{what}: {message}");
        assert!(message.contains(what), "{what}: {message}");
    }
    // With the secret the owner wrote, a Discord origin is believed (and then `[discord]`
    // decides: nobody is authorized in this repository).
    let secret = std::fs::read_to_string(owner.repo.path().join(".overlord/bridge.secret"))
        .expect("the owner wrote the bridge secret");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(owner.repo.path().join(".overlord/bridge.secret"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let v = send_raw(
        &sock,
        &raw_request(discord.clone(), "/pause all", Some(secret.trim().into())),
    );
    let message = v["reply"]["message"].as_str().unwrap_or("");
    assert!(message.contains("reviewer role"), "{v}");
    let wrong = send_raw(
        &sock,
        &raw_request(discord, "/pause all", Some("0".repeat(64))),
    );
    assert!(wrong["reply"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("bridge's secret"));
    // The user's own process speaks as the CLI user.
    let v = send_raw(&sock, &raw_request(human(), "/pause all", None));
    assert_eq!(v["reply"]["ok"], true, "{v}");
    // All of it audited: three refused claims and the wrong secret, as the CLI user.
    let audited = owner.audited();
    let refused = audited
        .iter()
        .filter(|(_, _, ok, m)| !ok && m.contains("refused"))
        .count();
    assert_eq!(refused, 4, "{audited:#?}");
}

#[test]
fn a_confined_daemon_that_left_the_agents_tree_is_still_not_the_human() {
    if std::process::Command::new("setpriv")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("skipped: setpriv (util-linux) is not installed");
        return;
    }
    let owner = Owner::new(true);
    // As the agents' exec wrapper leaves it: `no_new_privs`, which no descendant can clear.
    let o = std::process::Command::new("setpriv")
        .args([
            "--no-new-privs",
            env!("CARGO_BIN_EXE_overlord-tui"),
            "save",
            "--json",
        ])
        .current_dir(owner.repo.path())
        .env("HOME", owner.repo.home.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("OVERLORD_AGENT")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    assert_eq!(v["ok"], false, "{v} {}", stderr(&o));
    assert!(v.to_string().contains("unattributed-process"), "{v}");
}

#[test]
fn without_an_owner_the_cli_checks_its_own_ancestry_against_the_recorded_agents() {
    let owner = Owner::new(false);
    let out = tempfile::tempdir().unwrap();
    let body =
        r#"env -u OVERLORD_AGENT -u OVERLORD_ROLE "$OVL" save --json > "$OUT/unset.json" 2>&1"#;
    let mut child = agent_script(&owner, body, out.path());
    owner.record_agent("impl-1", Role::Implementer, child.id());
    go_and_wait(&mut child, out.path());
    refused_as_agent(&json(&out.path().join("unset.json")), "unset, no owner");
    // The human, from outside the agent's tree, still may.
    let o = owner.repo.run(&["save", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v.to_string().contains("unauthorized"), "{v}");
}

/// The same routes through the real supervisor: `overlord-tui run` starts an `sh` agent with
/// the `command` adapter (its CLI process recorded by the owner itself), and the agent tries
/// every way to speak as the human.
#[test]
fn the_real_supervisor_s_agent_cannot_act_as_the_human_by_any_route() {
    let out = tempfile::tempdir().unwrap();
    let request = raw_request(
        Origin::Console {
            user: "alice".into(),
        },
        "/rollback undo",
        None,
    );
    std::fs::write(out.path().join("console.req"), format!("{request}\n")).unwrap();
    let human_request = raw_request(human(), "/agent evil --role project_manager", None);
    std::fs::write(out.path().join("human.req"), format!("{human_request}\n")).unwrap();
    let script = format!(
        "OVL={ovl}\nOUT={out}\nSOCK=\"$OVERLORD_SOCKET\"\nexport OVL OUT SOCK\n[ -f \"$OUT/finished\" ] && exit 0\n{SPOOFS}\npython3 -c 'import socket,sys\ns=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(open(sys.argv[2],\"rb\").read())\nf=s.makefile(); open(sys.argv[3],\"w\").write(f.readline())' \"$SOCK\" \"$OUT/human.req\" \"$OUT/human.json\"\necho finished > \"$OUT/finished\"\n",
        ovl = shell_quote(env!("CARGO_BIN_EXE_overlord-tui")),
        out = shell_quote(&out.path().display().to_string()),
    );
    // The agent runs in the sandbox; it may write its findings to `out` besides its worktree.
    let repo = repo_with_sh_agent(&script, out.path());
    let log = repo.home.path().join("run.log");
    let child = spawn_run(&repo, &log, &[]);
    let owner = Owner {
        repo,
        serve: Some(child),
    };
    let sock = owner.socket();
    wait_until("run to listen", PATIENCE, || {
        overlord::core::ipc::Client::connect(&sock).is_some()
    });
    let o = owner.repo.run(&["plan", "import", "plan.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = owner.repo.run(&["status", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let approval = v["state"]["approvals"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let o = owner.repo.run(&["cmd", &format!("/approve {approval}")]);
    assert!(o.status.success(), "{}", stderr(&o));
    wait_until("the agent script finishes", PATIENCE, || {
        out.path().join("finished").exists()
    });
    let audited = owner.audited();
    let agent = audited
        .iter()
        .find(|(actor, line, ..)| actor.starts_with("agent:") && line == "/save")
        .map(|(actor, ..)| actor.clone())
        .unwrap_or_else(|| panic!("no agent save in {audited:#?}"));
    assert_ne!(
        agent,
        format!("agent:{}", overlord::core::identity::UNATTRIBUTED)
    );
    for f in ["unset", "blank", "setsid", "role", "console"] {
        let v = json(&out.path().join(format!("{f}.json")));
        let text = v.to_string();
        assert!(text.contains("unauthorized"), "{f}: {v}");
        assert!(text.contains(&agent), "{f} is {agent}: {v}");
    }
    // A raw request claiming the CLI user is the agent too: it may not register agents.
    let register = audited
        .iter()
        .find(|(_, line, ..)| line.starts_with("/agent evil"))
        .unwrap_or_else(|| panic!("no /agent evil in {audited:#?}"));
    assert_eq!((&register.0, register.2), (&agent, false), "{audited:#?}");
    assert!(json(&out.path().join("human.json"))
        .to_string()
        .contains("unauthorized"));
    let from_agent: Vec<_> = audited.iter().filter(|(a, ..)| *a == agent).collect();
    assert!(from_agent.len() >= 6, "{audited:#?}");
    assert!(
        !audited
            .iter()
            .any(|(actor, line, ok, _)| (actor.starts_with("cli:")
                || actor.starts_with("console:"))
                && *ok
                && (line == "/save" || line.starts_with("/rollback") || line == "/resume all")),
        "{audited:#?}"
    );
    assert!(owner
        .repo
        .path()
        .join(".git/refs/tags")
        .read_dir()
        .unwrap()
        .next()
        .is_none());
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A peer of another uid is refused by its credentials. The socket's 0600 mode in a 0700
/// directory already keeps other users out, so the test opens both up to reach the check;
/// switching uid needs root (skipped, with the reason printed, otherwise).
#[test]
fn a_peer_of_another_uid_is_refused_by_its_credentials() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: switching to another uid needs root");
        return;
    }
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        eprintln!("skipped: /usr/bin/python3 is not installed");
        return;
    }
    let owner = Owner::new(true);
    let sock = owner.socket();
    // The repository's directories down to the socket must be searchable by the other user.
    for dir in [
        owner.repo.path().to_path_buf(),
        sock.parent().unwrap().to_path_buf(),
    ] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode | 0o711)).unwrap();
    }
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let request = raw_request(human(), "/status", None);
    let o = std::process::Command::new(python)
        .args([
            "-c",
            "import socket,sys\ns=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\ntry: s.sendall(sys.argv[2].encode()+b'\\n')\nexcept OSError: pass\nprint(s.makefile().readline())",
            &sock.display().to_string(),
            &request,
        ])
        .uid(65534)
        .gid(65534)
        .env_clear()
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&o), stderr(&o)));
    assert_eq!(v["kind"], "error", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("the client as uid 65534"),
        "{v}"
    );
}
