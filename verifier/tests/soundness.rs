//! Soundness tests: every public element of every statement mutated one at a
//! time, proofs swapped between statements, wrong witnesses (overdraw,
//! negative amounts, wrong rate), and the batched verifier against the
//! `bulletproofs` crate's own verifier.

use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::elgamal::{
    Ciphertext, DecryptHandle, GroupedCiphertext, PedersenCommitment, PedersenOpening,
};
use coalition_core::keys::{ElGamalPublicKey, IdentityKeys, LoyaltyId};
use coalition_core::proofs::{DebitProof, ExchangeProof};
use coalition_core::statements::{DebitKind, DebitStatement, ExchangeStatement, IssueStatement};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_prover::range::prove_range;
use coalition_prover::sigma::{prove_equality, prove_grouped_validity};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_verifier::range::{verify_range_batched, verify_range_single};
use coalition_verifier::statements::verify_batch;
use coalition_verifier::{
    verify_debit, verify_exchange, verify_issue, ProofItem, VerificationError,
};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct World {
    rng: ChaCha20Rng,
    chain: ChainId,
    issuer: IdentityKeys,
    issuer_b: IdentityKeys,
    alice: IdentityKeys,
    bob: IdentityKeys,
    policy: CurrencyPolicy,
    policy_b: CurrencyPolicy,
}

fn world(seed: u64) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let issuer = IdentityKeys::random(&mut rng);
    let issuer_b = IdentityKeys::random(&mut rng);
    let auditor = IdentityKeys::random(&mut rng);
    let alice = IdentityKeys::random(&mut rng);
    let bob = IdentityKeys::random(&mut rng);
    let policy = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *issuer.public(),
        auditor: Some(auditor.public().encryption),
    };
    let policy_b = CurrencyPolicy {
        id: CurrencyId::new("HPTS").unwrap(),
        issuer: *issuer_b.public(),
        auditor: None,
    };
    World {
        rng,
        chain: ChainId([42; 32]),
        issuer,
        issuer_b,
        alice,
        bob,
        policy,
        policy_b,
    }
}

fn funded(w: &mut World, balance: u64) -> AccountState {
    let mut state = AccountState::new(*w.alice.public());
    state.available = Ciphertext::encrypt(&w.alice.public().encryption, balance, &mut w.rng).0;
    state.nonce = 3;
    state
}

fn random_point(rng: &mut ChaCha20Rng) -> RistrettoPoint {
    RistrettoPoint::random(rng)
}

fn random_key(rng: &mut ChaCha20Rng) -> ElGamalPublicKey {
    ElGamalPublicKey::from_point(random_point(rng)).unwrap()
}

fn transfer(w: &mut World, balance: u64, amount: u64) -> (DebitStatement, DebitProof) {
    let state = funded(w, balance);
    let tx = transactions::transfer(
        w.chain,
        &w.policy,
        &w.alice,
        &SpendingAccount {
            state: &state,
            balance,
        },
        w.bob.public(),
        amount,
        &mut w.rng,
    )
    .unwrap();
    let Transaction::Transfer(tx) = tx else {
        unreachable!()
    };
    (tx.statement(&w.policy, &state.available), tx.proof)
}

fn burn(w: &mut World, balance: u64, amount: u64) -> (DebitStatement, DebitProof) {
    let mut state = funded(w, balance);
    state.owner = *w.alice.public();
    let tx = transactions::burn(
        w.chain,
        &w.policy,
        &w.alice,
        &SpendingAccount {
            state: &state,
            balance,
        },
        amount,
        &mut w.rng,
    )
    .unwrap();
    let Transaction::Burn(tx) = tx else {
        unreachable!()
    };
    (tx.statement(&w.policy, &state.available), tx.proof)
}

