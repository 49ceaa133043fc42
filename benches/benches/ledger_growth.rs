//! What one block costs the node as the ledger grows (numbers recorded in
//! BENCHMARKS.md).
//!
//! Run: `cargo bench -p coalition-benches --bench ledger_growth`
//!
//! A state of `n` accounts, `n` revealed nullifiers, `n` ρ values and `n/4`
//! stored notes is rebuilt from records (as a node does at start-up), then
//! one block is computed on it the way the node does: the state after the
//! block (`after_block`), the header commitments (`commitments`) and the
//! storage records it changed (`write_changes`). Two blocks: an empty one
//! (the pure per-block overhead) and one with a single Issue (one account
//! changed, one proof verified). The spec (§15.2) requires the cost not to
//! grow with `n`. It also prints, once per size, how long rebuilding the
//! state from its records took (what a node pays at start-up).
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::sync::Arc;

use coalition_circuits::encryption::EncryptedNote;
use coalition_circuits::note::{NoteCommitment, Nullifier, Rho};
use coalition_core::currency::{CurrencyId, CurrencyPolicy};
use coalition_core::encoding::Encode;
use coalition_core::keys::IdentityKeys;
use coalition_core::shielded::NoteOutput;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::ledger::records::{MemoryRecords, StateWriter, Table};
use coalition_ledger::ledger::AccountLedger;
use coalition_params::{default_params_dir, ShieldedVerifyingKeys};
use coalition_prover::transactions;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Counts what a block would write instead of writing it.
struct Sink(usize);

impl StateWriter for Sink {
    fn put(&mut self, _: Table, key: Vec<u8>, value: Vec<u8>) {
        self.0 += key.len() + value.len();
    }
    fn delete(&mut self, _: Table, key: Vec<u8>) {
        self.0 += key.len();
    }
}

/// A ledger of `n` accounts (copies of one real account record under
/// distinct keys), `n` nullifiers, `n` ρ values and `n / 4` notes, and an
/// Issue valid on it.
fn grown_ledger(n: usize, keys: &Arc<ShieldedVerifyingKeys>) -> (AccountLedger, Transaction) {
    let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
    let chain = ChainId([9; 32]);
    let issuer = IdentityKeys::random(&mut rng);
    let customer = IdentityKeys::random(&mut rng);
    let policy = CurrencyPolicy {
        id: CurrencyId::new("MILES").expect("valid symbol"),
        issuer: *issuer.public(),
        auditor: None,
    };
    let mut seed = AccountLedger::with_shielded_pool(chain, keys.clone());
    seed.register_currency(policy.clone())
        .expect("new currency");
    let first = transactions::issue(chain, &policy, &issuer, 0, customer.public(), 5, &mut rng)
        .expect("issue");
    seed.apply(&first).expect("valid issue");
    let mut records = MemoryRecords::default();
    seed.write_all(&mut records);
    let account = records
        .iter()
        .find_map(|((t, _), v)| (*t == Table::Accounts).then(|| v.clone()))
        .expect("one account");
    for i in 0..n as u64 {
        let mut key = [0xAB; 32].to_vec();
        key[..8].copy_from_slice(&i.to_le_bytes());
        key.extend_from_slice(policy.id.as_bytes());
        records.put(Table::Accounts, key, account.clone());
        let f = ark_bn254::Fr::from(i + 1);
        records.put(
            Table::Nullifiers,
            Nullifier(f).to_bytes().to_vec(),
            Vec::new(),
        );
        let mut rho = b"r".to_vec();
        rho.extend_from_slice(&Rho(f).to_bytes());
        records.put(Table::NoteTree, rho, Vec::new());
        if i % 4 == 0 {
            let note = NoteOutput {
                commitment: NoteCommitment(f),
                encrypted: EncryptedNote {
                    epk: [3; 32],
                    ciphertext: [5; EncryptedNote::LEN - 32],
                },
            };
            let mut key = b"n".to_vec();
            key.extend_from_slice(&(i / 4).to_be_bytes());
            records.put(Table::NoteTree, key, note.to_bytes());
        }
    }
    // Start-up: one measurement per size (too slow to repeat at 100,000).
    let started = std::time::Instant::now();
    let ledger = AccountLedger::load(&records, chain, Some(keys.clone())).expect("loads");
    let _ = ledger.commitments();
    println!(
        "ledger/load/{n}: {:.2} s (rebuild from records and commitments, one run)",
        started.elapsed().as_secs_f64()
    );
    let issue = transactions::issue(chain, &policy, &issuer, 1, customer.public(), 7, &mut rng)
        .expect("issue");
    (ledger, issue)
}

/// One block as the node computes and stores it; returns the bytes written.
fn block(ledger: &AccountLedger, txs: &[Transaction]) -> usize {
    let next = ledger.after_block(txs).expect("valid block");
    let commitments = next.commitments();
    let mut sink = Sink(0);
    next.write_changes(ledger, &mut sink);
    sink.0 + commitments.1.len()
}

fn ledger_growth(c: &mut Criterion) {
    let keys = Arc::new(
        ShieldedVerifyingKeys::insecure_dev(&default_params_dir()).expect("dev parameters"),
    );
    let mut group = c.benchmark_group("ledger");
    group.sample_size(20);
    for n in [10_000usize, 100_000] {
        let (ledger, issue) = grown_ledger(n, &keys);
        assert!(block(&ledger, std::slice::from_ref(&issue)) > 0);
        group.bench_with_input(BenchmarkId::new("empty_block", n), &ledger, |b, l| {
            b.iter(|| block(l, &[]))
        });
        group.bench_with_input(BenchmarkId::new("one_issue_block", n), &ledger, |b, l| {
            b.iter(|| block(l, std::slice::from_ref(&issue)))
        });
    }
    group.finish();
}

criterion_group!(benches, ledger_growth);
criterion_main!(benches);
