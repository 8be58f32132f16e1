//! The QA policy file, `.overlord/QA_POLICY.yaml`: its typed model, loading with defaults,
//! and validation that reports every problem at its file, line and column.
//!
//! Two shapes are accepted and give the same [`Policy`]:
//!
//! * seed 000: `auto_merge_if`, `require_human_if` and `promotion_policy` as mappings at the
//!   top level (the default file, [`crate::config::DEFAULT_QA_POLICY`]);
//! * seed 001: `auto_merge_if` and `require_human_if` as lists of one-condition entries
//!   (`- coverage_min: 80`), possibly under a `merge_policy:` key.
//!
//! What is absent:
//!
//! * an empty file (or one holding only comments, or `~`) is YAML null: every section is
//!   absent and the policy is [`Policy::default`];
//! * a section that is absent (or null) takes its defaults, the values of the default file;
//! * in a section that is present, a condition left out is off: a threshold is `None`
//!   (measured and reported, but it does not block) and a flag is `false`, except
//!   `auto_merge_if.no_open_critical_concerns`, which stays `true` unless set to `false`, and
//!   the `gates` settings, which each keep their own default;
//! * a key given with no value (`coverage_min:` or `coverage_min: ~`) counts as left out.
//!
//! A malformed file is refused: [`parse`] returns every problem it finds (unknown keys with a
//! suggestion, wrong types, values out of range, keys given twice), each located at the
//! offending key or value. A YAML syntax error stops the reading where the parser stopped, so
//! it is reported alone.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use saphyr::{Scalar, ScalarOwned};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};
use serde::{Deserialize, Serialize};

use crate::protocol::model::Impact;

/// The policy's file name inside `.overlord/`.
pub const FILE_NAME: &str = "QA_POLICY.yaml";

// ---------------------------------------------------------------------------------------------
// The model

/// The whole policy. [`Policy::default`] is the default file, `config/QA_POLICY.yaml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// When a task's branch merges without a human.
    pub auto_merge_if: AutoMergeIf,
    /// When a merge waits for the human whatever the gates say.
    pub require_human_if: RequireHumanIf,
    /// What a phase promotion needs (`promotion_policy:` in the file).
    pub promotion: PromotionPolicy,
    /// How the gates run (`gates:`).
    pub gates: GateSettings,
}

/// `auto_merge_if`: every condition given must hold for a branch to merge on its own. A
/// threshold that is `None` was left out: its gate is measured and reported but does not block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoMergeIf {
    /// Every test passes (`Some(true)`).
    pub all_tests_passed: Option<bool>,
    /// Lowest line coverage, in percent (0 to 100).
    pub coverage_min: Option<f64>,
    /// Lowest share of the repeated test runs that agree, in percent (0 to 100).
    pub reproducibility_min: Option<f64>,
    /// Most lint errors allowed.
    pub lint_errors: Option<u64>,
    /// The build succeeds (`Some(true)`).
    pub build_passed: Option<bool>,
    /// Most drift from the plan allowed, in percent (0 to 100).
    pub drift_max_percent: Option<f64>,
    /// No critical concern is open against the task.
    pub no_open_critical_concerns: bool,
    /// Files that must exist in the merged tree, relative to the repository root.
    pub docs_required: Vec<String>,
}

/// `require_human_if`: any condition that holds sends the merge to the human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequireHumanIf {
    /// The lowest task impact that needs the human (`high`: only high-impact tasks); `None`:
    /// impact alone never does.
    pub impact: Option<Impact>,
    /// A failed gate needs the human (rather than only blocking the merge).
    pub gate_fail: bool,
    /// A phase promotion needs the human.
    pub phase_promotion: bool,
}

/// `promotion_policy`: what moving a phase forward needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionPolicy {
    /// The end-to-end tests must have run and passed.
    pub e2e_tests_required: bool,
    /// Lowest reproducibility, in percent (0 to 100); `None`: does not block.
    pub reproducibility_min: Option<f64>,
    /// Files that must exist, relative to the repository root.
    pub docs_required: Vec<String>,
}

