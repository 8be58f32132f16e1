//! Issue 20 end to end with the real binary: `overlord-tui run` owns the repository and runs
//! scripted agents (`overlord-tui script-agent`, real child processes in real worktrees); the
//! test is the human at a second terminal. With `[git] save = "auto"` the plan's approval is
//! the last human command: the phase runs to a tagged checkpoint by itself. In `manual` mode
//! the same work is integrated and gated as it finishes, and only `overlord-tui save` moves
//! main.

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

const PLAN: &str = r#"{"todo_list_id": "night", "title": "Night shift", "phases": [
  {"id": "p1", "name": "One", "tasks": [
    {"id": "a", "title": "A", "agent_role": "implementer"},
    {"id": "b", "title": "B", "agent_role": "implementer", "dependencies": ["a"]}]}]}"#;

fn script(file: &str) -> String {
    format!(
        "[[step]]\nwrite = {{ path = \"{file}\", content = \"{file} was written\\n\" }}\n\n[[step]]\nsay = \"wrote {file}\"\n"
    )
}

struct Owner {
    repo: Repo,
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        }
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Owner {
    fn start(save: &str) -> Owner {
        let repo = Repo::new();
        repo.write("README.md", "# night\n");
        git(repo.path(), repo.home.path(), &["add", "-A"]);
        git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
        git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
        let o = repo.run(&["init"]);
        assert!(o.status.success(), "{}", stderr(&o));
        repo.write(
            ".overlord/config.toml",
            &format!(
                r#"[core]
poll_ms = 50

[git]
save = "{save}"
auto_save_interval_secs = 3600

[agents]
backoff_secs = 0
flush_ms = 100
acceptance_command = "off"

[roles.pm]
adapter = "scripted"
[roles.implementer]
adapter = "scripted"

[adapters.scripted]
script_dir = ".overlord/scripts"

[qa.tests]
command = "ls a.txt"
format = "exit"
"#
            ),
        );
        repo.write(
            ".overlord/QA_POLICY.yaml",
            "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: false\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n",
        );
        repo.write(".overlord/scripts/a.toml", &script("a.txt"));
        repo.write(".overlord/scripts/b.toml", &script("b.txt"));
        repo.write("plan.json", PLAN);
        let log = repo.home.path().join("run.log");
        let child = spawn_run(&repo, &log, &[]);
        let owner = Owner { repo, child, log };
        owner.until("the socket", |_| {
            owner.repo.path().join(".overlord/overlord.sock").exists()
        });
        owner
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.repo.run(args);
        assert!(
            o.status.success(),
            "overlord-tui {args:?}: {}{}\n--- run log ---\n{}",
            stdout(&o),
            stderr(&o),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        stdout(&o)
    }

    fn state(&self) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["status", "--json"])).unwrap();
        v["state"].clone()
    }

    fn until(&self, what: &str, f: impl Fn(&Owner) -> bool) {
        let until = Instant::now() + PATIENCE;
        while !f(self) {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}\n--- run log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn tags(&self) -> Vec<String> {
        git(
            self.repo.path(),
            self.repo.home.path(),
            &["tag", "--list", "checkpoint/*"],
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    fn on_main(&self, file: &str) -> bool {
        git_output(
            self.repo.path(),
            self.repo.home.path(),
            &["cat-file", "-e", &format!("main:{file}")],
        )
        .status
        .success()
    }

    fn approve_plan(&self) {
        self.ok(&["plan", "import", "plan.json"]);
        let s = self.state();
        let id = s["approvals"]
            .as_object()
            .unwrap()
            .values()
            .find(|a| a["kind"] == "plan")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        self.ok(&["cmd", &format!("/approve {id}")]);
    }

    /// The commands people gave, by name, from the audit trail's command mirror.
    fn human_commands(&self) -> Vec<String> {
        audit_commands(self.repo.path())
            .into_iter()
            .filter(|r| r.origin.is_human())
            .map(|r| r.command.name().to_string())
            .collect()
    }
}

fn done(s: &Value, task: &str) -> bool {
    s["plan"]["phases"][0]["tasks"]
        .as_array()
        .is_some_and(|ts| ts.iter().any(|t| t["id"] == task && t["status"] == "done"))
}

#[test]
fn auto_mode_runs_a_phase_to_a_tagged_checkpoint_after_the_plans_approval_alone() {
    let owner = Owner::start("auto");
    owner.approve_plan();
    // The tag moves with main, and the checkpoint is recorded just after: wait for the record.
    owner.until("a tagged checkpoint with a and b", |o| {
        !o.tags().is_empty()
            && o.on_main("a.txt")
            && o.on_main("b.txt")
            && o.state()["checkpoints"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
            && o.state()["operation"].is_null()
    });
    let s = owner.state();
    assert!(done(&s, "a") && done(&s, "b"), "{s:#}");
    let cp = s["checkpoints"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(cp["tasks"], serde_json::json!(["a", "b"]), "{cp:#}");
    // After the approval, every command came from Overlord itself.
    assert_eq!(owner.human_commands(), ["import", "approve"]);
    // The owner writes the mirrors just after the records: verify once they are there.
    owner.until("the audit trail and the repository to agree", |o| {
        o.repo.run(&["audit", "verify", "--git"]).status.success()
    });
}

#[test]
fn manual_mode_integrates_and_gates_as_tasks_finish_and_waits_for_the_humans_save() {
    let owner = Owner::start("manual");
    owner.approve_plan();
    owner.until("a and b integrated and gated", |o| {
        let s = o.state();
        done(&s, "a")
            && done(&s, "b")
            && s["operation"].is_null()
            && s["qa_runs"].as_array().is_some_and(|r| r.len() >= 2)
    });
    assert!(
        owner.tags().is_empty(),
        "manual: no checkpoint without the human"
    );
    assert!(!owner.on_main("a.txt"));
    let out = owner.ok(&["save"]);
    assert!(out.contains("created"), "{out}");
    assert!(owner.on_main("a.txt") && owner.on_main("b.txt"));
    assert_eq!(owner.tags().len(), 1);
}
