//! The console end to end: the real binary in a real terminal (tmux), on a prepared
//! repository with scripted agents. The test types keys (`send-keys`) and reads the screen
//! (`capture-pane`) like a person: wait for a concern and acknowledge it, Save with its
//! confirmation and see the checkpoint in the timeline, then roll back from the timeline.

use std::path::Path;
use std::process::Command as Proc;
use std::time::{Duration, Instant};

use crate::common::*;

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn cmd(&self) -> Proc {
        let mut c = Proc::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn start(repo: &Repo, width: u16, height: u16) -> Tmux {
        Tmux::start_with(repo, width, height, "")
    }

    /// The console with more environment (`NAME=value …`).
    fn start_with(repo: &Repo, width: u16, height: u16, env: &str) -> Tmux {
        Tmux::start_in(repo.path(), repo.home.path(), (width, height), env, "")
    }

    /// `overlord-tui ARGS` in `dir`, with `home` as its home and more environment.
    fn start_in(
        dir: &Path,
        home: &Path,
        (width, height): (u16, u16),
        env: &str,
        args: &str,
    ) -> Tmux {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Tmux {
            socket: format!("ovl-e2e-{}-{n}", std::process::id()),
            session: "console".into(),
        };
        // A shell command with the sandboxed environment, so the console's git and agents
        // never see the host's configuration.
        let home = home.display().to_string();
        let line = format!(
            "cd '{}' && env HOME='{home}' XDG_CONFIG_HOME='{home}/.config' GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null USER=tester TERM=xterm-256color {env} '{}' {args}; echo CONSOLE-EXITED $?; sleep 60",
            dir.display(),
            env!("CARGO_BIN_EXE_overlord-tui")
        );
        let ok = t
            .cmd()
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                &t.session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                &line,
            ])
            .status()
            .unwrap();
        assert!(ok.success(), "tmux new-session");
        t
    }

    /// Types the keys in one go: the console reads them in order, so no pause is needed
    /// between them; every step after a key waits for what it should show.
    fn keys(&self, keys: &[&str]) {
        let ok = self
            .cmd()
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn screen(&self) -> String {
        let o = self
            .cmd()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The screen once `f` holds, or the screen at the deadline.
    fn wait_until(&self, secs: u64, f: impl Fn(&str) -> bool) -> Result<String, String> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if f(&s) {
                return Ok(s);
            }
            if Instant::now() >= until {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait(&self, what: &str, secs: u64, f: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().args(["kill-server"]).status();
    }
}

fn tmux_available() -> bool {
    Proc::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn prepared() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "# sample\n");
    git(repo.path(), repo.home.path(), &["add", "-A"]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut config = String::new();
    for role in [
        "pm",
        "designer",
        "implementer",
        "tester",
        "debugger",
        "reviewer",
    ] {
        config.push_str(&format!("[roles.{role}]\nadapter = \"scripted\"\n"));
    }
    config.push_str(
        "[adapters.scripted]\nscript_dir = \".overlord/scripts\"\n[console]\nbell = false\ndesktop_notifications = false\n[agents]\nflush_ms = 200\n[core]\npoll_ms = 50\n",
    );
    repo.write(".overlord/config.toml", &config);
    // Gates nothing can measure pass through; the human is asked only for real failures.
    repo.write(
        ".overlord/QA_POLICY.yaml",
        "gates:\n  not_measured: ignore\n  reproducibility_runs: 1\n",
    );
    repo.write(
        ".overlord/scripts/default.toml",
        r#"
[[step]]
say = "writing the feature"

[[step]]
write = { path = "feature.txt", content = "the feature\n" }

[[step]]
concern = { severity = "warning", category = "spec_ambiguity", summary = "Is the feature plural?" }

[[step]]
commit = "feat: the feature"
"#,
    );
    // The second task waits for the test's go, so that the first Save has one task and the
    // second Save the other.
    repo.write(
        ".overlord/scripts/second.toml",
        r#"
[[step]]
run = "while [ ! -f \"$OVERLORD_REPO/.overlord/go\" ]; do sleep 0.1; done"

[[step]]
write = { path = "second.txt", content = "the second change\n" }
"#,
    );
    repo.write(
        "plan.json",
        r#"{"todo_list_id": "demo", "title": "Console demo", "phases": [{"id": "p1", "name": "One",
           "tasks": [{"id": "feature", "title": "The feature", "agent_role": "implementer"},
                     {"id": "second", "title": "A second change", "agent_role": "implementer",
                      "dependencies": ["feature"]}]}]}"#,
    );
    repo
}

