//! Load benchmark of a single partner node (issue 4): sustained verified
//! transactions per second of mixed Transfers and shielded Redeems, and the
//! p50/p99 latency of a submission over HTTP, on this machine.
//!
//! `cargo bench -p coalition-benches --bench node_load`
//! (`LOAD_TRANSFERS`, `LOAD_REDEEMS`, `LOAD_CLIENTS` change the mix,
//! `LOAD_BLOCK_MS` the block interval, 250 ms by default as in the node).
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

use coalition_circuits::spend::SpendInput;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::encoding::Encode;
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::transaction::Transaction;
use coalition_node::client::Client;
use coalition_node::config::NodeConfig;
use coalition_node::genesis::{Genesis, PoolKeyHashes};
use coalition_node::governance::Threshold;
use coalition_node::service::{serve, Node};
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::governance::register_currency;
use coalition_prover::shielded::{redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Submits in-process, in order, and waits until every one is committed.
fn commit_all(node: &Node, txs: Vec<Transaction>) {
    let target = node.metrics().committed_transactions() + txs.len() as u64;
    for tx in txs {
        node.submit(tx).expect("set-up transaction admitted");
    }
    while node.metrics().committed_transactions() < target {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let n_transfers = env("LOAD_TRANSFERS", 2048);
    let n_redeems = env("LOAD_REDEEMS", 128);
    let clients = env("LOAD_CLIENTS", 64);
    let interval = env("LOAD_BLOCK_MS", 250) as u64;
    let started = Instant::now();
    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).expect("dev keys");
    let vks = Arc::new(keys.verifying_keys());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let airline = IdentityKeys::random(&mut rng);
    let hotel = IdentityKeys::random(&mut rng);
    let genesis = Genesis {
        name: "load".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: vec![
            ("airline".into(), *airline.public()),
            ("hotel".into(), *hotel.public()),
        ],
        pool: Some(PoolKeyHashes::of(&vks)),
        settlement_epoch_blocks: 100,
    };
    let chain = genesis.chain_id();
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        data_dir: dir.path().to_path_buf(),
        block_interval_ms: interval,
        max_block_transactions: 1024,
        mempool: coalition_node::config::MempoolSection {
            max_transactions: 100_000,
            max_bytes: 1 << 30,
            // The set-up's issuer sends thousands of Issues in a row.
            max_per_sender: 1 << 20,
        },
        ..NodeConfig::default()
    };
    let node = Node::open_with_genesis(config, genesis, true, Some(vks)).unwrap();
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

    // Set-up: currency, funded customers, shielded notes, proven workload.
    let miles_id = CurrencyId::new("MILES").unwrap();
    commit_all(
        &node,
        vec![register_currency(
            chain,
            &airline,
            0,
            miles_id,
            0,
            None,
            ExchangeRate::new(1, 1).unwrap(),
        )],
    );
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
            transactions::issue(
                chain,
                &miles,
                &airline,
                i as u64,
                c.public(),
                1000,
                &mut rng,
            )
            .unwrap()
        })
        .collect();
    commit_all(&node, issues);
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
    commit_all(&node, applies);
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
    commit_all(&node, shields.iter().map(|(t, _)| t.clone()).collect());
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
                let p = pool
                    .notes()
                    .iter()
                    .position(|o| o.commitment == cm)
                    .unwrap() as u64;
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
    let total = workload.len();
    let base = node.metrics().committed_transactions();
    let encoded: Vec<Vec<u8>> = workload.iter().map(Encode::to_bytes).collect();
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(total));
    let client = Client::new(addr);
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
    while node.metrics().committed_transactions() < base + total as u64 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = t0.elapsed();
    let mut l = latencies.into_inner().unwrap();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "node_load: {} transactions ({} transfers, {} redeems), {} HTTP clients",
        total, n_transfers, n_redeems, clients
    );
    println!(
        "node_load: all submitted in {:.2} s; all committed in {:.2} s",
        submitted.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "node_load: throughput {:.0} verified tx/s (committed, synced to disk)",
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "node_load: submit latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        l.last().unwrap().as_secs_f64() * 1e3
    );
    println!("node_load: height {}", node.tip().height);
    let _ = stop.send(());
    server.join().unwrap();
}
