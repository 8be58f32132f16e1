//! The roles that do the work and the chain a concern escalates along.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Who does a piece of work. Seed 003's names (`architect`, `coder`) are accepted as aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ProjectManager,
    Designer,
    Implementer,
    Tester,
    Debugger,
    Reviewer,
    Human,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::ProjectManager,
        Role::Designer,
        Role::Implementer,
        Role::Tester,
        Role::Debugger,
        Role::Reviewer,
        Role::Human,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProjectManager => "pm",
            Role::Designer => "designer",
            Role::Implementer => "implementer",
            Role::Tester => "tester",
            Role::Debugger => "debugger",
            Role::Reviewer => "reviewer",
            Role::Human => "human",
        }
    }

    /// The title used in commit trailers and documents (`Implementer`).
    pub fn title(self) -> &'static str {
        match self {
            Role::ProjectManager => "ProjectManager",
            Role::Designer => "Designer",
            Role::Implementer => "Implementer",
            Role::Tester => "Tester",
            Role::Debugger => "Debugger",
            Role::Reviewer => "Reviewer",
            Role::Human => "Human",
        }
    }

    /// Where a concern raised by this role goes first (seed 001's hierarchical concern flow).
    pub fn escalates_to(self) -> Role {
        match self {
            Role::Implementer | Role::Debugger => Role::Designer,
            Role::Tester | Role::Designer | Role::Reviewer => Role::ProjectManager,
            Role::ProjectManager | Role::Human => Role::Human,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let role = match key.as_str() {
            "pm" | "projectmanager" | "manager" => Role::ProjectManager,
            "designer" | "architect" => Role::Designer,
            "implementer" | "coder" | "developer" => Role::Implementer,
            "tester" | "qa" => Role::Tester,
            "debugger" => Role::Debugger,
            "reviewer" => Role::Reviewer,
            "human" | "humanreviewer" | "governor" => Role::Human,
            _ => {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                return Err(match crate::protocol::suggest(s, names.iter().copied()) {
                    Some(best) => format!("unknown role '{s}' — did you mean {best}?"),
                    None => format!("unknown role '{s}' (roles: {})", names.join(", ")),
                });
            }
        };
        Ok(role)
    }
}
