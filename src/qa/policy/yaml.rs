//! The YAML tree of the policy file, with positions and with every key kept (duplicates
//! included), read with the parser's pull API; and how a value is described in errors.

use std::collections::HashMap;

use saphyr::{Scalar, ScalarOwned};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};

/// 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub(super) line: usize,
    pub(super) column: usize,
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
pub(super) struct Node {
    pub(super) pos: Pos,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
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
    pub(super) fn is_null(&self) -> bool {
        matches!(
            self.kind,
            Kind::Scalar {
                value: ScalarOwned::Null,
                ..
            }
        )
    }

    /// The text of a string value (quoted or not).
    pub(super) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar {
                value: ScalarOwned::String(s),
                ..
            } => Some(s),
            _ => None,
        }
    }

    /// The text of a key: any non-empty scalar, as written.
    pub(super) fn key_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { raw, .. } | Kind::Invalid { raw, .. } if !raw.is_empty() => Some(raw),
            _ => None,
        }
    }
}

/// A problem found while reading the tree.
pub(super) struct Problem {
    pub(super) pos: Pos,
    pub(super) message: String,
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
pub(super) fn read_tree(text: &str) -> Result<(Option<Node>, Option<Problem>), Problem> {
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

/// What a value is, for "expected …, found …".
pub(super) fn describe(node: &Node) -> String {
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
pub(super) fn quoted_number_hint(v: &Node) -> &'static str {
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