fn issue(w: &mut World, amount: u64) -> (IssueStatement, coalition_core::proofs::IssueProof) {
    let tx = transactions::issue(
        w.chain,
        &w.policy,
        &w.issuer,
        7,
        w.alice.public(),
        amount,
        &mut w.rng,
    )
    .unwrap();
    let Transaction::Issue(tx) = tx else {
        unreachable!()
    };
    (tx.statement(&w.policy), tx.proof)
}

fn exchange(w: &mut World) -> (ExchangeStatement, ExchangeProof) {
    let state = funded(w, 1_000);
    let rate = ExchangeRate::new(3, 2).unwrap();
    let tx = transactions::exchange(
        w.chain,
        &w.policy,
        &w.policy_b,
        rate,
        &w.alice,
        &SpendingAccount {
            state: &state,
            balance: 1_000,
        },
        400,
        &mut w.rng,
    )
    .unwrap();
    let Transaction::Exchange(tx) = tx else {
        unreachable!()
    };
    (
        tx.statement(&w.policy, &w.policy_b, &state.available),
        tx.proof,
    )
}

fn must_fail(result: Result<(), VerificationError>, what: &str) {
    assert!(result.is_err(), "mutating {what} must be rejected");
}

#[test]
fn honest_proofs_verify() {
    let mut w = world(1);
    let (s, p) = issue(&mut w, 5_000);
    verify_issue(&s, &p).unwrap();
    let (s, p) = transfer(&mut w, 900, 250);
    verify_debit(&s, &p).unwrap();
    let (s, p) = transfer(&mut w, 900, 900);
    verify_debit(&s, &p).unwrap();
    let (s, p) = transfer(&mut w, 900, 1);
    verify_debit(&s, &p).unwrap();
    let (s, p) = burn(&mut w, 900, 100);
    verify_debit(&s, &p).unwrap();
    let (s, p) = exchange(&mut w);
    verify_exchange(&s, &p).unwrap();
}

#[test]
fn issue_rejects_every_mutated_public_input() {
    let mut w = world(2);
    let (s, p) = issue(&mut w, 5_000);
    let mut muts: Vec<(&str, IssueStatement)> = Vec::new();
    let mut m = s.clone();
    m.chain.0[0] ^= 1;
    muts.push(("chain", m));
    let mut m = s.clone();
    m.currency = CurrencyId::new("OTHER").unwrap();
    muts.push(("currency", m));
    let mut m = s.clone();
    m.issuer_nonce += 1;
    muts.push(("issuer nonce", m));
    let mut m = s.clone();
    m.recipient_id = LoyaltyId([9; 32]);
    muts.push(("recipient id", m));
    let mut m = s.clone();
    m.recipient = random_key(&mut w.rng);
    muts.push(("recipient key", m));
    let mut m = s.clone();
    m.issuer = random_key(&mut w.rng);
    muts.push(("issuer key", m));
    let mut m = s.clone();
    m.auditor = Some(random_key(&mut w.rng));
    muts.push(("auditor key", m));
    let mut m = s.clone();
    m.amount.commitment = PedersenCommitment::from_point(random_point(&mut w.rng));
    muts.push(("amount commitment", m));
    for i in 0..3 {
        let mut m = s.clone();
        m.amount.handles[i] = DecryptHandle::from_point(random_point(&mut w.rng));
        muts.push(("amount handle", m));
    }
    for (what, m) in &muts {
        must_fail(verify_issue(m, &p), what);
        must_fail(
            verify_batch(&[ProofItem::Issue(m, &p)]).map_err(|e| e.error),
            what,
        );
    }
    // Dropping the auditor handle changes the statement's shape.
    let mut m = s.clone();
    m.auditor = None;
    m.amount.handles.pop();
    must_fail(verify_issue(&m, &p), "auditor removed");
}

