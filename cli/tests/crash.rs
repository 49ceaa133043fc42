//! `coalition node` killed with SIGKILL at random moments while blocks
//! stream in, again and again: each restart comes back at a committed block
//! (the store refuses to start otherwise: the rebuilt state must hash to the
//! tip's commitment), loses no transaction it reported committed, never
//! rewrites a block it served before, and its blocks chain together.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coalition_api::client::Client;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::Encode;
use coalition_core::keys::IdentityKeys;
use coalition_node::config::{dev_genesis, dev_identity};
use coalition_prover::governance::register_currency;
use coalition_prover::transactions;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const ROUNDS: usize = 8;

mod support;

fn start(data_dir: &std::path::Path) -> (Child, SocketAddr) {
    support::start_node(data_dir, 15)
}

fn json(client: &Client, path: &str) -> serde_json::Value {
    let r = client.get(path).unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json().unwrap()
}

#[test]
fn kill_dash_nine_during_a_stream_of_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dev_genesis().chain_id();
    let airline: IdentityKeys = dev_identity("airline");
    let miles_id = CurrencyId::new("MILES").unwrap();
    let miles = CurrencyPolicy {
        id: miles_id,
        issuer: *airline.public(),
        auditor: None,
    };
    let customers: Vec<IdentityKeys> = {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        (0..8).map(|_| IdentityKeys::random(&mut rng)).collect()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    // Blocks served so far, and transactions acknowledged as committed.
    let mut seen_blocks: BTreeMap<u64, String> = BTreeMap::new();
    let mut acknowledged: Vec<(String, u64)> = Vec::new();

    for round in 0..ROUNDS {
        let (child, addr) = start(dir.path());
        let client = Client::new(addr);
        let status = json(&client, "/v1/status");
        let height = status["height"].as_u64().unwrap();
        // Nothing reported committed was lost, nothing served was rewritten.
        for (id, at) in &acknowledged {
            let s = json(&client, &format!("/v1/transactions/{id}"));
            assert_eq!(s["status"], "committed", "round {round}: lost {id}");
            assert_eq!(s["height"].as_u64().unwrap(), *at);
        }
        for (h, hash) in &seen_blocks {
            assert!(*h <= height, "round {round}: block {h} vanished");
            let b = json(&client, &format!("/v1/blocks/{h}"));
            assert_eq!(
                &b["header"]["hash"].as_str().unwrap(),
                hash,
                "block {h} rewritten"
            );
        }
        if round == 0 {
            let tx = register_currency(
                chain,
                &airline,
                0,
                miles_id,
                0,
                None,
                ExchangeRate::new(1, 1).unwrap(),
                NoteLifetime::Unlimited,
            );
            let r = client
                .post(
                    "/v1/transactions",
                    "application/octet-stream",
                    &tx.to_bytes(),
                )
                .unwrap();
            assert_eq!(r.status, 202, "{}", r.text());
            while json(
                &client,
                &format!("/v1/transactions/{}", hex::encode(tx.id().0)),
            )["status"]
                != "committed"
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let currencies = json(&client, "/v1/currencies");
        let mut nonce = currencies["currencies"][0]["issuer_nonce"]
            .as_u64()
            .unwrap();

        // Kill at a random moment while submitting.
        let child = Arc::new(Mutex::new(child));
        let killed = Arc::new(AtomicBool::new(false));
        let delay = 150 + rng.next_u64() % 600;
        let killer = {
            let child = child.clone();
            let killed = killed.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay));
                killed.store(true, Ordering::SeqCst);
                child.lock().unwrap().kill().unwrap(); // SIGKILL
            })
        };
        let mut pending: Vec<String> = Vec::new();
        while !killed.load(Ordering::SeqCst) {
            let to = &customers[(nonce % customers.len() as u64) as usize];
            let tx = transactions::issue(
                chain,
                &miles,
                &airline,
                nonce,
                to.public(),
                1 + nonce % 50,
                &mut rng,
            )
            .unwrap();
            match client.post(
                "/v1/transactions",
                "application/octet-stream",
                &tx.to_bytes(),
            ) {
                Ok(r) if r.status == 202 => {
                    pending.push(hex::encode(tx.id().0));
                    nonce += 1;
                }
                _ => break,
            }
            // Record what the node says is committed (and the blocks).
            pending.retain(|id| match client.get(&format!("/v1/transactions/{id}")) {
                Ok(r) if r.status == 200 => {
                    let v = r.json().unwrap();
                    if v["status"] == "committed" {
                        let h = v["height"].as_u64().unwrap();
                        if let Ok(b) = client.get(&format!("/v1/blocks/{h}")) {
                            if b.status == 200 {
                                let hash = b.json().unwrap()["header"]["hash"]
                                    .as_str()
                                    .unwrap()
                                    .to_string();
                                seen_blocks.insert(h, hash);
                                acknowledged.push((id.clone(), h));
                                return false;
                            }
                        }
                    }
                    true
                }
                _ => true,
            });
        }
        killer.join().unwrap();
        let _ = child.lock().unwrap().wait();
    }

    // Final restart: the chain links from genesis to tip, and work goes on.
    let (mut child, addr) = start(dir.path());
    let client = Client::new(addr);
    let status = json(&client, "/v1/status");
    let tip = status["height"].as_u64().unwrap();
    assert!(
        tip >= 3,
        "blocks were committed across the crashes (tip {tip})"
    );
    let mut expected = status["tip"]["hash"].as_str().unwrap().to_string();
    for h in (1..=tip).rev() {
        let b = json(&client, &format!("/v1/blocks/{h}"));
        assert_eq!(
            b["header"]["hash"].as_str().unwrap(),
            expected,
            "chain broken at {h}"
        );
        expected = b["header"]["previous"].as_str().unwrap().to_string();
    }
    eprintln!(
        "{ROUNDS} kills; tip {tip}; {} transactions acknowledged as committed before a kill",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
    child.kill().unwrap();
    let _ = child.wait();
}
