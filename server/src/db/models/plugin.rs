//! Parser plugins uploaded through the API, kept so they survive restarts.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::schema::parser_plugins;

/// An uploaded plugin.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parser_plugins, check_for_backend(Pg))]
pub struct StoredPlugin {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub wasm: Vec<u8>,
    pub enabled: bool,
}

impl StoredPlugin {
    /// Every uploaded plugin, oldest first.
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<StoredPlugin>> {
        parser_plugins::table
            .order(parser_plugins::id)
            .select(StoredPlugin::as_select())
            .load(conn)
            .await
    }

    /// Stores a plugin, replacing any earlier upload of the same name.
    pub async fn replace(
        conn: &mut AsyncPgConnection,
        name: &str,
        version: &str,
        sha256: &str,
        wasm: &[u8],
        uploaded_by: Option<i64>,
    ) -> QueryResult<()> {
        conn.transaction::<_, diesel::result::Error, _>(async |c| {
            diesel::delete(
                parser_plugins::table.filter(
                    parser_plugins::name
                        .eq(name)
                        .or(parser_plugins::sha256.eq(sha256)),
                ),
            )
            .execute(c)
            .await?;
            diesel::insert_into(parser_plugins::table)
                .values((
                    parser_plugins::name.eq(name),
                    parser_plugins::version.eq(version),
                    parser_plugins::sha256.eq(sha256),
                    parser_plugins::wasm.eq(wasm),
                    parser_plugins::uploaded_by_id.eq(uploaded_by),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
    }

    /// Sets the enabled flag of an upload; whether it exists.
    pub async fn set_enabled(
        conn: &mut AsyncPgConnection,
        name: &str,
        enabled: bool,
    ) -> QueryResult<bool> {
        Ok(
            diesel::update(parser_plugins::table.filter(parser_plugins::name.eq(name)))
                .set(parser_plugins::enabled.eq(enabled))
                .execute(conn)
                .await?
                > 0,
        )
    }

    /// Deletes an upload; whether it existed.
    pub async fn delete(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<bool> {
        Ok(
            diesel::delete(parser_plugins::table.filter(parser_plugins::name.eq(name)))
                .execute(conn)
                .await?
                > 0,
        )
    }
}