fn debit_mutations(w: &mut World, s: &DebitStatement) -> Vec<(&'static str, DebitStatement)> {
    let mut out = Vec::new();
    let mut m = s.clone();
    m.kind = match s.kind {
        DebitKind::Transfer => DebitKind::Burn,
        DebitKind::Burn => DebitKind::Transfer,
    };
    out.push(("kind (transfer/burn transcript)", m));
    let mut m = s.clone();
    m.chain.0[31] ^= 0x80;
    out.push(("chain", m));
    let mut m = s.clone();
    m.currency = CurrencyId::new("HPTS").unwrap();
    out.push(("currency", m));
    let mut m = s.clone();
    m.nonce += 1;
    out.push(("nonce", m));
    let mut m = s.clone();
    m.source_id.0[0] ^= 1;
    out.push(("source id", m));
    let mut m = s.clone();
    m.destination_id = match s.destination_id {
        Some(_) => None,
        None => Some(LoyaltyId([1; 32])),
    };
    out.push(("destination id", m));
    let mut m = s.clone();
    m.source = random_key(&mut w.rng);
    out.push(("source key", m));
    let mut m = s.clone();
    m.destination = random_key(&mut w.rng);
    out.push(("destination key", m));
    let mut m = s.clone();
    m.auditor = Some(random_key(&mut w.rng));
    out.push(("auditor key", m));
    let mut m = s.clone();
    m.auditor = match s.auditor {
        Some(_) => None,
        None => Some(random_key(&mut w.rng)),
    };
    out.push(("auditor removed or added", m));
    let mut m = s.clone();
    m.source_available.commitment = PedersenCommitment::from_point(random_point(&mut w.rng));
    out.push(("available commitment", m));
    let mut m = s.clone();
    m.source_available.handle = DecryptHandle::from_point(random_point(&mut w.rng));
    out.push(("available handle", m));
    let mut m = s.clone();
    m.amount.commitment = PedersenCommitment::from_point(random_point(&mut w.rng));
    out.push(("amount commitment", m));
    for _ in 0..s.amount.handles.len() {
        let i = out.len() % s.amount.handles.len();
        let mut m = s.clone();
        m.amount.handles[i] = DecryptHandle::from_point(random_point(&mut w.rng));
        out.push(("amount handle", m));
    }
    let mut m = s.clone();
    m.new_balance = PedersenCommitment::from_point(random_point(&mut w.rng));
    out.push(("new balance commitment", m));
    out
}

#[test]
fn transfer_and_burn_reject_every_mutated_public_input() {
    let mut w = world(3);
    for kind in [DebitKind::Transfer, DebitKind::Burn] {
        let (s, p) = match kind {
            DebitKind::Transfer => transfer(&mut w, 1_000, 300),
            DebitKind::Burn => burn(&mut w, 1_000, 300),
        };
        verify_debit(&s, &p).unwrap();
        for (what, m) in debit_mutations(&mut w, &s) {
            must_fail(verify_debit(&m, &p), what);
            must_fail(
                verify_batch(&[ProofItem::Debit(&m, &p)]).map_err(|e| e.error),
                what,
            );
        }
        // Every handle index mutated, explicitly.
        for i in 0..s.amount.handles.len() {
            let mut m = s.clone();
            m.amount.handles[i] = DecryptHandle::from_point(random_point(&mut w.rng));
            must_fail(verify_debit(&m, &p), "each amount handle");
        }
    }
}

