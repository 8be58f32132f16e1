//! Playing a script: the run of `overlord-tui script-agent` (the events it prints, the
//! clarification it answers) and each step's work in the worktree (files, `sh`, `git commit`,
//! the `overlord-tui` commands).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};
use std::time::{Duration, Instant};

use super::env::{find_script, AgentEnv};
use super::format::{
    Action, ConcernStep, FileStep, HandoffStep, Script, Step, VariationStep, EXIT_FAILED, EXIT_OK,
    EXIT_SCRIPT,
};
use super::parse::{check_relative_path, load_script};
use crate::agent::classify::classify;
use crate::agent::event::{AgentError, AgentEvent, ErrorKind, ToolKind};
use crate::agent::parse::native_line;
use crate::agent::usage::Usage;

/// Lines of a command's output kept in its `tool_finished`.
const TAIL_LINES: usize = 20;
/// Characters of a command's output kept in its `tool_finished`.
const TAIL_CHARS: usize = 4000;
/// Bytes of a command's output read into memory (the rest scrolls away).
const KEEP_BYTES: usize = 64 * 1024;

/// One invocation of `overlord-tui script-agent`.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// `--dir`: the script folder.
    pub dir: PathBuf,
    /// `--resume <session>`: answer the prompt as a clarification instead of running.
    pub resume: Option<String>,
    pub prompt: String,
    /// The agent's worktree (the current directory).
    pub cwd: PathBuf,
    /// The `overlord-tui` to run for concerns, hand-offs and variations.
    pub overlord: PathBuf,
}

/// Why the run stops before its end.
enum Stop {
    /// A step failed: report it and exit with `code`.
    Failed(AgentError, u8),
    /// Stdout is gone (the runner went away): nothing more can be said.
    Gone,
}

struct Emitter<'a> {
    out: &'a mut dyn Write,
}

impl Emitter<'_> {
    fn emit(&mut self, event: AgentEvent) -> Result<(), Stop> {
        let mut line = native_line(&event);
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|_| Stop::Gone)
    }
}

/// Runs the scripted agent with the process environment; returns the exit code.
pub fn run_from_env(opts: &ScriptRun, out: &mut dyn Write) -> u8 {
    match AgentEnv::from_env() {
        Ok(env) => run(opts, &env, out),
        Err(e) => {
            let mut em = Emitter { out };
            let result = em
                .emit(started(opts.resume.clone(), None))
                .and_then(|()| finish_failed(&mut em, AgentError::new(ErrorKind::Other, e), false));
            match result {
                Ok(()) => EXIT_SCRIPT,
                Err(_) => EXIT_FAILED,
            }
        }
    }
}

/// Runs the scripted agent; returns the exit code.
pub fn run(opts: &ScriptRun, env: &AgentEnv, out: &mut dyn Write) -> u8 {
    let mut em = Emitter { out };
    let session = opts.resume.clone().unwrap_or_else(|| env.session_id());
    let script = find_script(&opts.dir, env, &opts.cwd).and_then(|path| {
        let shown = opts
            .dir
            .join(path.file_name().unwrap_or_default())
            .display()
            .to_string();
        load_script(&path, &shown)
            .map(|s| (s, shown))
            .map_err(|e| e.to_string())
    });
    let (script, shown) = match script {
        Ok(s) => s,
        Err(message) => {
            let r = em.emit(started(Some(session), None)).and_then(|()| {
                finish_failed(&mut em, AgentError::new(ErrorKind::Other, message), false)
            });
            return match r {
                Ok(()) => EXIT_SCRIPT,
                Err(_) => EXIT_FAILED,
            };
        }
    };
    let outcome = em
        .emit(started(Some(session), script.model.clone()))
        .and_then(|()| {
            if opts.resume.is_some() {
                answer(&mut em, &script, &shown, &opts.prompt)
            } else {
                let mut exec = Exec {
                    opts,
                    env,
                    em: &mut em,
                    last_say: None,
                };
                exec.steps(&script)
            }
        });
    match outcome {
        Ok(()) => EXIT_OK,
        Err(Stop::Gone) => EXIT_FAILED,
        Err(Stop::Failed(error, code)) => {
            match finish_failed(&mut em, error, code == EXIT_FAILED) {
                Ok(()) => code,
                Err(_) => EXIT_FAILED,
            }
        }
    }
}

