//! Who is really speaking on the socket: identity from the connection, not the payload.
//!
//! The owner reads every socket peer's credentials (`SO_PEERCRED`: pid, uid) and decides who
//! it is, whatever the request claims:
//! - a peer of another uid is refused outright;
//! - a process that descends from an agent's CLI process (recorded with its start time when
//!   the owner started it, `Agent::process`) *is that agent*, with the agent's registered
//!   role — whatever its environment or its request says (`env -u OVERLORD_AGENT`, a raw
//!   request claiming the console, a `setsid` grandchild); the permission table then decides;
//! - any other process the owner started (directly or not: a run still being recorded, a
//!   gate), and any process marked `no_new_privs` when the owner is not (the agents' exec
//!   wrapper sets it for good: a daemon that left an agent's tree keeps it), is an agent too,
//!   `unattributed-process`;
//! - the owner's own process speaks as it says (the console, the in-process Discord bridge
//!   and the supervisor live there);
//! - anyone else may speak as the CLI user or as an agent, never as the console or Overlord
//!   itself, and as Discord only with the bridge secret the owner wrote at start.
//!
//! When no owner runs, the CLI that opens the store itself applies the same ancestry check to
//! itself against the agents recorded in the store (`local`).

use crate::protocol::model::Role;
use crate::protocol::{Origin, State};
use crate::runtime::procs::{self, Proc};

/// The name an agent process gets when the owner started it but no agent record claims it.
pub const UNATTRIBUTED: &str = "unattributed-process";

/// A socket peer as the kernel describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub pid: u32,
    pub uid: u32,
}

/// What `/proc` says about a peer: its lineage (itself first, then its ancestors) and whether
/// it runs with `no_new_privs`.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    pub chain: Vec<Proc>,
    pub no_new_privs: bool,
}

impl Lineage {
    pub fn of(pid: u32) -> Lineage {
        Lineage {
            chain: procs::lineage(pid),
            no_new_privs: procs::no_new_privs(pid).unwrap_or(false),
        }
    }
}

/// Who a request speaks for, and why it is refused when it is (the command is still audited,
/// as rejected, under the origin found).
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub origin: Origin,
    pub refusal: Option<String>,
}

impl Identity {
    /// A process the owner started that no agent record claims (yet): the supervisor records a
    /// CLI process right after it starts it, so a request that races the record is asked again.
    pub fn unattributed(&self) -> bool {
        matches!(&self.origin, Origin::Agent { agent, .. } if agent == UNATTRIBUTED)
    }
}

/// What the owner knows about itself when it judges a peer.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub pid: u32,
    pub uid: u32,
    /// The owner itself runs with `no_new_privs` (inside someone else's sandbox): then the
    /// flag tells nothing about a peer.
    pub no_new_privs: bool,
}

impl Owner {
    pub fn this_process() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            uid: rustix::process::getuid().as_raw(),
            no_new_privs: procs::no_new_privs(pid).unwrap_or(true),
        }
    }
}

/// The agent whose recorded CLI process is in `chain` (a process and its ancestors, nearest
/// first), with its registered role. A recorded pid matches only with its start time, so a
/// reused pid is not mistaken for the agent.
pub fn agent_in_lineage(state: &State, chain: &[Proc]) -> Option<(String, Role)> {
    chain.iter().find_map(|p| {
        state.agents.values().find_map(|a| {
            let rec = a.process.as_ref()?;
            (rec.pid == p.pid && rec.start_ticks == p.start_ticks).then(|| (a.id.clone(), a.role))
        })
    })
}

fn agent(agent: String, role: Role) -> Origin {
    Origin::Agent {
        agent,
        role: Some(role),
    }
}

