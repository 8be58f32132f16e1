//! The rules that answer an ACP agent's permission requests (`[adapters.<name>.permissions]`):
//! a tool kind (`read`, `edit`, `delete`, `move`, `search`, `execute`, `think`, `fetch`,
//! `switch_mode`, `other`, or `*`), optionally followed by a path glob over the repo-relative
//! files the request names, mapped to `allow`, `deny` or `ask`. Pure: the client
//! (`crate::runtime::acp::client`) resolves the paths and applies the decision.
//!
//! Which rule applies: a path outside the worktree is always rejected (no rule can allow it);
//! else of the rules that match, the most specific (a named kind over `*`, a glob over none,
//! a longer glob over a shorter), the strictest on a tie (`deny` over `ask` over `allow`);
//! with none, the defaults: reading, searching, thinking and edits of files inside the
//! worktree are allowed, execution, fetching and anything else asked.

use std::fmt;

/// What a rule says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tool kinds of the protocol (v1).
pub const KINDS: [&str; 10] = [
    "read",
    "edit",
    "delete",
    "move",
    "search",
    "execute",
    "think",
    "fetch",
    "switch_mode",
    "other",
];

/// One rule: `<kind> [<glob>] = <decision>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub kind: String,
    pub glob: Option<String>,
    pub decision: Decision,
}

impl Rule {
    /// Parses `key = value` of `[adapters.<name>.permissions]`; the error says what is wrong.
    pub fn parse(key: &str, value: &str) -> Result<Rule, String> {
        let mut parts = key.split_whitespace();
        let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
        let glob = parts.next().map(str::to_string);
        if parts.next().is_some() {
            return Err(format!(
                "\"{key}\": a rule is a tool kind and at most one path glob"
            ));
        }
        if kind != "*" && !KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "\"{key}\": unknown tool kind '{kind}' (kinds: *, {})",
                KINDS.join(", ")
            ));
        }
        let decision = match value.trim().to_ascii_lowercase().as_str() {
            "allow" => Decision::Allow,
            "ask" => Decision::Ask,
            "deny" | "reject" => Decision::Deny,
            other => {
                return Err(format!(
                    "\"{key}\" = \"{other}\": a decision is allow, ask or deny"
                ))
            }
        };
        Ok(Rule {
            kind,
            glob,
            decision,
        })
    }

    /// The argument the client takes it back from (`--permission`).
    pub fn to_arg(&self) -> String {
        match &self.glob {
            Some(g) => format!("{} {g}={}", self.kind, self.decision),
            None => format!("{}={}", self.kind, self.decision),
        }
    }

    /// Parses what [`Rule::to_arg`] wrote.
    pub fn from_arg(arg: &str) -> Result<Rule, String> {
        let (key, value) = arg
            .rsplit_once('=')
            .ok_or_else(|| format!("\"{arg}\": a rule is <kind> [<glob>]=<decision>"))?;
        Rule::parse(key, value)
    }

    /// How specific it is, when it matches (see the module's doc).
    fn matches(&self, kind: &str, files: &[String]) -> Option<(u8, usize)> {
        if self.kind != "*" && self.kind != kind {
            return None;
        }
        let mut score = (u8::from(self.kind != "*") * 2, 0);
        if let Some(g) = &self.glob {
            if files.is_empty() || !files.iter().all(|f| glob_match(g, f)) {
                return None;
            }
            score = (score.0 + 1, g.len());
        }
        Some(score)
    }
}

/// What the default is for a kind, inside the worktree.
pub fn default_decision(kind: &str) -> Decision {
    match kind {
        "read" | "search" | "think" | "edit" | "delete" | "move" => Decision::Allow,
        _ => Decision::Ask,
    }
}

/// The decision for a request of `kind` naming `files` (repo-relative), with why.
/// `outside`: a file it names lies outside the worktree.
pub fn decide(rules: &[Rule], kind: &str, files: &[String], outside: bool) -> (Decision, String) {
    if outside {
        return (Decision::Deny, "a path outside the worktree".into());
    }
    let best = rules
        .iter()
        .filter_map(|r| r.matches(kind, files).map(|s| (s, r)))
        .max_by(|(a, ra), (b, rb)| a.cmp(b).then(ra.decision.cmp(&rb.decision)));
    match best {
        Some((_, r)) => (r.decision, format!("rule \"{}\"", r.to_arg())),
        None => (default_decision(kind), "the default".into()),
    }
}