fn started(session_id: Option<String>, model: Option<String>) -> AgentEvent {
    AgentEvent::Started {
        session_id,
        model,
        raw: String::new(),
    }
}

/// `warning` (for a failed step) and `finished` with the error.
fn finish_failed(em: &mut Emitter<'_>, error: AgentError, warn: bool) -> Result<(), Stop> {
    if warn {
        em.emit(AgentEvent::Warning {
            message: error.message.clone(),
            error: Some(error.kind),
            raw: String::new(),
        })?;
    }
    em.emit(AgentEvent::Finished {
        ok: false,
        result_text: None,
        error: Some(error),
        raw: String::new(),
    })
}

/// A clarification: the answer as text and as the result.
fn answer(em: &mut Emitter<'_>, script: &Script, shown: &str, question: &str) -> Result<(), Stop> {
    let Some(answer) = script.answers.answer(question) else {
        return Err(Stop::Failed(
            AgentError::new(
                ErrorKind::Other,
                format!(
                    "{shown} has no answer for this question: no key of [answers] is in it and there is no `default`"
                ),
            ),
            EXIT_SCRIPT,
        ));
    };
    em.emit(AgentEvent::Text {
        text: answer.to_string(),
        delta: false,
        raw: String::new(),
    })?;
    em.emit(AgentEvent::Finished {
        ok: true,
        result_text: Some(answer.to_string()),
        error: None,
        raw: String::new(),
    })
}

struct Exec<'a, 'b> {
    opts: &'a ScriptRun,
    env: &'a AgentEnv,
    em: &'a mut Emitter<'b>,
    last_say: Option<String>,
}

/// What a tool step did: its output, or why it failed.
type ToolResult = Result<String, String>;

impl Exec<'_, '_> {
    fn steps(&mut self, script: &Script) -> Result<(), Stop> {
        for step in &script.steps {
            if step.runs_on(self.env.attempt) {
                self.step(step)?;
            }
        }
        let result = script.result.clone().or_else(|| self.last_say.clone());
        self.em.emit(AgentEvent::Finished {
            ok: true,
            result_text: result,
            error: None,
            raw: String::new(),
        })
    }