#[test]
fn exchange_rejects_every_mutated_public_input() {
    let mut w = world(4);
    let (s, p) = exchange(&mut w);
    let mut muts: Vec<(&str, ExchangeStatement)> = Vec::new();
    macro_rules! mutate {
        ($what:expr, |$m:ident| $body:expr) => {{
            let mut $m = s.clone();
            $body;
            muts.push(($what, $m));
        }};
    }
    mutate!("chain", |m| m.chain.0[5] ^= 1);
    mutate!("from", |m| m.from = CurrencyId::new("ZZZ").unwrap());
    mutate!("to", |m| m.to = CurrencyId::new("ZZZ").unwrap());
    mutate!("rate numerator", |m| m.rate =
        ExchangeRate::new(4, 2).unwrap());
    mutate!("rate denominator", |m| m.rate =
        ExchangeRate::new(3, 1).unwrap());
    mutate!("rate scaled", |m| m.rate = ExchangeRate::new(6, 4).unwrap());
    mutate!("nonce", |m| m.nonce ^= 1);
    mutate!("owner id", |m| m.owner_id.0[3] ^= 1);
    mutate!("owner key", |m| m.owner = random_key(&mut w.rng));
    mutate!("from issuer", |m| m.from_issuer = random_key(&mut w.rng));
    mutate!("from auditor", |m| m.from_auditor =
        Some(random_key(&mut w.rng)));
    mutate!("from auditor removed", |m| m.from_auditor = None);
    mutate!("to auditor added", |m| m.to_auditor =
        Some(random_key(&mut w.rng)));
    mutate!("to issuer", |m| m.to_issuer = random_key(&mut w.rng));
    mutate!("available C", |m| m.source_available.commitment =
        PedersenCommitment::from_point(random_point(&mut w.rng)));
    mutate!("available D", |m| m.source_available.handle =
        DecryptHandle::from_point(random_point(&mut w.rng)));
    mutate!("x commitment", |m| m.amount_from.commitment =
        PedersenCommitment::from_point(random_point(&mut w.rng)));
    mutate!("y commitment", |m| m.amount_to.commitment =
        PedersenCommitment::from_point(random_point(&mut w.rng)));
    for i in 0..s.amount_from.handles.len() {
        mutate!("x handle", |m| m.amount_from.handles[i] =
            DecryptHandle::from_point(random_point(&mut w.rng)));
    }
    for i in 0..s.amount_to.handles.len() {
        mutate!("y handle", |m| m.amount_to.handles[i] =
            DecryptHandle::from_point(random_point(&mut w.rng)));
    }
    mutate!("new balance", |m| m.new_balance =
        PedersenCommitment::from_point(random_point(&mut w.rng)));
    for (what, m) in &muts {
        must_fail(verify_exchange(m, &p), what);
        must_fail(
            verify_batch(&[ProofItem::Exchange(m, &p)]).map_err(|e| e.error),
            what,
        );
    }
}

#[test]
fn proofs_swapped_between_statements_fail() {
    let mut w = world(5);
    let (s1, p1) = transfer(&mut w, 1_000, 10);
    let (s2, p2) = transfer(&mut w, 1_000, 10);
    verify_debit(&s1, &p1).unwrap();
    verify_debit(&s2, &p2).unwrap();
    must_fail(verify_debit(&s1, &p2), "swapped proof");
    must_fail(verify_debit(&s2, &p1), "swapped proof");
    // A transfer proof is no burn proof, even for the same numbers.
    let (sb, pb) = burn(&mut w, 1_000, 10);
    must_fail(verify_debit(&sb, &p1), "transfer proof on burn");
    must_fail(verify_debit(&s1, &pb), "burn proof on transfer");
    // Parts swapped: equality from one proof, validity from another.
    let mut mixed = p1.clone();
    mixed.validity = p2.validity.clone();
    must_fail(verify_debit(&s1, &mixed), "mixed validity");
    let mut mixed = p1.clone();
    mixed.range = p2.range.clone();
    must_fail(verify_debit(&s1, &mixed), "mixed range");
    let mut mixed = p1.clone();
    mixed.equality = p2.equality.clone();
    must_fail(verify_debit(&s1, &mixed), "mixed equality");
    // One bad item poisons a batch, and the batch names it.
    let err = verify_batch(&[
        ProofItem::Debit(&s1, &p1),
        ProofItem::Debit(&s2, &p1),
        ProofItem::Debit(&s2, &p2),
    ])
    .unwrap_err();
    assert_eq!(err.index, 1);
}

