//! Reading XML reports safely with [`roxmltree`], and helpers to walk them.
//!
//! Usage: `let text = xml_text(report)?; let doc = parse_xml(&text)?;`.
//!
//! Safety rules, whatever the document says:
//! - external entities (`SYSTEM`/`PUBLIC`) are never loaded: declaring one is
//!   an error, and so is an external DTD reference being needed;
//! - internal entities are allowed (some scanners declare a DTD), but the
//!   total text their references would expand to is computed before parsing
//!   and must stay under [`XmlLimits::max_entity_expansion`]; recursive
//!   entities are rejected. This stops "billion laughs" and its quadratic
//!   cousins with a clear error, before any memory is spent;
//! - the number of nodes is capped ([`XmlLimits::max_nodes`]).
//!
//! Name-based helpers ([`child`], [`children`], [`attr`]...) match local
//! names and ignore namespaces, which scanners use inconsistently.

use std::borrow::Cow;
use std::collections::HashMap;

pub use roxmltree::{Document, Node};

use crate::ParseError;

/// Limits applied by [`parse_xml_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlLimits {
    /// Maximum number of nodes (elements, texts, comments...) in the tree.
    pub max_nodes: u32,
    /// Maximum number of bytes that entity references may expand to in total.
    pub max_entity_expansion: u64,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_nodes: 5_000_000,
            max_entity_expansion: 8 * 1024 * 1024,
        }
    }
}

/// Decodes the report's bytes to text for [`parse_xml`].
///
/// Accepts UTF-8 (with or without byte-order mark), UTF-16 with a byte-order
/// mark, and ISO-8859-1 / Windows-1252 / US-ASCII when the XML declaration
/// says so. Anything else is an error naming the first bad byte.
pub fn xml_text(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) if declares_single_byte_encoding(bytes) => {
            Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
        }
        Err(_) => crate::json::utf8_text(bytes).map(Cow::Borrowed),
    }
}

fn decode_utf16(bytes: &[u8], read: fn([u8; 2]) -> u16) -> Result<String, ParseError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(ParseError::new(
            "the report claims to be UTF-16 but has an odd number of bytes",
        ));
    }
    let units = bytes.chunks_exact(2).map(|c| read([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| ParseError::new("the report is not valid UTF-16 text"))
}

fn declares_single_byte_encoding(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(200)];
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return false;
    };
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !decl.trim_start().starts_with("<?xml") {
        return false;
    }
    [
        "iso-8859-1",
        "iso8859-1",
        "latin1",
        "latin-1",
        "windows-1252",
        "cp1252",
        "us-ascii",
    ]
    .iter()
    .any(|enc| decl.contains(&format!("\"{enc}\"")) || decl.contains(&format!("'{enc}'")))
}

/// Parses XML text with the default [`XmlLimits`].
pub fn parse_xml(text: &str) -> Result<Document<'_>, ParseError> {
    parse_xml_with(text, &XmlLimits::default())
}

/// Parses XML text, refusing external entities and bounding entity expansion and node count.
pub fn parse_xml_with<'i>(text: &'i str, limits: &XmlLimits) -> Result<Document<'i>, ParseError> {
    check_entities(text, limits)?;
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: limits.max_nodes,
        ..roxmltree::ParsingOptions::default()
    };
    Document::parse_with_options(text, opt).map_err(|e| xml_error(&e, limits))
}

fn xml_error(e: &roxmltree::Error, limits: &XmlLimits) -> ParseError {
    use roxmltree::Error as E;
    let pos = e.pos();
    let message = match e {
        E::NodesLimitReached => format!(
            "the XML has too many nodes (more than {}) or is nested too deeply",
            limits.max_nodes
        ),
        E::EntityReferenceLoop(_) => {
            "XML entity expansion refused: recursive or exponential entity references".to_owned()
        }
        E::UnexpectedEndOfStream | E::UnclosedRootNode => {
            "the XML ends unexpectedly (truncated report?)".to_owned()
        }
        other => {
            let full = other.to_string();
            let suffix = format!(" at {pos}");
            let detail = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
            format!("invalid XML: {detail}")
        }
    };
    ParseError::new(message).at(pos.row, pos.col)
}

