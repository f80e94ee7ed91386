//! What the server reads from a GraphQL request before the schema sees it:
//! the kind of body, the operation a GET may run, and the size of the
//! document as written.
//!
//! It depends only on async-graphql's parser, so the fuzz target
//! `graphql_request` compiles this file as it is.

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

/// How a POST body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` (or the older `application/graphql+json`).
    Json,
    /// `multipart/form-data`: the GraphQL multipart request (uploads).
    Multipart,
}

/// Why a body's `Content-Type` is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    /// No `Content-Type` header.
    #[error("Content-Type is required")]
    Missing,
    /// A media type this endpoint does not take.
    #[error("unsupported Content-Type `{0}`; send application/json or multipart/form-data")]
    Unsupported(String),
}

/// The body kind `content_type` announces (parameters and case ignored).
pub fn body_kind(content_type: Option<&str>) -> Result<BodyKind, ContentTypeError> {
    let Some(ct) = content_type else {
        return Err(ContentTypeError::Missing);
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" | "application/graphql+json" => Ok(BodyKind::Json),
        "multipart/form-data" => Ok(BodyKind::Multipart),
        _ => Err(ContentTypeError::Unsupported(media)),
    }
}

/// The type of the operation `query` would run (the one named
/// `operation_name`, else the first), or `None` when it does not parse or
/// has no such operation: execution then reports the error itself.
pub fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let op = match operation_name {
        Some(name) => {
            doc.operations
                .iter()
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?
                .1
        }
        // Several operations are kept in a map: take the first as written,
        // not whichever the map yields first.
        None => doc
            .operations
            .iter()
            .map(|(_, op)| op)
            .min_by_key(|op| op.pos)?,
    };
    Some(op.node.ty)
}

/// Field selections in the document as written (aliases included,
/// fragments counted once).
pub fn count_fields(doc: &ExecutableDocument) -> usize {
    // An explicit stack: the document's nesting is the client's choice.
    let mut stack: Vec<&SelectionSet> = Vec::new();
    for (_, op) in doc.operations.iter() {
        stack.push(&op.node.selection_set.node);
    }
    for fragment in doc.fragments.values() {
        stack.push(&fragment.node.selection_set.node);
    }
    let mut n = 0usize;
    while let Some(set) = stack.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    n += 1;
                    stack.push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(f) => stack.push(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(body_kind(Some("application/json")), Ok(BodyKind::Json));
        assert_eq!(
            body_kind(Some("Application/JSON; charset=utf-8")),
            Ok(BodyKind::Json)
        );
        assert_eq!(
            body_kind(Some("multipart/form-data; boundary=x")),
            Ok(BodyKind::Multipart)
        );
        assert_eq!(body_kind(None), Err(ContentTypeError::Missing));
        assert_eq!(
            body_kind(Some("text/plain")),
            Err(ContentTypeError::Unsupported("text/plain".into()))
        );
    }

    #[test]
    fn the_named_operation_decides() {
        let q = "query A { a } mutation B { b }";
        assert_eq!(operation_type(q, None), Some(OperationType::Query));
        assert_eq!(operation_type(q, Some("B")), Some(OperationType::Mutation));
        assert_eq!(operation_type(q, Some("C")), None);
        assert_eq!(operation_type("{ unclosed", None), None);
    }

    #[test]
    fn fields_are_counted_as_written() {
        let doc = async_graphql::parser::parse_query(
            "{ a: x b: x c { d ...F ... on T { e } } } fragment F on T { f g }",
        )
        .expect("parses");
        // a, b, c, d, e (inline) and f, g (fragment, once).
        assert_eq!(count_fields(&doc), 7);
    }
}
