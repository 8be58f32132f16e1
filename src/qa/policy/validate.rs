//! From the YAML tree to the policy: which keys go where (with a pointer to the right place
//! for a misplaced key), each section read into its struct, and every problem reported at
//! its key or value.

use std::collections::HashMap;

use super::error::PolicyError;
use super::model::{
    AutoMergeIf, GateSettings, NotMeasured, Policy, PromotionPolicy, RequireHumanIf,
};
use super::yaml::{describe, Kind, Node, Pos};

const TOP: &[&str] = &[
    "auto_merge_if",
    "require_human_if",
    "promotion_policy",
    "gates",
    "merge_policy",
];
const MERGE: &[&str] = &["auto_merge_if", "require_human_if"];
const AUTO: &[&str] = &[
    "all_tests_passed",
    "coverage_min",
    "reproducibility_min",
    "lint_errors",
    "build_passed",
    "drift_max_percent",
    "no_open_critical_concerns",
    "docs_required",
];
const HUMAN: &[&str] = &["impact", "gate_fail", "phase_promotion"];
const PROMOTION: &[&str] = &["e2e_tests_required", "reproducibility_min", "docs_required"];
const GATES: &[&str] = &["reproducibility_runs", "not_measured", "timeout_secs"];

/// Every place a key can go, to point a misplaced key to where it belongs (`None`: the top).
const PLACES: &[(Option<&str>, &[&str])] = &[
    (None, TOP),
    (Some("merge_policy"), MERGE),
    (Some("auto_merge_if"), AUTO),
    (Some("require_human_if"), HUMAN),
    (Some("promotion_policy"), PROMOTION),
    (Some("gates"), GATES),
];

/// A key's first place, for "given twice" errors.
type Seen = HashMap<&'static str, Pos>;

pub(super) struct Reader<'f> {
    pub(super) file: &'f str,
    /// Just past the last character: the parser may place an error at the end of the stream a
    /// line further; it is reported here instead.
    pub(super) end: Pos,
    pub(super) errors: Vec<PolicyError>,
}