/// Decides who a socket peer is. `lineage` is what `/proc` says of the peer (`Lineage::of`),
/// `bridge` whether the request carried the bridge secret.
pub fn judge(
    state: &State,
    owner: Owner,
    peer: Peer,
    lineage: &Lineage,
    claimed: Origin,
    bridge: bool,
) -> Identity {
    let refused = |origin: Origin, why: String| Identity {
        origin,
        refusal: Some(why),
    };
    if peer.uid != owner.uid {
        let why = format!(
            "the socket peer runs as uid {} but this overlord-tui runs as uid {}: refused",
            peer.uid, owner.uid
        );
        return refused(claimed, why);
    }
    if peer.pid == owner.pid {
        return Identity {
            origin: claimed,
            refusal: None,
        };
    }
    if let Some((id, role)) = agent_in_lineage(state, &lineage.chain) {
        return as_agent(agent(id, role));
    }
    let started_by_owner = lineage.chain.iter().skip(1).any(|p| p.pid == owner.pid);
    let confined = lineage.no_new_privs && !owner.no_new_privs;
    if started_by_owner || confined {
        return as_agent(agent(UNATTRIBUTED.to_string(), Role::Implementer));
    }
    match &claimed {
        Origin::Cli { .. } | Origin::Agent { .. } => Identity {
            origin: claimed,
            refusal: None,
        },
        // The separate bridge speaks for Discord members and for its own bookkeeping (linking
        // a posted message to its concern), as Overlord.
        Origin::Discord { .. } | Origin::System if bridge => Identity {
            origin: claimed,
            refusal: None,
        },
        Origin::Discord { .. } => {
            let why = format!(
                "a socket client may speak as {} only with the Discord bridge's secret (.overlord/bridge.secret): refused",
                claimed.actor()
            );
            refused(cli_user(), why)
        }
        Origin::Console { .. } | Origin::System => {
            let why = format!(
                "a socket client cannot speak as {}: the console and Overlord itself live in the owner's process (pid {}): refused",
                claimed.actor(),
                owner.pid
            );
            refused(cli_user(), why)
        }
    }
}

/// An agent's process speaks as that agent, with its registered role, whatever it claimed
/// (the human, the console, Overlord, another agent or another role): the permission table
/// then decides, so what only a human may do is refused and audited under the agent's name,
/// and what an agent may do (raise a concern) is not lost.
fn as_agent(real: Origin) -> Identity {
    Identity {
        origin: real,
        refusal: None,
    }
}

/// The CLI user of this process (the account's name).
pub fn cli_user() -> Origin {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "human".into());
    Origin::Cli { user }
}

/// For a CLI that opened the store itself (no owner runs): the same ancestry check against the
/// agents recorded in the store, applied to this process.
pub fn local(state: &State, claimed: Origin) -> Identity {
    let chain = procs::lineage(std::process::id());
    match agent_in_lineage(state, &chain) {
        Some((id, role)) => as_agent(agent(id, role)),
        None => Identity {
            origin: claimed,
            refusal: None,
        },
    }
}