/// Error for an entity problem found before parsing.
fn entity_error(text: &str, offset: usize, message: String) -> ParseError {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    ParseError::new(message).at(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// A small cursor over the document text for the DTD pre-scan.
struct Scan<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    fn skip_ws(&mut self) {
        let r = self.rest();
        self.i += r.len() - r.trim_start().len();
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    /// Moves past the next `lit`; false (and at the end) when there is none.
    fn skip_past(&mut self, lit: &str) -> bool {
        match self.rest().find(lit) {
            Some(p) => {
                self.i += p + lit.len();
                true
            }
            None => {
                self.i = self.s.len();
                false
            }
        }
    }
    fn name(&mut self) -> &'a str {
        let r = self.rest();
        let end = r
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '[' | '"' | '\'' | ';' | '%'))
            .unwrap_or(r.len());
        self.i += end;
        &r[..end]
    }
    /// Skips a markup declaration up to its closing `>`, honouring quotes.
    fn skip_decl(&mut self) {
        let mut quote: Option<char> = None;
        for (k, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    self.i += k + 1;
                    return;
                }
                _ => {}
            }
        }
        self.i = self.s.len();
    }
}

struct EntityDecl<'a> {
    value: &'a str,
    offset: usize,
}

/// Finds the internal DTD subset, checks its entity declarations and bounds
/// the total expansion of entity references in the document.
fn check_entities(text: &str, limits: &XmlLimits) -> Result<(), ParseError> {
    let mut sc = Scan { s: text, i: 0 };
    // Prolog: XML declaration, comments, processing instructions, whitespace.
    loop {
        sc.skip_ws();
        if sc.eat("<?") {
            sc.skip_past("?>");
        } else if sc.eat("<!--") {
            sc.skip_past("-->");
        } else {
            break;
        }
    }
    if !sc.eat("<!DOCTYPE") {
        return Ok(());
    }
    // Up to the internal subset or the end of the DOCTYPE.
    let mut quote: Option<char> = None;
    let mut has_subset = false;
    for (k, c) in sc.rest().char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => {
                sc.i += k + 1;
                has_subset = true;
                break;
            }
            (None, '>') => {
                sc.i += k + 1;
                break;
            }
            _ => {}
        }
    }
    if !has_subset {
        return Ok(());
    }
    let mut entities: HashMap<&str, EntityDecl<'_>> = HashMap::new();
    loop {
        sc.skip_ws();
        if sc.rest().is_empty() || sc.eat("]") {
            break;
        }
        let start = sc.i;
        if sc.eat("<!--") {
            sc.skip_past("-->");
        } else if sc.eat("<?") {
            sc.skip_past("?>");
        } else if sc.eat("<!ENTITY") {
            sc.skip_ws();
            let parameter = sc.eat("%");
            sc.skip_ws();
            let name = sc.name();
            sc.skip_ws();
            let r = sc.rest();
            if r.starts_with("SYSTEM") || r.starts_with("PUBLIC") {
                return Err(entity_error(
                    text,
                    start,
                    format!(
                        "the XML declares an external entity {name:?}; external entities are not allowed"
                    ),
                ));
            }
            let value = match r.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &r[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    &body[..end]
                }
                _ => "",
            };
            if parameter {
                // Parameter entities only matter inside the DTD, which roxmltree
                // does not expand them in; refuse them rather than guess.
                return Err(entity_error(
                    text,
                    start,
                    format!(
                        "the XML declares a parameter entity {name:?}; these are not supported"
                    ),
                ));
            }
            // The first declaration of an entity is binding (XML 1.0, 4.2).
            entities.entry(name).or_insert(EntityDecl {
                value,
                offset: start,
            });
            sc.skip_decl();
        } else if sc.eat("<!") {
            sc.skip_decl();
        } else if sc.eat("%") {
            sc.skip_past(";");
        } else {
            // Malformed DTD: let the parser report it.
            return Ok(());
        }
    }
    if entities.is_empty() {
        return Ok(());
    }

    // Expanded size of each entity, with recursion detection.
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    let names: Vec<&str> = entities.keys().copied().collect();
    for name in names {
        let mut stack = Vec::new();
        entity_size(name, &entities, &mut sizes, &mut stack, text)?;
    }

    let body = &text[sc.i..];
    let mut total: u64 = 0;
    for (name, _) in references(body) {
        if let Some(size) = sizes.get(name) {
            total = total.saturating_add(*size);
            if total > limits.max_entity_expansion {
                return Err(ParseError::new(format!(
                    "XML entity expansion refused: the document's entity references would \
                     expand to more than {} bytes (an entity-expansion attack?)",
                    limits.max_entity_expansion
                )));
            }
        }
    }
    Ok(())
}

