//! Load benchmark of a partner node (issue 4) and of a 3-partner
//! replicated cluster (issue 6), side by side in one run: sustained
//! verified transactions per second of mixed Transfers and shielded
//! Redeems, and the p50/p99 latency of a submission over HTTP.
//!
//! `cargo bench -p coalition-benches --bench node_load`
//! (`LOAD_TRANSFERS`, `LOAD_REDEEMS`, `LOAD_CLIENTS` change the mix,
//! `LOAD_BLOCK_MS` the block interval, 250 ms by default as in the node;
//! `LOAD_REPLICAS` the cluster size, 3 by default, 0 to skip it;
//! `LOAD_VIA=leader` sends the cluster's clients to the leader only instead
//! of to every node in turn).
//!
//! The cluster is three nodes in this process on loopback ports, each with
//! its own RocksDB, replicating through openraft with signed messages over
//! HTTP exactly as separate processes would; it replays the single node's
//! set-up transactions, then the same timed workload. Its throughput counts
//! a transaction once it is committed on **every** replica (each of which
//! re-verified it).
//!
//! Set-up (not timed): a node on a loopback port with RocksDB in a temporary
//! directory; one customer per transaction, funded (Issue, ApplyPending)
//! and, for Redeems, shielded; every transaction proven in advance. Timed:
//! `LOAD_CLIENTS` threads submit the mixed transactions over HTTP as fast as
//! the node answers; throughput is transactions committed per second from
//! the first submission until the last one is in a committed block (so it
//! includes admission verification, block verification and the synced
//! RocksDB write of every block).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coalition_api::client::Client;
use coalition_api::replication::RaftState;
use coalition_circuits::note::Epoch;
use coalition_circuits::spend::SpendInput;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::Encode;
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::transaction::Transaction;
use coalition_ledger::genesis::{Genesis, PoolKeyHashes};
use coalition_ledger::governance::Threshold;
use coalition_node::config::NodeConfig;
use coalition_node::config::{PeerEntry, ReplicationSection};
use coalition_node::engine::Node;
use coalition_node::http::{serve, serve_replicated};
use coalition_params::ShieldedVerifyingKeys;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::governance::register_currency;
use coalition_prover::shielded::{redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::net::SocketAddr;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One deployment under test: a single node, or a cluster of replicas.
struct Deployment {
    nodes: Vec<Node>,
    addrs: Vec<SocketAddr>,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<()>>,
    _dirs: Vec<tempfile::TempDir>,
}

fn node_config(dir: &std::path::Path, interval: u64) -> NodeConfig {
    NodeConfig {
        data_dir: dir.to_path_buf(),
        block_interval_ms: interval,
        max_block_transactions: 1024,
        mempool: coalition_node::config::MempoolSection {
            max_transactions: 100_000,
            max_bytes: 1 << 30,
            // The set-up's issuer sends thousands of Issues in a row.
            max_per_sender: 1 << 20,
        },
        // Every load client is on loopback: one client to the node.
        submissions: coalition_node::config::SubmissionsSection {
            max_in_flight_per_client: coalition_node::config::SubmissionsSection::default()
                .max_in_flight,
            ..Default::default()
        },
        ..NodeConfig::default()
    }
}

/// A node with its own RocksDB in a temporary directory.
fn open_node(
    genesis: &Genesis,
    vks: &Arc<ShieldedVerifyingKeys>,
    interval: u64,
) -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open_with_genesis(
        node_config(dir.path(), interval),
        genesis.clone(),
        true,
        Some(vks.clone()),
    )
    .unwrap();
    (dir, node)
}

