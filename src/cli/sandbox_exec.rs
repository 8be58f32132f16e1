//! `overlord-tui sandbox-exec` (hidden): the exec wrapper every agent CLI is started through
//! (`runtime::sandbox`). It asks to die with the owner (PR_SET_PDEATHSIG), restricts itself
//! with the Landlock ruleset its options describe, points `TMPDIR` at the run's tmp folder and
//! execs the program, which keeps the restriction with everything it starts.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use clap::Args;

use super::output::{Failed, Outcome};
use crate::runtime::sandbox::{confine, probe, Policy, Support};

/// The exit code when the sandbox could not be set up (nothing was run).
const EXIT_SANDBOX: u8 = 126;
/// The exit code when the program could not be executed.
const EXIT_EXEC: u8 = 127;

// No doc comment here: the subcommand's help is the `Sub::SandboxExec` variant's.
#[derive(Args, Debug)]
#[command(
    after_help = "Example: overlord-tui sandbox-exec --write /repo/.overlord/worktrees/t1 --tmp /repo/.overlord/tmp/a1 -- codex exec …"
)]
pub struct SandboxExecArgs {
    /// A folder or file the program may write (every write right beneath it); repeatable
    #[arg(long, value_name = "PATH")]
    write: Vec<PathBuf>,
    /// A folder made (with its parents) before the sandbox applies, then writable; repeatable
    #[arg(long, value_name = "DIR")]
    mkdir: Vec<PathBuf>,
    /// The program's own tmp folder: made, writable and its TMPDIR
    #[arg(long, value_name = "DIR")]
    tmp: Option<PathBuf>,
    /// Limit outgoing TCP to this port (Landlock ABI 4+); repeatable; none: no network rule
    #[arg(long = "net-port", value_name = "PORT")]
    net_ports: Vec<u16>,
    /// Die with this process (the owner), and refuse to start when it is already gone
    #[arg(long, value_name = "PID")]
    owner_pid: Option<u32>,
    /// Run the program unconfined (with a warning) when the kernel has no Landlock, instead
    /// of refusing
    #[arg(long)]
    best_effort: bool,
    /// The program and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
}

pub(super) fn sandbox_exec(args: SandboxExecArgs) -> Outcome {
    let fail = |code: u8, message: String| {
        eprintln!("overlord-tui sandbox-exec: {message}");
        Err(Failed(code))
    };
    // First: this process (and the program it becomes) dies with the owner. The flag is
    // kept across exec; checking the parent after setting it closes the race with an owner
    // that died just before.
    if let Some(owner) = args.owner_pid {
        if let Err(e) =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        {
            return fail(
                EXIT_SANDBOX,
                format!("cannot ask to die with the owner: {e}"),
            );
        }
        let parent = rustix::process::Pid::as_raw(rustix::process::getppid());
        if u32::try_from(parent).ok() != Some(owner) {
            return fail(
                EXIT_SANDBOX,
                format!("the owner (pid {owner}) is gone; not starting the agent"),
            );
        }
    }
    // Then `no_new_privs`, for good, whatever the kernel's Landlock: no setuid program raises
    // the agent's rights, and the flag — inherited, never cleared — is how the owner tells a
    // process of an agent's tree that left it (`core::identity`).
    if let Err(e) = rustix::thread::set_no_new_privs(true) {
        return fail(EXIT_SANDBOX, format!("cannot set no_new_privs: {e}"));
    }
    let policy = Policy {
        write: args.write,
        mkdir: args.mkdir,
        tmp: args.tmp,
        net_ports: args.net_ports,
        best_effort: args.best_effort,
        owner_pid: args.owner_pid,
    };
    if let Support::Unavailable(why) = probe() {
        if policy.best_effort {
            eprintln!("overlord-tui sandbox-exec: warning: {why}: the agent runs unconfined");
            return run(args.command, &policy);
        }
        return fail(
            EXIT_SANDBOX,
            format!("{why}: refusing to run the agent unconfined ([agents] sandbox = \"enforce\"; \"best_effort\" runs it unconfined)"),
        );
    }
    match confine(&policy) {
        Ok(c) if !c.enforced && !policy.best_effort => return fail(
            EXIT_SANDBOX,
            "the kernel did not enforce the Landlock ruleset: refusing to run the agent unconfined"
                .to_string(),
        ),
        Ok(c) if !c.enforced => {
            eprintln!("overlord-tui sandbox-exec: warning: the agent runs unconfined (no Landlock)")
        }
        Ok(_) => {}
        Err(e) => return fail(EXIT_SANDBOX, e),
    }
    run(args.command, &policy)
}

/// Becomes the program (with TMPDIR set); returns only when it cannot be executed.
fn run(command: Vec<OsString>, policy: &Policy) -> Outcome {
    let fail = |code: u8, message: String| {
        eprintln!("overlord-tui sandbox-exec: {message}");
        Err(Failed(code))
    };
    let mut command = command.into_iter();
    let Some(program) = command.next() else {
        return fail(2, "no program to run (after --)".to_string());
    };
    let mut cmd = std::process::Command::new(&program);
    cmd.args(command);
    if let Some(tmp) = &policy.tmp {
        cmd.env("TMPDIR", tmp);
    }
    let e = cmd.exec();
    fail(
        EXIT_EXEC,
        format!("cannot run {}: {e}", PathBuf::from(program).display()),
    )
}
