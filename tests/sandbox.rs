//! The agents' kernel sandbox on real processes and a real repository: `overlord-tui run`
//! starts a `command`-adapter agent (an `sh` script) through `overlord-tui sandbox-exec`, and
//! the script attacks what only Overlord and the human may change — `main`, a checkpoint tag,
//! the store, another task's worktree, the user's checkout. Only its own work gets through.
//! On a kernel without Landlock (pretended with `OVERLORD_SANDBOX_PRETEND_NO_LANDLOCK`),
//! `enforce` starts no agent and says what to do; `best_effort` runs them with a warning.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use overlord::runtime::sandbox::{probe, Support, PRETEND_NO_LANDLOCK};
use serde_json::Value;

use crate::common::*;

/// `overlord-tui run` in a repository, stopped (SIGINT) when dropped.
struct Owner {
    repo: Repo,
    child: Option<Child>,
    log: PathBuf,
    env: Vec<(&'static str, &'static str)>,
}

impl Owner {
    fn cli(&self, args: &[&str]) -> std::process::Output {
        self.repo.run_env(args, &self.env)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cli(args);
        assert!(
            o.status.success(),
            "overlord-tui {args:?}: {}{}\n--- run log ---\n{}",
            stdout(&o),
            stderr(&o),
            self.run_log()
        );
        stdout(&o)
    }

