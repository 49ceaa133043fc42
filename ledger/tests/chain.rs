//! Blocks and the chain: replicas that apply the same blocks hold the same
//! state hash; every header defect is refused and changes nothing.

use std::sync::Arc;

use coalition_circuits::note::Epoch;
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, NoteLifetime};
use coalition_core::encoding::Encode;
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::block::{decode_block, Block, BlockHash, MAX_BLOCK_TRANSACTIONS};
use coalition_ledger::chain::{Chain, ChainError, MAX_TIMESTAMP_STEP_MS};
use coalition_ledger::ledger::AccountLedger;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::shielded::{redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_verifier::transactions::LedgerView;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct Setup {
    rng: ChaCha20Rng,
    airline: IdentityKeys,
    people: Vec<IdentityKeys>,
    miles: CurrencyPolicy,
}

fn setup(seed: u64) -> (Setup, AccountLedger) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let airline = IdentityKeys::random(&mut rng);
    let people = (0..2).map(|_| IdentityKeys::random(&mut rng)).collect();
    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *airline.public(),
        auditor: None,
    };
    let mut ledger = AccountLedger::new(ChainId([9; 32]));
    ledger.register_currency(miles.clone()).unwrap();
    (
        Setup {
            rng,
            airline,
            people,
            miles,
        },
        ledger,
    )
}

fn issue(s: &mut Setup, chain: &Chain, who: usize, amount: u64, nonce_offset: u64) -> Transaction {
    let nonce = chain.ledger().issuer_nonce(&s.miles.id) + nonce_offset;
    transactions::issue(
        chain.ledger().chain(),
        &s.miles,
        &s.airline,
        nonce,
        s.people[who].public(),
        amount,
        &mut s.rng,
    )
    .unwrap()
}

/// Node A proposes three blocks; returns A and the blocks.
fn three_blocks(s: &mut Setup, ledger: AccountLedger) -> (Chain, Vec<Block>) {
    let mut a = Chain::genesis(ledger, 1_000);
    let mut blocks = Vec::new();
    let b1 = a
        .propose(vec![issue(s, &a, 0, 500, 0), issue(s, &a, 1, 70, 1)], 2_000)
        .unwrap();
    a.apply(&b1).unwrap();
    blocks.push(b1);
    let state = a
        .ledger()
        .account(&s.people[0].loyalty_id(), &s.miles.id)
        .cloned()
        .unwrap();
    let apply =
        transactions::apply_pending(a.ledger().chain(), s.miles.id, &s.people[0], &state).unwrap();
    let b2 = a.propose(vec![apply], 3_000).unwrap();
    a.apply(&b2).unwrap();
    blocks.push(b2);
    let state = a
        .ledger()
        .account(&s.people[0].loyalty_id(), &s.miles.id)
        .cloned()
        .unwrap();
    let transfer = transactions::transfer(
        a.ledger().chain(),
        &s.miles,
        &s.people[0],
        &SpendingAccount {
            state: &state,
            balance: 500,
        },
        s.people[1].public(),
        120,
        &mut s.rng,
    )
    .unwrap();
    let b3 = a.propose(vec![transfer], 3_001).unwrap();
    a.apply(&b3).unwrap();
    blocks.push(b3);
    (a, blocks)
}

#[test]
fn replicas_applying_the_same_blocks_agree_byte_for_byte() {
    let (mut s, ledger) = setup(1);
    let (a, blocks) = three_blocks(&mut s, ledger.clone());
    let mut b = Chain::genesis(ledger, 1_000);
    for block in &blocks {
        let received = decode_block(&block.to_bytes()).unwrap();
        assert_eq!(&received, block);
        b.apply(&received).unwrap();
    }
    assert_eq!(b, a);
    assert_eq!(b.tip().hash(), a.tip().hash());
    assert_eq!(b.ledger().state_hash(), a.tip().state_hash);
    // The state hash moves with the state.
    assert_ne!(blocks[0].header.state_hash, blocks[1].header.state_hash);
}

