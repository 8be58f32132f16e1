//! The kernel's side of the sandbox: whether it has Landlock (asked without restricting
//! anything), applying a [`Policy`] to the calling process (the wrapper does it just before
//! it execs the CLI), and the standing warning a front end shows when agents run unconfined
//! or are not started.
//!
//! The ruleset handles the write rights of Landlock ABI 8 (writing, truncating, removing,
//! making files, folders, links and special files, renaming across folders, device ioctls)
//! and grants them only on the policy's paths; reading and executing stay allowed everywhere.
//! Connecting to UNIX sockets by path stays allowed (the agents talk to the owner over
//! `.overlord/overlord.sock`). Where the kernel has ABI 4 and ports are configured, outgoing
//! TCP is limited to them; where it has ABI 6, the CLI cannot signal processes outside its
//! sandbox (the owner, other agents). A kernel with an older ABI gets what it supports.

use super::policy::Policy;
use crate::config::{Config, SandboxMode};

/// Set (to anything) in the environment of the owner (and of `status`, `agents`, the console):
/// behave as on a kernel without Landlock. For tests of `enforce` and `best_effort` on a
/// machine whose kernel has Landlock; it can only make the sandbox refuse to start agents or
/// warn, since a process already confined stays confined.
pub const PRETEND_NO_LANDLOCK: &str = "OVERLORD_SANDBOX_PRETEND_NO_LANDLOCK";

/// What the kernel offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Landlock works; `net` when outgoing TCP can be limited (ABI 4+).
    Available { net: bool },
    /// No Landlock (not built in, disabled, not Linux, or pretended): why.
    Unavailable(String),
}

impl Support {
    pub fn available(&self) -> bool {
        matches!(self, Support::Available { .. })
    }
}

/// How a policy was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    /// The ruleset is in force (fully or as far as the kernel goes).
    pub enforced: bool,
    /// In force but with fewer rights handled than asked (an older kernel).
    pub partial: bool,
    /// The kernel's Landlock ABI, when it has one.
    pub abi: Option<i32>,
}

fn pretended() -> bool {
    std::env::var_os(PRETEND_NO_LANDLOCK).is_some()
}

/// Whether the kernel has Landlock, asked without restricting anything (a ruleset is made
/// and dropped).
#[cfg(target_os = "linux")]
pub fn probe() -> Support {
    use landlock::{
        Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, ABI,
    };
    if pretended() {
        return Support::Unavailable(format!("pretended by {PRETEND_NO_LANDLOCK}"));
    }
    let hard = |f: &dyn Fn(Ruleset) -> Result<Ruleset, landlock::RulesetError>| {
        f(Ruleset::default().set_compatibility(CompatLevel::HardRequirement))
            .and_then(|r| r.create())
            .is_ok()
    };
    if !hard(&|r| r.handle_access(AccessFs::from_write(ABI::V1))) {
        return Support::Unavailable(
            "the kernel has no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK and \"landlock\" in its lsm= list)"
                .to_string(),
        );
    }
    Support::Available {
        net: hard(&|r| r.handle_access(AccessNet::from_all(ABI::V4))),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn probe() -> Support {
    Support::Unavailable("Landlock is a Linux feature".to_string())
}

/// Restricts the calling process (and what it execs) to `policy`. Folders the policy makes
/// are made first. An error means nothing could be enforced where it had to be, or a grant
/// could not be read.
#[cfg(target_os = "linux")]
pub fn confine(policy: &Policy) -> Result<Confinement, String> {
    use landlock::{
        AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, NetPort, PathBeneath, PathFd,
        Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
    };
    for dir in policy.mkdir.iter().chain(&policy.tmp) {
        make_dir(dir)?;
    }
    if pretended() {
        return Ok(Confinement {
            enforced: false,
            partial: false,
            abi: None,
        });
    }
    let abi = ABI::V8;
    let fail = |e: landlock::RulesetError| format!("cannot build the Landlock ruleset: {e}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_write(abi))
        .map_err(fail)?
        .scope(Scope::Signal)
        .map_err(fail)?;
    if !policy.net_ports.is_empty() {
        ruleset = ruleset.handle_access(AccessNet::ConnectTcp).map_err(fail)?;
    }
    let mut created = ruleset.create().map_err(fail)?;
    for path in policy.writable() {
        let fd = PathFd::new(path)
            .map_err(|e| format!("cannot open {} for the sandbox: {e}", path.display()))?;
        // Only the handled (write) rights may be granted; a file takes the file ones.
        let rights = if path.is_dir() {
            AccessFs::from_write(abi)
        } else {
            AccessFs::from_write(abi) & AccessFs::from_file(abi)
        };
        created = created
            .add_rule(PathBeneath::new(fd, rights))
            .map_err(fail)?;
    }
    for port in &policy.net_ports {
        created = created
            .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
            .map_err(fail)?;
    }
    let status = created.restrict_self().map_err(fail)?;
    let abi = match status.landlock {
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => Some(kernel_abi.unwrap_or(effective_abi as i32)),
        _ => None,
    };
    Ok(Confinement {
        enforced: status.ruleset != RulesetStatus::NotEnforced,
        partial: status.ruleset == RulesetStatus::PartiallyEnforced,
        abi,
    })
}

#[cfg(not(target_os = "linux"))]
pub fn confine(policy: &Policy) -> Result<Confinement, String> {
    for dir in policy.mkdir.iter().chain(&policy.tmp) {
        make_dir(dir)?;
    }
    Ok(Confinement {
        enforced: false,
        partial: false,
        abi: None,
    })
}

/// Makes a folder of the policy (private to the user when new).
fn make_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot make {} for the sandbox: {e}", dir.display()))
}

/// The warning a front end keeps showing while the sandbox is not confining agents: none
/// when it is (or when the human turned it off on purpose, which `agents` still reports).
pub fn standing_warning(config: &Config, support: &Support) -> Option<String> {
    let why = match support {
        Support::Available { .. } => return None,
        Support::Unavailable(why) => why,
    };
    match config.agents.sandbox {
        SandboxMode::Enforce => Some(format!(
            "sandbox: no agent is started: {why}, and [agents] sandbox = \"enforce\" — run on a kernel with Landlock, or set sandbox = \"best_effort\" in .overlord/config.toml to run agents unconfined"
        )),
        SandboxMode::BestEffort => Some(format!(
            "sandbox: agents run unconfined: {why} ([agents] sandbox = \"best_effort\"); they can write .overlord/, main and the tags"
        )),
        SandboxMode::Off => None,
    }
}