    fn run_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn state(&self) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["status", "--json"])).unwrap();
        v["state"].clone()
    }

    fn wait(&self, what: &str, secs: u64, f: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.state();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}\n--- run log ---\n{}\n--- state ---\n{:#}",
                self.run_log(),
                s["plan"]
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn approve_plan(&self) {
        self.ok(&["plan", "import", "plan.json"]);
        let s = self.state();
        let id = s["approvals"]
            .as_object()
            .unwrap()
            .values()
            .find(|a| a["kind"] == "plan" && a["decision"].is_null())
            .map(|a| a["id"].as_str().unwrap().to_string())
            .expect("the plan awaits approval");
        self.ok(&["cmd", &format!("/approve {id}")]);
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
            }
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn status_of(s: &Value, id: &str) -> String {
    s["plan"]["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["tasks"].as_array().unwrap().iter())
        .find(|t| t["id"] == id)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A repository with `main`, Overlord set up, every role on the `sh` command adapter running
/// `script`, `[agents] sandbox = mode`, and `plan` written as plan.json.
fn repository(script: &str, mode: &str, plan: &str) -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let script = serde_json::to_string(script).unwrap();
    let mut config = format!(
        "[core]\npoll_ms = 50\n\n[agents]\nsandbox = \"{mode}\"\nconcurrency = 1\nmax_attempts = 1\nbackoff_secs = 0\nflush_ms = 100\ncancel_grace_secs = 1\nacceptance_command = \"off\"\n\n[adapters.sh]\nkind = \"command\"\nbinary = \"sh\"\nargs = [\"-c\", {script}]\n"
    );
    for role in [
        "pm",
        "designer",
        "implementer",
        "tester",
        "debugger",
        "reviewer",
    ] {
        config.push_str(&format!("\n[roles.{role}]\nadapter = \"sh\"\n"));
    }
    repo.write(".overlord/config.toml", &config);
    repo.write("plan.json", plan);
    repo
}

fn start(repo: Repo, env: Vec<(&'static str, &'static str)>) -> Owner {
    let log = repo.home.path().join("run.log");
    let vars: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let child = spawn_run(&repo, &log, &vars);
    let owner = Owner {
        repo,
        child: Some(child),
        log,
        env,
    };
    let until = Instant::now() + Duration::from_secs(30);
    while !owner.repo.path().join(".overlord/overlord.sock").exists() {
        assert!(
            Instant::now() < until,
            "run never listened: {}",
            owner.run_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    owner
}

const TWO_TASKS: &str = r#"{
  "todo_list_id": "attack-1",
  "title": "Attack",
  "phases": [
    { "id": "p1", "name": "Work", "tasks": [
      { "id": "victim", "title": "An honest task", "agent_role": "implementer" },
      { "id": "attacker", "title": "A rogue task", "agent_role": "implementer",
        "dependencies": ["victim"] }
    ]}
  ]
}"#;

/// The victim writes a file; the attacker commits on its branch (allowed), then tries every
/// forbidden write, then writes in its own worktree, then points its worktree's HEAD at main
/// and leaves work for Overlord (unconfined) to commit there. Each try prints its output and
/// `RESULT <name> <exit code>`.
const ATTACK: &str = r#"
if [ "$OVERLORD_TASK" = victim ]; then echo victim > victim.txt; echo 'victim done'; exit 0; fi
try() { name=$1; shift; out=$("$@" 2>&1); rc=$?; printf '%s\n' "$out"; echo "RESULT $name $rc"; }
try commit sh -c 'echo mine > mine.txt && git add mine.txt && git -c user.name=agent -c user.email=agent@example.invalid commit -qm mine'
try main git update-ref refs/heads/main HEAD
try tag git tag -d checkpoint/attack-1
try db sh -c 'echo EVIL >> "$OVERLORD_REPO/.overlord/overlord.db"'
try other sh -c 'echo EVIL > "$OVERLORD_REPO/.overlord/worktrees/victim/evil.txt"'
try checkout sh -c 'echo EVIL > "$OVERLORD_REPO/evil.txt"'
try own sh -c 'echo mine > own.txt'
# Its worktree's HEAD is its to write: pointed at main, with work left for Overlord to commit.
try head git symbolic-ref HEAD refs/heads/main
echo sneaky > sneaky.txt
echo 'attack over'
"#;

/// The `RESULT <name> <code>` lines of the attacker's run log.
fn results(repo: &Repo) -> Vec<(String, i32)> {
    let dir = repo.path().join(".overlord/logs/agents");
    let mut out = Vec::new();
    for agent in std::fs::read_dir(&dir).unwrap().flatten() {
        for log in std::fs::read_dir(agent.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("out RESULT ") {
                    let (name, code) = rest.split_once(' ').unwrap();
                    out.push((name.to_string(), code.parse().unwrap()));
                }
            }
        }
    }
    out
}

#[test]
fn an_attacking_agent_can_write_only_its_own_worktree_and_branch() {
    if let Support::Unavailable(why) = probe() {
        eprintln!("skipped: this kernel has no Landlock ({why})");
        return;
    }
    let repo = repository(ATTACK, "enforce", TWO_TASKS);
    let main_before = git(repo.path(), repo.home.path(), &["rev-parse", "main"]);
    git(
        repo.path(),
        repo.home.path(),
        &["tag", "checkpoint/attack-1", "main"],
    );
    let db = repo.path().join(".overlord/overlord.db");
    let owner = start(repo, Vec::new());
    owner.approve_plan();
    let s = owner.wait("the attacker's run", 90, |s| {
        status_of(s, "attacker") == "failed"
    });
    let repo = &owner.repo;
    let results = results(repo);
    let code = |name: &str| {
        results
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("no result for {name}: {results:?}\n{}", owner.run_log()))
    };
    // Its own work: a commit on its branch (objects, its ref, its reflog, its index) and a
    // file in its worktree.
    assert_eq!(code("commit"), 0, "{results:?}");
    assert_eq!(code("own"), 0, "{results:?}");
    let wt = repo.path().join(".overlord/worktrees/attacker");
    assert_eq!(
        std::fs::read_to_string(wt.join("own.txt")).unwrap(),
        "mine\n"
    );
    assert!(git(
        repo.path(),
        repo.home.path(),
        &["log", "--format=%s", "--branches=session/*/task/attacker"]
    )
    .contains("mine"));
    // Everything else is refused, and nothing changed.
    for name in ["main", "tag", "db", "other", "checkout"] {
        assert_ne!(code(name), 0, "{name} got through: {results:?}");
    }
    assert_eq!(
        git(repo.path(), repo.home.path(), &["rev-parse", "main"]),
        main_before
    );
    assert_eq!(
        git(
            repo.path(),
            repo.home.path(),
            &["rev-parse", "checkpoint/attack-1"]
        ),
        main_before
    );
    let bytes = std::fs::read(&db).unwrap();
    assert!(
        !bytes.windows(4).any(|w| w == b"EVIL"),
        "the store was written"
    );
    assert!(!repo
        .path()
        .join(".overlord/worktrees/victim/evil.txt")
        .exists());
    assert!(!repo.path().join("evil.txt").exists());
    assert_eq!(status_of(&s, "victim"), "done");
    // Overlord did not commit the work it left with HEAD on main: the task failed, saying why.
    assert_eq!(code("head"), 0, "{results:?}");
    let task = s["plan"]["phases"][0]["tasks"][1].clone();
    assert!(
        task.to_string()
            .contains("not on task attacker's branch (its HEAD: refs/heads/main)"),
        "{task:#}"
    );
    // The refusals show as activity lines (found in what the agent printed).
    let trail = owner.ok(&["audit", "export"]);
    for line in [
        "sandbox denied write to .overlord/overlord.db",
        "sandbox denied write to .overlord/worktrees/victim/evil.txt",
        "sandbox denied write to .git/refs/heads/main.lock",
    ] {
        assert!(trail.contains(line), "no activity line '{line}'");
    }
    // The audit trail is whole, and git agrees with it about main (the hand-made tag is the
    // only thing it does not know).
    let o = owner.cli(&["audit", "verify"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = owner.cli(&["audit", "verify", "--git"]);
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("unrecorded_tag checkpoint/attack-1") && !said.contains("main_"),
        "{said}"
    );
}

const ONE_TASK: &str = r#"{
  "todo_list_id": "one-1",
  "title": "One",
  "phases": [
    { "id": "p1", "name": "Work", "tasks": [
      { "id": "t1", "title": "A task", "agent_role": "implementer" }
    ]}
  ]
}"#;

#[test]
fn enforce_on_a_kernel_without_landlock_starts_no_agent_and_says_what_to_do() {
    let repo = repository("echo ran > ran.txt; echo ok", "enforce", ONE_TASK);
    let owner = start(repo, vec![(PRETEND_NO_LANDLOCK, "1")]);
    owner.approve_plan();
    let s = owner.wait("the sandbox concern", 30, |s| {
        s["concerns"]
            .as_object()
            .is_some_and(|c| c.values().any(|c| c["category"] == "sandbox_unavailable"))
    });
    let concern = s["concerns"]
        .as_object()
        .unwrap()
        .values()
        .find(|c| c["category"] == "sandbox_unavailable")
        .unwrap()
        .clone();
    assert_eq!(concern["severity"], "critical");
    assert_eq!(concern["to"], "human");
    assert!(
        concern["details"]
            .as_str()
            .unwrap()
            .contains("sandbox = \"best_effort\""),
        "{concern:#}"
    );
    // A few more ticks: still nothing started, and the task waits (it is not failed).
    std::thread::sleep(Duration::from_millis(600));
    let s = owner.state();
    assert_eq!(status_of(&s, "t1"), "todo");
    assert!(!owner
        .repo
        .path()
        .join(".overlord/worktrees/t1/ran.txt")
        .exists());
    // The standing warning, in `status` and `agents`.
    let status = owner.ok(&["status"]);
    assert!(
        status.contains("warning: sandbox: no agent is started")
            && status.contains("sandbox = \"best_effort\""),
        "{status}"
    );
    let agents = owner.cli(&["agents"]);
    assert!(
        stderr(&agents).contains("no agent is started"),
        "{}",
        stderr(&agents)
    );
    assert!(stdout(&agents).contains("sandbox: enforce — no agent is started"));
}

#[test]
fn best_effort_on_a_kernel_without_landlock_runs_agents_unconfined_with_a_warning() {
    // The agent proves it is unconfined: it writes into .overlord/ (and it still runs with
    // no_new_privs, the mark by which the owner knows an agent's process).
    let repo = repository(
        "grep NoNewPrivs /proc/self/status > \"$OVERLORD_REPO/.overlord/unconfined\"; echo ok",
        "best_effort",
        ONE_TASK,
    );
    let owner = start(repo, vec![(PRETEND_NO_LANDLOCK, "1")]);
    owner.approve_plan();
    owner.wait("the task done", 60, |s| status_of(s, "t1") == "done");
    let nnp = std::fs::read_to_string(owner.repo.path().join(".overlord/unconfined")).unwrap();
    assert!(nnp.contains("NoNewPrivs:\t1"), "{nnp:?}");
    let status = owner.ok(&["status"]);
    assert!(
        status.contains("warning: sandbox: agents run unconfined"),
        "{status}"
    );
    let v: Value = serde_json::from_str(&owner.ok(&["status", "--json"])).unwrap();
    assert!(v["warnings"][0].as_str().unwrap().contains("best_effort"));
    let agents = owner.cli(&["agents"]);
    assert!(stdout(&agents).contains("sandbox: best_effort — agents run unconfined"));
}

#[test]
fn a_task_worktree_gets_its_git_places_and_nothing_that_holds_protected_refs() {
    use overlord::git::Protection;
    use overlord::runtime::sandbox::{policy_for, Grants};
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    let mut core = repo.core();
    let plan = repo.home.path().join("plan.json");
    std::fs::write(&plan, ONE_TASK).unwrap();
    ok(&mut core, &format!("/import {}", plan.display()));
    let wt = core.open_task_worktree("t1").unwrap();
    let ws = repo.workspace();
    let protection = Protection {
        main: "main".into(),
        branches: vec!["release/*".into()],
    };
    let scratch = format!("{}/cache/", repo.home.path().display());
    let grants = |extra: &[String], protection: &Protection| {
        policy_for(&Grants {
            ws: &ws,
            workdir: &wt.path,
            agent: "implementer-1",
            protection,
            state: &["~/.codex/".to_string()],
            extra,
            net_ports: &[],
            best_effort: false,
            owner_pid: None,
            only_write: None,
        })
    };
    let p = grants(std::slice::from_ref(&scratch), &protection).unwrap();
    let common = ws.git_common_dir.canonicalize().unwrap();
    let dir = wt.branch.rsplit_once('/').unwrap().0;
    let writable: Vec<PathBuf> = p.writable().map(PathBuf::from).collect();
    for expected in [
        wt.path.canonicalize().unwrap(),
        common.join("objects"),
        common.join("refs/heads").join(dir),
        common.join("logs/refs/heads").join(dir),
        ws.dir.join("tmp/implementer-1"),
        PathBuf::from(&scratch).components().collect(),
        PathBuf::from("/dev/null"),
    ] {
        assert!(
            writable.contains(&expected),
            "{expected:?} not in {writable:?}"
        );
    }
    assert!(writable
        .iter()
        .any(|w| w.starts_with(common.join("worktrees"))));
    // HOME is the test's (the owner's): ~/.codex/ is made there.
    for forbidden in [
        ws.root.clone(),
        ws.dir.clone(),
        common.clone(),
        common.join("refs/heads"),
        common.join("refs/tags"),
    ] {
        assert!(
            !writable.iter().any(|w| forbidden.starts_with(w)),
            "{forbidden:?} is writable: {writable:?}"
        );
    }
    // A protected branch that may live in the task's ref folder: the folder is not granted.
    let nested = Protection {
        main: "main".into(),
        branches: vec!["session/*".into()],
    };
    let p = grants(&[], &nested).unwrap();
    assert!(!p
        .writable()
        .any(|w| w.starts_with(common.join("refs/heads"))));
    // Extra paths that would open the repository are refused with the reason.
    for bad in [
        format!("{}", repo.path().display()),
        format!("{}/.overlord/", repo.path().display()),
        format!("{}", repo.path().parent().unwrap().display()),
        "/".to_string(),
        "relative/path".to_string(),
    ] {
        let e = grants(std::slice::from_ref(&bad), &protection).unwrap_err();
        assert!(e.contains("sandbox_extra_write"), "{bad}: {e}");
    }
}

#[test]
fn the_agents_cli_dies_with_an_owner_killed_by_sigkill() {
    // PR_SET_PDEATHSIG, set by the wrapper before it execs the CLI (with Landlock or not:
    // best_effort keeps it on a kernel without). The CLI here is `sh`, waiting.
    let repo = repository(
        "echo $$ > \"$HOME/agent.pid\"; while :; do sleep 0.1; done",
        "best_effort",
        ONE_TASK,
    );
    let config = std::fs::read_to_string(repo.path().join(".overlord/config.toml")).unwrap();
    repo.write(
        ".overlord/config.toml",
        &config.replace("[agents]\n", "[agents]\nsandbox_extra_write = [\"~/\"]\n"),
    );
    let pidfile = repo.home.path().join("agent.pid");
    let mut owner = start(repo, Vec::new());
    owner.approve_plan();
    let pid = read_pid(&pidfile);
    assert!(proc_state(pid).is_some_and(|s| s != 'Z'));
    let mut child = owner.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until(
        "the agent's CLI to die with its owner",
        Duration::from_secs(10),
        || proc_state(pid).is_none_or(|s| s == 'Z'),
    );
}

#[test]
fn an_extra_path_that_would_open_the_repository_fails_the_task_without_running_the_agent() {
    let repo = repository("echo ran > ran.txt; echo ok", "best_effort", ONE_TASK);
    let config = std::fs::read_to_string(repo.path().join(".overlord/config.toml")).unwrap();
    repo.write(
        ".overlord/config.toml",
        &config.replace(
            "[agents]\n",
            &format!(
                "[agents]\nsandbox_extra_write = [\"{}/.overlord/\"]\n",
                repo.path().display()
            ),
        ),
    );
    let owner = start(repo, Vec::new());
    owner.approve_plan();
    let s = owner.wait("the task failed", 30, |s| status_of(s, "t1") == "failed");
    let task = s["plan"]["phases"][0]["tasks"][0].to_string();
    assert!(
        task.contains("[agents] sandbox_extra_write")
            && task.contains("which only Overlord and the human may write"),
        "{task}"
    );
    assert!(!owner
        .repo
        .path()
        .join(".overlord/worktrees/t1/ran.txt")
        .exists());
}