/// `gates`: how the gates run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSettings {
    /// How many times the test suite runs in all (1 to 20); 1: reproducibility is not measured.
    pub reproducibility_runs: u32,
    /// What a gate that could not be measured does to the decision.
    pub not_measured: NotMeasured,
    /// Seconds before a gate is stopped and counted as failed; `None`: the `[qa]
    /// timeout_secs` of `config.toml`.
    pub timeout_secs: Option<u64>,
}

/// What a gate that could not be measured (no coverage report, no lint tool, ...) does to the
/// decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotMeasured {
    /// The merge is refused.
    Block,
    /// The merge waits for the human.
    RequireHuman,
    /// The gate is reported as not measured and does not count.
    Ignore,
}

impl NotMeasured {
    pub const ALL: [NotMeasured; 3] = [
        NotMeasured::Block,
        NotMeasured::RequireHuman,
        NotMeasured::Ignore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotMeasured::Block => "block",
            NotMeasured::RequireHuman => "require_human",
            NotMeasured::Ignore => "ignore",
        }
    }
}

impl fmt::Display for NotMeasured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotMeasured {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(v) = NotMeasured::ALL.into_iter().find(|v| v.as_str() == s) {
            return Ok(v);
        }
        let names = NotMeasured::ALL.map(NotMeasured::as_str);
        Err(match crate::protocol::suggest(s, names) {
            Some(best) => format!("unknown value '{s}' — did you mean {best}?"),
            None => format!("unknown value '{s}' (expected block, require_human or ignore)"),
        })
    }
}

impl Default for AutoMergeIf {
    fn default() -> Self {
        AutoMergeIf {
            all_tests_passed: Some(true),
            coverage_min: Some(80.0),
            reproducibility_min: Some(95.0),
            lint_errors: Some(0),
            build_passed: Some(true),
            drift_max_percent: Some(2.0),
            no_open_critical_concerns: true,
            docs_required: Vec::new(),
        }
    }
}

impl AutoMergeIf {
    /// A section that is present starts here: every condition off but the concerns check.
    fn unset() -> Self {
        AutoMergeIf {
            all_tests_passed: None,
            coverage_min: None,
            reproducibility_min: None,
            lint_errors: None,
            build_passed: None,
            drift_max_percent: None,
            no_open_critical_concerns: true,
            docs_required: Vec::new(),
        }
    }
}

impl Default for RequireHumanIf {
    fn default() -> Self {
        RequireHumanIf {
            impact: Some(Impact::High),
            gate_fail: true,
            phase_promotion: true,
        }
    }
}

impl RequireHumanIf {
    fn unset() -> Self {
        RequireHumanIf {
            impact: None,
            gate_fail: false,
            phase_promotion: false,
        }
    }
}