/// Yields `(name, offset)` of each `&name;` general entity reference in `s`
/// (character references `&#...;` excluded).
fn references(s: &str) -> impl Iterator<Item = (&str, usize)> {
    s.match_indices('&').filter_map(move |(i, _)| {
        let r = &s[i + 1..];
        let end = r.find(';')?;
        let name = &r[..end];
        let ok = !name.is_empty()
            && !name.starts_with('#')
            && name
                .chars()
                .all(|c| !c.is_whitespace() && c != '&' && c != '<');
        ok.then_some((name, i))
    })
}

fn entity_size<'a>(
    name: &'a str,
    entities: &HashMap<&'a str, EntityDecl<'a>>,
    sizes: &mut HashMap<&'a str, u64>,
    stack: &mut Vec<&'a str>,
    text: &str,
) -> Result<u64, ParseError> {
    if let Some(&s) = sizes.get(name) {
        return Ok(s);
    }
    let Some(decl) = entities.get(name) else {
        // Predefined (amp, lt...) or undefined: the parser handles it.
        return Ok(1);
    };
    if stack.contains(&name) {
        return Err(entity_error(
            text,
            decl.offset,
            format!(
                "XML entity expansion refused: entity {name:?} refers to itself (through {})",
                stack.join(" -> ")
            ),
        ));
    }
    stack.push(name);
    let mut size = decl.value.len() as u64;
    for (child, _) in references(decl.value) {
        let child_size = entity_size(child, entities, sizes, stack, text)?;
        size = size.saturating_add(child_size);
    }
    stack.pop();
    sizes.insert(name, size);
    Ok(size)
}

/// The first child element named `name` (local name).
pub fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// All child elements named `name` (local name), in document order.
pub fn children<'a, 'i>(node: Node<'a, 'i>, name: &str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// All descendant elements named `name` (local name), in document order, `node` excluded.
pub fn descendants<'a, 'i>(node: Node<'a, 'i>, name: &str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.descendants()
        .skip(1)
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// Follows a path of child element names ("Report/ReportHost/ReportItem"), taking the first match at each step.
pub fn find<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .try_fold(node, |n, step| child(n, step))
}

/// The text of `node` and its descendants (text and CDATA), trimmed; `None` when blank.
pub fn text(node: Node<'_, '_>) -> Option<String> {
    let mut s = String::new();
    for d in node.descendants() {
        if d.is_text()
            && let Some(t) = d.text()
        {
            s.push_str(t);
        }
    }
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The trimmed text of the first child element named `name`; `None` when missing or blank.
pub fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(text)
}

/// The trimmed value of attribute `name` (local name); `None` when missing or blank.
pub fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attributes()
        .find(|a| a.name() == name)
        .map(|a| a.value().trim())
        .filter(|v| !v.is_empty())
}

/// The element path from the root to `node`, e.g. "NessusClientData_v2/Report/ReportHost",
/// for error locations.
pub fn element_path(node: Node<'_, '_>) -> String {
    let mut names: Vec<&str> = node
        .ancestors()
        .filter(Node::is_element)
        .map(|n| n.tag_name().name())
        .collect();
    names.reverse();
    names.join("/")
}