#[test]
fn every_header_defect_is_refused_and_changes_nothing() {
    let (mut s, ledger) = setup(2);
    let (_, blocks) = three_blocks(&mut s, ledger.clone());
    let mut b = Chain::genesis(ledger, 1_000);
    b.apply(&blocks[0]).unwrap();
    let next = &blocks[1];
    type Edit = Box<dyn Fn(&mut Block)>;
    let cases: Vec<(Edit, ChainError)> = vec![
        (
            Box::new(|x| x.header.chain = ChainId([1; 32])),
            ChainError::WrongChain,
        ),
        (
            Box::new(|x| x.header.height += 1),
            ChainError::WrongHeight {
                expected: 2,
                got: 3,
            },
        ),
        (
            Box::new(|x| x.header.previous = BlockHash([7; 32])),
            ChainError::WrongPrevious,
        ),
        (
            Box::new(|x| x.header.timestamp_ms = 2_000),
            ChainError::TimestampNotIncreasing {
                tip: 2_000,
                got: 2_000,
            },
        ),
        (
            Box::new(|x| x.header.timestamp_ms = 10),
            ChainError::TimestampNotIncreasing {
                tip: 2_000,
                got: 10,
            },
        ),
        // Issue 22: a faulty leader's far-future stamp (u64::MAX left no
        // later timestamp and stopped the chain for good).
        (
            Box::new(|x| x.header.timestamp_ms = u64::MAX),
            ChainError::TimestampTooFarAhead {
                tip: 2_000,
                got: u64::MAX,
            },
        ),
        (
            Box::new(|x| x.header.timestamp_ms = 2_000 + MAX_TIMESTAMP_STEP_MS + 1),
            ChainError::TimestampTooFarAhead {
                tip: 2_000,
                got: 2_000 + MAX_TIMESTAMP_STEP_MS + 1,
            },
        ),
        (
            Box::new(|x| x.header.transactions_root[0] ^= 1),
            ChainError::TransactionsRoot,
        ),
        (
            Box::new(|x| x.transactions.clear()),
            ChainError::TransactionsRoot,
        ),
        (
            Box::new(|x| x.header.nullifier_commitment[0] ^= 1),
            ChainError::StateMismatch("nullifier commitment"),
        ),
        (
            Box::new(|x| x.header.state_hash[31] ^= 1),
            ChainError::StateMismatch("state hash"),
        ),
        (
            Box::new(|x| x.header.note_root.0 += coalition_circuits::Fr::from(1u64)),
            ChainError::StateMismatch("note root"),
        ),
    ];
    for (edit, expected) in cases {
        let mut bad = next.clone();
        edit(&mut bad);
        let before = b.clone();
        assert_eq!(b.apply(&bad), Err(expected));
        assert_eq!(b, before);
    }
    // Skipping a block, and replaying an applied one.
    assert!(matches!(
        b.apply(&blocks[2]),
        Err(ChainError::WrongHeight { .. })
    ));
    assert!(matches!(
        b.apply(&blocks[0]),
        Err(ChainError::WrongHeight { .. })
    ));
    // A block whose root matches but whose transaction is invalid here.
    let mut invalid = next.clone();
    let stale = issue(&mut s, &b, 1, 5, 7);
    invalid.transactions = vec![stale];
    invalid.header.transactions_root =
        coalition_ledger::block::transactions_root(&invalid.transactions);
    let before = b.clone();
    assert!(matches!(b.apply(&invalid), Err(ChainError::Ledger(_))));
    assert_eq!(b, before);
    b.apply(next).unwrap();
}

