//! Confidential-account benchmarks (numbers recorded in BENCHMARKS.md).
//!
//! Run: `cargo bench -p coalition-benches --bench confidential`
//!
//! Side by side in one run:
//! * the anchor, a bare `bulletproofs::RangeProof::prove_multiple` of 2×64-bit
//!   values (and its `verify_multiple`), against our Transfer prove/verify;
//! * 64 Transfers verified one by one against `verify_batch`;
//! * decryption at 2^32 and 2^40 with both table sizes.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use bulletproofs::RangeProof;
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::Ciphertext;
use coalition_core::generators::{bulletproof_gens, g, pedersen_gens};
use coalition_core::keys::IdentityKeys;
use coalition_core::proofs::DebitProof;
use coalition_core::statements::DebitStatement;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_verifier::statements::{verify_batch, verify_item};
use coalition_verifier::ProofItem;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct Fixture {
    chain: ChainId,
    policy: CurrencyPolicy,
    alice: IdentityKeys,
    bob: IdentityKeys,
    state: AccountState,
    balance: u64,
}

fn fixture(rng: &mut ChaCha20Rng) -> Fixture {
    let issuer = IdentityKeys::random(rng);
    let auditor = IdentityKeys::random(rng);
    let alice = IdentityKeys::random(rng);
    let bob = IdentityKeys::random(rng);
    let policy = CurrencyPolicy {
        id: CurrencyId::new("MILES").expect("valid symbol"),
        issuer: *issuer.public(),
        auditor: Some(auditor.public().encryption),
    };
    let balance = 1_000_000;
    let mut state = AccountState::new(*alice.public());
    state.available = Ciphertext::encrypt(&alice.public().encryption, balance, rng).0;
    Fixture {
        chain: ChainId([1; 32]),
        policy,
        alice,
        bob,
        state,
        balance,
    }
}

fn make_transfer(f: &Fixture, rng: &mut ChaCha20Rng) -> (DebitStatement, DebitProof) {
    let tx = transactions::transfer(
        f.chain,
        &f.policy,
        &f.alice,
        &SpendingAccount {
            state: &f.state,
            balance: f.balance,
        },
        f.bob.public(),
        12_345,
        rng,
    )
    .expect("transfer proves");
    let Transaction::Transfer(tx) = tx else {
        unreachable!("transfer builder returns a transfer")
    };
    (tx.statement(&f.policy, &f.state.available), tx.proof)
}

fn transfer_vs_anchor(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let f = fixture(&mut rng);
    let mut group = c.benchmark_group("transfer");
    group.sample_size(20);

    let values = [12_345u64, 987_655];
    let blindings = [Scalar::random(&mut rng), Scalar::random(&mut rng)];
    let anchor_prove = |rng: &mut ChaCha20Rng| {
        RangeProof::prove_multiple_with_rng(
            bulletproof_gens(),
            pedersen_gens(),
            &mut Transcript::new(b"anchor"),
            &values,
            &blindings,
            64,
            rng,
        )
        .expect("anchor proves")
    };
    group.bench_function("anchor: bulletproofs prove_multiple 2x64", |b| {
        b.iter(|| anchor_prove(&mut rng))
    });
    group.bench_function("transfer prove (incl. signature)", |b| {
        b.iter(|| make_transfer(&f, &mut rng))
    });

    let (proof, commitments) = anchor_prove(&mut rng);
    group.bench_function("anchor: bulletproofs verify_multiple 2x64", |b| {
        b.iter(|| {
            proof
                .verify_multiple_with_rng(
                    bulletproof_gens(),
                    pedersen_gens(),
                    &mut Transcript::new(b"anchor"),
                    &commitments,
                    64,
                    &mut rng,
                )
                .expect("anchor verifies")
        })
    });
    let (statement, proof) = make_transfer(&f, &mut rng);
    group.bench_function("transfer verify (single)", |b| {
        b.iter(|| verify_item(&ProofItem::Debit(&statement, &proof)).expect("verifies"))
    });
    group.finish();

    let transfers: Vec<(DebitStatement, DebitProof)> =
        (0..64).map(|_| make_transfer(&f, &mut rng)).collect();
    let items: Vec<ProofItem<'_>> = transfers
        .iter()
        .map(|(s, p)| ProofItem::Debit(s, p))
        .collect();
    let mut group = c.benchmark_group("transfer x64");
    group.sample_size(10);
    group.throughput(Throughput::Elements(64));
    group.bench_function("verify one by one", |b| {
        b.iter(|| {
            for item in &items {
                verify_item(item).expect("verifies");
            }
        })
    });
    group.bench_function("verify_batch", |b| {
        b.iter(|| verify_batch(&items).expect("batch verifies"))
    });
    group.finish();
}

fn decryption(c: &mut Criterion) {
    let mut group = c.benchmark_group("decrypt");
    group.sample_size(10);
    let standard = DecryptionTable::standard();
    let large = DecryptionTable::large();
    for (name, table) in [
        ("standard 2^20 table", &standard),
        ("large 2^24 table", &large),
    ] {
        for bits in [32u32, 40] {
            let value = (1u64 << bits) - 1; // worst case below the bound
            let target = Scalar::from(value) * g();
            group.bench_function(format!("{name}, v = 2^{bits} - 1"), |b| {
                b.iter(|| assert_eq!(table.solve(&target), Ok(value)))
            });
        }
    }
    group.bench_function("build standard 2^20 table", |b| {
        b.iter_batched(
            || (),
            |_| DecryptionTable::standard(),
            BatchSize::PerIteration,
        )
    });
    // What a wallet command pays instead once the table is cached on disk:
    // read, checksum and check the file, rebuild the bucket offsets.
    let path =
        std::env::temp_dir().join(format!("coalition-bench-table-{}.bin", std::process::id()));
    std::fs::write(&path, standard.to_bytes()).expect("temp file");
    group.bench_function("load standard 2^20 table from disk", |b| {
        b.iter(|| DecryptionTable::load_or_build(&path, 20, 20))
    });
    let _ = std::fs::remove_file(&path);
    group.finish();
}

criterion_group!(benches, transfer_vs_anchor, decryption);
criterion_main!(benches);