/// Says whether a report head looks like XML whose root element is `root`
/// (local name): skips a BOM, declaration, comments and DOCTYPE.
pub fn root_element_is(head: &[u8], root: &str) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let mut sc = Scan { s: &text, i: 0 };
    loop {
        sc.skip_ws();
        if sc.eat("<?") {
            sc.skip_past("?>");
        } else if sc.eat("<!--") {
            sc.skip_past("-->");
        } else if sc.rest().starts_with("<!DOCTYPE") {
            // Skip an internal subset if present, then the closing '>'.
            if let Some(b) = sc.rest().find(['[', '>'])
                && sc.rest()[b..].starts_with('[')
            {
                sc.skip_past("]");
            }
            sc.skip_past(">");
        } else {
            break;
        }
    }
    if !sc.eat("<") {
        return false;
    }
    let name = sc.name();
    let local = name.rsplit(':').next().unwrap_or(name);
    local == root
        && sc
            .rest()
            .starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_walks() {
        let xml = r#"<?xml version="1.0"?>
<!-- comment -->
<r:Report xmlns:r="urn:x" name=" demo ">
  <Item id="1"><Title>One</Title><Desc><![CDATA[a <b> & c]]></Desc></Item>
  <Item id="2"><Title>  </Title><Sub><Deep>deep text</Deep></Sub></Item>
</r:Report>"#;
        let doc = parse_xml(xml).unwrap();
        let root = doc.root_element();
        assert_eq!(attr(root, "name"), Some("demo"));
        let items: Vec<_> = children(root, "Item").collect();
        assert_eq!(items.len(), 2);
        assert_eq!(child_text(items[0], "Title").as_deref(), Some("One"));
        assert_eq!(child_text(items[0], "Desc").as_deref(), Some("a <b> & c"));
        assert_eq!(child_text(items[1], "Title"), None);
        assert_eq!(attr(items[1], "missing"), None);
        let deep = find(root, "Item/Sub/Deep");
        // The first Item has no Sub: find takes the first match at each step.
        assert!(deep.is_none());
        let deep = find(items[1], "Sub/Deep").unwrap();
        assert_eq!(text(deep).as_deref(), Some("deep text"));
        assert_eq!(element_path(deep), "Report/Item/Sub/Deep");
        assert_eq!(descendants(root, "Title").count(), 2);
    }

    #[test]
    fn errors_have_line_and_column() {
        let e = parse_xml("<a>\n  <b x=1/>\n</a>").unwrap_err();
        assert!(e.message.starts_with("invalid XML:"), "{e}");
        assert!(!e.message.contains(" at 2:"), "{e}");
        assert_eq!(e.location.as_ref().unwrap().line, Some(2));
        let e = parse_xml("<a><b>").unwrap_err();
        assert!(e.message.contains("ends unexpectedly"), "{e}");
        assert!(parse_xml("").is_err());
        assert!(parse_xml("not xml").is_err());
    }

    #[test]
    fn internal_entities_and_plain_dtds_work() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE issues [
<!ELEMENT issues (issue*)>
<!ATTLIST issues burpVersion CDATA "">
<!ENTITY company "Example &amp; Co">
<!ENTITY full "&company; Ltd">
]>
<issues burpVersion="2.0"><issue>&full; &#65;</issue></issues>"#;
        let doc = parse_xml(xml).unwrap();
        let issue = child(doc.root_element(), "issue").unwrap();
        assert_eq!(text(issue).as_deref(), Some("Example & Co Ltd A"));
    }

    #[test]
    fn billion_laughs_is_refused_before_parsing() {
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        let mut prev = "lol".to_owned();
        for i in 1..10 {
            let name = format!("lol{i}");
            let refs = format!("&{prev};").repeat(10);
            xml.push_str(&format!("<!ENTITY {name} \"{refs}\">\n"));
            prev = name;
        }
        xml.push_str(&format!("]>\n<lolz>&{prev};</lolz>"));
        let e = parse_xml(&xml).unwrap_err();
        assert!(e.message.contains("entity expansion refused"), "{e}");
        assert!(e.message.contains("more than"), "{e}");
    }

    #[test]
    fn quadratic_blowup_is_bounded() {
        // No nesting, but a big entity referenced many times.
        let big = "x".repeat(100_000);
        let refs = "&big;".repeat(200);
        let xml = format!("<!DOCTYPE r [<!ENTITY big \"{big}\">]><r>{refs}</r>");
        let e = parse_xml(&xml).unwrap_err();
        assert!(e.message.contains("entity expansion refused"), "{e}");
        // Raising the limit lets it through.
        let limits = XmlLimits {
            max_entity_expansion: 100_000_000,
            ..XmlLimits::default()
        };
        assert!(parse_xml_with(&xml, &limits).is_ok());
    }

    #[test]
    fn recursive_entities_are_refused() {
        let xml = "<!DOCTYPE r [\n<!ENTITY a \"&b;\">\n<!ENTITY b \"x&a;\">\n]><r>&a;</r>";
        let e = parse_xml(xml).unwrap_err();
        assert!(e.message.contains("refers to itself"), "{e}");
        assert!(e.location.unwrap().line.is_some());
        let xml = "<!DOCTYPE r [<!ENTITY a \"&a;\">]><r/>";
        assert!(parse_xml(xml).is_err());
    }

    #[test]
    fn external_entities_are_refused() {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n<r>&xxe;</r>";
        let e = parse_xml(xml).unwrap_err();
        assert!(e.message.contains("external entity"), "{e}");
        assert_eq!(e.location.unwrap().line, Some(3));
        let xml = "<!DOCTYPE r [<!ENTITY xxe PUBLIC \"-//x\" \"http://evil/x\">]><r/>";
        assert!(parse_xml(xml).is_err());
        let xml = "<!DOCTYPE r [<!ENTITY % pe SYSTEM \"http://evil/x\"> %pe;]><r/>";
        assert!(parse_xml(xml).is_err());
        // An external DTD reference is not fetched; the document still parses.
        let xml = "<!DOCTYPE r SYSTEM \"http://evil/r.dtd\"><r>ok</r>";
        assert_eq!(
            text(parse_xml(xml).unwrap().root_element()).as_deref(),
            Some("ok")
        );
    }

    #[test]
    fn xxe_payload_in_body_is_just_text() {
        let xml = "<r><![CDATA[<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>]]></r>";
        let doc = parse_xml(xml).unwrap();
        assert!(text(doc.root_element()).unwrap().contains("SYSTEM"));
    }

    #[test]
    fn node_limit() {
        let xml = format!("<r>{}</r>", "<a/>".repeat(1000));
        let limits = XmlLimits {
            max_nodes: 100,
            ..XmlLimits::default()
        };
        let e = parse_xml_with(&xml, &limits).unwrap_err();
        assert!(e.message.contains("too many nodes"), "{e}");
    }

    #[test]
    fn encodings() {
        let utf8 = xml_text(b"\xEF\xBB\xBF<a>\xC3\xA9</a>").unwrap();
        assert_eq!(utf8, "<a>é</a>");
        let latin =
            xml_text(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xE9</a>").unwrap();
        assert!(latin.ends_with("<a>é</a>"));
        assert_eq!(parse_xml(&latin).unwrap().root_element().text(), Some("é"));
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        assert_eq!(xml_text(&utf16).unwrap(), "<a>é</a>");
        let e = xml_text(b"<a>\xE9</a>").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
    }

    #[test]
    fn root_sniffing() {
        assert!(root_element_is(
            b"<?xml version=\"1.0\"?>\n<!-- x -->\n<issues>",
            "issues"
        ));
        assert!(root_element_is(
            b"<!DOCTYPE issues [<!ELEMENT issues (issue*)>]><issues burpVersion=\"1\">",
            "issues"
        ));
        assert!(root_element_is(b"<ns:Report xmlns:ns=\"u\"/>", "Report"));
        assert!(!root_element_is(b"<issuesX>", "issues"));
        assert!(!root_element_is(b"{\"issues\": []}", "issues"));
    }
}