impl Deployment {
    fn single(genesis: &Genesis, vks: &Arc<ShieldedVerifyingKeys>, interval: u64) -> Self {
        let (dir, node) = open_node(genesis, vks, interval);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let served = node.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            runtime
                .block_on(serve(served, listener, async move {
                    let _ = stopped.await;
                }))
                .unwrap()
        });
        Deployment {
            nodes: vec![node],
            addrs: vec![addr],
            stop: vec![stop],
            server: Some(server),
            _dirs: vec![dir],
        }
    }

    /// `founders.len()` replicas, one per founder, on loopback.
    fn replicated(
        genesis: &Genesis,
        vks: &Arc<ShieldedVerifyingKeys>,
        interval: u64,
        founders: &[(&str, &IdentityKeys)],
    ) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listeners: Vec<tokio::net::TcpListener> = founders
            .iter()
            .map(|_| {
                runtime
                    .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                    .unwrap()
            })
            .collect();
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let mut dirs = Vec::new();
        let mut nodes = Vec::new();
        let mut stop = Vec::new();
        let mut servers = Vec::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let (dir, node) = open_node(genesis, vks, interval);
            let settings = ReplicationSection {
                identity_key: None,
                dev_identity: None,
                advertise: Some(addrs[i]),
                peers: founders
                    .iter()
                    .zip(&addrs)
                    .filter(|(_, a)| **a != addrs[i])
                    .map(|((name, _), addr)| PeerEntry {
                        name: name.to_string(),
                        addr: *addr,
                    })
                    .collect(),
                ..ReplicationSection::default()
            };
            let identity = IdentityKeys::from_seed(&founder_seed(founders[i].0));
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            servers.push(serve_replicated(
                node.clone(),
                listener,
                identity,
                settings,
                async move {
                    let _ = rx.await;
                },
            ));
            nodes.push(node);
            stop.push(tx);
            dirs.push(dir);
        }
        let server = std::thread::spawn(move || {
            runtime.block_on(async move {
                let running: Vec<_> = servers.into_iter().map(tokio::spawn).collect();
                for server in running {
                    server.await.unwrap().unwrap();
                }
            })
        });
        let deployment = Deployment {
            nodes,
            addrs,
            stop,
            server: Some(server),
            _dirs: dirs,
        };
        // Wait for a leader.
        while deployment.leader_index().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        deployment
    }

    fn leader_index(&self) -> Option<usize> {
        if self.nodes.len() == 1 {
            return Some(0);
        }
        self.addrs.iter().position(|addr| {
            Client::new(*addr)
                .get_as::<coalition_api::replication::Replication>("/v1/replication")
                .is_ok_and(|r| r.state.is_some_and(|s| s.state == RaftState::Leader))
        })
    }

    /// Transactions committed on every node.
    fn committed(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.metrics().committed_transactions())
            .min()
            .unwrap_or(0)
    }

    /// Submits in-process to the leader, in order, and waits until every
    /// one is committed everywhere.
    fn commit_all(&self, txs: &[Transaction]) {
        let target = self.committed() + txs.len() as u64;
        let leader = &self.nodes[self.leader_index().expect("a leader")];
        for tx in txs {
            leader
                .submit(tx.clone())
                .expect("set-up transaction admitted");
        }
        while self.committed() < target {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(mut self) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.join().unwrap();
        }
    }
}

fn founder_seed(name: &str) -> Seed {
    coalition_node::config::dev_seed(&format!("node_load/{name}"))
}

/// What one timed run measured.
struct Measured {
    total: usize,
    submitted_s: f64,
    committed_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    height: u64,
}

impl Measured {
    fn throughput(&self) -> f64 {
        self.total as f64 / self.committed_s
    }
}

/// `clients` threads submit `encoded` over HTTP (to the addresses in turn)
/// until everything is committed on every node of `deployment`.
fn timed(
    deployment: &Deployment,
    targets: &[SocketAddr],
    encoded: &[Vec<u8>],
    clients: usize,
) -> Measured {
    let total = encoded.len();
    let base = deployment.committed();
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(total));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let client = Client::new(targets[i % targets.len()]);
                    let t = Instant::now();
                    let r = client
                        .post("/v1/transactions", "application/octet-stream", &encoded[i])
                        .unwrap();
                    assert_eq!(r.status, 202, "{}", r.text());
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let submitted = t0.elapsed();
    while deployment.committed() < base + total as u64 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = t0.elapsed();
    let mut l = latencies.into_inner().unwrap();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1e3;
    Measured {
        total,
        submitted_s: submitted.as_secs_f64(),
        committed_s: elapsed.as_secs_f64(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: l.last().unwrap().as_secs_f64() * 1e3,
        height: deployment.nodes[0].tip().height,
    }
}