#[test]
fn issue_and_exchange_proofs_swapped_whole_or_in_part_fail() {
    let mut w = world(15);
    // Two Issues of the same amount to the same account.
    let (i1, ip1) = issue(&mut w, 500);
    let (i2, ip2) = issue(&mut w, 500);
    verify_issue(&i1, &ip1).unwrap();
    verify_issue(&i2, &ip2).unwrap();
    must_fail(verify_issue(&i1, &ip2), "swapped issue proof");
    let mut mixed = ip1.clone();
    mixed.validity = ip2.validity.clone();
    must_fail(verify_issue(&i1, &mixed), "issue validity from another");
    let mut mixed = ip1.clone();
    mixed.range = ip2.range.clone();
    must_fail(verify_issue(&i1, &mixed), "issue range from another");

    // Two Exchanges of the same numbers.
    let (e1, ep1) = exchange(&mut w);
    let (e2, ep2) = exchange(&mut w);
    verify_exchange(&e1, &ep1).unwrap();
    verify_exchange(&e2, &ep2).unwrap();
    must_fail(verify_exchange(&e1, &ep2), "swapped exchange proof");
    type Edit = fn(&mut ExchangeProof, &ExchangeProof);
    let edits: [(&str, Edit); 6] = [
        ("equality from another", |p, o| {
            p.equality = o.equality.clone()
        }),
        ("validity_from from another", |p, o| {
            p.validity_from = o.validity_from.clone()
        }),
        ("validity_to from another", |p, o| {
            p.validity_to = o.validity_to.clone()
        }),
        ("rate from another", |p, o| p.rate = o.rate.clone()),
        ("range from another", |p, o| p.range = o.range.clone()),
        ("validity_from and validity_to swapped", |p, _| {
            std::mem::swap(&mut p.validity_from, &mut p.validity_to)
        }),
    ];
    for (name, edit) in edits {
        let mut proof = ep1.clone();
        edit(&mut proof, &ep2);
        must_fail(verify_exchange(&e1, &proof), name);
        assert!(
            verify_batch(&[ProofItem::Exchange(&e1, &proof)]).is_err(),
            "{name} passed the batch"
        );
    }
    // A Debit's equality proof moved into an Exchange.
    let (_, debit) = transfer(&mut w, 1_000, 400);
    let mut proof = ep1.clone();
    proof.equality = debit.equality.clone();
    must_fail(
        verify_exchange(&e1, &proof),
        "debit equality in an exchange",
    );
}

/// An overdrawing prover: lies about the new balance, claiming
/// `balance − amount mod 2^64` (what a wrapped u64 subtraction would give).
#[test]
fn overdraw_cannot_produce_a_verifying_proof() {
    let mut w = world(6);
    let balance = 100u64;
    let amount = 101u64;
    let state = funded(&mut w, balance);
    let keys = vec![
        w.alice.public().encryption,
        w.bob.public().encryption,
        w.policy.auditor.unwrap(),
    ];
    // The honest builder refuses outright.
    assert!(transactions::transfer(
        w.chain,
        &w.policy,
        &w.alice,
        &SpendingAccount {
            state: &state,
            balance
        },
        w.bob.public(),
        amount,
        &mut w.rng
    )
    .is_err());
    for claimed_new_balance in [balance.wrapping_sub(amount), 0, balance] {
        let amount_opening = PedersenOpening::random(&mut w.rng);
        let ciphertext = GroupedCiphertext::encrypt_with(&keys, amount, &amount_opening);
        let balance_opening = PedersenOpening::random(&mut w.rng);
        let new_balance = PedersenCommitment::new(claimed_new_balance, &balance_opening);
        let statement = DebitStatement {
            kind: DebitKind::Transfer,
            chain: w.chain,
            currency: w.policy.id,
            nonce: state.nonce,
            source_id: w.alice.loyalty_id(),
            destination_id: Some(w.bob.loyalty_id()),
            source: w.alice.public().encryption,
            destination: w.bob.public().encryption,
            auditor: w.policy.auditor,
            source_available: state.available,
            amount: ciphertext,
            new_balance,
        };
        let mut t = statement.transcript();
        let equality = prove_equality(
            &mut t,
            &w.alice.public().encryption,
            w.alice.elgamal_secret(),
            &statement.new_balance_ciphertext().unwrap(),
            claimed_new_balance,
            &balance_opening,
            &mut w.rng,
        );
        let validity = prove_grouped_validity(&mut t, &keys, amount, &amount_opening, &mut w.rng);
        // The Transfer range is over `C_a − G` (§8.4): `amount − 1`.
        let range = prove_range(
            &mut t,
            &[amount - 1, claimed_new_balance],
            &[Some(&amount_opening), Some(&balance_opening)],
            64,
            &mut w.rng,
        )
        .unwrap();
        let proof = DebitProof {
            equality,
            validity,
            range,
        };
        assert_eq!(
            verify_debit(&statement, &proof),
            Err(VerificationError::SigmaProof)
        );
        assert!(verify_batch(&[ProofItem::Debit(&statement, &proof)]).is_err());
    }
}

