//! A budget of refused submissions per client (spec §17.4).
//!
//! A submission whose proof or signature fails costs the node as much as a
//! valid one (a Redeem's pairing, a Transfer's range proofs) and its
//! sender nothing: unsigned Redeems with garbage proofs are free to make.
//! The in-flight bounds ([`gate`](super::gate)) cap how many a client has
//! checked at once, not how many it sends in a row. So each client (an
//! IPv4 address or an IPv6 /64, as for the gate) has a token bucket of
//! refusals: `refused_burst` tokens, refilled at `refused_per_second`;
//! every `422 rejected` answer to it takes one, and while its bucket is
//! empty its submissions are answered `429 busy` before their bodies are
//! read — nothing of them is decoded or verified. Honest clients, whose
//! refusals are races (a nonce already used, a balance just spent), stay
//! far inside the burst.
//!
//! Refusals are counted where the client connects: a follower charges its
//! client for the leader's 422 it relays, and the leader does not charge
//! the follower's partner (one bad client must not silence a partner's
//! node). At most [`MAX_TRACKED`] buckets are kept: when a new client
//! finds none free, the buckets that are full again are dropped, and if
//! that leaves more than half, the fullest (the clients refused least
//! lately) until half remain.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::gate::ClientKey;

/// Most clients whose refusals are tracked at once.
pub const MAX_TRACKED: usize = 65_536;

/// Thousandths of a token: refills are computed in whole milliseconds.
const MILLI: u64 = 1_000;

/// The refusal budgets of every client.
#[derive(Clone)]
pub struct RefusalBudget {
    burst: u64,
    per_second: u64,
    buckets: Arc<Mutex<HashMap<ClientKey, Bucket>>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    /// Thousandths of a token.
    milli_tokens: u64,
    at: Instant,
}

impl Bucket {
    /// The bucket refilled at `per_second` tokens up to `burst`, at `now`.
    fn refilled(self, now: Instant, burst: u64, per_second: u64) -> Bucket {
        let elapsed_ms =
            u64::try_from(now.saturating_duration_since(self.at).as_millis()).unwrap_or(u64::MAX);
        Bucket {
            milli_tokens: self
                .milli_tokens
                .saturating_add(elapsed_ms.saturating_mul(per_second))
                .min(burst.saturating_mul(MILLI)),
            // Only the whole milliseconds counted move the clock on: a
            // client asking more often than once a millisecond still refills.
            at: self
                .at
                .checked_add(Duration::from_millis(elapsed_ms))
                .unwrap_or(now),
        }
    }
}

impl RefusalBudget {
    /// Budgets of `burst` refusals per client, refilled at `per_second`.
    pub fn new(burst: u64, per_second: u64) -> RefusalBudget {
        RefusalBudget {
            burst: burst.max(1),
            per_second: per_second.max(1),
            buckets: Arc::default(),
        }
    }

    /// `Ok` if `ip`'s client may submit at `now`; otherwise how long until
    /// its next refusal token.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.lock();
        let Some(bucket) = buckets.get_mut(&ClientKey::of(ip)) else {
            return Ok(());
        };
        *bucket = bucket.refilled(now, self.burst, self.per_second);
        if bucket.milli_tokens >= MILLI {
            return Ok(());
        }
        let missing = MILLI - bucket.milli_tokens;
        Err(Duration::from_millis(missing.div_ceil(self.per_second)))
    }

    /// Takes one token from `ip`'s client, refused at `now`.
    pub fn charge(&self, ip: IpAddr, now: Instant) {
        let key = ClientKey::of(ip);
        let mut buckets = self.lock();
        if !buckets.contains_key(&key) && buckets.len() >= MAX_TRACKED {
            self.make_room(&mut buckets, now);
        }
        let full = Bucket {
            milli_tokens: self.burst.saturating_mul(MILLI),
            at: now,
        };
        let bucket = buckets.entry(key).or_insert(full);
        *bucket = bucket.refilled(now, self.burst, self.per_second);
        bucket.milli_tokens = bucket.milli_tokens.saturating_sub(MILLI);
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    /// Drops the buckets that are full again, then, while more than half
    /// of [`MAX_TRACKED`] remain, the fullest (those whose clients were
    /// refused least lately): the next clients find room without another
    /// pass over the table.
    fn make_room(&self, buckets: &mut HashMap<ClientKey, Bucket>, now: Instant) {
        let (burst, per_second) = (self.burst, self.per_second);
        let full = burst.saturating_mul(MILLI);
        buckets.retain(|_, b| b.refilled(now, burst, per_second).milli_tokens < full);
        let keep = MAX_TRACKED / 2;
        if buckets.len() > keep {
            let mut levels: Vec<(u64, ClientKey)> = buckets
                .iter()
                .map(|(key, b)| (b.refilled(now, burst, per_second).milli_tokens, *key))
                .collect();
            let drop = levels.len() - keep;
            levels.select_nth_unstable_by(drop - 1, |a, b| b.0.cmp(&a.0));
            for (_, key) in &levels[..drop] {
                buckets.remove(key);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Bucket>> {
        // Every update is a single assignment: a panic elsewhere cannot
        // leave a bucket half-changed.
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_client_is_held_after_its_burst_and_refilled_over_time() {
        let budget = RefusalBudget::new(3, 2);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(budget.check(ip(1), t0).is_ok());
            budget.charge(ip(1), t0);
        }
        // Empty: the next token comes in 500 ms (2 per second).
        assert_eq!(budget.check(ip(1), t0), Err(Duration::from_millis(500)));
        assert_eq!(
            budget.check(ip(1), t0 + Duration::from_millis(400)),
            Err(Duration::from_millis(100))
        );
        // Another client is untouched.
        assert!(budget.check(ip(2), t0).is_ok());
        assert!(budget.check(ip(1), t0 + Duration::from_millis(500)).is_ok());
        // A full refill, never above the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(budget.check(ip(1), later).is_ok());
            budget.charge(ip(1), later);
        }
        assert!(budget.check(ip(1), later).is_err());
    }

    #[test]
    fn the_tracked_clients_stay_bounded() {
        let budget = RefusalBudget::new(4, 1);
        let client = |i: u32| IpAddr::from(i.to_be_bytes());
        let t0 = Instant::now();
        // Half the clients refused once, half three times.
        for i in 0..MAX_TRACKED as u32 {
            for _ in 0..(1 + 2 * (i % 2)) {
                budget.charge(client(i), t0);
            }
        }
        assert_eq!(budget.tracked(), MAX_TRACKED);
        // At the bound a new client makes room: the fullest half goes, the
        // clients refused most stay held.
        budget.charge(client(u32::MAX), t0);
        assert_eq!(budget.tracked(), MAX_TRACKED / 2 + 1);
        assert!((0..64).all(|i| budget.check(client(2 * i + 1), t0).is_ok()));
        for _ in 0..3 {
            budget.charge(client(1), t0);
        }
        assert!(budget.check(client(1), t0).is_err());
        // Once their buckets are full again, they go first.
        let later = t0 + Duration::from_secs(10);
        for i in 0..(MAX_TRACKED as u32 / 2) {
            budget.charge(client(1 << 24 | i), later);
        }
        assert!(budget.tracked() <= MAX_TRACKED);
        assert!(budget.check(client(1), later).is_ok());
    }
}
