//! Plugins uploaded by superusers live in the database (`parser_plugins`);
//! at boot they are installed into the registry beside the built-in and
//! directory ones.

use super::{PluginRegistry, PluginSource};
use crate::db::models::plugin::StoredPlugin;
use crate::db::{Db, DbError};

/// Loads the uploaded plugins stored in the database into the registry.
pub async fn load_uploaded(db: &Db, registry: &PluginRegistry) -> Result<usize, DbError> {
    let mut conn = db.conn().await?;
    let stored = StoredPlugin::all(&mut conn).await?;
    drop(conn);
    let mut loaded = 0;
    for p in stored {
        let name = p.name.clone();
        match registry
            .install(PluginSource::Uploaded, p.name.clone(), p.wasm)
            .await
        {
            Ok(_) => {
                loaded += 1;
                if !p.enabled
                    && let Err(e) = registry.set_enabled(PluginSource::Uploaded, &name, false)
                {
                    tracing::warn!(plugin.name = %name, error = %e, "cannot disable stored plugin");
                }
            }
            Err(e) => {
                tracing::warn!(plugin.name = %name, error = %e, "stored plugin failed to load")
            }
        }
    }
    Ok(loaded)
}