impl Default for PromotionPolicy {
    fn default() -> Self {
        PromotionPolicy {
            e2e_tests_required: true,
            reproducibility_min: Some(95.0),
            docs_required: ["PROJECT_OVERVIEW.md", "TEST_RESULTS.md", "QA_REPORT.md"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl PromotionPolicy {
    fn unset() -> Self {
        PromotionPolicy {
            e2e_tests_required: false,
            reproducibility_min: None,
            docs_required: Vec::new(),
        }
    }
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            reproducibility_runs: 3,
            not_measured: NotMeasured::RequireHuman,
            timeout_secs: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and loading

/// A problem with the policy file, located for the user. `line` and `column` are 1-based
/// (the column counts characters); both are 0 when the problem is the whole file (it cannot be
/// read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for PolicyError {}

/// Loads the policy at `path`, naming it by its path in errors. See [`load_as`].
pub fn load(path: &Path) -> Result<(Policy, Option<String>), Vec<PolicyError>> {
    load_as(path, &path.display().to_string())
}

/// Loads the policy at `path`, naming it `shown` in errors. A missing file gives the default
/// policy and a warning to show; a file that cannot be read or is malformed gives every
/// problem found, and the caller should refuse to run.
pub fn load_as(path: &Path, shown: &str) -> Result<(Policy, Option<String>), Vec<PolicyError>> {
    let whole_file = |message: String| {
        vec![PolicyError {
            file: shown.to_string(),
            line: 0,
            column: 0,
            message,
        }]
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let warning = format!("{FILE_NAME} not found at {shown}; using the default policy");
            return Ok((Policy::default(), Some(warning)));
        }
        Err(e) => return Err(whole_file(format!("cannot be read: {e}"))),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let (line, column) = crate::config::line_col(&before, before.len());
            return Err(vec![PolicyError {
                file: shown.to_string(),
                line,
                column,
                message: "the file is not UTF-8 text".into(),
            }]);
        }
    };
    parse(&text, shown).map(|p| (p, None))
}

/// Reads a policy from `text`; `file` names it in the errors. Returns every problem found,
/// sorted by position.
pub fn parse(text: &str, file: &str) -> Result<Policy, Vec<PolicyError>> {
    let (line, column) = crate::config::line_col(text, text.len());
    let mut reader = Reader {
        file,
        end: Pos { line, column },
        errors: Vec::new(),
    };
    let root = match read_tree(text) {
        Ok((root, extra)) => {
            if let Some(p) = extra {
                reader.error(p.pos, p.message);
            }
            root
        }
        Err(p) => {
            reader.error(p.pos, p.message);
            return Err(reader.errors);
        }
    };
    let policy = reader.policy(root.as_ref());
    if reader.errors.is_empty() {
        Ok(policy)
    } else {
        reader.errors.sort_by_key(|e| (e.line, e.column));
        Err(reader.errors)
    }
}

// ---------------------------------------------------------------------------------------------
// The YAML tree, with positions and with every key kept (duplicates included)

/// 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

impl Pos {
    fn of(m: Marker) -> Pos {
        Pos {
            line: m.line().max(1),
            column: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    pos: Pos,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// `raw` is the text as written (without quotes); `quoted` for any non-plain style.
    Scalar {
        value: ScalarOwned,
        raw: String,
        quoted: bool,
    },
    /// A scalar whose explicit tag does not fit it (`!!int abc`).
    Invalid {
        raw: String,
        tag: String,
    },
    Seq(Vec<Node>),
    /// In document order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn is_null(&self) -> bool {
        matches!(
            self.kind,
            Kind::Scalar {
                value: ScalarOwned::Null,
                ..
            }
        )
    }

    /// The text of a string value (quoted or not).
    fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar {
                value: ScalarOwned::String(s),
                ..
            } => Some(s),
            _ => None,
        }
    }

    /// The text of a key: any non-empty scalar, as written.
    fn key_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { raw, .. } | Kind::Invalid { raw, .. } if !raw.is_empty() => Some(raw),
            _ => None,
        }
    }
}

/// A problem found while reading the tree.
struct Problem {
    pos: Pos,
    message: String,
}

/// Deeper than any policy needs; keeps the tree (and its recursive drop) small.
const MAX_DEPTH: usize = 64;
/// How many nodes aliases may copy in all (a "billion laughs" file stops here).
const ALIAS_BUDGET: usize = 10_000;

struct Open {
    pos: Pos,
    anchor: usize,
    kind: OpenKind,
}

enum OpenKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// The first document's root (`None` when the stream has none: empty or only comments), and
/// a problem if a second document follows. `Err` for a syntax error or a tree too deep.
fn read_tree(text: &str) -> Result<(Option<Node>, Option<Problem>), Problem> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut budget = ALIAS_BUDGET;
    let mut root: Option<Node> = None;
    let mut documents = 0;
    // The pull API keeps the parser's own stack flat (`Parser::load` recurses per level).
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| syntax_error(&e))?;
        let pos = Pos::of(span.start);
        let (node, anchor) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let extra = Problem {
                        pos,
                        message: "a second YAML document; the policy is one document".into(),
                    };
                    return Ok((root, Some(extra)));
                }
                continue;
            }
            Event::DocumentEnd => {
                root.get_or_insert(Node {
                    pos,
                    kind: null_kind(),
                });
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Problem {
                        pos,
                        message: format!("nested more than {MAX_DEPTH} levels deep"),
                    });
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    OpenKind::Seq(Vec::new())
                } else {
                    OpenKind::Map {
                        entries: Vec::new(),
                        key: None,
                    }
                };
                stack.push(Open { pos, anchor, kind });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = stack.pop() else { continue };
                let kind = match open.kind {
                    OpenKind::Seq(items) => Kind::Seq(items),
                    OpenKind::Map { entries, .. } => Kind::Map(entries),
                };
                (
                    Node {
                        pos: open.pos,
                        kind,
                    },
                    open.anchor,
                )
            }
            Event::Scalar(text, style, anchor, tag) => (
                Node {
                    pos,
                    kind: scalar_kind(text.into_owned(), style, tag.as_deref()),
                },
                anchor,
            ),
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(Problem {
                        pos,
                        message: "an alias to an anchor that is not complete here".into(),
                    });
                };
                match measure(target, &mut budget) {
                    Some(depth) if stack.len() + depth <= MAX_DEPTH => {}
                    Some(_) => {
                        return Err(Problem {
                            pos,
                            message: format!("nested more than {MAX_DEPTH} levels deep"),
                        })
                    }
                    None => {
                        return Err(Problem {
                            pos,
                            message: format!("aliases copy more than {ALIAS_BUDGET} nodes"),
                        })
                    }
                }
                // The copy is located where it is used; what is inside keeps its own place.
                let mut node = target.clone();
                node.pos = pos;
                (node, 0)
            }
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Open {
                kind: OpenKind::Seq(items),
                ..
            }) => items.push(node),
            Some(Open {
                kind: OpenKind::Map { entries, key },
                ..
            }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok((root, None))
}

