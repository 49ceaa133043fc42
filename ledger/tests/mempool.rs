//! The mempool: full verification against the pending state (so consecutive
//! nonces queue), bounds, duplicates, and eviction after a block.

use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy};
use coalition_core::keys::IdentityKeys;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::chain::Chain;
use coalition_ledger::ledger::AccountLedger;
use coalition_ledger::mempool::{Mempool, MempoolConfig, MempoolError};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_verifier::transactions::LedgerView;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct World {
    rng: ChaCha20Rng,
    airline: IdentityKeys,
    alice: IdentityKeys,
    bob: IdentityKeys,
    miles: CurrencyPolicy,
}

fn world() -> (World, AccountLedger) {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let airline = IdentityKeys::random(&mut rng);
    let alice = IdentityKeys::random(&mut rng);
    let bob = IdentityKeys::random(&mut rng);
    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *airline.public(),
        auditor: None,
    };
    let mut ledger = AccountLedger::new(ChainId([5; 32]));
    ledger.register_currency(miles.clone()).unwrap();
    (
        World {
            rng,
            airline,
            alice,
            bob,
            miles,
        },
        ledger,
    )
}

fn issue(w: &mut World, nonce: u64, to: usize, amount: u64) -> Transaction {
    let who = if to == 0 { &w.alice } else { &w.bob };
    transactions::issue(
        ChainId([5; 32]),
        &w.miles,
        &w.airline,
        nonce,
        who.public(),
        amount,
        &mut w.rng,
    )
    .unwrap()
}

#[test]
fn consecutive_nonces_queue_and_invalid_or_duplicate_transactions_are_refused() {
    let (mut w, ledger) = world();
    let mut pool = Mempool::new(MempoolConfig::default(), &ledger);
    let t0 = issue(&mut w, 0, 0, 100);
    let t1 = issue(&mut w, 1, 1, 50);
    pool.insert(t0.clone()).unwrap();
    pool.insert(t1).unwrap();
    assert_eq!(pool.insert(t0), Err(MempoolError::Duplicate));
    // Nonce 5 is not next after the pending 0 and 1.
    let gap = issue(&mut w, 5, 0, 1);
    assert!(matches!(pool.insert(gap), Err(MempoolError::Invalid(_))));
    // A tampered signature.
    let mut forged = issue(&mut w, 2, 0, 1);
    let mut sig = forged.signature().unwrap().0.to_bytes();
    sig[0] ^= 1;
    forged.set_signature(coalition_core::keys::TxSignature(
        ed25519_dalek::Signature::from_bytes(&sig),
    ));
    assert!(matches!(pool.insert(forged), Err(MempoolError::Invalid(_))));
    assert_eq!(pool.len(), 2);
    assert_eq!(pool.pending_state().issuer_nonce(&w.miles.id), 2);
}

#[test]
fn bounds_per_sender_and_in_total() {
    let (mut w, ledger) = world();
    let config = MempoolConfig {
        max_transactions: 3,
        max_bytes: 1 << 20,
        max_per_sender: 2,
    };
    let mut pool = Mempool::new(config, &ledger);
    pool.insert(issue(&mut w, 0, 0, 1)).unwrap();
    pool.insert(issue(&mut w, 1, 0, 1)).unwrap();
    assert_eq!(
        pool.insert(issue(&mut w, 2, 0, 1)),
        Err(MempoolError::SenderLimit(2))
    );
    let tight = MempoolConfig {
        max_transactions: 1,
        max_bytes: 1 << 20,
        max_per_sender: 9,
    };
    let mut small = Mempool::new(tight, &ledger);
    small.insert(issue(&mut w, 0, 0, 1)).unwrap();
    assert_eq!(
        small.insert(issue(&mut w, 1, 0, 1)),
        Err(MempoolError::Full)
    );
    let no_bytes = MempoolConfig {
        max_transactions: 9,
        max_bytes: 100,
        max_per_sender: 9,
    };
    assert_eq!(
        Mempool::new(no_bytes, &ledger).insert(issue(&mut w, 0, 0, 1)),
        Err(MempoolError::Full)
    );
}