    fn step(&mut self, step: &Step) -> Result<(), Stop> {
        let id = format!("step-{}", step.number);
        match &step.action {
            Action::Say(text) => {
                self.last_say = Some(text.clone());
                self.text(text.clone())
            }
            Action::Write(f) => self.tool(step, &id, ToolKind::Edit, "write", &f.path, |x| {
                x.write_file(f, false)
            }),
            Action::Append(f) => self.tool(step, &id, ToolKind::Edit, "append", &f.path, |x| {
                x.write_file(f, true)
            }),
            Action::Run(command) => self.tool(step, &id, ToolKind::Shell, "sh", command, |x| {
                x.shell(command)
            }),
            Action::Commit(message) => {
                self.tool(step, &id, ToolKind::Commit, "git commit", message, |x| {
                    x.commit(message)
                })
            }
            Action::Concern(c) => self.tool(
                step,
                &id,
                ToolKind::Other,
                "overlord-tui concern raise",
                &c.summary,
                |x| x.overlord("concern raise", &x.concern_args(c)),
            ),
            Action::Handoff(h) => self.tool(
                step,
                &id,
                ToolKind::Other,
                "overlord-tui handoff",
                &format!("to {}: {}", h.to, h.purpose),
                |x| x.overlord("handoff", &x.handoff_args(h)),
            ),
            Action::Variation(v) => self.tool(
                step,
                &id,
                ToolKind::Other,
                "overlord-tui variation propose",
                &v.title,
                |x| x.overlord("variation propose", &variation_args(v)),
            ),
            Action::Fail(f) => {
                if f.fails_on(self.env.attempt) {
                    Err(Stop::Failed(f.error(), EXIT_FAILED))
                } else {
                    Ok(())
                }
            }
            Action::Usage(u) => self.em.emit(AgentEvent::Usage {
                usage: Usage {
                    input: u.input,
                    cached_input: u.cached_input,
                    output: u.output,
                    reasoning: u.reasoning,
                    cost_usd: u.cost_usd,
                },
                raw: String::new(),
            }),
            Action::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                Ok(())
            }
            Action::Emit(e) => {
                let start = Instant::now();
                for i in 0..e.count {
                    if let Some(rate) = e.per_sec {
                        let due = start + Duration::from_secs_f64(i as f64 / rate);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                    }
                    self.text(format!("{} {}/{}", e.text, i + 1, e.count))?;
                }
                Ok(())
            }
        }
    }

    fn text(&mut self, text: String) -> Result<(), Stop> {
        self.em.emit(AgentEvent::Text {
            text,
            delta: false,
            raw: String::new(),
        })
    }

    /// `tool_started`, the work, `tool_finished`; a failure fails the run unless `may_fail`.
    fn tool(
        &mut self,
        step: &Step,
        id: &str,
        kind: ToolKind,
        name: &str,
        summary: &str,
        work: impl FnOnce(&mut Self) -> ToolResult,
    ) -> Result<(), Stop> {
        self.em.emit(AgentEvent::ToolStarted {
            id: id.to_string(),
            kind,
            name: name.to_string(),
            summary: one_line(summary),
            raw: String::new(),
        })?;
        let result = work(self);
        let (ok, output) = match &result {
            Ok(o) => (true, o.clone()),
            Err(e) => (false, e.clone()),
        };
        self.em.emit(AgentEvent::ToolFinished {
            id: id.to_string(),
            ok,
            output,
            raw: String::new(),
        })?;
        match result {
            Ok(_) => Ok(()),
            Err(_) if step.may_fail => Ok(()),
            Err(e) => {
                let message = format!(
                    "step {} ({}, line {}): {e}",
                    step.number,
                    step.action.key(),
                    step.line
                );
                let kind = classify(&e, None, None);
                Err(Stop::Failed(AgentError::new(kind, message), EXIT_FAILED))
            }
        }
    }

    fn write_file(&mut self, f: &FileStep, append: bool) -> ToolResult {
        let rel = check_relative_path(&f.path)?;
        let root = self
            .opts
            .cwd
            .canonicalize()
            .map_err(|e| format!("the worktree {}: {e}", self.opts.cwd.display()))?;
        let target = root.join(&rel);
        let escapes = || {
            format!(
                "{} leads outside the worktree (through a symbolic link)",
                f.path
            )
        };
        // A symbolic link on the way must not lead outside the worktree: check the folders
        // that exist before creating the missing ones, and the file itself.
        if let Some(parent) = target.parent() {
            let mut existing = parent;
            while !existing.exists() {
                match existing.parent() {
                    Some(p) => existing = p,
                    None => break,
                }
            }
            if !inside(&root, existing) {
                return Err(escapes());
            }
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", f.path))?;
            if !inside(&root, parent) {
                return Err(escapes());
            }
        }
        let is_link = std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && !inside(&root, &target) {
            return Err(escapes());
        }
        let result = if append {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&target)
                .and_then(|mut file| file.write_all(f.content.as_bytes()))
        } else {
            std::fs::write(&target, &f.content)
        };
        result.map_err(|e| format!("{}: {e}", f.path))?;
        Ok(format!(
            "{} {} bytes to {}",
            if append { "appended" } else { "wrote" },
            f.content.len(),
            f.path
        ))
    }

    /// `sh -c` in the worktree, stdout and stderr in one pipe; the output's tail.
    fn shell(&mut self, command: &str) -> ToolResult {
        let mut cmd = Proc::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(&self.opts.cwd)
            .stdin(Stdio::null());
        let (status, output) = run_merged(cmd).map_err(|e| format!("cannot run sh: {e}"))?;
        let tail = tail(&output);
        if status.success() {
            Ok(tail)
        } else {
            let how = match status.code() {
                Some(c) => format!("exited with code {c}"),
                None => "was killed by a signal".to_string(),
            };
            Err(if tail.is_empty() {
                format!("`{}` {how}", one_line(command))
            } else {
                format!("`{}` {how}:\n{tail}", one_line(command))
            })
        }
    }

    /// `git add -A && git commit` in the worktree; nothing to commit is fine.
    fn commit(&mut self, message: &str) -> ToolResult {
        let cwd = &self.opts.cwd;
        git(cwd, &["add", "-A"])?;
        let staged = Proc::new("git")
            .args(["diff", "--cached", "--quiet"])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        match staged.code() {
            Some(0) => return Ok("nothing to commit".into()),
            Some(1) => {}
            _ => return Err("git diff --cached failed".into()),
        }
        // An agent commits as the user git is configured for; with no identity configured,
        // as its role (the identity Overlord's own commits use).
        let mut identity: Vec<String> = Vec::new();
        if !has_identity(cwd) {
            if let Ok(sig) = crate::git::signature(self.env.role) {
                identity.push(format!("user.name={}", sig.name().unwrap_or("Overlord")));
                identity.push(format!(
                    "user.email={}",
                    sig.email().unwrap_or("overlord@overlord.local")
                ));
            }
        }
        let mut args: Vec<&str> = Vec::new();
        for kv in &identity {
            args.extend(["-c", kv.as_str()]);
        }
        args.extend(["commit", "-q", "-m", message]);
        git(cwd, &args)?;
        let head = git(cwd, &["rev-parse", "--short", "HEAD"])?;
        Ok(format!("committed {}: {}", head.trim(), one_line(message)))
    }

    fn task(&self, explicit: &Option<String>) -> Option<String> {
        explicit.clone().or_else(|| self.env.task.clone())
    }

    fn concern_args(&self, c: &ConcernStep) -> Vec<String> {
        let mut a = vec![
            "concern".to_string(),
            "raise".into(),
            format!("--severity={}", c.severity.as_str()),
            format!("--category={}", c.category),
        ];
        if let Some(to) = c.to {
            a.push(format!("--to={}", to.as_str()));
        }
        if let Some(t) = self.task(&c.task) {
            a.push(format!("--task={t}"));
        }
        if let Some(d) = &c.details {
            a.push(format!("--details={d}"));
        }
        a.extend(["--".into(), c.summary.clone()]);
        a
    }

    fn handoff_args(&self, h: &HandoffStep) -> Vec<String> {
        let mut a = vec![
            "handoff".to_string(),
            format!("--to={}", h.to.as_str()),
            format!("--purpose={}", h.purpose),
            format!("--summary={}", h.summary),
        ];
        a.extend(h.inputs.iter().map(|i| format!("--input={i}")));
        a.extend(h.outputs.iter().map(|o| format!("--output={o}")));
        if let Some(i) = h.impact {
            a.push(format!("--impact={}", i.as_str()));
        }
        if let Some(s) = &h.status {
            a.push(format!("--status={s}"));
        }
        if let Some(t) = self.task(&h.task) {
            a.push(format!("--task={t}"));
        }
        a
    }

    /// Runs this overlord-tui with `args` in the worktree, with the agent's environment.
    fn overlord(&mut self, name: &str, args: &[String]) -> ToolResult {
        let out = Proc::new(&self.opts.overlord)
            .args(args)
            .current_dir(&self.opts.cwd)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.opts.overlord.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if out.status.success() {
            Ok(stdout)
        } else {
            let how = match out.status.code() {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".into(),
            };
            let said = if stderr.is_empty() { stdout } else { stderr };
            Err(format!(
                "overlord-tui {name} failed ({how}): {}",
                tail(&said)
            ))
        }
    }
}