/// A "negative" amount `v = ℓ − 1` (i.e. −1) has no range proof: pair its
/// commitment with the proof of any honest value and it fails.
#[test]
fn negative_amounts_are_rejected_by_the_range_proof() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let r = Scalar::random(&mut rng);
    let minus_one =
        -Scalar::ONE * coalition_core::generators::g() + r * coalition_core::generators::h();
    for claimed in [0u64, 1, u64::MAX] {
        let opening = PedersenOpening::from_scalar(r);
        let mut t = Transcript::new(b"negative-amount test");
        let proof = prove_range(&mut t, &[claimed], &[Some(&opening)], 64, &mut rng).unwrap();
        let honest = PedersenCommitment::new(claimed, &opening);
        verify_range_single(
            &mut Transcript::new(b"negative-amount test"),
            &proof,
            &[*honest.as_point()],
            &mut rng,
        )
        .unwrap();
        assert!(verify_range_single(
            &mut Transcript::new(b"negative-amount test"),
            &proof,
            &[minus_one],
            &mut rng
        )
        .is_err());
        assert!(verify_range_batched(
            &mut Transcript::new(b"negative-amount test"),
            &proof,
            &[minus_one],
            &mut rng
        )
        .is_err());
    }
    // And an Issue of 2^32 (outside its 32-bit range) cannot be built.
    let mut w = world(8);
    assert!(transactions::issue(
        w.chain,
        &w.policy,
        &w.issuer,
        0,
        w.alice.public(),
        1 << 32,
        &mut w.rng
    )
    .is_err());
}

#[test]
fn wrong_rate_witness_fails() {
    let mut w = world(9);
    let (s, p) = exchange(&mut w);
    // Claim 1:1 where the proof shows 3:2.
    let mut m = s.clone();
    m.rate = ExchangeRate::new(1, 1).unwrap();
    must_fail(verify_exchange(&m, &p), "rate 1/1");
    // Inflate y: replace the y ciphertext by one for y + 1 (proof unchanged).
    let mut m = s.clone();
    m.amount_to.commitment = PedersenCommitment::from_point(
        s.amount_to.commitment.as_point() + coalition_core::generators::g(),
    );
    must_fail(verify_exchange(&m, &p), "inflated y");
    let _ = &w.issuer_b;
}