impl Reader<'_> {
    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        let pos = if (pos.line, pos.column) > (self.end.line, self.end.column) {
            self.end
        } else {
            pos
        };
        self.errors.push(PolicyError {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    pub(super) fn policy(&mut self, root: Option<&Node>) -> Policy {
        let mut policy = Policy::default();
        let Some(root) = root.filter(|r| !r.is_null()) else {
            return policy;
        };
        if !matches!(root.kind, Kind::Map(_)) {
            self.error(
                root.pos,
                format!(
                    "the policy must be a mapping of sections (auto_merge_if, require_human_if, \
                     promotion_policy, gates), found {}",
                    describe(root)
                ),
            );
            return policy;
        }
        // A section may be under `merge_policy` or at the top level, not both: the one given
        // later in the file is the duplicate.
        let pairs = self.pairs("the policy", root, false);
        let mut sections = Vec::new();
        for (key, pos, value) in self.known(None, pairs, TOP, &mut Seen::new()) {
            if key != "merge_policy" {
                sections.push((key, pos, value));
            } else if !value.is_null() {
                let pairs = self.pairs("merge_policy", value, false);
                sections.extend(self.known(Some("merge_policy"), pairs, MERGE, &mut Seen::new()));
            }
        }
        sections.sort_by_key(|(_, pos, _)| (pos.line, pos.column));
        let mut seen = Seen::new();
        for (key, pos, value) in sections {
            if let Some(first) = seen.get(key) {
                self.error(pos, given_twice(key, *first));
                continue;
            }
            seen.insert(key, pos);
            if !value.is_null() {
                self.section(&mut policy, key, value);
            }
        }
        policy
    }

    fn section(&mut self, policy: &mut Policy, name: &str, node: &Node) {
        match name {
            "auto_merge_if" => policy.auto_merge_if = self.auto_merge_if(node),
            "require_human_if" => policy.require_human_if = self.require_human_if(node),
            "promotion_policy" => policy.promotion = self.promotion(node),
            "gates" => policy.gates = self.gates(node),
            _ => {}
        }
    }

    fn auto_merge_if(&mut self, node: &Node) -> AutoMergeIf {
        let mut a = AutoMergeIf::unset();
        let pairs = self.pairs("auto_merge_if", node, true);
        for (key, _, v) in self.known(Some("auto_merge_if"), pairs, AUTO, &mut Seen::new()) {
            if v.is_null() {
                continue;
            }
            let path = format!("auto_merge_if.{key}");
            match key {
                "all_tests_passed" => a.all_tests_passed = self.boolean(&path, v),
                "coverage_min" => a.coverage_min = self.percent(&path, v),
                "reproducibility_min" => a.reproducibility_min = self.percent(&path, v),
                "lint_errors" => {
                    a.lint_errors = self
                        .whole(&path, v, 0, i64::MAX, "a whole number (0 or more)")
                        .and_then(|n| u64::try_from(n).ok());
                }
                "build_passed" => a.build_passed = self.boolean(&path, v),
                "drift_max_percent" => a.drift_max_percent = self.percent(&path, v),
                "no_open_critical_concerns" => {
                    if let Some(b) = self.boolean(&path, v) {
                        a.no_open_critical_concerns = b;
                    }
                }
                "docs_required" => {
                    if let Some(p) = self.paths(&path, v) {
                        a.docs_required = p;
                    }
                }
                _ => {}
            }
        }
        a
    }

    fn require_human_if(&mut self, node: &Node) -> RequireHumanIf {
        let mut r = RequireHumanIf::unset();
        let pairs = self.pairs("require_human_if", node, true);
        for (key, _, v) in self.known(Some("require_human_if"), pairs, HUMAN, &mut Seen::new()) {
            if v.is_null() {
                continue;
            }
            let path = format!("require_human_if.{key}");
            match key {
                "impact" => r.impact = self.impact(&path, v),
                "gate_fail" => r.gate_fail = self.boolean(&path, v).unwrap_or(r.gate_fail),
                "phase_promotion" => {
                    r.phase_promotion = self.boolean(&path, v).unwrap_or(r.phase_promotion);
                }
                _ => {}
            }
        }
        r
    }

    fn promotion(&mut self, node: &Node) -> PromotionPolicy {
        let mut p = PromotionPolicy::unset();
        let pairs = self.pairs("promotion_policy", node, false);
        for (key, _, v) in self.known(Some("promotion_policy"), pairs, PROMOTION, &mut Seen::new())
        {
            if v.is_null() {
                continue;
            }
            let path = format!("promotion_policy.{key}");
            match key {
                "e2e_tests_required" => {
                    p.e2e_tests_required = self.boolean(&path, v).unwrap_or(p.e2e_tests_required);
                }
                "reproducibility_min" => p.reproducibility_min = self.percent(&path, v),
                "docs_required" => {
                    if let Some(d) = self.paths(&path, v) {
                        p.docs_required = d;
                    }
                }
                _ => {}
            }
        }
        p
    }

    fn gates(&mut self, node: &Node) -> GateSettings {
        let mut g = GateSettings::default();
        let pairs = self.pairs("gates", node, false);
        for (key, _, v) in self.known(Some("gates"), pairs, GATES, &mut Seen::new()) {
            if v.is_null() {
                continue;
            }
            let path = format!("gates.{key}");
            match key {
                "reproducibility_runs" => {
                    if let Some(n) = self.whole(&path, v, 1, 20, "a whole number from 1 to 20") {
                        g.reproducibility_runs = n as u32;
                    }
                }
                "not_measured" => {
                    if let Some(n) =
                        self.choice::<NotMeasured>(&path, v, "block, require_human or ignore")
                    {
                        g.not_measured = n;
                    }
                }
                "timeout_secs" => {
                    g.timeout_secs = self
                        .whole(
                            &path,
                            v,
                            1,
                            i64::MAX,
                            "a whole number of seconds (1 or more)",
                        )
                        .and_then(|n| u64::try_from(n).ok());
                }
                _ => {}
            }
        }
        g
    }

    /// The `key: value` pairs of a mapping or, with `list_form`, of a list of one-pair
    /// mappings (seed 001: `- coverage_min: 80`).
    fn pairs<'n>(
        &mut self,
        name: &str,
        node: &'n Node,
        list_form: bool,
    ) -> Vec<(&'n Node, &'n Node)> {
        match &node.kind {
            Kind::Map(entries) => entries.iter().map(|(k, v)| (k, v)).collect(),
            Kind::Seq(items) if list_form => {
                let mut pairs = Vec::new();
                for item in items {
                    match &item.kind {
                        Kind::Map(entries) if !entries.is_empty() => {
                            for (i, (k, v)) in entries.iter().enumerate() {
                                if i > 0 {
                                    let key = k.key_text().unwrap_or("this");
                                    self.error(
                                        k.pos,
                                        format!(
                                            "{name}: one condition per list entry; give '{key}' \
                                             an entry of its own (- {key}: …)"
                                        ),
                                    );
                                }
                                pairs.push((k, v));
                            }
                        }
                        _ => self.error(
                            item.pos,
                            format!(
                                "{name}: expected a `- condition: value` entry, found {}",
                                describe(item)
                            ),
                        ),
                    }
                }
                pairs
            }
            _ => {
                let expected = if list_form {
                    "a mapping (`condition: value` lines) or a list of `- condition: value` \
                     entries"
                } else {
                    "a mapping (`key: value` lines)"
                };
                self.error(
                    node.pos,
                    format!("{name}: expected {expected}, found {}", describe(node)),
                );
                Vec::new()
            }
        }
    }

    /// Keeps the pairs whose key is one of `names` and not given before (with the key's place),
    /// reporting the others.
    fn known<'n>(
        &mut self,
        place: Option<&str>,
        pairs: Vec<(&'n Node, &'n Node)>,
        names: &[&'static str],
        seen: &mut Seen,
    ) -> Vec<(&'static str, Pos, &'n Node)> {
        let mut kept = Vec::new();
        for (k, v) in pairs {
            let Some(text) = k.key_text() else {
                self.error(
                    k.pos,
                    format!("a key must be a name, found {}", describe(k)),
                );
                continue;
            };
            let Some(&name) = names.iter().find(|n| **n == text) else {
                let message = unknown_key(place, text, names);
                self.error(k.pos, message);
                continue;
            };
            if let Some(first) = seen.get(name) {
                self.error(k.pos, given_twice(name, *first));
                continue;
            }
            seen.insert(name, k.pos);
            kept.push((name, k.pos, v));
        }
        kept
    }
}

fn given_twice(key: &str, first: Pos) -> String {
    format!(
        "'{key}' is given twice (first at line {}, column {})",
        first.line, first.column
    )
}

/// "unknown key", pointing to where the key belongs when it is a key of another place, else
/// suggesting the closest name.
fn unknown_key(place: Option<&str>, key: &str, names: &[&str]) -> String {
    let here = match place {
        Some(p) => format!("in {p}"),
        None => "at the top level".to_string(),
    };
    let homes: Vec<String> = PLACES
        .iter()
        .filter(|(p, keys)| *p != place && keys.contains(&key))
        .map(|(p, _)| match p {
            Some(p) => format!("under {p}"),
            None => "at the top level".to_string(),
        })
        .collect();
    if !homes.is_empty() {
        return format!("'{key}' does not go {here}; it goes {}", homes.join(" or "));
    }
    match crate::protocol::suggest(key, names.iter().copied()) {
        Some(best) => format!("unknown key '{key}' {here} — did you mean {best}?"),
        None => format!(
            "unknown key '{key}' {here} (expected one of: {})",
            names.join(", ")
        ),
    }
}