/// Whether `path` (which must exist) resolves to a place inside `root` (itself resolved).
fn inside(root: &Path, path: &Path) -> bool {
    path.canonicalize().is_ok_and(|real| real.starts_with(root))
}

fn variation_args(v: &VariationStep) -> Vec<String> {
    let mut a = vec![
        "variation".to_string(),
        "propose".into(),
        format!("--impact={}", v.impact.as_str()),
        format!("--title={}", v.title),
    ];
    if let Some(r) = &v.rationale {
        a.push(format!("--rationale={r}"));
    }
    a.extend(v.affects.iter().map(|f| format!("--affects={f}")));
    a
}

/// Whether git has a committer identity configured for `cwd` (or in the environment).
fn has_identity(cwd: &Path) -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    let configured = |key: &str| {
        Proc::new("git")
            .args(["config", "--get", key])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
    };
    (set("GIT_AUTHOR_NAME") || configured("user.name"))
        && (set("GIT_AUTHOR_EMAIL") || set("EMAIL") || configured("user.email"))
        && (set("GIT_COMMITTER_NAME") || configured("user.name"))
        && (set("GIT_COMMITTER_EMAIL") || set("EMAIL") || configured("user.email"))
}

/// Runs git in `cwd`; its stdout, or its stderr as the error.
fn git(cwd: &Path, args: &[&str]) -> Result<String, String> {
    let out = Proc::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let shown: Vec<&str> = args
            .iter()
            .copied()
            .skip_while(|a| *a == "-c" || a.contains('='))
            .take(1)
            .collect();
        Err(format!(
            "git {} failed: {}",
            shown.join(" "),
            tail(String::from_utf8_lossy(&out.stderr).trim())
        ))
    }
}

