//! A small element tree over `quick-xml`'s events, for the XML reports (JUnit, Cobertura).
//! The reports are small enough to hold whole; the tree keeps local names, attributes (with
//! references resolved) and each element's own text (not its children's).

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::line_col;
use crate::qa::results::ParseError;

/// Deeper nesting than any real report has: refused rather than walked (the tree is dropped
/// recursively).
const MAX_DEPTH: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct Element {
    /// The local name (any namespace prefix dropped).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own character data (text, references and CDATA), children excluded.
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The direct children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Reads a whole document into its root element. Errors name the position (line, column)
/// where `quick-xml` stopped, and a document that ends with elements still open is an error
/// (a truncated file).
pub(crate) fn parse(xml: &str, format: &'static str) -> Result<Element, ParseError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let at = |offset: u64| {
        let (line, col) = line_col(xml, usize::try_from(offset).unwrap_or(usize::MAX));
        format!("line {line}, column {col}")
    };
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                return Err(ParseError::new(
                    format,
                    format!("malformed XML at {}: {e}", at(reader.error_position())),
                ))
            }
        };
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::new(
                        format,
                        format!(
                            "elements nested too deeply at {}",
                            at(reader.buffer_position())
                        ),
                    ));
                }
                let element = element(&start, format, || at(reader.buffer_position()))?;
                if root.is_some() && stack.is_empty() {
                    return Err(second_root(
                        format,
                        &element.name,
                        at(reader.buffer_position()),
                    ));
                }
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = element(&start, format, || at(reader.buffer_position()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => {
                        return Err(second_root(
                            format,
                            &element.name,
                            at(reader.buffer_position()),
                        ))
                    }
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let Some(done) = stack.pop() else {
                    return Err(ParseError::new(
                        format,
                        format!("unexpected end tag at {}", at(reader.buffer_position())),
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                push_text(&mut stack, &content, true, format, || {
                    at(reader.buffer_position())
                })?;
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&reference) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(ParseError::new(
                                format,
                                format!(
                                    "unknown entity &{}; at {}",
                                    &*reference,
                                    at(reader.buffer_position())
                                ),
                            ))
                        }
                    },
                    Err(e) => {
                        return Err(ParseError::new(
                            format,
                            format!(
                                "bad character reference at {}: {e}",
                                at(reader.buffer_position())
                            ),
                        ))
                    }
                };
                push_text(&mut stack, &resolved, false, format, || {
                    at(reader.buffer_position())
                })?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(ParseError::new(
            format,
            format!(
                "truncated: the input ends at {} inside <{}> ({} element(s) not closed)",
                at(xml.len() as u64),
                open.name,
                stack.len()
            ),
        ));
    }
    root.ok_or_else(|| ParseError::new(format, "no XML element in the input"))
}

/// Text belongs to the innermost open element; outside the root, only blank text (when
/// `blank_ok`) is allowed.
fn push_text(
    stack: &mut [Element],
    text: &str,
    blank_ok: bool,
    format: &'static str,
    at: impl Fn() -> String,
) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(top) => top.text.push_str(text),
        None if blank_ok && text.trim().is_empty() => {}
        None => {
            return Err(ParseError::new(
                format,
                format!("text outside the root element at {}", at()),
            ))
        }
    }
    Ok(())
}

fn second_root(format: &'static str, name: &str, at: String) -> ParseError {
    ParseError::new(format, format!("a second root element <{name}> at {at}"))
}

fn element(
    start: &BytesStart<'_>,
    format: &'static str,
    at: impl Fn() -> String,
) -> Result<Element, ParseError> {
    let name = start.local_name().as_ref().to_string();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| {
            ParseError::new(
                format,
                format!("bad attribute in <{name}> at {}: {e}", at()),
            )
        })?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| {
                ParseError::new(
                    format,
                    format!("bad attribute value in <{name}> at {}: {e}", at()),
                )
            })?;
        attrs.push((
            attr.key.local_name().as_ref().to_string(),
            value.into_owned(),
        ));
    }
    Ok(Element {
        name,
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}
