//! Password sign-in with attempt limits.
//!
//! Unknown users and wrong passwords take the same time (a password hash is
//! always verified) and get the same answer. Every attempt reserves a slot
//! before its password is checked, in one step under a lock, so parallel
//! attempts cannot all pass a check made before the first failure is
//! recorded; a successful attempt gives its slot back.
//!
//! - Per client address (IPv6 by /64, the block one subscriber holds):
//!   `max_failures` attempts per window, then refused until the window moves.
//! - Per username: `max_failures` attempts per window, then one attempt per
//!   delay, the delay doubling with every further attempt up to a cap. The
//!   username is slowed down, never locked: whoever knows the password signs
//!   in with the next allowed attempt.
//!
//! Password verification (argon2, tens of ms of CPU and ~19 MiB) runs at most
//! `verify_concurrency` at a time with a bounded queue; beyond it sign-ins
//! are refused at once instead of piling up memory and threads.
//!
//! Counters live in the process: several processes each allow the limit.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// Too many recent attempts for this username or address.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// When the next attempt may be made.
        retry_after_secs: u64,
    },
    /// Every password verification slot and the queue are taken.
    #[error("too many sign-ins in progress; try again in a moment")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Attempts of one username.
#[derive(Debug, Default)]
struct UserSlots {
    /// Attempts within the window (in flight or failed).
    times: VecDeque<Instant>,
    /// How many delays have been imposed since the window was last empty.
    level: u32,
    /// The earliest next attempt once the budget is spent.
    next_allowed: Option<Instant>,
}

/// Attempts per username and per address, and the verification gate.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    inner: Arc<Mutex<Tables>>,
    gate: Arc<Gate>,
    max_attempts: usize,
    window: Duration,
    delay: Duration,
    max_delay: Duration,
}

#[derive(Debug, Default)]
struct Tables {
    users: HashMap<u64, UserSlots>,
    addrs: HashMap<IpAddr, VecDeque<Instant>>,
}