/// Runs `cmd` with stdout and stderr on one pipe (so their lines stay in order); keeps the
/// last [`KEEP_BYTES`] of the output.
fn run_merged(mut cmd: Proc) -> std::io::Result<(std::process::ExitStatus, String)> {
    let (mut reader, writer) = std::io::pipe()?;
    cmd.stdout(writer.try_clone()?).stderr(writer);
    let mut child = cmd.spawn()?;
    // The pipe's write ends live in `cmd` until it is dropped: drop it, or the read below
    // would never see the end of the output.
    drop(cmd);
    let mut kept: VecDeque<u8> = VecDeque::new();
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend(&buf[..n]);
                while kept.len() > KEEP_BYTES {
                    kept.pop_front();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let status = child.wait()?;
    let bytes: Vec<u8> = kept.into_iter().collect();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The last lines of an output, at most [`TAIL_LINES`] lines and [`TAIL_CHARS`] characters.
fn tail(output: &str) -> String {
    let trimmed = output.trim_end();
    let lines: Vec<&str> = trimmed.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    let text = lines[from..].join("\n");
    let count = text.chars().count();
    if count > TAIL_CHARS {
        let skip = count - TAIL_CHARS;
        let cut: String = text.chars().skip(skip).collect();
        format!("…{cut}")
    } else if from > 0 {
        format!("…\n{text}")
    } else {
        text
    }
}

/// The first line of a text, for a tool's summary.
fn one_line(text: &str) -> String {
    let mut lines = text.trim().lines();
    let first = lines.next().unwrap_or("").trim();
    let short: String = first.chars().take(200).collect();
    if short.len() < first.len() || lines.next().is_some() {
        format!("{short}…")
    } else {
        short
    }
}