/// Our batched range verifier accepts and rejects exactly what the crate's does.
#[test]
fn batched_range_verifier_agrees_with_the_crate() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    for (bits, parties) in [
        (8usize, 1usize),
        (32, 1),
        (64, 1),
        (64, 2),
        (32, 4),
        (64, 4),
    ] {
        let values: Vec<u64> = (0..parties)
            .map(|i| {
                if bits == 64 {
                    u64::MAX - i as u64
                } else {
                    (1u64 << bits) - 1 - i as u64
                }
            })
            .collect();
        let openings: Vec<PedersenOpening> = (0..parties)
            .map(|_| PedersenOpening::random(&mut rng))
            .collect();
        let refs: Vec<Option<&PedersenOpening>> = openings.iter().map(Some).collect();
        let proof = prove_range(
            &mut Transcript::new(b"agree"),
            &values,
            &refs,
            bits,
            &mut rng,
        )
        .unwrap();
        let commitments: Vec<RistrettoPoint> = values
            .iter()
            .zip(&openings)
            .map(|(v, o)| *PedersenCommitment::new(*v, o).as_point())
            .collect();
        let single = verify_range_single(
            &mut Transcript::new(b"agree"),
            &proof,
            &commitments,
            &mut rng,
        );
        let batched = verify_range_batched(
            &mut Transcript::new(b"agree"),
            &proof,
            &commitments,
            &mut rng,
        );
        assert!(single.is_ok() && batched.is_ok(), "({bits}, {parties})");
        // Wrong transcript label, wrong commitment: both reject.
        assert!(verify_range_single(
            &mut Transcript::new(b"other"),
            &proof,
            &commitments,
            &mut rng
        )
        .is_err());
        assert!(verify_range_batched(
            &mut Transcript::new(b"other"),
            &proof,
            &commitments,
            &mut rng
        )
        .is_err());
        let mut bad = commitments.clone();
        bad[parties - 1] += coalition_core::generators::g();
        assert!(
            verify_range_single(&mut Transcript::new(b"agree"), &proof, &bad, &mut rng).is_err()
        );
        assert!(
            verify_range_batched(&mut Transcript::new(b"agree"), &proof, &bad, &mut rng).is_err()
        );
        // Every 32-byte element of the proof flipped: both reject (or it no longer decodes).
        let bytes = proof.as_bytes().to_vec();
        for chunk in 0..bytes.len() / 32 {
            let mut flipped = bytes.clone();
            flipped[chunk * 32] ^= 0x02;
            let Ok(mutant) =
                coalition_core::proofs::RangeProof::from_bytes(&flipped, bits, parties)
            else {
                continue;
            };
            let s = verify_range_single(
                &mut Transcript::new(b"agree"),
                &mutant,
                &commitments,
                &mut rng,
            );
            let b = verify_range_batched(
                &mut Transcript::new(b"agree"),
                &mutant,
                &commitments,
                &mut rng,
            );
            assert!(
                s.is_err() && b.is_err(),
                "element {chunk} of ({bits}, {parties})"
            );
        }
    }
}

#[test]
fn batch_of_mixed_statements_verifies_and_matches_single() {
    let mut w = world(11);
    let (si, pi) = issue(&mut w, 77);
    let (st, pt) = transfer(&mut w, 500, 20);
    let (sb, pb) = burn(&mut w, 500, 30);
    let (se, pe) = exchange(&mut w);
    let items = [
        ProofItem::Issue(&si, &pi),
        ProofItem::Debit(&st, &pt),
        ProofItem::Debit(&sb, &pb),
        ProofItem::Exchange(&se, &pe),
    ];
    verify_batch(&items).unwrap();
    for item in &items {
        coalition_verifier::verify_item(item).unwrap();
    }
}

#[test]
fn a_range_proof_of_the_wrong_shape_is_refused() {
    let mut w = world(12);
    let (s, mut p) = issue(&mut w, 5);
    // A 64-bit proof for the Issue amount (which must be < 2^32).
    let opening = PedersenOpening::random(&mut w.rng);
    p.range = prove_range(
        &mut Transcript::new(b"x"),
        &[5],
        &[Some(&opening)],
        64,
        &mut w.rng,
    )
    .unwrap();
    assert!(matches!(
        verify_issue(&s, &p),
        Err(VerificationError::MalformedStatement(_))
    ));
    assert!(verify_batch(&[ProofItem::Issue(&s, &p)]).is_err());
}