fn syntax_error(e: &ScanError) -> Problem {
    Problem {
        pos: Pos::of(*e.marker()),
        message: format!("invalid YAML: {}", e.info()),
    }
}

fn null_kind() -> Kind {
    Kind::Scalar {
        value: ScalarOwned::Null,
        raw: String::new(),
        quoted: false,
    }
}

/// Resolves a scalar by the YAML 1.2 core schema (quoted: always a string).
fn scalar_kind(raw: String, style: ScalarStyle, tag: Option<&Tag>) -> Kind {
    let tag_cow = tag.map(|t| std::borrow::Cow::Owned(t.clone()));
    match Scalar::parse_from_cow_and_metadata(raw.as_str().into(), style, tag_cow.as_ref()) {
        Some(value) => Kind::Scalar {
            value: value.into_owned(),
            raw,
            quoted: style != ScalarStyle::Plain,
        },
        None => Kind::Invalid {
            raw,
            tag: tag
                .map(|t| {
                    if t.is_yaml_core_schema() {
                        format!("!!{}", t.suffix)
                    } else {
                        t.to_string()
                    }
                })
                .unwrap_or_default(),
        },
    }
}

/// The depth of `node` (1 for a scalar), charging its node count to `budget`; `None` once the
/// budget runs out.
fn measure(node: &Node, budget: &mut usize) -> Option<usize> {
    *budget = budget.checked_sub(1)?;
    let mut deepest = 0;
    match &node.kind {
        Kind::Seq(items) => {
            for item in items {
                deepest = deepest.max(measure(item, budget)?);
            }
        }
        Kind::Map(entries) => {
            for (k, v) in entries {
                deepest = deepest.max(measure(k, budget)?).max(measure(v, budget)?);
            }
        }
        Kind::Scalar { .. } | Kind::Invalid { .. } => {}
    }
    Some(deepest + 1)
}

// ---------------------------------------------------------------------------------------------
// From the tree to the policy

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

struct Reader<'f> {
    file: &'f str,
    /// Just past the last character: the parser may place an error at the end of the stream a
    /// line further; it is reported here instead.
    end: Pos,
    errors: Vec<PolicyError>,
}