/// `*` (any characters but `/`), `**` (any, `/` too; `**/` also none), `?` (one character
/// but `/`); anything else literally.
pub fn glob_match(glob: &str, path: &str) -> bool {
    fn go(g: &[char], p: &[char]) -> bool {
        match g.first() {
            None => p.is_empty(),
            Some('*') if g.get(1) == Some(&'*') => {
                let rest = if g.get(2) == Some(&'/') {
                    &g[3..]
                } else {
                    &g[2..]
                };
                (0..=p.len()).any(|i| go(rest, &p[i..]))
                    || (g.get(2) == Some(&'/') && go(&g[2..], p))
            }
            Some('*') => {
                let rest = &g[1..];
                for i in 0..=p.len() {
                    if go(rest, &p[i..]) {
                        return true;
                    }
                    if p.get(i) == Some(&'/') {
                        break;
                    }
                }
                false
            }
            Some('?') => p.first().is_some_and(|c| *c != '/') && go(&g[1..], &p[1..]),
            Some(c) => p.first() == Some(c) && go(&g[1..], &p[1..]),
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let p: Vec<char> = path.chars().collect();
    go(&g, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(&str, &str)]) -> Vec<Rule> {
        list.iter()
            .map(|(k, v)| Rule::parse(k, v).unwrap())
            .collect()
    }

    #[test]
    fn globs() {
        assert!(glob_match("src/**", "src/a/b.rs"));
        assert!(glob_match("src/*.rs", "src/a.rs"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
        assert!(glob_match("**/*.md", "README.md"));
        assert!(glob_match("**/*.md", "docs/x/a.md"));
        assert!(glob_match("a?.txt", "ab.txt"));
        assert!(!glob_match("docs/**", "src/docs/a"));
    }

    #[test]
    fn defaults_rules_and_precedence() {
        let none: Vec<Rule> = Vec::new();
        let f = |s: &str| vec![s.to_string()];
        assert_eq!(decide(&none, "edit", &f("a.rs"), false).0, Decision::Allow);
        assert_eq!(decide(&none, "execute", &[], false).0, Decision::Ask);
        assert_eq!(decide(&none, "fetch", &[], false).0, Decision::Ask);
        assert_eq!(decide(&none, "edit", &f("a.rs"), true).0, Decision::Deny);
        let r = rules(&[
            ("*", "deny"),
            ("edit", "allow"),
            ("edit docs/**", "ask"),
            ("edit docs/secret/**", "deny"),
            ("execute", "allow"),
        ]);
        assert_eq!(decide(&r, "edit", &f("src/a.rs"), false).0, Decision::Allow);
        assert_eq!(decide(&r, "edit", &f("docs/a.md"), false).0, Decision::Ask);
        assert_eq!(
            decide(&r, "edit", &f("docs/secret/k"), false).0,
            Decision::Deny
        );
        assert_eq!(decide(&r, "fetch", &[], false).0, Decision::Deny);
        assert_eq!(decide(&r, "execute", &[], false).0, Decision::Allow);
        // Outside the worktree: no rule allows it.
        assert_eq!(decide(&r, "edit", &f("x"), true).0, Decision::Deny);
        // A tie: the strictest.
        let t = rules(&[("edit a/**", "allow"), ("edit b/**", "deny")]);
        assert_eq!(
            decide(&t, "edit", &["a/x".into(), "b/x".into()], false).0,
            Decision::Allow,
            "no glob matches both files: the default"
        );
        let (d, why) = decide(&t, "edit", &f("b/x"), false);
        assert_eq!(
            (d, why.as_str()),
            (Decision::Deny, "rule \"edit b/**=deny\"")
        );
    }

    #[test]
    fn bad_rules_say_why_and_args_round_trip() {
        assert!(Rule::parse("exec", "allow")
            .unwrap_err()
            .contains("unknown tool kind"));
        assert!(Rule::parse("edit", "maybe")
            .unwrap_err()
            .contains("allow, ask or deny"));
        assert!(Rule::parse("edit a b", "allow").is_err());
        let r = Rule::parse("edit src/**", "deny").unwrap();
        assert_eq!(Rule::from_arg(&r.to_arg()).unwrap(), r);
    }
}
