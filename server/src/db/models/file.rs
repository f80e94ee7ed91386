//! Files attached to findings, tests and engagements (`files`): metadata
//! reads never load the content; a download reads it once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// What a file is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileParent {
    /// A finding.
    Finding(i64),
    /// A test.
    Test(i64),
    /// An engagement.
    Engagement(i64),
    /// A risk acceptance (its proof).
    RiskAcceptance(i64),
}

impl FileParent {
    fn column(self) -> &'static str {
        match self {
            FileParent::Finding(_) => "finding_id",
            FileParent::Test(_) => "test_id",
            FileParent::Engagement(_) => "engagement_id",
            FileParent::RiskAcceptance(_) => "risk_acceptance_id",
        }
    }

    fn id(self) -> i64 {
        match self {
            FileParent::Finding(id)
            | FileParent::Test(id)
            | FileParent::Engagement(id)
            | FileParent::RiskAcceptance(id) => id,
        }
    }
}

/// A file's metadata.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct StoredFile {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub finding_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub test_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub engagement_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub risk_acceptance_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub product_id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub content_type: String,
    #[diesel(sql_type = BigInt)]
    pub size: i64,
    #[diesel(sql_type = Text)]
    pub sha256: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub uploaded_by_id: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

impl StoredFile {
    /// The object the file is attached to.
    pub fn parent(&self) -> Option<FileParent> {
        self.finding_id
            .map(FileParent::Finding)
            .or(self.test_id.map(FileParent::Test))
            .or(self.engagement_id.map(FileParent::Engagement))
            .or(self.risk_acceptance_id.map(FileParent::RiskAcceptance))
    }
}

#[derive(QueryableByName)]
struct Content {
    #[diesel(sql_type = Bytea)]
    content: Vec<u8>,
}

/// A file to store.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub parent: FileParent,
    pub product_id: i64,
    pub name: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub uploaded_by_id: Option<i64>,
}

const COLUMNS: &str = "id, finding_id, test_id, engagement_id, risk_acceptance_id, product_id, \
     name, content_type, size, sha256, uploaded_by_id, created_at";

impl StoredFile {
    /// Stores a file.
    pub async fn create(conn: &mut AsyncPgConnection, f: &NewFile<'_>) -> QueryResult<StoredFile> {
        diesel::sql_query(format!(
            "INSERT INTO files ({}, product_id, name, content_type, size, sha256, content, \
             uploaded_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}",
            f.parent.column()
        ))
        .bind::<BigInt, _>(f.parent.id())
        .bind::<BigInt, _>(f.product_id)
        .bind::<Text, _>(f.name)
        .bind::<Text, _>(f.content_type)
        .bind::<BigInt, _>(i64::try_from(f.content.len()).unwrap_or(i64::MAX))
        .bind::<Text, _>(f.sha256)
        .bind::<Bytea, _>(f.content)
        .bind::<Nullable<BigInt>, _>(f.uploaded_by_id)
        .get_result(conn)
        .await
    }

    /// One file's metadata.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<StoredFile>> {
        let rows: Vec<StoredFile> =
            diesel::sql_query(format!("SELECT {COLUMNS} FROM files WHERE id = $1"))
                .bind::<BigInt, _>(id)
                .load(conn)
                .await?;
        Ok(rows.into_iter().next())
    }

    /// The files of many objects of one kind, oldest first.
    pub async fn for_parents(
        conn: &mut AsyncPgConnection,
        parents: &[FileParent],
    ) -> QueryResult<Vec<StoredFile>> {
        let mut out = Vec::new();
        for column in [
            "finding_id",
            "test_id",
            "engagement_id",
            "risk_acceptance_id",
        ] {
            let ids: Vec<i64> = parents
                .iter()
                .filter(|p| p.column() == column)
                .map(|p| p.id())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let rows: Vec<StoredFile> = diesel::sql_query(format!(
                "SELECT {COLUMNS} FROM files WHERE {column} = ANY($1) ORDER BY id"
            ))
            .bind::<Array<BigInt>, _>(ids)
            .load(conn)
            .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// A file's content.
    pub async fn content(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Vec<u8>>> {
        let rows: Vec<Content> = diesel::sql_query("SELECT content FROM files WHERE id = $1")
            .bind::<BigInt, _>(id)
            .load(conn)
            .await?;
        Ok(rows.into_iter().next().map(|r| r.content))
    }

    /// Deletes a file.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::sql_query("DELETE FROM files WHERE id = $1")
            .bind::<BigInt, _>(id)
            .execute(conn)
            .await?
            > 0)
    }
}