/// Bounds concurrent password verifications, with a bounded queue.
#[derive(Debug)]
struct Gate {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

impl Gate {
    /// A verification slot, or `None` when the slots and the queue are full.
    async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = Arc::clone(&self.slots).try_acquire_owned() {
            return Some(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        // Dropping the future while it waits must still leave the queue.
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _leave = Leave(&self.waiting);
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }
}

/// One attempt's reserved slots, returned when the attempt succeeds.
#[derive(Debug)]
struct Reservation {
    user: u64,
    addr: Option<IpAddr>,
    at: Instant,
}

/// The limiter's settings.
#[derive(Debug, Clone, Copy)]
pub struct LimiterSettings {
    /// Attempts per window per address, and per username before delays.
    pub max_attempts: u32,
    /// The counting window.
    pub window: Duration,
    /// The first delay once a username's budget is spent.
    pub delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Password verifications at once.
    pub verify_concurrency: usize,
    /// Sign-ins that may wait for a verification.
    pub verify_queue: usize,
}

/// The address key: IPv6 clients by their /64, since one subscriber
/// usually holds a whole /64 and could otherwise rotate addresses freely.
fn addr_key(addr: IpAddr) -> IpAddr {
    match super::client::canonical(addr) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// The username key: matched case-insensitively so `Admin` and `admin`
/// share a budget; a hash keeps long names from being stored.
fn user_key(username: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static SEED: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let mut h = SEED.get_or_init(Default::default).build_hasher();
    h.write(username.to_lowercase().as_bytes());
    h.finish()
}

fn remove_one(times: &mut VecDeque<Instant>, at: Instant) {
    if let Some(i) = times.iter().position(|t| *t == at) {
        times.remove(i);
    }
}

fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl LoginLimiter {
    /// A limiter with these settings.
    pub fn new(settings: LimiterSettings) -> LoginLimiter {
        LoginLimiter {
            inner: Arc::default(),
            gate: Arc::new(Gate {
                slots: Arc::new(Semaphore::new(settings.verify_concurrency.max(1))),
                waiting: AtomicUsize::new(0),
                queue: settings.verify_queue,
            }),
            max_attempts: settings.max_attempts.max(1) as usize,
            window: settings.window,
            delay: settings.delay,
            max_delay: settings.max_delay.max(settings.delay),
        }
    }

    /// A limiter configured from `config`.
    pub fn from_config(config: &AuthConfig) -> LoginLimiter {
        LoginLimiter::new(LimiterSettings {
            max_attempts: config.login_max_failures,
            window: Duration::from_secs(config.login_window_secs),
            delay: Duration::from_secs(config.login_delay_secs),
            max_delay: Duration::from_secs(config.login_max_delay_secs),
            verify_concurrency: config.login_verify_concurrency as usize,
            verify_queue: config.login_verify_queue as usize,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // The map holds plain counters; a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `n`th delay (1-based): doubling from `delay`, capped.
    fn delay_for(&self, level: u32) -> Duration {
        let factor = 1u32
            .checked_shl(level.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Checks the budgets of the username and the address and, when both
    /// allow an attempt, takes it: check and record are one step.
    fn reserve(
        &self,
        username: &str,
        addr: Option<IpAddr>,
        now: Instant,
    ) -> Result<Reservation, LoginError> {
        let user = user_key(username);
        let addr = addr.map(addr_key);
        let window = self.window;
        let in_window = |t: &Instant| now.saturating_duration_since(*t) < window;
        let mut tables = self.lock();
        if tables.users.len() + tables.addrs.len() > MAX_TRACKED_KEYS {
            tables.users.retain(|_, u| {
                u.times.back().is_some_and(in_window) || u.next_allowed.is_some_and(|t| t > now)
            });
            tables
                .addrs
                .retain(|_, times| times.back().is_some_and(in_window));
        }
        let mut wait = Duration::ZERO;
        if let Some(a) = addr
            && let Some(times) = tables.addrs.get_mut(&a)
        {
            while times.front().is_some_and(|t| !in_window(t)) {
                times.pop_front();
            }
            if times.len() >= self.max_attempts
                && let Some(oldest) = times.front()
            {
                wait = window.saturating_sub(now.saturating_duration_since(*oldest));
            }
        }
        let slots = tables.users.entry(user).or_default();
        while slots.times.front().is_some_and(|t| !in_window(t)) {
            slots.times.pop_front();
        }
        if slots.times.is_empty() && slots.next_allowed.is_none_or(|t| t <= now) {
            slots.level = 0;
            slots.next_allowed = None;
        }
        if slots.times.len() >= self.max_attempts
            && let Some(next) = slots.next_allowed
            && next > now
        {
            wait = wait.max(next - now);
        }
        if wait > Duration::ZERO {
            return Err(LoginError::RateLimited {
                retry_after_secs: retry_secs(wait).max(1),
            });
        }
        slots.times.push_back(now);
        if slots.times.len() >= self.max_attempts {
            slots.level = slots.level.saturating_add(1);
            slots.next_allowed = Some(now + self.delay_for(slots.level));
        }
        if let Some(a) = addr {
            tables.addrs.entry(a).or_default().push_back(now);
        }
        Ok(Reservation {
            user,
            addr,
            at: now,
        })
    }

    /// Gives an attempt's slots back without judging the username (the
    /// attempt never reached the password check).
    fn release(&self, r: &Reservation) {
        let mut tables = self.lock();
        if let Some(u) = tables.users.get_mut(&r.user) {
            remove_one(&mut u.times, r.at);
        }
        if let Some(a) = r.addr
            && let Some(times) = tables.addrs.get_mut(&a)
        {
            remove_one(times, r.at);
        }
    }

    /// Gives a successful attempt's slots back and ends the username's
    /// delays: the owner has just proven the password.
    fn refund(&self, r: &Reservation) {
        self.release(r);
        if let Some(u) = self.lock().users.get_mut(&r.user) {
            u.level = 0;
            u.next_allowed = None;
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

/// Checks `username`/`password` as one limited attempt: the active user
/// when the password matches.
pub async fn verify_attempt(
    db: &Db,
    limiter: &LoginLimiter,
    username: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<User, LoginError> {
    let reservation = limiter.reserve(username, addr, Instant::now())?;
    let Some(permit) = limiter.gate.enter().await else {
        limiter.release(&reservation);
        return Err(LoginError::Busy);
    };
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
    // argon2 takes tens of milliseconds of CPU: off the async workers. The
    // permit travels with the work, so an abandoned request still holds its
    // slot until the verification really ends.
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        crate::domain::user::verify_password(&password, &phc)
    })
    .await
    .unwrap_or(false);
    match user {
        Some(u) if ok && u.is_active && u.password_hash.is_some() => {
            limiter.refund(&reservation);
            Ok(u)
        }
        _ => Err(LoginError::InvalidCredentials),
    }
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
    let user = verify_attempt(db, limiter, username, password, addr).await?;
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

    fn limiter(max: u32, window: u64, delay: u64, max_delay: u64) -> LoginLimiter {
        LoginLimiter::new(LimiterSettings {
            max_attempts: max,
            window: Duration::from_secs(window),
            delay: Duration::from_secs(delay),
            max_delay: Duration::from_secs(max_delay),
            verify_concurrency: 1,
            verify_queue: 0,
        })
    }

    fn wait_of(r: Result<Reservation, LoginError>) -> u64 {
        match r {
            Err(LoginError::RateLimited { retry_after_secs }) => retry_after_secs,
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn the_address_budget_is_a_hard_limit_per_window() {
        let l = limiter(3, 60, 1, 1);
        let t0 = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for name in ["u1", "u2", "u3"] {
            assert!(l.reserve(name, Some(a), t0).is_ok());
        }
        // Another user from the same address: refused for the whole window.
        assert_eq!(wait_of(l.reserve("bob", Some(a), t0)), 60);
        assert!(l.reserve("bob", Some(b), t0).is_ok());
        assert!(
            l.reserve("bob", Some(a), t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn a_spent_username_budget_turns_into_growing_delays() {
        let l = limiter(3, 3600, 2, 10);
        let t0 = Instant::now();
        let from = |i: u8| Some(IpAddr::from([10, 0, 1, i]));
        for i in 0..3 {
            assert!(l.reserve("alice", from(i), t0).is_ok());
        }
        // Case-insensitive, from anywhere: the next attempt waits 2 s.
        assert_eq!(wait_of(l.reserve("ALICE", from(9), t0)), 2);
        let t1 = t0 + Duration::from_secs(2);
        assert!(l.reserve("alice", from(9), t1).is_ok());
        // Then 4 s, 8 s, and no more than the 10 s cap.
        assert_eq!(wait_of(l.reserve("alice", from(10), t1)), 4);
        let t2 = t1 + Duration::from_secs(4);
        assert!(l.reserve("alice", from(10), t2).is_ok());
        assert_eq!(wait_of(l.reserve("alice", from(11), t2)), 8);
        let t3 = t2 + Duration::from_secs(8);
        assert!(l.reserve("alice", from(11), t3).is_ok());
        assert_eq!(wait_of(l.reserve("alice", from(12), t3)), 10);
        // A success in an allowed attempt ends the delays.
        let t4 = t3 + Duration::from_secs(10);
        let ok = l.reserve("alice", from(12), t4).expect("allowed");
        l.refund(&ok);
        assert!(l.reserve("alice", from(13), t4).is_ok());
        // Other usernames were never affected.
        assert!(l.reserve("bob", from(14), t0).is_ok());
    }

    #[test]
    fn parallel_reservations_never_exceed_the_budget() {
        let l = limiter(5, 900, 60, 60);
        let t0 = Instant::now();
        let granted = std::thread::scope(|s| {
            let handles: Vec<_> = (0..64u8)
                .map(|i| {
                    let l = l.clone();
                    s.spawn(move || l.reserve("admin", Some([10, 9, 0, i].into()), t0).is_ok())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(false))
                .filter(|ok| *ok)
                .count()
        });
        assert_eq!(granted, 5);
    }

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        let l = limiter(2, 60, 1, 1);
        let t0 = Instant::now();
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        assert!(l.reserve("a", ip("2001:db8:0:1::1"), t0).is_ok());
        assert!(l.reserve("b", ip("2001:db8:0:1:ffff::2"), t0).is_ok());
        assert!(l.reserve("c", ip("2001:db8:0:1::3"), t0).is_err());
        assert!(l.reserve("c", ip("2001:db8:0:2::3"), t0).is_ok());
    }

    #[tokio::test]
    async fn verifications_beyond_the_slots_and_queue_are_refused() {
        let l = limiter(5, 60, 1, 1);
        let held = l.gate.enter().await.expect("first slot");
        assert!(l.gate.enter().await.is_none(), "no slot, no queue");
        drop(held);
        assert!(l.gate.enter().await.is_some());
    }
}
