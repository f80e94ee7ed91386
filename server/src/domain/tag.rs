//! Adding and removing tags on one object.
//!
//! Each edit locks the row, merges and writes in one transaction, so two
//! concurrent edits of one object both take effect. Findings also record an
//! event ([`super::finding::edit_tags`]).

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{DomainError, normalize_tags};
use crate::db::models::hierarchy::{
    Engagement, EngagementChanges, Product, ProductChanges, Test, TestChanges,
};
use crate::db::models::location::Location;

/// Tags to add to or remove from an object's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagEdit {
    /// Append these, keeping the existing order.
    Add(Vec<String>),
    /// Drop these.
    Remove(Vec<String>),
}

impl TagEdit {
    /// An edit with normalised tags (lower-cased, de-duplicated, checked).
    pub fn new(add: bool, tags: &[String]) -> Result<TagEdit, DomainError> {
        let tags = normalize_tags(tags)?;
        Ok(if add {
            TagEdit::Add(tags)
        } else {
            TagEdit::Remove(tags)
        })
    }

    /// The tags after this edit of `current`.
    pub fn apply(&self, current: &[String]) -> Vec<String> {
        let mut out = current.to_vec();
        match self {
            TagEdit::Add(tags) => {
                for t in tags {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
            }
            TagEdit::Remove(tags) => out.retain(|t| !tags.contains(t)),
        }
        out
    }
}

fn not_found(kind: &'static str, id: i64) -> DomainError {
    DomainError::NotFound {
        kind,
        id: id.to_string(),
    }
}

/// Edits a product's tags.
pub async fn edit_product_tags(
    conn: &mut AsyncPgConnection,
    id: i64,
    edit: &TagEdit,
) -> Result<Product, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let row = Product::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found("Product", id))?;
        let changes = ProductChanges {
            tags: Some(edit.apply(&row.tags)),
            ..Default::default()
        };
        Product::update(c, id, &changes)
            .await?
            .ok_or_else(|| not_found("Product", id))
    })
    .await
}

/// Edits an engagement's tags.
pub async fn edit_engagement_tags(
    conn: &mut AsyncPgConnection,
    id: i64,
    edit: &TagEdit,
) -> Result<Engagement, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let row = Engagement::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found("Engagement", id))?;
        let changes = EngagementChanges {
            tags: Some(edit.apply(&row.tags)),
            ..Default::default()
        };
        Engagement::update(c, id, &changes)
            .await?
            .ok_or_else(|| not_found("Engagement", id))
    })
    .await
}

/// Edits a test's tags.
pub async fn edit_test_tags(
    conn: &mut AsyncPgConnection,
    id: i64,
    edit: &TagEdit,
) -> Result<Test, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let row = Test::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found("Test", id))?;
        let changes = TestChanges {
            tags: Some(edit.apply(&row.tags)),
            ..Default::default()
        };
        Test::update(c, id, &changes)
            .await?
            .ok_or_else(|| not_found("Test", id))
    })
    .await
}

/// Edits a location's tags.
pub async fn edit_location_tags(
    conn: &mut AsyncPgConnection,
    id: i64,
    edit: &TagEdit,
) -> Result<Location, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let row = Location::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found("Location", id))?;
        Location::set_tags(c, id, &edit.apply(&row.tags))
            .await?
            .ok_or_else(|| not_found("Location", id))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_keep_order_and_removes_drop() {
        let current = vec!["a".to_owned(), "b".to_owned()];
        let add = TagEdit::new(true, &["B".into(), "c".into()]).expect("valid");
        assert_eq!(add.apply(&current), vec!["a", "b", "c"]);
        let remove = TagEdit::new(false, &["a".into(), "zz".into()]).expect("valid");
        assert_eq!(remove.apply(&current), vec!["b"]);
    }
}
