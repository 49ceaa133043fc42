//! A bounded soak (issue 21 §5, `RELIABILITY.md` §3): a 3-node devnet over
//! mutual TLS under a mixed load — the airline's Issues, and customers'
//! ApplyPendings, Transfers, Shields and Redeems (Groth16 Spend proofs made
//! here) from their wallets — while one node, chosen at random, is killed
//! with SIGKILL every `COALITION_SOAK_KILL_EVERY_S` seconds and restarted,
//! and a stream of malformed requests (garbage transactions, bad paths and
//! queries, forged node-to-node messages) hits the nodes.
//!
//! Checked while it runs, after every restart: every transaction a node
//! acknowledged as committed is committed, at the same height, on every
//! node that has reached that height; every block is identical (hash and
//! state hash) on every node that holds it. Checked at the end, once the
//! nodes agree on a tip: both, on all three nodes, for the whole chain. No
//! answer is a 5xx other than the documented `503 no_leader` during an
//! election; every node's RSS stays under `MAX_RSS_BYTES`.
//!
//! CI runs it for `COALITION_SOAK_SECONDS` (default 90, a kill every 20 s);
//! `scripts/soak.sh` runs the 30-minute version (a kill every minute) and
//! prints the report recorded in `RELIABILITY.md`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use coalition_api::client::{Client, ClientError, ClientTls};
use coalition_core::currency::CurrencyPolicy;
use coalition_core::keys::{IdentityKeys, PublicIdentity};
use coalition_core::transaction::{ChainId, TxId};
use coalition_node::config::dev_identity;
use coalition_params::ShieldedProvingKeys;
use coalition_prover::transactions;
use coalition_wallet::{SpendProver, Wallet, WalletError};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

mod cluster;
mod support;

use cluster::{Cluster, PARTNERS};

/// The most a node's resident memory may reach.
const MAX_RSS_BYTES: u64 = 2 << 30;

/// A node the load and the malformed stream may reach: its address and a
/// client pinned to its certificate.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    certificate: PathBuf,
}

impl Target {
    fn client(&self) -> Client {
        Client::new(self.addr)
            .with_timeout(Duration::from_secs(20))
            .with_tls(ClientTls::pinned_pem_file(&self.certificate).unwrap())
    }
}

/// What went wrong that must not: a 5xx (other than `503 no_leader`).
#[derive(Default)]
struct Violations(Mutex<Vec<String>>);

impl Violations {
    /// Records `status` answered to `what` if it is a server error other
    /// than the documented election-time `503 no_leader`.
    fn check(&self, what: &str, status: u16, code: &str) {
        if status >= 500 && !(status == 503 && code == "no_leader") {
            self.0
                .lock()
                .unwrap()
                .push(format!("{what}: {status} {code}"));
        }
    }

    fn check_error(&self, what: &str, error: &WalletError) {
        if let WalletError::Node(ClientError::Refused { status, code, .. }) = error {
            self.check(what, *status, code);
        }
    }
}

/// The load's outcome.
#[derive(Default)]
struct Load {
    /// Committed as acknowledged: (ID, height), shared with the checks
    /// made while the load runs.
    acknowledged: Mutex<Vec<(TxId, u64)>>,
    /// Per operation: acknowledged, interrupted (a node killed, an
    /// election, a timeout), skipped (nothing to spend).
    counts: Mutex<BTreeMap<&'static str, [u64; 3]>>,
}

impl Load {
    fn record(&self, op: &'static str, outcome: Result<(TxId, u64), WalletError>) {
        let slot = match outcome {
            Ok(done) => {
                self.acknowledged.lock().unwrap().push(done);
                0
            }
            Err(WalletError::InsufficientBalance { .. } | WalletError::Input(_)) => 2,
            Err(_) => 1,
        };
        self.counts.lock().unwrap().entry(op).or_default()[slot] += 1;
    }
}

