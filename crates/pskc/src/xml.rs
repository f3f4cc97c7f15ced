//! A small element tree read with quick-xml.
//!
//! PSKC files come from outside (a vendor, a mail attachment), so the reader
//! is deliberately narrow:
//!
//! - **No DTD.** A `<!DOCTYPE …>` is refused outright, so there are no
//!   entity declarations, no external entities (no file or network access)
//!   and no entity-expansion bombs. quick-xml never fetches or expands a
//!   declared entity itself; refusing the DOCTYPE makes the rule visible.
//! - **Only the five predefined entities** (`&lt;` `&gt;` `&amp;` `&apos;`
//!   `&quot;`, XML 1.0 §4.6) and character references are resolved; any other
//!   `&name;` is an error.
//! - **Bounded:** nesting depth and element count are capped, and the caller
//!   caps the input size first.
//!
//! Elements are matched by local name: PSKC (RFC 6030 §4) mixes the pskc,
//! xenc, xenc11, ds and pkcs5 namespaces under whatever prefixes a producer
//! picks (the RFC's own figures put `PBKDF2-params` under `pkcs5:`, other
//! producers under `xenc11:`), and no two of them use one local name for
//! different things in a key container.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use zeroize::Zeroizing;

/// The deepest element nesting accepted. RFC 6030's deepest path
/// (KeyContainer/EncryptionKey/DerivedKey/KeyDerivationMethod/PBKDF2-params/
/// Salt/Specified) is seven levels.
pub const MAX_DEPTH: usize = 32;

/// Why the XML itself was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The text is not well-formed XML.
    #[error("not well-formed XML at byte {position}: {reason}")]
    Syntax {
        /// Byte offset in the input where the reader stopped.
        position: u64,
        /// What the reader found wrong.
        reason: String,
    },
    /// A document type declaration: refused, with its entities.
    #[error(
        "the file has a document type declaration (<!DOCTYPE>); PSKC files have none, and this reader expands no entities"
    )]
    DocumentType,
    /// An entity reference other than the five XML predefines.
    #[error("the file refers to the entity &{name}; ; this reader expands no entities")]
    Entity {
        /// The entity's name.
        name: String,
    },
    /// Elements nested deeper than [`MAX_DEPTH`].
    #[error("elements are nested deeper than {limit} levels")]
    TooDeep {
        /// The depth allowed.
        limit: usize,
    },
    /// More elements than the limit.
    #[error("the file has more than {limit} elements")]
    TooManyElements {
        /// The number allowed.
        limit: usize,
    },
    /// No root element at all (empty or truncated input).
    #[error("the file has no root element (empty or truncated)")]
    NoRoot,
    /// The root element was not closed: the input ends early.
    #[error("the file ends before its root element is closed (truncated)")]
    Truncated,
    /// Text or a second element after the root element.
    #[error("the file has content after its root element")]
    ContentAfterRoot,
}

/// One element: its local name, attributes, child elements and the character
/// data directly inside it.
///
/// The character data may be a secret in the clear (a `PlainValue`), so it is
/// zeroized when the tree is dropped.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    text: Zeroizing<String>,
}

impl Element {
    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// Every child element named `name`, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The element at a path of child names below this one.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names
            .iter()
            .try_fold(self, |element, name| element.child(name))
    }

    /// The value of the attribute with this local name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The character data, leading and trailing white space removed (the
    /// RFC's figures wrap base64 values over lines and indent them).
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The first element named `name` in this subtree, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|child| {
            if child.name == name {
                Some(child)
            } else {
                child.find(name)
            }
        })
    }

    /// Whether any element in this subtree is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }
}