#[test]
fn a_block_removes_its_transactions_and_evicts_the_ones_it_invalidated() {
    let (mut w, ledger) = world();
    let mut chain = Chain::genesis(ledger, 1);
    // Alice gets 100 available.
    let b = chain.propose(vec![issue(&mut w, 0, 0, 100)], 2).unwrap();
    chain.apply(&b).unwrap();
    let state = chain
        .ledger()
        .account(&w.alice.loyalty_id(), &w.miles.id)
        .cloned()
        .unwrap();
    let apply =
        transactions::apply_pending(chain.ledger().chain(), w.miles.id, &w.alice, &state).unwrap();
    let b = chain.propose(vec![apply], 3).unwrap();
    chain.apply(&b).unwrap();

    let state: AccountState = chain
        .ledger()
        .account(&w.alice.loyalty_id(), &w.miles.id)
        .cloned()
        .unwrap();
    let spend = |w: &mut World, amount: u64| {
        transactions::transfer(
            ChainId([5; 32]),
            &w.miles,
            &w.alice,
            &SpendingAccount {
                state: &state,
                balance: 100,
            },
            w.bob.public(),
            amount,
            &mut w.rng,
        )
        .unwrap()
    };
    // Two conflicting spends of Alice's nonce 2: the mempool holds one, the
    // block (from another node) includes the other.
    let ours = spend(&mut w, 10);
    let theirs = spend(&mut w, 20);
    let mut pool = Mempool::new(MempoolConfig::default(), chain.ledger());
    let next_issue = issue(&mut w, 1, 1, 7);
    pool.insert(ours.clone()).unwrap();
    pool.insert(next_issue.clone()).unwrap();
    assert!(matches!(
        pool.insert(theirs.clone()),
        Err(MempoolError::Invalid(_))
    ));

    let block = chain.propose(vec![theirs, next_issue.clone()], 4).unwrap();
    chain.apply(&block).unwrap();
    let evicted = pool.on_block(&block.transactions, chain.ledger());
    assert_eq!(evicted, vec![ours.id()]);
    assert!(pool.is_empty());
    assert!(!pool.contains(&next_issue.id()));
    // And what it proposes next is valid on the new state.
    let later = issue(&mut w, 2, 0, 3);
    pool.insert(later).unwrap();
    let block = chain.propose(pool.take_for_block(100), 5).unwrap();
    chain.apply(&block).unwrap();
}

#[test]
fn a_batch_with_one_bad_proof_admits_the_others_and_refuses_it() {
    let (mut w, ledger) = world();
    let mut pool = Mempool::new(MempoolConfig::default(), &ledger);
    let good0 = issue(&mut w, 0, 0, 100);
    let good1 = issue(&mut w, 1, 1, 50);
    // A valid-looking Issue whose proof belongs to another amount: swap in
    // the range proof of a different issue and re-sign.
    let other = issue(&mut w, 2, 0, 7);
    let mut bad = issue(&mut w, 2, 0, 8);
    if let (Transaction::Issue(b), Transaction::Issue(o)) = (&mut bad, &other) {
        b.proof.range = o.proof.range.clone();
    }
    bad.set_signature(w.airline.sign(&bad.signing_message()));
    let duplicate = good0.clone();
    let results = pool.insert_batch(vec![good0.clone(), bad, good1.clone(), duplicate]);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(MempoolError::Invalid(_))));
    assert!(results[2].is_ok(), "{:?}", results[2]);
    assert_eq!(results[3], Err(MempoolError::Duplicate));
    assert_eq!(pool.len(), 2);
    // The genuine nonce-2 issue still fits after them.
    pool.insert(other).unwrap();
    assert_eq!(pool.len(), 3);
}