#[test]
fn block_decoding_is_bounded_and_strict() {
    let (mut s, ledger) = setup(3);
    let (_, blocks) = three_blocks(&mut s, ledger);
    let bytes = blocks[0].to_bytes();
    assert!(decode_block(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(decode_block(&long).is_err());
    // A transaction count above the bound is refused before any allocation.
    let mut huge = blocks[0].header.to_bytes();
    huge.extend_from_slice(&((MAX_BLOCK_TRANSACTIONS as u32) + 1).to_le_bytes());
    assert!(decode_block(&huge).is_err());
    for cut in (0..bytes.len()).step_by(97) {
        assert!(decode_block(&bytes[..cut]).is_err());
    }
}

#[test]
fn pool_commitments_follow_shields_and_redeems() {
    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap();
    let (mut s, mut ledger) = setup(4);
    ledger = {
        let mut with_pool =
            AccountLedger::with_shielded_pool(ledger.chain(), Arc::new(keys.verifying_keys()));
        with_pool.register_currency(s.miles.clone()).unwrap();
        with_pool
    };
    let mut a = Chain::genesis(ledger.clone(), 1);
    let seed = Seed::random(&mut s.rng);
    let owner = IdentityKeys::from_seed(&seed);
    let sk = seed.shielded_spending_key();
    s.people[0] = owner;
    let b1 = a.propose(vec![issue(&mut s, &a, 0, 900, 0)], 2).unwrap();
    a.apply(&b1).unwrap();
    let state = a
        .ledger()
        .account(&s.people[0].loyalty_id(), &s.miles.id)
        .cloned()
        .unwrap();
    let b2 = a
        .propose(
            vec![
                transactions::apply_pending(a.ledger().chain(), s.miles.id, &s.people[0], &state)
                    .unwrap(),
            ],
            3,
        )
        .unwrap();
    a.apply(&b2).unwrap();
    let state: AccountState = a
        .ledger()
        .account(&s.people[0].loyalty_id(), &s.miles.id)
        .cloned()
        .unwrap();
    let shielded = shield(
        a.ledger().chain(),
        s.miles.id,
        Epoch(0),
        NoteLifetime::Unlimited,
        &s.people[0],
        &SpendingAccount {
            state: &state,
            balance: 900,
        },
        400,
        &sk.address(),
        &keys.output,
        &mut s.rng,
    )
    .unwrap();
    let b3 = a.propose(vec![shielded.tx], 4).unwrap();
    assert_ne!(b3.header.note_root, b2.header.note_root);
    assert_eq!(
        b3.header.nullifier_commitment,
        b2.header.nullifier_commitment
    );
    a.apply(&b3).unwrap();
    let pool = a.ledger().pool().unwrap();
    let input = coalition_circuits::spend::SpendInput {
        note: shielded.note,
        path: pool.tree().path(0).unwrap(),
    };
    let redeemed = redeem(
        a.ledger().chain(),
        s.miles.id,
        Epoch(0),
        &sk,
        &[input],
        pool.latest_root(),
        s.airline.public(),
        100,
        &keys.spend,
        &mut s.rng,
    )
    .unwrap();
    let b4 = a.propose(vec![redeemed.tx], 5).unwrap();
    // The root commits to the proof bytes too: a relay that swaps a Redeem's
    // proof (the Redeem's ID leaves it out) changes the block.
    let mut swapped = b4.clone();
    if let Transaction::Redeem(r) = &mut swapped.transactions[0] {
        if let Transaction::Shield(sh) = &b3.transactions[0] {
            r.proof = sh.output_proof.clone();
        }
    }
    assert_eq!(swapped.transactions[0].id(), b4.transactions[0].id());
    assert_eq!(a.clone().apply(&swapped), Err(ChainError::TransactionsRoot));
    assert_ne!(
        b4.header.nullifier_commitment,
        b3.header.nullifier_commitment
    );
    a.apply(&b4).unwrap();
    let mut b = Chain::genesis(ledger, 1);
    for block in [&b1, &b2, &b3, &b4] {
        b.apply(&decode_block(&block.to_bytes()).unwrap()).unwrap();
    }
    assert_eq!(b, a);
}

/// Issue 22: an honest proposer's timestamp is the clock kept inside the
/// window after the tip's, so the chain extends after a long idle spell and
/// after a faulty leader's future stamp (which can move it at most 30 days
/// per block).
#[test]
fn the_next_timestamp_stays_in_the_window_the_chain_accepts() {
    let (_, ledger) = setup(7);
    let chain = Chain::genesis(ledger, 1_000);
    assert_eq!(chain.next_timestamp(5_000).unwrap(), 5_000);
    // The clock behind the tip (a faulty leader's future stamp, or skew).
    assert_eq!(chain.next_timestamp(10).unwrap(), 1_001);
    // A year idle: the block is stamped at the edge of the window.
    let year = 365 * 24 * 60 * 60 * 1000;
    assert_eq!(
        chain.next_timestamp(year).unwrap(),
        1_000 + MAX_TIMESTAMP_STEP_MS
    );
    let mut at_edge = Chain::genesis(chain.ledger().clone(), u64::MAX - MAX_TIMESTAMP_STEP_MS);
    let block = at_edge
        .propose(vec![], at_edge.next_timestamp(0).unwrap())
        .unwrap();
    at_edge.apply(&block).unwrap();
    let end = Chain::genesis(chain.ledger().clone(), u64::MAX);
    assert_eq!(
        end.next_timestamp(0),
        Err(ChainError::ClockExhausted(u64::MAX))
    );
}