/// Parses `input` into its root element, refusing DTDs and entities.
pub(crate) fn parse(input: &str, max_elements: usize) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(input);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.allow_unmatched_ends = false;
    config.allow_dangling_amp = false;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;

    loop {
        let event = reader.read_event().map_err(|error| XmlError::Syntax {
            position: reader.error_position(),
            reason: error.to_string(),
        })?;
        let syntax = |reason: String| XmlError::Syntax {
            position: reader.buffer_position(),
            reason,
        };
        match event {
            Event::DocType(_) => return Err(XmlError::DocumentType),
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::ContentAfterRoot);
            }
            Event::Start(start) => {
                elements += 1;
                if elements > max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: max_elements,
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep { limit: MAX_DEPTH });
                }
                stack.push(element(&start).map_err(syntax)?);
            }
            Event::Empty(start) => {
                elements += 1;
                if elements > max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: max_elements,
                    });
                }
                let element = element(&start).map_err(syntax)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                // check_end_names has matched the name already.
                let Some(done) = stack.pop() else {
                    return Err(syntax("a closing tag with no opening tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let text = text
                    .xml10_content()
                    .map_err(|error| syntax(error.to_string()))?;
                push_text(&mut stack, root.is_some(), &text)?;
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|error| syntax(error.to_string()))?;
                push_text(&mut stack, root.is_some(), &text)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .map_err(|error| syntax(error.to_string()))?
                } else {
                    let name = reference
                        .decode()
                        .map_err(|error| syntax(error.to_string()))?;
                    Some(predefined_entity(&name).ok_or_else(|| XmlError::Entity {
                        name: name.chars().take(64).collect(),
                    })?)
                };
                let Some(character) = resolved else {
                    return Err(syntax("an empty character reference".into()));
                };
                push_text(
                    &mut stack,
                    root.is_some(),
                    character.encode_utf8(&mut [0; 4]),
                )?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    root.ok_or(XmlError::NoRoot)
}

/// XML 1.0 §4.6's predefined entities, the only ones resolved.
fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// Adds character data to the open element; outside the root only white
/// space is allowed.
fn push_text(stack: &mut [Element], after_root: bool, text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(open) => {
            open.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None if after_root => Err(XmlError::ContentAfterRoot),
        None => Err(XmlError::Syntax {
            position: 0,
            reason: "text before the root element".into(),
        }),
    }
}

/// An element from its start tag: local name and attributes (namespace
/// declarations left out, values unescaped with the predefined entities
/// only).
fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = std::str::from_utf8(start.local_name().into_inner())
        .map_err(|error| error.to_string())?
        .to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let key = attribute.key;
        if key.as_ref() == b"xmlns" || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
            continue;
        }
        let local = std::str::from_utf8(key.local_name().into_inner())
            .map_err(|error| error.to_string())?
            .to_owned();
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|error| error.to_string())?
            .into_owned();
        attributes.push((local, value));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: Zeroizing::new(String::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prefixed_elements_by_local_name() {
        let root = parse(
            r#"<?xml version="1.0"?><p:A xmlns:p="urn:x" p:Id="1"><p:B>  te&amp;xt&#33; </p:B><C/></p:A>"#,
            100,
        )
        .unwrap();
        assert_eq!(root.name, "A");
        assert_eq!(root.attribute("Id"), Some("1"));
        assert_eq!(root.child("B").unwrap().text(), "te&xt!");
        assert!(root.child("C").is_some());
        assert!(root.contains("C"));
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let doctype = r#"<?xml version="1.0"?><!DOCTYPE A [<!ENTITY x "y">]><A>&x;</A>"#;
        assert_eq!(parse(doctype, 100).unwrap_err(), XmlError::DocumentType);
        let entity = "<A>&x;</A>";
        assert!(
            matches!(parse(entity, 100).unwrap_err(), XmlError::Entity { name } if name == "x")
        );
        let in_attribute = r#"<A b="&x;"/>"#;
        assert!(matches!(
            parse(in_attribute, 100).unwrap_err(),
            XmlError::Syntax { .. }
        ));
    }

    #[test]
    fn refuses_truncated_and_trailing_input() {
        assert_eq!(parse("<A><B></B>", 100).unwrap_err(), XmlError::Truncated);
        assert_eq!(parse("", 100).unwrap_err(), XmlError::NoRoot);
        assert_eq!(
            parse("<A/><B/>", 100).unwrap_err(),
            XmlError::ContentAfterRoot
        );
        assert!(matches!(
            parse("<A></B>", 100).unwrap_err(),
            XmlError::Syntax { .. }
        ));
    }

    #[test]
    fn bounds_depth_and_count() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(&deep, 1000).unwrap_err(),
            XmlError::TooDeep { limit: MAX_DEPTH }
        );
        let many = format!("<a>{}</a>", "<b/>".repeat(10));
        assert_eq!(
            parse(&many, 5).unwrap_err(),
            XmlError::TooManyElements { limit: 5 }
        );
    }
}