#[test]
fn a_block_from_elsewhere_revalidates_the_rest() {
    let (mut w, ledger) = world();
    let mut chain = Chain::genesis(ledger.clone(), 1);
    let mut pool = Mempool::new(MempoolConfig::default(), &ledger);
    let mine = issue(&mut w, 0, 0, 100);
    pool.insert(mine.clone()).unwrap();
    pool.insert(issue(&mut w, 1, 1, 10)).unwrap();
    // Another proposer's block takes nonce 0 with a different Issue: our
    // nonce-0 entry is dropped as invalid, and nonce 1 stays valid.
    let theirs = issue(&mut w, 0, 1, 5);
    let block = chain.propose(vec![theirs], 2).unwrap();
    chain.apply(&block).unwrap();
    let evicted = pool.on_block(&block.transactions, chain.ledger());
    assert_eq!(evicted, vec![mine.id()]);
    assert_eq!(pool.len(), 1);
}

#[test]
fn a_recorded_signature_covers_that_exact_transaction_only() {
    use coalition_ledger::ledger::LedgerError;
    use coalition_verifier::TxVerificationError;
    let (mut w, ledger) = world();
    let mut pool = Mempool::new(MempoolConfig::default(), &ledger);
    let good = issue(&mut w, 0, 0, 100);
    let mut forged = good.clone();
    let mut sig = forged.signature().unwrap().0.to_bytes();
    sig[3] ^= 1;
    forged.set_signature(coalition_core::keys::TxSignature(
        ed25519_dalek::Signature::from_bytes(&sig),
    ));
    // The node verified `good`'s signature (its ID hashes the signature);
    // that says nothing about `forged`, whose ID differs.
    pool.verified_proofs()
        .record_signature(good.id(), w.airline.public());
    assert_ne!(good.id(), forged.id());
    assert!(matches!(
        pool.insert(forged),
        Err(MempoolError::Invalid(LedgerError::Rejected {
            error: TxVerificationError::Signature,
            ..
        }))
    ));
    pool.insert(good).unwrap();
}

#[test]
fn the_verification_cache_speaks_only_for_the_policy_it_verified_under() {
    use coalition_ledger::ledger::{ApplyMode, LedgerError, VerifiedProofs};
    use coalition_verifier::TxVerificationError;
    // Two registrations of MILES can race across a leader change: the
    // state admission verified an Issue against is not the state a block
    // with it is checked against. The cache must then answer what a node
    // without it answers.
    let (mut w, _) = world();
    let auditor = IdentityKeys::random(&mut w.rng).public().encryption;
    let other_auditor = IdentityKeys::random(&mut w.rng).public().encryption;
    let registered = |policy: CurrencyPolicy| {
        let mut ledger = AccountLedger::new(ChainId([5; 32]));
        ledger.register_currency(policy).unwrap();
        ledger
    };
    let admitted = CurrencyPolicy {
        auditor: Some(auditor),
        ..w.miles.clone()
    };
    w.miles = admitted.clone();
    let tx = issue(&mut w, 0, 0, 100);
    let cache = VerifiedProofs::default();
    registered(admitted)
        .after_block_cached(
            1,
            std::slice::from_ref(&tx),
            Some(&cache),
            ApplyMode::Pending,
        )
        .unwrap();
    assert_eq!(cache.len(), 1);

    // Another auditor key: same signer, a statement the proof is not for.
    let another_auditor = registered(CurrencyPolicy {
        auditor: Some(other_auditor),
        ..w.miles.clone()
    });
    // Another issuer: the signature is not its.
    let another_issuer = registered(CurrencyPolicy {
        issuer: *w.bob.public(),
        ..w.miles.clone()
    });
    for (state, expected) in [(another_auditor, "proof"), (another_issuer, "signature")] {
        for cached in [None, Some(&cache)] {
            let refused = state
                .after_block_cached(1, std::slice::from_ref(&tx), cached, ApplyMode::Block)
                .unwrap_err();
            let LedgerError::Rejected { error, .. } = refused else {
                panic!("{refused:?}");
            };
            match expected {
                "proof" => assert!(matches!(error, TxVerificationError::Proof(_)), "{error:?}"),
                _ => assert_eq!(error, TxVerificationError::Signature),
            }
        }
    }
}
