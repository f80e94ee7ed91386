//! Opaque global ids: base64url of "Type:id", as GitHub's API does, so that
//! clients never build ids themselves.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;

/// The object kinds that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Product type.
    ProductType,
    /// Product.
    Product,
    /// Engagement.
    Engagement,
    /// Test.
    Test,
    /// Finding.
    Finding,
    /// Finding group.
    FindingGroup,
    /// Finding template.
    FindingTemplate,
    /// Custom field definition.
    CustomField,
    /// Attached file.
    File,
    /// Risk acceptance.
    RiskAcceptance,
    /// Location.
    Location,
    /// Note.
    Note,
    /// Note type.
    NoteType,
    /// User.
    User,
    /// API token.
    ApiToken,
    /// Session from a sign-in.
    Session,
    /// User group.
    Group,
    /// Background job.
    Job,
    /// Import history entry.
    TestImport,
    /// Webhook.
    Webhook,
}

impl Kind {
    /// The GraphQL type name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ProductType => "ProductType",
            Kind::Product => "Product",
            Kind::Engagement => "Engagement",
            Kind::Test => "Test",
            Kind::Finding => "Finding",
            Kind::FindingGroup => "FindingGroup",
            Kind::FindingTemplate => "FindingTemplate",
            Kind::CustomField => "CustomField",
            Kind::File => "File",
            Kind::RiskAcceptance => "RiskAcceptance",
            Kind::Location => "Location",
            Kind::Note => "Note",
            Kind::NoteType => "NoteType",
            Kind::User => "User",
            Kind::ApiToken => "ApiToken",
            Kind::Session => "Session",
            Kind::Group => "Group",
            Kind::Job => "Job",
            Kind::TestImport => "TestImport",
            Kind::Webhook => "Webhook",
        }
    }

    fn from_name(s: &str) -> Option<Kind> {
        Some(match s {
            "ProductType" => Kind::ProductType,
            "Product" => Kind::Product,
            "Engagement" => Kind::Engagement,
            "Test" => Kind::Test,
            "Finding" => Kind::Finding,
            "FindingGroup" => Kind::FindingGroup,
            "FindingTemplate" => Kind::FindingTemplate,
            "CustomField" => Kind::CustomField,
            "File" => Kind::File,
            "RiskAcceptance" => Kind::RiskAcceptance,
            "Location" => Kind::Location,
            "Note" => Kind::Note,
            "NoteType" => Kind::NoteType,
            "User" => Kind::User,
            "ApiToken" => Kind::ApiToken,
            "Session" => Kind::Session,
            "Group" => Kind::Group,
            "Job" => Kind::Job,
            "TestImport" => Kind::TestImport,
            "Webhook" => Kind::Webhook,
            _ => return None,
        })
    }
}

/// Encodes a global id.
pub fn encode(kind: Kind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// Global ids of `kind` for a message: the first 20, then how many more.
pub fn list(kind: Kind, ids: &[i64]) -> String {
    const SHOWN: usize = 20;
    let mut out: Vec<String> = ids.iter().take(SHOWN).map(|i| encode(kind, *i).0).collect();
    if ids.len() > SHOWN {
        out.push(format!("and {} more", ids.len() - SHOWN));
    }
    out.join(", ")
}

/// Decodes any global id.
pub fn decode_any(id: &ID) -> Result<(Kind, i64), ApiError> {
    let bad = || ApiError::BadUserInput(format!("`{}` is not a valid id", truncate(&id.0)));
    let raw = URL_SAFE_NO_PAD.decode(id.0.as_bytes()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (kind, num) = text.split_once(':').ok_or_else(bad)?;
    let kind = Kind::from_name(kind).ok_or_else(bad)?;
    let num: i64 = num.parse().map_err(|_| bad())?;
    if num <= 0 {
        return Err(bad());
    }
    Ok((kind, num))
}

/// Decodes a global id that must be of `kind`.
pub fn decode(id: &ID, kind: Kind) -> Result<i64, ApiError> {
    let (k, n) = decode_any(id)?;
    if k != kind {
        return Err(ApiError::BadUserInput(format!(
            "`{}` is the id of a {}, not of a {}",
            truncate(&id.0),
            k.name(),
            kind.name()
        )));
    }
    Ok(n)
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_typed() {
        let id = encode(Kind::Finding, 42);
        assert_eq!(decode(&id, Kind::Finding).expect("valid"), 42);
        assert!(decode(&id, Kind::Product).is_err());
        assert!(decode_any(&ID("nonsense".into())).is_err());
        assert!(decode_any(&encode(Kind::Test, 0)).is_err());
    }
}