/// Commit latency with no other load: each probe submitted to `target`
/// and awaited there, one at a time. Returns (p50, max) in ms.
fn probe_commit_latency(target: SocketAddr, probes: &[Transaction]) -> (f64, f64) {
    let client = Client::new(target);
    let mut l: Vec<f64> = probes
        .iter()
        .map(|tx| {
            let t = Instant::now();
            let id = client.submit(tx).expect("probe admitted");
            client
                .wait_committed(&id, Duration::from_secs(30))
                .expect("probe committed");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    l.sort_by(f64::total_cmp);
    (l[l.len() / 2], l[l.len() - 1])
}

fn report(label: &str, m: &Measured) {
    println!(
        "node_load [{label}]: all submitted in {:.2} s; all committed in {:.2} s",
        m.submitted_s, m.committed_s
    );
    println!(
        "node_load [{label}]: throughput {:.0} verified tx/s (committed, synced to disk)",
        m.throughput()
    );
    println!(
        "node_load [{label}]: submit latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; height {}",
        m.p50_ms, m.p99_ms, m.max_ms, m.height
    );
}

fn main() {
    let n_transfers = env("LOAD_TRANSFERS", 2048);
    let n_redeems = env("LOAD_REDEEMS", 128);
    let clients = env("LOAD_CLIENTS", 64);
    let interval = env("LOAD_BLOCK_MS", 250) as u64;
    let replicas = env("LOAD_REPLICAS", 3);
    let via_leader = std::env::var("LOAD_VIA").is_ok_and(|v| v == "leader");
    let started = Instant::now();
    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).expect("dev keys");
    let vks = Arc::new(keys.verifying_keys());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let founder_names = ["airline", "hotel", "grocer", "rail", "cafe"];
    let founder_keys: Vec<IdentityKeys> = founder_names
        .iter()
        .take(replicas.max(2))
        .map(|n| IdentityKeys::from_seed(&founder_seed(n)))
        .collect();
    let airline = &founder_keys[0];
    let hotel = &founder_keys[1];
    let genesis = Genesis {
        name: "load".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: founder_names
            .iter()
            .zip(&founder_keys)
            .map(|(n, k)| (n.to_string(), *k.public()))
            .collect(),
        pool: Some(PoolKeyHashes::of(&vks)),
        settlement_epoch_blocks: 100,
        max_currencies_per_member: 8,
    };
    let chain = genesis.chain_id();
    let node_deployment = Deployment::single(&genesis, &vks, interval);
    let node = &node_deployment.nodes[0];
    let addr = node_deployment.addrs[0];
    let mut setup: Vec<Vec<Transaction>> = Vec::new();
    let mut commit_all = |txs: Vec<Transaction>| {
        node_deployment.commit_all(&txs);
        setup.push(txs);
    };
    // Set-up: currency, funded customers, shielded notes, proven workload.
    let miles_id = CurrencyId::new("MILES").unwrap();
    commit_all(vec![register_currency(
        chain,
        airline,
        0,
        miles_id,
        0,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    )]);
    let miles = CurrencyPolicy {
        id: miles_id,
        issuer: *airline.public(),
        auditor: None,
    };
    let seeds: Vec<Seed> = (0..n_transfers + n_redeems)
        .map(|_| Seed::random(&mut rng))
        .collect();
    let customers: Vec<IdentityKeys> = seeds.iter().map(IdentityKeys::from_seed).collect();
    let issues: Vec<Transaction> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            transactions::issue(chain, &miles, airline, i as u64, c.public(), 1000, &mut rng)
                .unwrap()
        })
        .collect();
    commit_all(issues);
    let applies: Vec<Transaction> = customers
        .iter()
        .map(|c| {
            let state = node.with_ledger(|l| {
                use coalition_verifier::transactions::LedgerView;
                l.account(&c.loyalty_id(), &miles_id).unwrap().clone()
            });
            transactions::apply_pending(chain, miles_id, c, &state).unwrap()
        })
        .collect();
    commit_all(applies);
    let state_of = |c: &IdentityKeys| {
        node.with_ledger(|l| {
            use coalition_verifier::transactions::LedgerView;
            l.account(&c.loyalty_id(), &miles_id).unwrap().clone()
        })
    };
    let shields: Vec<(Transaction, coalition_circuits::note::Note)> = customers[n_transfers..]
        .iter()
        .zip(&seeds[n_transfers..])
        .map(|(c, seed)| {
            let state = state_of(c);
            let s = shield(
                chain,
                miles_id,
                Epoch(0),
                NoteLifetime::Unlimited,
                c,
                &SpendingAccount {
                    state: &state,
                    balance: 1000,
                },
                500,
                &seed.shielded_spending_key().address(),
                &keys.output,
                &mut rng,
            )
            .unwrap();
            (s.tx, s.note)
        })
        .collect();
    commit_all(shields.iter().map(|(t, _)| t.clone()).collect());
    let mut workload: Vec<Transaction> = customers[..n_transfers]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let state = state_of(c);
            let to = &customers[(i + 1) % n_transfers.max(1)];
            transactions::transfer(
                chain,
                &miles,
                c,
                &SpendingAccount {
                    state: &state,
                    balance: 1000,
                },
                to.public(),
                10,
                &mut rng,
            )
            .unwrap()
        })
        .collect();
    let (root, paths) = node.with_ledger(|l| {
        let pool = l.pool().unwrap();
        let positions: Vec<_> = shields
            .iter()
            .map(|(_, note)| {
                let cm = note.commitment();
                let p = pool.notes_from(0).position(|o| o.commitment == cm).unwrap() as u64;
                pool.tree().path(p).unwrap()
            })
            .collect();
        (pool.latest_root(), positions)
    });
    let setup_proving = Instant::now();
    let redeems: Vec<Transaction> = shields
        .iter()
        .zip(paths)
        .zip(&seeds[n_transfers..])
        .map(|(((_, note), path), seed)| {
            let input = SpendInput {
                note: note.clone(),
                path,
            };
            redeem(
                chain,
                miles_id,
                Epoch(0),
                &seed.shielded_spending_key(),
                &[input],
                root,
                hotel.public(),
                100,
                &keys.spend,
                &mut rng,
            )
            .unwrap()
            .tx
        })
        .collect();
    eprintln!(
        "set-up: {} transfers and {} redeems proven ({:.1} s; redeem proving {:.1} s)",
        workload.len(),
        redeems.len(),
        started.elapsed().as_secs_f64(),
        setup_proving.elapsed().as_secs_f64()
    );
    // Interleave: a Redeem every n_transfers / n_redeems transfers.
    let step = (n_transfers / n_redeems.max(1)).max(1);
    for (k, r) in redeems.into_iter().enumerate() {
        let at = ((k + 1) * step + k).min(workload.len());
        workload.insert(at, r);
    }

    // Timed: clients submit over HTTP until everything is committed.
    let encoded: Vec<Vec<u8>> = workload.iter().map(Encode::to_bytes).collect();
    println!(
        "node_load: {} transactions ({} transfers, {} redeems), {} HTTP clients",
        encoded.len(),
        n_transfers,
        n_redeems,
        clients
    );
    // Probes for the commit latency: Issues continuing the issuer's nonces
    // (the same transactions fit both deployments, whose states are equal).
    let issued = n_transfers + n_redeems;
    let probes: Vec<Transaction> = (0..20)
        .map(|k| {
            transactions::issue(
                chain,
                &miles,
                airline,
                (issued + k) as u64,
                customers[k].public(),
                1,
                &mut rng,
            )
            .unwrap()
        })
        .collect();
    let single = timed(&node_deployment, &[addr], &encoded, clients);
    report("1 node", &single);
    let (p50, max) = probe_commit_latency(addr, &probes);
    println!("node_load [1 node]: commit latency, one at a time: p50 {p50:.0} ms, max {max:.0} ms");
    node_deployment.stop();
    if replicas < 2 {
        return;
    }
    let founders: Vec<(&str, &IdentityKeys)> = founder_names
        .iter()
        .copied()
        .zip(founder_keys.iter())
        .take(replicas)
        .collect();
    let cluster = Deployment::replicated(&genesis, &vks, interval, &founders);
    let replay = Instant::now();
    for batch in &setup {
        cluster.commit_all(batch);
    }
    eprintln!(
        "{replicas}-node cluster: set-up replayed ({:.1} s)",
        replay.elapsed().as_secs_f64()
    );
    let leader = cluster.leader_index().expect("a leader");
    let targets: Vec<SocketAddr> = if via_leader {
        vec![cluster.addrs[leader]]
    } else {
        cluster.addrs.clone()
    };
    let label = format!(
        "{replicas} nodes, clients to {}",
        if via_leader {
            "the leader"
        } else {
            "every node"
        }
    );
    let replicated = timed(&cluster, &targets, &encoded, clients);
    report(&label, &replicated);
    let follower = cluster.addrs[(leader + 1) % replicas];
    let (p50, max) = probe_commit_latency(follower, &probes);
    println!(
        "node_load [{replicas} nodes]: commit latency, one at a time, submitted to and read at a follower: p50 {p50:.0} ms, max {max:.0} ms"
    );
    println!(
        "node_load: {replicas}-node cluster / single node throughput = {:.0} %",
        100.0 * replicated.throughput() / single.throughput()
    );
    cluster.stop();
}