/// Proves a debit of `amount` out of `balance` against `s` (whose amount
/// and new balance it replaces) the way the prover does, except that the
/// range proof is over `amount − shift`: `shift = 1` is the honest
/// Transfer statement, `shift = 0` the v1 one (range over `C_a`).
fn debit_proof_shifted(
    w: &mut World,
    s: &DebitStatement,
    balance: u64,
    amount: u64,
    shift: u64,
) -> (DebitStatement, DebitProof) {
    let amount_opening = PedersenOpening::random(&mut w.rng);
    let balance_opening = PedersenOpening::random(&mut w.rng);
    let mut s = s.clone();
    s.amount = GroupedCiphertext::encrypt_with(&s.amount_keys(), amount, &amount_opening);
    s.new_balance = PedersenCommitment::new(balance - amount, &balance_opening);
    let mut t = s.transcript();
    let equality = prove_equality(
        &mut t,
        &w.alice.public().encryption,
        w.alice.elgamal_secret(),
        &s.new_balance_ciphertext().unwrap(),
        balance - amount,
        &balance_opening,
        &mut w.rng,
    );
    let validity = prove_grouped_validity(
        &mut t,
        &s.amount_keys(),
        amount,
        &amount_opening,
        &mut w.rng,
    );
    let range = prove_range(
        &mut t,
        &[amount - shift, balance - amount],
        &[Some(&amount_opening), Some(&balance_opening)],
        64,
        &mut w.rng,
    )
    .unwrap();
    (
        s,
        DebitProof {
            equality,
            validity,
            range,
        },
    )
}

/// Issue 22 (spec §5.1, §8.4): a Transfer moves at least one point, so
/// zero-value fan-out cannot create accounts for free. The prover refuses
/// a zero Transfer, and a zero Transfer proven with the range over `C_a`
/// (as before) does not verify; a Burn of zero still does.
#[test]
fn a_transfer_of_zero_points_cannot_be_proven_or_forged() {
    let mut w = world(21);
    let state = funded(&mut w, 1_000);
    let zero = transactions::transfer(
        w.chain,
        &w.policy,
        &w.alice,
        &SpendingAccount {
            state: &state,
            balance: 1_000,
        },
        w.bob.public(),
        0,
        &mut w.rng,
    );
    assert!(zero.is_err(), "the prover refuses a zero transfer");
    let (s, p) = transfer(&mut w, 1_000, 1);
    verify_debit(&s, &p).unwrap();
    // The construction below is the prover's: with the honest shift it
    // verifies, for one point and for the whole balance.
    for amount in [1, 1_000] {
        let (ok_s, ok_p) = debit_proof_shifted(&mut w, &s, 1_000, amount, 1);
        verify_debit(&ok_s, &ok_p).unwrap();
    }
    // Zero points, range over C_a: refused, alone and in a batch.
    let (zero_s, zero_p) = debit_proof_shifted(&mut w, &s, 1_000, 0, 0);
    must_fail(verify_debit(&zero_s, &zero_p), "a zero transfer");
    must_fail(
        verify_batch(&[ProofItem::Debit(&zero_s, &zero_p)]).map_err(|e| e.error),
        "a zero transfer in a batch",
    );
    // One point proven the v1 way (range over C_a, not C_a − G): refused.
    let (v1_s, v1_p) = debit_proof_shifted(&mut w, &s, 1_000, 1, 0);
    must_fail(verify_debit(&v1_s, &v1_p), "a v1-style transfer proof");
    // A Burn keeps its minimum of zero.
    let (b, bp) = burn(&mut w, 1_000, 0);
    verify_debit(&b, &bp).unwrap();
}