impl Reader<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
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

    fn policy(&mut self, root: Option<&Node>) -> Policy {
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

    fn boolean(&mut self, path: &str, v: &Node) -> Option<bool> {
        if let Kind::Scalar {
            value: ScalarOwned::Boolean(b),
            ..
        } = v.kind
        {
            return Some(b);
        }
        let mut message = format!("{path}: expected true or false, found {}", describe(v));
        match v.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "false") => message.push_str(" — write it without quotes"),
            Some("yes" | "no" | "on" | "off" | "y" | "n") => {
                message.push_str(" — YAML 1.2 reads yes/no/on/off as text; write true or false")
            }
            _ => {}
        }
        self.error(v.pos, message);
        None
    }

    fn percent(&mut self, path: &str, v: &Node) -> Option<f64> {
        let n = match v.kind {
            Kind::Scalar {
                value: ScalarOwned::Integer(i),
                ..
            } => Some(i as f64),
            Kind::Scalar {
                value: ScalarOwned::FloatingPoint(f),
                ..
            } => Some(f.into_inner()),
            _ => None,
        };
        if let Some(n) = n.filter(|n| (0.0..=100.0).contains(n)) {
            return Some(n);
        }
        let message = format!(
            "{path}: expected a percentage from 0 to 100, found {}{}",
            describe(v),
            quoted_number_hint(v)
        );
        self.error(v.pos, message);
        None
    }

    fn whole(&mut self, path: &str, v: &Node, min: i64, max: i64, expected: &str) -> Option<i64> {
        if let Kind::Scalar {
            value: ScalarOwned::Integer(i),
            ..
        } = v.kind
        {
            if (min..=max).contains(&i) {
                return Some(i);
            }
        }
        let message = format!(
            "{path}: expected {expected}, found {}{}",
            describe(v),
            quoted_number_hint(v)
        );
        self.error(v.pos, message);
        None
    }

    fn impact(&mut self, path: &str, v: &Node) -> Option<Impact> {
        self.choice::<Impact>(path, v, "low, medium or high")
    }

    /// A name out of a fixed set, parsed by `T::from_str` (whose error lists the choices).
    fn choice<T: FromStr<Err = String>>(
        &mut self,
        path: &str,
        v: &Node,
        choices: &str,
    ) -> Option<T> {
        let result = match v.as_str() {
            Some(s) => s.parse::<T>(),
            None => Err(format!("expected {choices}, found {}", describe(v))),
        };
        match result {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(v.pos, format!("{path}: {e}"));
                None
            }
        }
    }

    /// A list of file paths inside the repository, each given once.
    fn paths(&mut self, path: &str, v: &Node) -> Option<Vec<String>> {
        let Kind::Seq(items) = &v.kind else {
            let message = format!(
                "{path}: expected a list of file paths such as [QA_REPORT.md], found {}",
                describe(v)
            );
            self.error(v.pos, message);
            return None;
        };
        let mut out = Vec::new();
        let mut first: HashMap<&str, Pos> = HashMap::new();
        let mut ok = true;
        for item in items {
            let problem = match item.as_str() {
                None => Some(format!("expected a file path, found {}", describe(item))),
                Some(s) if s.trim().is_empty() => Some("an empty path".to_string()),
                Some(s) if escapes_repository(s) => Some(format!(
                    "'{s}' must be a path inside the repository (relative, without '..')"
                )),
                Some(s) => match first.get(s) {
                    Some(at) => Some(format!(
                        "'{s}' is listed twice (first at line {}, column {})",
                        at.line, at.column
                    )),
                    None => {
                        first.insert(s, item.pos);
                        out.push(s.to_string());
                        None
                    }
                },
            };
            if let Some(problem) = problem {
                self.error(item.pos, format!("{path}: {problem}"));
                ok = false;
            }
        }
        ok.then_some(out)
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

/// An absolute path, a drive or a `..` step: outside the repository.
fn escapes_repository(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with(['/', '\\'])
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
        || s.split(['/', '\\']).any(|part| part == "..")
}

/// What a value is, for "expected …, found …".
fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::Scalar { value, raw, .. } => match value {
            ScalarOwned::Null => "nothing".to_string(),
            ScalarOwned::Boolean(_) => format!("the boolean {raw}"),
            ScalarOwned::Integer(_) => format!("the integer {}", shorten(raw)),
            ScalarOwned::FloatingPoint(_) => format!("the number {}", shorten(raw)),
            ScalarOwned::String(s) => format!("the string {:?}", shorten(s)),
        },
        Kind::Invalid { raw, tag } => format!("{:?}, which is not a valid {tag}", shorten(raw)),
        Kind::Seq(_) => "a list".to_string(),
        Kind::Map(_) => "a mapping".to_string(),
    }
}

/// A quoted value that would be a number without its quotes.
fn quoted_number_hint(v: &Node) -> &'static str {
    match &v.kind {
        Kind::Scalar {
            value: ScalarOwned::String(s),
            quoted: true,
            ..
        } if matches!(
            Scalar::parse_from_cow(s.as_str().into()),
            Scalar::Integer(_) | Scalar::FloatingPoint(_)
        ) =>
        {
            " — write it without quotes"
        }
        _ => "",
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}