/// The owner's decision on a socket peer, reading the peer's lineage from `/proc`.
pub fn of_peer(state: &State, peer: Peer, claimed: Origin, bridge: bool) -> Identity {
    judge(
        state,
        Owner::this_process(),
        peer,
        &Lineage::of(peer.pid),
        claimed,
        bridge,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::{Agent, AgentProcess};

    const OWNER: Owner = Owner {
        pid: 100,
        uid: 1000,
        no_new_privs: false,
    };

    fn p(pid: u32, ppid: u32, start_ticks: u64) -> Proc {
        Proc {
            pid,
            state: 'S',
            ppid,
            pgrp: pid,
            session: pid,
            start_ticks,
        }
    }

    fn state_with_agent(pid: u32, start_ticks: u64) -> State {
        let mut state = State::default();
        let mut a = Agent::new("pm-1", Role::ProjectManager, "command", "t");
        a.process = Some(AgentProcess {
            pid,
            start_ticks,
            task: None,
            worktree: None,
        });
        state.agents.insert(a.id.clone(), a);
        state
    }

    fn console() -> Origin {
        Origin::Console { user: "a".into() }
    }

    fn judge_chain(state: &State, chain: Vec<Proc>, nnp: bool, claimed: Origin) -> Identity {
        let peer = Peer {
            pid: chain[0].pid,
            uid: 1000,
        };
        let lineage = Lineage {
            chain,
            no_new_privs: nnp,
        };
        judge(state, OWNER, peer, &lineage, claimed, false)
    }

    #[test]
    fn the_agent_is_found_up_the_chain_with_its_registered_role_and_start_time() {
        let state = state_with_agent(50, 7);
        let chain = vec![p(300, 200, 9), p(200, 50, 8), p(50, 1, 7)];
        let who = judge_chain(&state, chain.clone(), false, console());
        assert_eq!(
            who.origin,
            Origin::Agent {
                agent: "pm-1".into(),
                role: Some(Role::ProjectManager)
            }
        );
        assert_eq!(who.refusal, None);
        // The same pid with another start time is a reused pid, not the agent: a console
        // claim from it is then refused as a claim.
        let other = state_with_agent(50, 6);
        let who = judge_chain(&other, chain, false, console());
        assert!(who.refusal.unwrap().contains("cannot speak as console:a"));
    }

    #[test]
    fn what_the_owner_started_or_confined_is_never_the_human() {
        let state = State::default();
        let human = Origin::Cli { user: "a".into() };
        let under_owner = vec![p(300, 200, 1), p(200, OWNER.pid, 1), p(OWNER.pid, 1, 1)];
        let who = judge_chain(&state, under_owner, false, human.clone());
        assert_eq!(who.origin.actor(), format!("agent:{UNATTRIBUTED}"));
        let daemon = vec![p(300, 1, 1)];
        let who = judge_chain(&state, daemon.clone(), true, human.clone());
        assert_eq!(who.origin.actor(), format!("agent:{UNATTRIBUTED}"));
        // An owner that itself runs with no_new_privs learns nothing from the flag.
        let lineage = Lineage {
            chain: daemon,
            no_new_privs: true,
        };
        let sandboxed_owner = Owner {
            no_new_privs: true,
            ..OWNER
        };
        let peer = Peer {
            pid: 300,
            uid: 1000,
        };
        let who = judge(
            &state,
            sandboxed_owner,
            peer,
            &lineage,
            human.clone(),
            false,
        );
        assert_eq!(who.origin, human);
    }

    #[test]
    fn claims_outsiders_may_not_make() {
        let state = State::default();
        let outsider = vec![p(300, 1, 1)];
        for claimed in [console(), Origin::System] {
            let who = judge_chain(&state, outsider.clone(), false, claimed);
            assert!(who.refusal.is_some());
            assert!(matches!(who.origin, Origin::Cli { .. }));
        }
        let discord = Origin::Discord {
            user_id: "1".into(),
            name: "n".into(),
            roles: vec![],
        };
        let who = judge_chain(&state, outsider.clone(), false, discord.clone());
        assert!(who.refusal.unwrap().contains("bridge's secret"));
        let peer = Peer {
            pid: 300,
            uid: 1000,
        };
        let lineage = Lineage {
            chain: outsider.clone(),
            no_new_privs: false,
        };
        let who = judge(&state, OWNER, peer, &lineage, discord.clone(), true);
        assert_eq!((who.origin, who.refusal), (discord, None));
        // Another uid is refused whatever it claims; the owner's own process is believed.
        let stranger = Peer { pid: 300, uid: 0 };
        let who = judge(&state, OWNER, stranger, &lineage, console(), false);
        assert!(who.refusal.unwrap().contains("uid 0"));
        let own = Peer {
            pid: OWNER.pid,
            uid: OWNER.uid,
        };
        let who = judge(&state, OWNER, own, &lineage, console(), false);
        assert_eq!((who.origin, who.refusal), (console(), None));
    }
}