fn cli(repo: &Repo, args: &[&str]) -> String {
    let o = repo.run(args);
    assert!(o.status.success(), "{args:?}: {}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

#[test]
fn the_console_drives_a_session_from_the_keyboard() {
    if !tmux_available() {
        panic!("tmux is required for the console's end-to-end test (.ci/run installs it)");
    }
    let repo = prepared();
    let t = Tmux::start(&repo, 120, 40);
    t.wait("the console", 30, |s| {
        s.contains("Swarm") && s.contains("Concerns")
    });
    assert!(Path::new(&repo.path().join(".overlord/overlord.sock")).exists());
    // The human imports and approves the plan from another terminal (through the socket).
    cli(&repo, &["plan", "import", "plan.json"]);
    cli(&repo, &["cmd", "/approve A-1"]);

    // The agent's concern shows up; acknowledge it from the concerns pane.
    t.wait("the concern", 60, |s| {
        s.contains("C-1") && s.contains("warning")
    });
    t.wait("the first task done", 60, |s| s.contains("1/2 tasks"));
    t.keys(&["2", "a"]);
    // (The answer's line may already show a later message, such as an integration's.)
    t.wait("the acknowledgement", 20, |s| {
        s.lines()
            .any(|l| l.contains("C-1") && l.contains("acknowledg"))
    });

    // Save: one key, a confirmation listing what is integrated, then the checkpoint.
    t.keys(&["S"]);
    let s = t.wait("the Save confirmation", 10, |s| {
        s.contains("integrate 1 finished task: feature")
    });
    assert!(s.contains("y/enter confirm"), "the keys in the box: {s}");
    t.keys(&["y"]);
    // The progress view lists each step; it stays with the outcome until dismissed.
    // (Its number follows the integrations Overlord ran as each task finished.)
    let s = t.wait("the Save's steps", 60, |s| {
        s.contains(" finished esc to close") && s.contains("Save ") && s.contains("created")
    });
    assert!(s.contains("✓ "), "{s}");
    t.keys(&["Escape"]);
    t.wait("the first checkpoint, the steps' view closed", 20, |s| {
        s.contains("-001 save") && !s.contains("esc to close")
    });
    // Its name carries the day it was made: read it from the repository, not the clock.
    let tags = git(
        repo.path(),
        repo.home.path(),
        &["tag", "--list", "checkpoint/*"],
    );
    let first = tags
        .lines()
        .find_map(|t| t.strip_prefix("checkpoint/"))
        .unwrap_or_else(|| panic!("no checkpoint tag after the Save: {tags:?}"))
        .to_string();
    assert!(first.ends_with("-001"), "{first}");
    assert_eq!(
        git(repo.path(), repo.home.path(), &["show", "main:feature.txt"]),
        "the feature\n"
    );

    // Open a diff: what the checkpoint changed, from the timeline.
    t.keys(&["5", "d"]);
    // (The Save also committed the status documents and its QA run's reports under docs/:
    // the feature is the last file.)
    t.wait("the checkpoint's diff", 20, |s| {
        s.contains(&format!("→ {first}")) && s.contains("A feature.txt") && s.contains("file 1/7")
    });
    t.keys(&["]", "]", "]", "]", "]", "]"]);
    let s = t.wait("the feature's hunk", 10, |s| {
        s.contains("file 7/7") && s.contains("+the feature")
    });
    assert!(s.contains("@@ -0,0 +1,1 @@"), "{s}");
    // Side by side and back; then the timeline again.
    t.keys(&["v"]);
    t.wait("side by side", 10, |s| {
        s.contains("side by side") && s.contains("the feature")
    });
    t.keys(&["v", "5"]);
    t.wait("the timeline", 10, |s| s.contains("-001 save"));

    // The second change, its Save and checkpoint.
    std::fs::write(repo.path().join(".overlord/go"), "").unwrap();
    t.wait("the second task done", 60, |s| s.contains("2/2 tasks"));
    t.keys(&["S"]);
    t.wait("the Save confirmation", 10, |s| s.contains("second"));
    t.keys(&["y"]);
    t.wait("the Save's steps", 60, |s| {
        s.contains(" finished esc to close") && s.contains("-002 created")
    });
    t.keys(&["Escape"]);
    t.wait("the second checkpoint, the steps' view closed", 20, |s| {
        s.contains("-002 save") && !s.contains("esc to close")
    });
    git(repo.path(), repo.home.path(), &["show", "main:second.txt"]);

    // Roll back to the first checkpoint from the timeline (newest first: one down).
    t.keys(&["5", "down", "R"]);
    let s = t.wait("the rollback confirmation", 10, |s| s.contains("Roll back"));
    assert!(s.contains("restore checkpoint/"), "{s}");
    assert!(s.contains("-001 as a new commit"), "{s}");
    t.keys(&["enter"]);
    // The steps' view once the rollback ended (not any "finished" of the activity log).
    t.wait("the rollback's steps", 60, |s| {
        s.contains(" finished esc to close") && s.contains("restores checkpoint/")
    });
    t.keys(&["Escape"]);
    t.wait("the rollback checkpoint, the steps' view closed", 20, |s| {
        s.contains("-003 rollback") && !s.contains("esc to close")
    });
    let o = git_output(repo.path(), repo.home.path(), &["show", "main:second.txt"]);
    assert!(!o.status.success(), "the second change is rolled back");
    assert_eq!(
        git(repo.path(), repo.home.path(), &["show", "main:feature.txt"]),
        "the feature\n"
    );

    // Quit: the terminal is given back and the console exits 0.
    t.keys(&["q"]);
    t.wait("the exit", 30, |s| s.contains("CONSOLE-EXITED 0"));
    let o = repo.run(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn an_idle_console_draws_no_frames() {
    if !tmux_available() {
        panic!("tmux is required for the console's end-to-end test (.ci/run installs it)");
    }
    let repo = prepared();
    let t = Tmux::start(&repo, 100, 30);
    t.wait("the console", 30, |s| s.contains("Swarm"));
    // Nothing happens for three seconds: nothing is drawn. (The idle window is what is
    // measured, so this wait is the test itself, not a guess at when something is ready.)
    std::thread::sleep(Duration::from_secs(3));
    t.keys(&["q"]);
    t.wait("the exit", 30, |s| s.contains("CONSOLE-EXITED 0"));
    let log = std::fs::read_to_string(repo.path().join(".overlord/logs/overlord.log")).unwrap();
    let frames: u64 = log
        .lines()
        .rev()
        .find_map(|l| l.split("frames drawn: ").nth(1))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in the log:\n{log}"));
    // The first frame, and at most one more (a resize as tmux settles); none while idle.
    assert!(frames <= 2, "{frames} frames for an idle console");
}

/// A seeded xorshift: the same keys on every run, and a seed in the failure message.
struct Keys(u64);

impl Keys {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// One key in tmux's names: letters, digits and signs, the named keys, ctrl and alt
    /// chords and function keys — every bound key and many unbound ones. Not the quit keys
    /// (`q`, `ctrl-c`): the test checks the console is still there at the end.
    fn pick(&mut self) -> String {
        const NAMED: &[&str] = &[
            "Up", "Down", "Left", "Right", "PageUp", "PageDown", "Home", "End", "Tab", "BTab",
            "Enter", "Escape", "BSpace", "DC", "Space", "IC",
        ];
        const SIGNS: &str = "?/:[]{}<>,.-+=*!@#$%^&()'\"|~_`";
        let letters: Vec<char> = ('a'..='z')
            .chain('A'..='Z')
            .chain('0'..='9')
            .filter(|c| *c != 'q')
            .chain(SIGNS.chars())
            .collect();
        match self.next() % 10 {
            0..=5 => letters[(self.next() % letters.len() as u64) as usize].to_string(),
            6 | 7 => NAMED[(self.next() % NAMED.len() as u64) as usize].to_string(),
            8 => {
                let c = (b'a' + (self.next() % 26) as u8) as char;
                if c == 'c' {
                    "M-c".into()
                } else if self.next().is_multiple_of(2) {
                    format!("C-{c}")
                } else {
                    format!("M-{c}")
                }
            }
            _ => format!("F{}", 1 + self.next() % 12),
        }
    }
}

/// 2,000 seeded random keys to the real binary at three sizes: it never panics, keeps
/// drawing, and still quits cleanly at the end.
#[test]
fn random_keys_never_crash_the_console() {
    if !tmux_available() {
        panic!("tmux is required for the console's end-to-end test (.ci/run installs it)");
    }
    for (width, height, seed) in [
        (160u16, 48u16, 0x5eed_0001u64),
        (80, 24, 0x5eed_0002),
        (60, 20, 0x5eed_0003),
    ] {
        let repo = prepared();
        let t = Tmux::start(&repo, width, height);
        t.wait("the console", 30, |s| {
            s.contains("Swarm") || s.contains("swarm")
        });
        let mut keys = Keys(seed);
        for batch in 0..40 {
            let sent: Vec<String> = (0..50).map(|_| keys.pick()).collect();
            let refs: Vec<&str> = sent.iter().map(String::as_str).collect();
            t.keys(&refs);
            let s = t.screen();
            assert!(
                !s.contains("panicked") && !s.contains("CONSOLE-EXITED"),
                "{width}×{height}, seed {seed:#x}: the console died in batch {batch} after {sent:?}:\n{s}"
            );
        }
        // Leave whatever layer the keys opened, then quit. A terminal tells Escape from Alt+key
        // only by timing: keys that reach the console in one read (a loaded machine) come as
        // Alt+key, so each try sends them one by one and waits for the exit, and tries again
        // while the console still draws.
        let mut s = String::new();
        for _ in 0..5 {
            for key in ["Escape", "Escape", "n", "Escape", "1", "q"] {
                t.keys(&[key]);
            }
            match t.wait_until(10, |s| s.contains("CONSOLE-EXITED")) {
                Ok(done) => {
                    s = done;
                    break;
                }
                Err(now) => {
                    assert!(!now.contains("panicked"), "{now}");
                    s = now;
                }
            }
        }
        assert!(
            s.contains("CONSOLE-EXITED 0"),
            "{width}×{height}, seed {seed:#x}: {s}"
        );
    }
}

/// At 100 columns the hint bar names `?` and `S`; the help opens, scrolls to its end, filters,
/// and the keys pressed over it never reach the pane behind.
#[test]
fn the_help_reads_to_its_end_and_filters_at_100_columns_without_leaking_keys() {
    if !tmux_available() {
        panic!("tmux is required for the console's end-to-end test (.ci/run installs it)");
    }
    let repo = prepared();
    let t = Tmux::start(&repo, 100, 30);
    let s = t.wait("the console", 30, |s| s.contains("Swarm"));
    let footer = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(
        footer.starts_with("? help  q quit  : command bar  S save  P pause all"),
        "{s}"
    );
    t.keys(&["?"]);
    t.wait("the help", 10, |s| s.contains("Help 1–24/"));
    t.keys(&["G"]);
    let s = t.wait("the end of the help", 10, |s| s.contains("window 24h/7d"));
    assert!(s.contains("Metrics") && !s.contains("Help 1–24/"), "{s}");
    // Keys that would move the pane behind go to the help: `3` starts a filter.
    t.keys(&["3", "Down", "j"]);
    t.wait("the filter", 10, |s| s.contains("filter: 3j"));
    t.keys(&["Escape"]);
    t.wait("the filter cleared", 10, |s| !s.contains("filter: 3j"));
    t.keys(&["r", "o", "l", "l"]);
    let s = t.wait("the filtered help", 10, |s| s.contains("filter: roll"));
    assert!(
        s.contains("roll back to checkpoint") && !s.contains("pause agent"),
        "{s}"
    );
    t.keys(&["Escape"]);
    t.wait("the filter cleared", 10, |s| !s.contains("filter: roll"));
    t.keys(&["Escape"]);
    let s = t.wait("the help closed", 10, |s| !s.contains("Help "));
    // The swarm still has the focus and its first row selected: nothing leaked.
    assert!(s.contains("┏ Swarm"), "{s}");
    t.keys(&["q"]);
    let s = t.wait("the exit", 30, |s| s.contains("CONSOLE-EXITED"));
    assert!(s.contains("CONSOLE-EXITED 0"), "{s}");
}

/// A crash (a fail point panics on the first key) gives the terminal back, says the
/// console stopped on a bug and where its log is, and exits non-zero.
#[test]
fn a_crash_gives_the_terminal_back_and_says_where_the_log_is() {
    if !tmux_available() {
        panic!("tmux is required for the console's end-to-end test (.ci/run installs it)");
    }
    let repo = prepared();
    let t = Tmux::start_with(
        &repo,
        120,
        30,
        "RUST_BACKTRACE=0 OVERLORD_FAILPOINT=console.key",
    );
    t.wait("the console", 30, |s| s.contains("Swarm"));
    t.keys(&["j"]);
    let s = t.wait("the exit", 30, |s| s.contains("CONSOLE-EXITED"));
    assert!(s.contains("CONSOLE-EXITED 101"), "{s}");
    assert!(s.contains("stopped at fail point console.key"), "{s}");
    assert!(s.contains("stopped on an internal error"), "{s}");
    let log = repo.path().join(".overlord/logs/overlord.log");
    let shown = s.replace('\n', "");
    assert!(
        shown.contains(&format!("its log: {}", log.display())),
        "{s}"
    );
    // The terminal is back: the shell's own screen, no alternate screen, no mouse capture.
    assert!(!s.contains("Concerns"), "{s}");
}

/// The demo in the console, paced short: each stage's narration on screen, what awaits the
/// human with the keys that decide it (the test approves the design spec with them), the end
/// of the cycle with what to look at; then the console started again on the kept project
/// shows the activity as it was.
#[test]
fn the_demo_narrates_its_stages_and_a_restarted_console_shows_its_activity() {
    if !tmux_available() {
        panic!("tmux is required for the console's end-to-end test (.ci/run installs it)");
    }
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo-project");
    // The toolchain for the scripts' cargo runs (the home is sandboxed).
    let env: Vec<String> = tool_env(&home.path().join("target"))
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    let env = format!(
        "{} OVERLORD_DISCORD_TOKEN= OVERLORD_DISCORD_WEBHOOK_URL=",
        env.join(" ")
    );
    let t = Tmux::start_in(
        home.path(),
        home.path(),
        (100, 30),
        &env,
        &format!("demo --pace 1 --dir '{}'", dir.display()),
    );
    t.wait("the first stage", 60, |s| {
        s.contains("stage 1/8: the two-phase plan is imported")
    });
    // The design spec waits for the human; the status line says which keys decide it.
    let s = t.wait("the design spec awaiting the human", 300, |s| {
        s.contains("stage 3/8: the design spec awaits you")
    });
    t.wait("the keys on the status line", 30, |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("1 awaiting you: 3 then a"))
    });
    assert!(s.contains("press 3 (Plan), then a, then enter"), "{s}");
    t.keys(&["3"]);
    t.wait("the Plan pane's own hint", 30, |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("1 awaiting you: a approves"))
    });
    t.keys(&["a"]);
    t.wait("the approval in the command bar", 30, |s| {
        s.contains("/approve A-2")
    });
    t.keys(&["Enter"]);
    t.wait("the concern's stage", 300, |s| {
        s.contains("stage 4/8: two implementers work in parallel; a concern climbs to you")
    });
    t.wait("the end of the cycle", 600, |s| {
        s.contains("cycle done — 5 timeline · 7 diff")
    });
    t.keys(&["q"]);
    let s = t.wait("the demo's report", 60, |s| s.contains("CONSOLE-EXITED"));
    assert!(s.contains("CONSOLE-EXITED 0"), "{s}");
    drop(t);

    // The console again on the kept project: its activity log is the one it had.
    let t = Tmux::start_in(&dir, home.path(), (100, 30), &env, "");
    t.wait("the console", 60, |s| s.contains("Swarm"));
    t.keys(&["6"]);
    let s = t.wait("the rebuilt activity", 30, |s| {
        s.contains("checkpoint/") && s.contains("-003")
    });
    assert!(s.contains("rollback"), "{s}");
    t.keys(&["q"]);
    t.wait("the exit", 30, |s| s.contains("CONSOLE-EXITED 0"));
}