/// The customers, the airline issuing MILES to them, and the hotel they
/// redeem at.
struct Economy {
    chain: ChainId,
    airline: IdentityKeys,
    miles: CurrencyPolicy,
    hotel: PublicIdentity,
    wallets: Vec<(tempfile::TempDir, PublicIdentity)>,
    keys: ShieldedProvingKeys,
}

impl Economy {
    /// Customer `c`'s wallet, speaking to `target`.
    fn wallet(&self, c: usize, target: &Target) -> Result<Wallet, WalletError> {
        Ok(Wallet::open(self.wallets[c].0.path(), Some(target.addr))?
            .with_tls(ClientTls::pinned_pem_file(&target.certificate).unwrap()))
    }

    /// The airline issues `amount` MILES to customer `c` through `target`.
    fn issue(
        &self,
        target: &Target,
        c: usize,
        amount: u64,
        rng: &mut ChaCha20Rng,
    ) -> Result<(TxId, u64), WalletError> {
        let client = target.client();
        let nonce = client
            .currency(&self.miles.id)?
            .ok_or_else(|| WalletError::Input("MILES not registered".into()))?
            .issuer_nonce;
        let tx = transactions::issue(
            self.chain,
            &self.miles,
            &self.airline,
            nonce,
            &self.wallets[c].1,
            amount,
            rng,
        )
        .unwrap();
        let id = client.submit(&tx)?;
        let height = client.wait_committed(&id, Duration::from_secs(30))?;
        Ok((id, height))
    }

    /// One operation of `kind` by customer `c` through `target`.
    fn operate(
        &self,
        kind: usize,
        target: &Target,
        c: usize,
        rng: &mut ChaCha20Rng,
    ) -> (&'static str, Result<(TxId, u64), WalletError>) {
        let amount =
            |rng: &mut ChaCha20Rng, low: u64, high: u64| low + rng.next_u64() % (high - low);
        match kind {
            0 => ("issue", self.issue(target, c, amount(rng, 20, 60), rng)),
            1 => (
                "apply_pending",
                self.wallet(c, target)
                    .and_then(|mut w| w.apply_pending("MILES"))
                    .map(|(id, height, _)| (id, height)),
            ),
            2 => {
                let to = self.wallets[(c + 1) % self.wallets.len()].1;
                (
                    "transfer",
                    self.wallet(c, target)
                        .and_then(|mut w| w.transfer("MILES", &to, amount(rng, 1, 6))),
                )
            }
            3 => (
                "shield",
                self.wallet(c, target).and_then(|mut w| {
                    w.sync(&mut |_, _| {})?;
                    w.shield("MILES", amount(rng, 3, 10), &self.keys)
                }),
            ),
            _ => (
                "redeem",
                self.wallet(c, target).and_then(|mut w| {
                    w.redeem(
                        "MILES",
                        &self.hotel,
                        amount(rng, 1, 3),
                        SpendProver::Local(&self.keys),
                    )
                }),
            ),
        }
    }
}

/// Runs operations at random nodes until `stop`: Issues and ApplyPendings
/// a quarter each, Transfers a quarter, Shields and Redeems an eighth each.
fn run_load(
    economy: &Economy,
    targets: &[Target],
    stop: &AtomicBool,
    violations: &Violations,
    load: &Load,
) {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    while !stop.load(Ordering::Relaxed) {
        let kind = match rng.next_u64() % 8 {
            0 | 1 => 0,
            2 | 3 => 1,
            4 | 5 => 2,
            6 => 3,
            _ => 4,
        };
        let c = (rng.next_u64() % economy.wallets.len() as u64) as usize;
        let target = &targets[(rng.next_u64() % targets.len() as u64) as usize];
        let (op, outcome) = economy.operate(kind, target, c, &mut rng);
        if let Err(e) = &outcome {
            violations.check_error(op, e);
        }
        load.record(op, outcome);
    }
}

