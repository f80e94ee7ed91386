//! Keeps a process's policy in step with the database: a dedicated
//! connection LISTENs on `palisade_authz` and each notification reloads.
//!
//! The membership writes notify inside their transaction, so a notification
//! arrives only after the change is visible. After every (re)connect the
//! policy is reloaded once, because changes committed while the connection
//! was down sent notifications nobody heard.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use super::AuthzError;
use super::enforcer::WeakAuthz;
use crate::db::Db;
use crate::db::models::membership::AUTHZ_CHANNEL;

/// First wait after a failure; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Spawns the listener task; it ends by itself once every `Authz` is gone.
pub(crate) fn spawn(db_url: String, db: Db, target: WeakAuthz) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        let mut backoff = MIN_BACKOFF;
        loop {
            match listen(&db_url, &db, &target, &mut backoff).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        retry_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                        "authorization listener lost its connection; retrying"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    })
    .abort_handle()
}

/// One connection's life: LISTEN, reload, then reload on each notification.
/// `Ok` means the `Authz` is gone and the task should end.
async fn listen(
    db_url: &str,
    db: &Db,
    target: &WeakAuthz,
    backoff: &mut Duration,
) -> Result<(), AuthzError> {
    let (client, mut connection) = tokio_postgres::connect(db_url, NoTls).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    // The connection object yields notifications only while polled, so it
    // gets its own task; dropping `tx` (connection closed or failed) ends
    // the loop below.
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(msg) = messages.next().await {
            match msg {
                Ok(AsyncMessage::Notification(_)) => {
                    if tx.send(()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "authorization listener connection failed");
                    return;
                }
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {AUTHZ_CHANNEL}"))
            .await?;
        let Some(authz) = target.upgrade() else {
            return Ok(());
        };
        authz.reload(db).await?;
        drop(authz);
        *backoff = MIN_BACKOFF;
        tracing::debug!("authorization listener subscribed");
        while rx.recv().await.is_some() {
            // One reload covers every notification already queued.
            while rx.try_recv().is_ok() {}
            let Some(authz) = target.upgrade() else {
                return Ok(());
            };
            authz.reload(db).await?;
        }
        Err(AuthzError::ListenerClosed)
    }
    .await;
    driver.abort();
    result
}
