//! Password sign-in with failure rate limiting.
//!
//! Unknown users and wrong passwords take the same time (a password hash is
//! always verified) and get the same answer. Failures are counted per
//! username and per client address over a sliding window; past the limit
//! every attempt for that key is refused without checking the password, so
//! guessing is slowed to the configured rate even with the right password.
//! Counters live in the process: several processes each allow the limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{AuthError, IssuedToken, issue_session};
use crate::config::AuthConfig;
use crate::db::Db;
use crate::db::models::user::User;

/// Counters are pruned when the table grows past this many keys, so a flood
/// of distinct usernames cannot grow memory without bound.
const MAX_TRACKED_KEYS: usize = 100_000;

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong username or password (deliberately not saying which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many recent failures for this username or address.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// When the oldest counted failure leaves the window.
        retry_after_secs: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    User(u64),
    Addr(IpAddr),
}

/// Recent failures per username and per address.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    inner: Arc<Mutex<HashMap<Key, Vec<Instant>>>>,
    max_failures: u32,
    window: Duration,
}

impl LoginLimiter {
    /// A limiter allowing `max_failures` within `window`.
    pub fn new(max_failures: u32, window: Duration) -> LoginLimiter {
        LoginLimiter {
            inner: Arc::default(),
            max_failures,
            window,
        }
    }

    /// A limiter configured from `config`.
    pub fn from_config(config: &AuthConfig) -> LoginLimiter {
        LoginLimiter::new(
            config.login_max_failures,
            Duration::from_secs(config.login_window_secs),
        )
    }

    fn keys(username: &str, addr: Option<IpAddr>) -> Vec<Key> {
        // Usernames are matched case-insensitively here so `Admin` and
        // `admin` share a budget; a hash keeps long names from being stored.
        use std::hash::{BuildHasher, Hasher};
        static SEED: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
        let mut h = SEED.get_or_init(Default::default).build_hasher();
        h.write(username.to_lowercase().as_bytes());
        let mut keys = vec![Key::User(h.finish())];
        keys.extend(addr.map(Key::Addr));
        keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Instant>>> {
        // The map holds plain counters; a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err` with the wait when any key is over its budget.
    fn check(&self, keys: &[Key], now: Instant) -> Result<(), LoginError> {
        let mut map = self.lock();
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.max_failures as usize
                    && let Some(oldest) = times.first()
                {
                    wait = wait.max(self.window.saturating_sub(now.duration_since(*oldest)));
                }
            }
        }
        if wait > Duration::ZERO {
            Err(LoginError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            })
        } else {
            Ok(())
        }
    }

    fn record_failure(&self, keys: &[Key], now: Instant) {
        let mut map = self.lock();
        if map.len() > MAX_TRACKED_KEYS {
            let window = self.window;
            map.retain(|_, times| {
                times
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        for key in keys {
            map.entry(*key).or_default().push(now);
        }
    }

    fn clear(&self, keys: &[Key]) {
        let mut map = self.lock();
        for key in keys {
            if matches!(key, Key::User(_)) {
                map.remove(key);
            }
        }
    }
}

/// A hash verified when the user does not exist, so both failures cost the
/// same time.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        crate::domain::user::hash_password("not a real password, only for timing")
            .unwrap_or_default()
    })
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    /// The new session token.
    pub token: IssuedToken,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: User,
}

/// Checks `username`/`password` and issues a session token.
pub async fn login(
    db: &Db,
    limiter: &LoginLimiter,
    config: &AuthConfig,
    username: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<Session, LoginError> {
    let keys = LoginLimiter::keys(username, addr);
    limiter.check(&keys, Instant::now())?;
    let user = {
        let mut conn = db.conn().await.map_err(AuthError::Db)?;
        User::by_username(&mut conn, username)
            .await
            .map_err(AuthError::from)?
    };
    let phc = user
        .as_ref()
        .filter(|u| u.is_active)
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let password = password.to_owned();
    // argon2 takes tens of milliseconds of CPU: off the async workers.
    let ok =
        tokio::task::spawn_blocking(move || crate::domain::user::verify_password(&password, &phc))
            .await
            .unwrap_or(false);
    let user = match user {
        Some(u) if ok && u.is_active && u.password_hash.is_some() => u,
        _ => {
            limiter.record_failure(&keys, Instant::now());
            return Err(LoginError::InvalidCredentials);
        }
    };
    limiter.clear(&keys);
    let (token, expires_at) = issue_session(db, user.id, config.session_ttl_secs).await?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_user_and_per_address() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let alice_a = LoginLimiter::keys("alice", Some(a));
        for _ in 0..3 {
            assert!(l.check(&alice_a, t0).is_ok());
            l.record_failure(&alice_a, t0);
        }
        assert!(matches!(
            l.check(&alice_a, t0),
            Err(LoginError::RateLimited { .. })
        ));
        // Same user from another address: still limited (per user).
        assert!(l.check(&LoginLimiter::keys("ALICE", Some(b)), t0).is_err());
        // Another user from the same address: limited (per address).
        assert!(l.check(&LoginLimiter::keys("bob", Some(a)), t0).is_err());
        // Another user elsewhere: free.
        assert!(l.check(&LoginLimiter::keys("bob", Some(b)), t0).is_ok());
    }

    #[test]
    fn failures_leave_the_window() {
        let l = LoginLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let k = LoginLimiter::keys("carol", None);
        l.record_failure(&k, t0);
        l.record_failure(&k, t0);
        match l.check(&k, t0 + Duration::from_secs(4)) {
            Err(LoginError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 6),
            other => panic!("expected a limit, got {other:?}"),
        }
        assert!(l.check(&k, t0 + Duration::from_secs(10)).is_ok());
    }
}