/// Sends malformed requests to random nodes until `stop`; returns how many
/// were answered.
fn run_malformed(targets: &[Target], stop: &AtomicBool, violations: &Violations) -> u64 {
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let mut answered = 0;
    let gets = [
        "/v1/blocks/notanumber",
        "/v1/blocks?from=x&limit=-1",
        "/v1/blocks/18446744073709551616",
        "/v1/accounts/00/MILES",
        "/v1/accounts/zz/%ff",
        "/v1/pool/paths/99999999999",
        "/v1/pool/notes?from=18446744073709551615&limit=1000000",
        "/v1/transactions/abcd",
        "/v1/settlement/18446744073709551615",
        "/nope",
    ];
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let target = &targets[(rng.next_u64() % targets.len() as u64) as usize];
        let client = target.client().with_timeout(Duration::from_secs(5));
        let mut garbage = vec![0u8; (rng.next_u64() % 2048) as usize];
        rng.fill_bytes(&mut garbage);
        let (what, response) = match i % 4 {
            0 => (
                "garbage transaction",
                client.post("/v1/transactions", "application/octet-stream", &garbage),
            ),
            1 => (
                "garbage JSON transaction",
                client.post(
                    "/v1/transactions",
                    "application/json",
                    br#"{"transaction":"zz"}"#,
                ),
            ),
            2 => (
                "forged raft message",
                client.post("/raft/append", "application/octet-stream", &garbage),
            ),
            _ => (
                gets[(i / 4) % gets.len()],
                client.get(gets[(i / 4) % gets.len()]),
            ),
        };
        i += 1;
        // A node being killed or restarting does not answer: not a finding.
        if let Ok(response) = response {
            answered += 1;
            let code = response
                .json()
                .ok()
                .and_then(|v| v["error"].as_str().map(String::from));
            violations.check(what, response.status, code.as_deref().unwrap_or(""));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    answered
}

/// Node `i`'s resident memory in bytes (from `/proc`), if it runs.
fn rss(cluster: &Cluster, i: usize) -> Option<u64> {
    let pid = cluster.nodes[i].as_ref()?.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The invariants on what the nodes hold now: every acknowledged
/// transaction at its height on every node that reached it; every block
/// from `from` up to the lowest tip identical on all nodes. Returns the
/// lowest tip (the next check starts after it).
fn check_invariants(cluster: &Cluster, acknowledged: &[(TxId, u64)], from: u64) -> u64 {
    let heights: Vec<u64> = (0..3)
        .map(|i| {
            cluster
                .get(i, "/v1/status")
                .and_then(|s| s["height"].as_u64())
                .unwrap_or(0)
        })
        .collect();
    for (id, height) in acknowledged {
        for i in (0..3).filter(|i| heights[*i] >= *height) {
            let status = cluster
                .get(i, &format!("/v1/transactions/{}", hex::encode(id.0)))
                .unwrap_or_else(|| {
                    panic!("{} lost acknowledged {}", PARTNERS[i], hex::encode(id.0))
                });
            assert_eq!(
                status["height"].as_u64(),
                Some(*height),
                "{} holds {} elsewhere: {status}",
                PARTNERS[i],
                hex::encode(id.0)
            );
        }
    }
    let common = heights.iter().copied().min().unwrap_or(0);
    cluster.assert_same_blocks(&[0, 1, 2], from.max(1)..=common);
    common
}

fn env_seconds(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be seconds"))
        })
        .unwrap_or(default)
}

