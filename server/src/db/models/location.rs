//! URL locations (the successor of endpoints) and their links to findings.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{location_finding_refs, location_product_refs, locations};

/// A URL location.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = locations, check_for_backend(Pg))]
pub struct Location {
    pub id: i64,
    pub location_type: String,
    pub location_value: String,
    pub identity_hash: String,
    pub protocol: String,
    pub user_info: String,
    pub host: String,
    pub port: Option<i32>,
    pub path: String,
    pub query: String,
    pub fragment: String,
    pub host_validation_failure: bool,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Insert form of [`Location`].
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = locations)]
pub struct NewLocation {
    pub location_value: String,
    pub identity_hash: String,
    pub protocol: String,
    pub user_info: String,
    pub host: String,
    pub port: Option<i32>,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

/// A location as linked to one finding, with the link's status.
#[derive(Debug, Clone, Queryable)]
pub struct FindingLocation {
    pub finding_id: i64,
    pub status: String,
    pub location: Location,
}

impl Location {
    /// Locations with these ids.
    pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Location>> {
        locations::table
            .filter(locations::id.eq_any(ids.to_vec()))
            .select(Location::as_select())
            .load(conn)
            .await
    }

    /// Inserts the locations that do not exist yet and returns all of them, by identity hash.
    pub async fn upsert_many(
        conn: &mut AsyncPgConnection,
        new: &[NewLocation],
    ) -> QueryResult<Vec<Location>> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        diesel::insert_into(locations::table)
            .values(new)
            .on_conflict(locations::identity_hash)
            .do_nothing()
            .execute(conn)
            .await?;
        let hashes: Vec<&str> = new.iter().map(|n| n.identity_hash.as_str()).collect();
        locations::table
            .filter(locations::identity_hash.eq_any(hashes))
            .select(Location::as_select())
            .load(conn)
            .await
    }

    /// The locations of many findings with each link's status.
    pub async fn for_findings(
        conn: &mut AsyncPgConnection,
        finding_ids: &[i64],
    ) -> QueryResult<Vec<FindingLocation>> {
        location_finding_refs::table
            .inner_join(locations::table)
            .filter(location_finding_refs::finding_id.eq_any(finding_ids.to_vec()))
            .order((location_finding_refs::finding_id, locations::id))
            .select((
                location_finding_refs::finding_id,
                location_finding_refs::status,
                Location::as_select(),
            ))
            .load(conn)
            .await
    }

    /// Product ids a location is referenced from (its access scope).
    pub async fn product_ids(
        conn: &mut AsyncPgConnection,
        location_id: i64,
    ) -> QueryResult<Vec<i64>> {
        location_product_refs::table
            .filter(location_product_refs::location_id.eq(location_id))
            .select(location_product_refs::product_id)
            .load(conn)
            .await
    }

    /// Links a location to a finding (and its product); idempotent.
    pub async fn link(
        conn: &mut AsyncPgConnection,
        location_id: i64,
        finding_id: i64,
        product_id: i64,
        status: &str,
    ) -> QueryResult<()> {
        diesel::insert_into(location_finding_refs::table)
            .values((
                location_finding_refs::location_id.eq(location_id),
                location_finding_refs::finding_id.eq(finding_id),
                location_finding_refs::status.eq(status),
            ))
            .on_conflict((
                location_finding_refs::finding_id,
                location_finding_refs::location_id,
            ))
            .do_update()
            .set(location_finding_refs::status.eq(status))
            .execute(conn)
            .await?;
        let product_status = if status == "Active" {
            "Active"
        } else {
            "Mitigated"
        };
        diesel::insert_into(location_product_refs::table)
            .values((
                location_product_refs::location_id.eq(location_id),
                location_product_refs::product_id.eq(product_id),
                location_product_refs::status.eq(product_status),
            ))
            .on_conflict((
                location_product_refs::product_id,
                location_product_refs::location_id,
            ))
            .do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Removes a finding's link to a location.
    pub async fn unlink(
        conn: &mut AsyncPgConnection,
        location_id: i64,
        finding_id: i64,
    ) -> QueryResult<bool> {
        Ok(diesel::delete(
            location_finding_refs::table
                .filter(location_finding_refs::location_id.eq(location_id))
                .filter(location_finding_refs::finding_id.eq(finding_id)),
        )
        .execute(conn)
        .await?
            > 0)
    }

    /// Deletes a location and its links.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::delete(locations::table.find(id))
            .execute(conn)
            .await?
            > 0)
    }

    /// One location, locked until the transaction ends (read-modify-write).
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Option<Location>> {
        locations::table
            .find(id)
            .select(Location::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// Replaces a location's tags.
    pub async fn set_tags(
        conn: &mut AsyncPgConnection,
        id: i64,
        tags: &[String],
    ) -> QueryResult<Option<Location>> {
        diesel::update(locations::table.find(id))
            .set(locations::tags.eq(tags.to_vec()))
            .returning(Location::as_select())
            .get_result(conn)
            .await
            .optional()
    }
}