#[test]
fn the_devnet_survives_kills_load_and_malformed_requests() {
    let seconds = env_seconds("COALITION_SOAK_SECONDS", 90);
    let kill_every = env_seconds(
        "COALITION_SOAK_KILL_EVERY_S",
        if seconds >= 600 { 60 } else { 20 },
    );
    let mut cluster = Cluster::new(3, 0, &["--tls"]);
    for i in 0..3 {
        cluster.start(i);
    }
    let leader = cluster.leader();
    let targets: Vec<Target> = (0..3)
        .map(|i| Target {
            addr: cluster.addr(i),
            certificate: cluster.certificate(i).unwrap(),
        })
        .collect();

    // MILES, three customers, and one of each operation before the kills
    // start, so that even the short run covers them all.
    let (chain, airline, miles) = cluster::register_miles(&cluster, leader);
    let wallets = (0..3)
        .map(|i| {
            let dir = tempfile::tempdir().unwrap();
            let wallet = Wallet::create(dir.path(), None, cluster.client(i)).unwrap();
            let public = *wallet.keys().public();
            (dir, public)
        })
        .collect();
    let economy = Economy {
        chain,
        airline,
        miles,
        hotel: *dev_identity("hotel").public(),
        wallets,
        keys: ShieldedProvingKeys::insecure_dev(&coalition_params::default_params_dir()).unwrap(),
    };
    let violations = Violations::default();
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    let load = Load::default();
    for kind in 0..5 {
        let (op, outcome) = economy.operate(kind, &targets[leader], 0, &mut rng);
        let done = outcome.unwrap_or_else(|e| panic!("warm-up {op}: {e}"));
        load.record(op, Ok(done));
    }

    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut kills = 0u32;
    let mut max_rss = [0u64; 3];
    let mut checked_to = 1;
    let malformed = std::thread::scope(|scope| {
        let running = scope.spawn(|| run_load(&economy, &targets, &stop, &violations, &load));
        let malformed = scope.spawn(|| run_malformed(&targets, &stop, &violations));
        let mut next_kill = started + Duration::from_secs(kill_every);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(500));
            for (i, max) in max_rss.iter_mut().enumerate() {
                *max = (*max).max(rss(&cluster, i).unwrap_or(0));
            }
            if Instant::now() >= next_kill {
                let victim = (rng.next_u64() % 3) as usize;
                cluster.kill(victim);
                kills += 1;
                std::thread::sleep(Duration::from_millis(500 + rng.next_u64() % 2500));
                cluster.start(victim);
                let acknowledged = load.acknowledged.lock().unwrap().clone();
                checked_to = check_invariants(&cluster, &acknowledged, checked_to) + 1;
                next_kill += Duration::from_secs(kill_every);
            }
        }
        stop.store(true, Ordering::Relaxed);
        running.join().unwrap();
        malformed.join().unwrap()
    });

    // Every node agrees on a tip: the whole chain and everything
    // acknowledged, on all three.
    cluster.leader();
    let height = cluster.converged(&[0, 1, 2]);
    let acknowledged = load.acknowledged.into_inner().unwrap();
    assert_eq!(check_invariants(&cluster, &acknowledged, 1), height);
    let violations = violations.0.into_inner().unwrap();
    println!(
        "soak: {seconds} s, {kills} kills (one every {kill_every} s), final height {height}, \
         {} transactions acknowledged and found on all 3 nodes, {malformed} malformed requests \
         answered, max RSS {:?} MiB, 5xx {}",
        acknowledged.len(),
        max_rss.map(|b| b >> 20),
        violations.len()
    );
    let counts = load.counts.into_inner().unwrap();
    for (op, [ok, interrupted, skipped]) in &counts {
        println!("soak: {op}: {ok} acknowledged, {interrupted} interrupted, {skipped} skipped");
    }
    assert!(violations.is_empty(), "server errors: {violations:?}");
    for (i, max) in max_rss.iter().enumerate() {
        assert!(*max < MAX_RSS_BYTES, "{} reached {max} bytes", PARTNERS[i]);
    }
    assert!(kills >= 1 || seconds < kill_every, "no node was killed");
    assert!(malformed > 0, "no malformed request was answered");
    let under_load: u64 = counts.values().map(|[ok, _, _]| ok).sum::<u64>() - 5;
    assert!(under_load > 0, "nothing committed under the kills");
}
