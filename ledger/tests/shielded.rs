//! The shielded pool end to end: issue → shield → redeem at a merchant →
//! the merchant's pending balance grows by X → the note cannot be redeemed
//! again; plus the transaction-level rejections and the unlinkability check.

use std::sync::{Arc, OnceLock};

use coalition_circuits::encryption::EncryptedNote;
use coalition_circuits::keys::{FullViewingKey, SpendingKey};
use coalition_circuits::merkle::MerklePath;
use coalition_circuits::note::{
    AssetId, Epoch, Expiry, Note, NoteCommitment, Nullifier, Rho, TreeRoot,
};
use coalition_circuits::spend::{SpendCircuit, SpendInput, SpendWitness};
use coalition_circuits::spend_auth::{Randomizer, Signature as SpendAuthSignature, SigningKey};
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, NoteLifetime};
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::shielded::{Groth16Proof, NoteOutput, RedeemTx};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::audit::RulesModel;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use coalition_ledger::ledger::records::{MemoryRecords, StateWriter, Table};
use coalition_ledger::ledger::{AccountLedger, LedgerError};
use coalition_ledger::mempool::{Mempool, MempoolConfig, MempoolError};
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::groth16::prove;
use coalition_prover::shielded::{redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_prover::ProofError;
use coalition_verifier::transactions::LedgerView;
use coalition_verifier::{TxVerificationError, VerificationError};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn keys() -> &'static ShieldedProvingKeys {
    static KEYS: OnceLock<ShieldedProvingKeys> = OnceLock::new();
    KEYS.get_or_init(|| ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap())
}

struct World {
    rng: ChaCha20Rng,
    ledger: AccountLedger,
    airline: IdentityKeys,
    merchant: IdentityKeys,
    customer: IdentityKeys,
    customer_seed: Seed,
    miles: CurrencyPolicy,
}

impl World {
    /// A coalition where the customer holds 1000 available MILES, whose
    /// notes never expire, in one endless settlement epoch.
    fn new(seed: u64) -> Self {
        Self::build(seed, NoteLifetime::Unlimited, u64::MAX)
    }

    /// The same with MILES notes living `lifetime`, in settlement epochs of
    /// `epoch_blocks` blocks.
    fn build(seed: u64, lifetime: NoteLifetime, epoch_blocks: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let airline = IdentityKeys::random(&mut rng);
        let merchant = IdentityKeys::random(&mut rng);
        let customer_seed = Seed::random(&mut rng);
        let customer = IdentityKeys::from_seed(&customer_seed);
        let miles = CurrencyPolicy {
            id: CurrencyId::new("MILES").unwrap(),
            issuer: *airline.public(),
            auditor: None,
        };
        let pool_keys = Arc::new(keys().verifying_keys());
        let mut ledger = AccountLedger::with_shielded_pool(ChainId([3; 32]), pool_keys)
            .with_settlement_epoch(epoch_blocks);
        ledger
            .register_currency_with_lifetime(miles.clone(), lifetime)
            .unwrap();
        let mut world = World {
            rng,
            ledger,
            airline,
            merchant,
            customer,
            customer_seed,
            miles,
        };
        let issue = transactions::issue(
            world.ledger.chain(),
            &world.miles,
            &world.airline,
            0,
            world.customer.public(),
            1000,
            &mut world.rng,
        )
        .unwrap();
        world.ledger.apply(&issue).unwrap();
        let apply = transactions::apply_pending(
            world.ledger.chain(),
            world.miles.id,
            &world.customer,
            &world.account(),
        )
        .unwrap();
        world.ledger.apply(&apply).unwrap();
        world
    }

    /// The ledger's settlement epoch: what the wallet names.
    fn epoch(&self) -> Epoch {
        self.ledger.settlement_epoch().unwrap()
    }

    /// Moves the ledger to `height` through empty blocks.
    fn advance_to(&mut self, height: u64) {
        while self.ledger.height() < height {
            self.ledger = self
                .ledger
                .after_block_at(self.ledger.height() + 1, &[])
                .unwrap();
        }
    }

    fn sk(&self) -> SpendingKey {
        self.customer_seed.shielded_spending_key()
    }

    fn account(&self) -> AccountState {
        self.ledger
            .account(&self.customer.loyalty_id(), &self.miles.id)
            .cloned()
            .unwrap_or_else(|| AccountState::new(*self.customer.public()))
    }

    fn shield(&mut self, value: u64, balance: u64) -> (Transaction, Note) {
        let account = self.account();
        let address = self.sk().address();
        let built = shield(
            self.ledger.chain(),
            self.miles.id,
            self.epoch(),
            self.ledger.note_lifetime(&self.miles.id),
            &self.customer,
            &SpendingAccount {
                state: &account,
                balance,
            },
            value,
            &address,
            &keys().output,
            &mut self.rng,
        )
        .unwrap();
        (built.tx, built.note)
    }

    /// The wallet's scan: every note in the pool it can decrypt, with paths.
    fn scan(&self) -> Vec<SpendInput> {
        let sk = self.sk();
        let (ivk, address) = (sk.incoming_viewing_key(), sk.address());
        let pool = self.ledger.pool().unwrap();
        pool.notes_from(0)
            .enumerate()
            .filter_map(|(position, out)| {
                let note = out.encrypted.decrypt(&ivk, &address, &out.commitment)?;
                (!pool.is_spent(&note.nullifier(&sk.nullifier_key()))).then(|| SpendInput {
                    note,
                    path: pool.tree().path(position as u64).unwrap(),
                })
            })
            .collect()
    }

    fn redeem(
        &mut self,
        inputs: &[SpendInput],
        value: u64,
    ) -> Result<(Transaction, Note), ProofError> {
        let root = self.ledger.pool().unwrap().latest_root();
        let sk = self.sk();
        redeem(
            self.ledger.chain(),
            self.miles.id,
            self.epoch(),
            &sk,
            inputs,
            root,
            self.merchant.public(),
            value,
            &keys().spend,
            &mut self.rng,
        )
        .map(|r| (r.tx, r.change))
    }

    /// A Redeem for `epoch` built step by step, returning its `α` too (a
    /// mutated body re-signed by the owner isolates what the proof alone
    /// refuses).
    fn redeem_keeping_alpha(
        &mut self,
        inputs: &[SpendInput],
        epoch: Epoch,
        value: u64,
    ) -> (Transaction, Randomizer) {
        let sk = self.sk();
        let unproven = coalition_prover::shielded::build_redeem(
            self.ledger.chain(),
            self.miles.id,
            epoch,
            &sk.full_viewing_key(),
            inputs,
            self.ledger.pool().unwrap().latest_root(),
            self.merchant.public(),
            value,
            &mut self.rng,
        )
        .unwrap();
        let alpha = unproven.witness().alpha.clone();
        let tx = unproven
            .prove(&keys().spend, &mut self.rng)
            .unwrap()
            .authorize(&sk.spend_authorizing_key(), &mut self.rng)
            .unwrap()
            .tx;
        (tx, alpha)
    }

    fn merchant_pending(&self) -> AccountState {
        self.ledger
            .account(&self.merchant.loyalty_id(), &self.miles.id)
            .cloned()
            .unwrap()
    }
}

fn rejected_with(result: Result<(), LedgerError>) -> TxVerificationError {
    match result {
        Err(LedgerError::Rejected { error, .. }) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn issue_shield_redeem_and_no_double_redeem() {
    let mut w = World::new(1);
    let (shield_tx, note) = w.shield(600, 1000);
    w.ledger.apply(&shield_tx).unwrap();
    assert!(w
        .account()
        .available
        .decrypts_to(w.customer.elgamal_secret(), 400));
    let found = w.scan();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].note, note);

    let (redeem_tx, change) = w.redeem(&found, 250).unwrap();
    // Round-trips through the wire format.
    let decoded: Transaction = decode_exact(&redeem_tx.to_bytes()).unwrap();
    assert_eq!(decoded, redeem_tx);
    w.ledger.apply(&decoded).unwrap();
    let merchant = w.merchant_pending();
    assert_eq!(merchant.pending_credits, 1);
    assert!(merchant
        .pending
        .decrypts_to(w.merchant.elgamal_secret(), 250));
    assert_eq!(change.value, 350);

    // The same transaction again: its nullifier is spent.
    assert_eq!(
        rejected_with(w.ledger.apply(&redeem_tx)),
        TxVerificationError::Pool("nullifier already spent")
    );
    // A fresh proof spending the same note under the current root (a
    // wallet that forgot it was spent).
    let stale = SpendInput {
        note: found[0].note.clone(),
        path: w.ledger.pool().unwrap().tree().path(0).unwrap(),
    };
    let (again, _) = w.redeem(&[stale], 100).unwrap();
    assert_eq!(
        rejected_with(w.ledger.apply(&again)),
        TxVerificationError::Pool("nullifier already spent")
    );
    // The wallet now sees only the change, and can spend it alone.
    let change_found = w.scan();
    assert_eq!(change_found.len(), 1);
    assert_eq!(change_found[0].note, change);
    let (spend_change, last) = w.redeem(&change_found, 350).unwrap();
    w.ledger.apply(&spend_change).unwrap();
    assert_eq!(last.value, 0);
    let merchant = w.merchant_pending();
    assert_eq!(merchant.pending_credits, 2);
    assert!(merchant
        .pending
        .decrypts_to(w.merchant.elgamal_secret(), 600));

    // The audit's rule model keeps the pool from the public values alone:
    // the same flows balance (600 shielded, 250 + 350 redeemed); a
    // nullifier revealed twice, or a Redeem of points nobody shielded, is
    // a finding even when its proof is valid.
    let genesis = Genesis {
        name: "pool".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: vec![
            ("airline".into(), *w.airline.public()),
            ("merchant".into(), *w.merchant.public()),
        ],
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 8,
    };
    let mut model = RulesModel::new(&genesis);
    for tx in [&shield_tx, &decoded, &spend_change] {
        model.observe(1, tx).unwrap();
    }
    assert_eq!(model.checks.pool_flows, 3);
    let again = model.observe(1, &redeem_tx).unwrap_err();
    assert!(
        again.contains("nullifier is revealed a second time"),
        "{again}"
    );
    let mut unshielded = RulesModel::new(&genesis);
    let minted = unshielded.observe(1, &redeem_tx).unwrap_err();
    assert!(
        minted.contains("250 redeemed from the pool in MILES but only 0 shielded"),
        "{minted}"
    );
    // A merchant that is not a member cannot be paid.
    let mut outsiders = RulesModel::new(&Genesis {
        founders: vec![("airline".into(), *w.airline.public())],
        ..genesis
    });
    outsiders.observe(1, &shield_tx).unwrap();
    assert!(outsiders
        .observe(1, &redeem_tx)
        .unwrap_err()
        .contains("is not a member"));
}

/// Issue 19, spec §13.3: whoever holds the victim's full viewing key (an
/// auditor, a delegated prover) owns a point under its own `ask` and the
/// victim's `nk`, and spends it beside a dummy input carrying the victim's
/// note's `ρ`. Under pool v1 (`nf = Poseidon(nk, ρ)`) the dummy's nullifier
/// was the victim's: the ledger accepted the attacker's Redeem and the
/// victim's note could never be spent. Now the attacker's Redeem is still
/// valid (it pays its own point) but reveals another nullifier, and the
/// victim redeems its note afterwards.
#[test]
fn a_viewing_key_holder_cannot_freeze_a_victims_note() {
    let mut w = World::new(11);
    let chain = w.ledger.chain();
    let (victim_shield, victim_note) = w.shield(600, 1000);
    w.ledger.apply(&victim_shield).unwrap();
    let victim_nk = w.sk().nullifier_key();
    let victim_nullifier = victim_note.nullifier(&victim_nk);

    // The attacker: an account with 5 points, its own shielded keys, and
    // the victim's full viewing key.
    let attacker = IdentityKeys::random(&mut w.rng);
    let issue = transactions::issue(
        chain,
        &w.miles,
        &w.airline,
        1,
        attacker.public(),
        5,
        &mut w.rng,
    )
    .unwrap();
    w.ledger.apply(&issue).unwrap();
    let account_of = |w: &World| {
        w.ledger
            .account(&attacker.loyalty_id(), &w.miles.id)
            .cloned()
            .unwrap()
    };
    let apply = transactions::apply_pending(chain, w.miles.id, &attacker, &account_of(&w)).unwrap();
    w.ledger.apply(&apply).unwrap();
    let own_keys = SpendingKey::from_seed(&[0xA7; 32]);
    let victim_fvk = w.sk().full_viewing_key();
    let hybrid = FullViewingKey {
        ak: own_keys.spend_authorizing_key().verification_key(),
        nk: victim_fvk.nk.clone(),
        ivk: own_keys.incoming_viewing_key(),
    };
    let address = hybrid.address();
    let shielded = shield(
        chain,
        w.miles.id,
        Epoch(0),
        NoteLifetime::Unlimited,
        &attacker,
        &SpendingAccount {
            state: &account_of(&w),
            balance: 5,
        },
        1,
        &address,
        &keys().output,
        &mut w.rng,
    )
    .unwrap();
    w.ledger.apply(&shielded.tx).unwrap();

    // The attacker's Redeem: its own point, and a dummy aimed at the victim.
    let pool = w.ledger.pool().unwrap();
    let own = SpendInput {
        path: pool.tree().path(pool.note_count() as u64 - 1).unwrap(),
        note: shielded.note,
    };
    let root = pool.latest_root();
    let dummy = SpendInput {
        note: Note::new(
            own.note.asset,
            Expiry::NEVER,
            0,
            address,
            victim_note.rho,
            &mut w.rng,
        ),
        path: MerklePath::dummy(),
    };
    let own_nullifier = own.note.nullifier(&hybrid.nk);
    let change = Note::new(
        own.note.asset,
        Expiry::NEVER,
        0,
        address,
        Rho(own_nullifier.0),
        &mut w.rng,
    );
    let witness = SpendWitness {
        ak: hybrid.ak,
        nk: hybrid.nk.clone(),
        alpha: Randomizer::random(&mut w.rng),
        inputs: [own, dummy],
        change: change.clone(),
    };
    let mut attack = RedeemTx {
        chain,
        currency: w.miles.id,
        merchant: *w.merchant.public(),
        value: 1,
        epoch: Epoch(0),
        root,
        nullifiers: [own_nullifier, witness.inputs[1].note.nullifier(&hybrid.nk)],
        rk: witness.rk(),
        change: NoteOutput {
            commitment: change.commitment(),
            encrypted: EncryptedNote::encrypt(&change, &mut w.rng).unwrap(),
        },
        proof: Groth16Proof(Default::default()),
        spend_auth: SpendAuthSignature::from_bytes(&[0; 64]),
    };
    let public = attack.public_inputs();
    attack.proof = prove(
        "spend",
        &keys().spend,
        SpendCircuit::new(public, &witness),
        &mut w.rng,
    )
    .unwrap();
    // The attacker holds the ask of its hybrid key, so it can authorize.
    attack.spend_auth = own_keys
        .spend_authorizing_key()
        .randomize(&witness.alpha)
        .sign(&attack.authorization_message(), &mut w.rng);
    // The attacker may spend its own point …
    w.ledger
        .apply(&Transaction::Redeem(attack.clone()))
        .unwrap();
    // … but revealed another nullifier than the victim's …
    assert_ne!(attack.nullifiers[1], victim_nullifier);
    assert!(!w.ledger.pool().unwrap().is_spent(&victim_nullifier));
    // … and the victim still finds and redeems its note.
    let found = w.scan();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].note, victim_note);
    let (redeem_tx, _) = w.redeem(&found, 600).unwrap();
    w.ledger.apply(&redeem_tx).unwrap();
    assert!(w.ledger.pool().unwrap().is_spent(&victim_nullifier));
}

/// With split authority (pool v2) the whole full viewing key `(ak, nk,
/// ivk)` proves a spend of the victim's real note — and that proof is
/// valid, revealing the note's real nullifier — but the Redeem needs a
/// signature under `rk = ak + [α]·B`, i.e. `ask`. Whatever the holder signs
/// with (α alone, a key of its own, no signature change at all), the ledger
/// refuses the Redeem, records nothing, and the victim spends its note.
#[test]
fn a_full_viewing_key_proves_but_cannot_authorize_a_spend() {
    use coalition_prover::shielded::build_redeem;
    let mut w = World::new(12);
    let (victim_shield, victim_note) = w.shield(600, 1000);
    w.ledger.apply(&victim_shield).unwrap();
    let victim_fvk = w.sk().full_viewing_key();
    let victim_nullifier = victim_note.nullifier(&victim_fvk.nk);
    let notes = w.scan();
    let root = w.ledger.pool().unwrap().latest_root();
    let unproven = build_redeem(
        w.ledger.chain(),
        w.miles.id,
        Epoch(0),
        &victim_fvk,
        &notes,
        root,
        w.merchant.public(),
        600,
        &mut w.rng,
    )
    .unwrap();
    let alpha = unproven.witness().alpha.clone();
    let proven = unproven.prove(&keys().spend, &mut w.rng).unwrap();
    // Signing needs the owner's ask: the builder refuses any other key …
    let stranger = SigningKey::random(&mut w.rng);
    assert!(matches!(
        proven.clone().authorize(&stranger, &mut w.rng),
        Err(ProofError::NotOwner)
    ));
    // … and a Redeem assembled by hand with what the holder has is refused.
    let with_honest_signature = proven
        .authorize(&w.sk().spend_authorizing_key(), &mut w.rng)
        .unwrap()
        .tx;
    let forge = |key: &SigningKey, rng: &mut ChaCha20Rng| {
        let mut tx = redeem_parts(&with_honest_signature);
        tx.spend_auth = key.sign(&tx.authorization_message(), rng);
        Transaction::Redeem(tx)
    };
    let alpha_alone = SigningKey::random(&mut w.rng).randomize(&alpha);
    let attempts = [
        forge(&alpha_alone, &mut w.rng),
        forge(&stranger.randomize(&alpha), &mut w.rng),
        forge(&stranger, &mut w.rng),
    ];
    for attempt in &attempts {
        assert_eq!(
            rejected_with(w.ledger.apply(attempt)),
            TxVerificationError::Proof(VerificationError::SpendAuthorization)
        );
    }
    // The signature from another Redeem of the same key, moved over.
    let other = {
        let notes = w.scan();
        let (tx, _) = w.redeem(&notes, 10).unwrap();
        redeem_parts(&tx).spend_auth
    };
    let mut moved = redeem_parts(&with_honest_signature);
    moved.spend_auth = other;
    assert_eq!(
        rejected_with(w.ledger.apply(&Transaction::Redeem(moved))),
        TxVerificationError::Proof(VerificationError::SpendAuthorization)
    );
    assert!(!w.ledger.pool().unwrap().is_spent(&victim_nullifier));
    // The owner's own Redeem goes through.
    w.ledger.apply(&with_honest_signature).unwrap();
    assert!(w.ledger.pool().unwrap().is_spent(&victim_nullifier));
}

#[test]
fn the_mempool_admits_redeems_against_committed_roots_whatever_its_batches() {
    let mut w = World::new(9);
    let committed = w.ledger.clone();
    let (s1, _) = w.shield(300, 1000);
    w.ledger.apply(&s1).unwrap();
    let (s2, _) = w.shield(200, 700);
    w.ledger = committed;
    // Both shields admitted in one batch; the block takes only the first,
    // so the committed root is one the pending state never had.
    let mut mempool = Mempool::new(MempoolConfig::default(), &w.ledger);
    for result in mempool.insert_batch(vec![s1.clone(), s2.clone()]) {
        result.unwrap();
    }
    w.ledger.apply_block(std::slice::from_ref(&s1)).unwrap();
    assert!(mempool
        .on_block(std::slice::from_ref(&s1), &w.ledger)
        .is_empty());
    assert_eq!(mempool.len(), 1);
    // A wallet proves against the newest committed root: admitted, and the
    // next block (s2, then the redeem) is valid.
    let notes = w.scan();
    assert_eq!(notes.len(), 1);
    let (r, _) = w.redeem(&notes, 100).unwrap();
    mempool.insert(r.clone()).unwrap();
    let next = mempool.take_for_block(10);
    assert_eq!(next, vec![s2, r]);
    w.ledger.apply_block(&next).unwrap();
}

#[test]
fn two_note_redeem_in_one_block_and_double_spend_inside_a_block() {
    let mut w = World::new(2);
    let (s1, _) = w.shield(300, 1000);
    w.ledger.apply(&s1).unwrap();
    let (s2, _) = w.shield(200, 700);
    w.ledger.apply(&s2).unwrap();
    let notes = w.scan();
    assert_eq!(notes.len(), 2);
    let (both, change) = w.redeem(&notes, 450).unwrap();
    assert_eq!(change.value, 50);
    // Two Redeems of the same note in one block: the second is refused and
    // the block leaves the ledger untouched.
    let (dup, _) = w.redeem(&notes[..1], 10).unwrap();
    let before = w.ledger.clone();
    let err = w.ledger.apply_block(&[both.clone(), dup]);
    assert!(matches!(err, Err(LedgerError::Rejected { index: 1, .. })));
    assert_eq!(w.ledger, before);
    w.ledger.apply(&both).unwrap();
    assert!(w
        .merchant_pending()
        .pending
        .decrypts_to(w.merchant.elgamal_secret(), 450));
}

/// The state hash is kept up to date block by block (multiset hashes of
/// the accounts, nullifiers and ρ values, a hash chain over the notes):
/// the state rebuilt from storage — written block by block through the
/// diff of persistent maps — hashes exactly the same, and every stored
/// record the pool's commitments cover changes them when altered.
#[test]
fn incremental_state_hash_equals_the_state_rebuilt_from_records() {
    let mut w = World::new(4);
    let keys_of = |l: &AccountLedger| l.pool().map(|_| Arc::new(keys().verifying_keys()));
    let mut records = MemoryRecords::default();
    w.ledger.write_all(&mut records);
    let apply = |w: &mut World, tx: &Transaction, records: &mut MemoryRecords| {
        let before = w.ledger.clone();
        w.ledger.apply(tx).unwrap();
        w.ledger.write_changes(&before, records);
    };
    let (s1, _) = w.shield(300, 1000);
    apply(&mut w, &s1, &mut records);
    let (s2, _) = w.shield(200, 700);
    apply(&mut w, &s2, &mut records);
    let notes = w.scan();
    let (both, _) = w.redeem(&notes, 450).unwrap();
    apply(&mut w, &both, &mut records);
    let pool = w.ledger.pool().unwrap();
    assert_eq!((pool.note_count(), pool.nullifier_count()), (3, 2));

    let chain = w.ledger.chain();
    let loaded = AccountLedger::load(&records, chain, keys_of(&w.ledger)).unwrap();
    assert_eq!(loaded.commitments(), w.ledger.commitments());
    assert_eq!(loaded, w.ledger);
    // Written at once instead of block by block: the same records.
    let mut all = MemoryRecords::default();
    w.ledger.write_all(&mut all);
    assert_eq!(all, records);

    let state = w.ledger.state_hash();
    let nullifiers = w.ledger.nullifier_commitment();
    let reload =
        |records: &MemoryRecords| AccountLedger::load(records, chain, keys_of(&w.ledger)).unwrap();
    let first_key = |table: Table| {
        records
            .iter()
            .find(|((t, _), _)| *t == table)
            .map(|((_, k), _)| k.clone())
            .unwrap()
    };
    // A nullifier lost: both the header's nullifier commitment and the
    // state hash move.
    let mut lost = records.clone();
    lost.delete(Table::Nullifiers, first_key(Table::Nullifiers));
    let l = reload(&lost);
    assert_ne!(l.nullifier_commitment(), nullifiers);
    assert_ne!(l.state_hash(), state);
    // A ρ value added, an account's record altered, a stored note's
    // ciphertext altered (the tree, built from commitments, is unchanged):
    // the state hash moves.
    let mut extra = records.clone();
    let mut rho_key = b"r".to_vec();
    rho_key.extend_from_slice(&Rho(ark_bn254::Fr::from(12345u64)).to_bytes());
    extra.put(Table::NoteTree, rho_key, Vec::new());
    let flip_last = |records: &mut MemoryRecords, table: Table, key: &[u8], back: usize| {
        let value = records.get_mut(table, key).unwrap();
        let at = value.len() - back;
        value[at] ^= 1;
    };
    let mut account = records.clone();
    flip_last(
        &mut account,
        Table::Accounts,
        &first_key(Table::Accounts),
        8,
    );
    let mut note = records.clone();
    let mut note_key = b"n".to_vec();
    note_key.extend_from_slice(&1u64.to_be_bytes());
    flip_last(&mut note, Table::NoteTree, &note_key, 1);
    for damaged in [extra, account, note] {
        let l = reload(&damaged);
        assert_eq!(l.nullifier_commitment(), nullifiers);
        assert_ne!(l.state_hash(), state);
    }
}

#[test]
fn prover_refuses_what_cannot_verify() {
    let mut w = World::new(3);
    let (s, _) = w.shield(100, 1000);
    w.ledger.apply(&s).unwrap();
    let notes = w.scan();
    assert!(matches!(
        w.redeem(&notes, 101),
        Err(ProofError::InsufficientBalance)
    ));
    assert!(matches!(
        w.redeem(&notes, 0),
        Err(ProofError::AmountOutOfRange(_))
    ));
    let mut wrong_path = notes.clone();
    wrong_path[0].path.siblings[5] = coalition_circuits::Fr::from(5u64);
    assert!(matches!(
        w.redeem(&wrong_path, 10),
        Err(ProofError::NotInTree)
    ));
    // Someone else's key cannot spend the note.
    let thief = SpendingKey::from_seed(&[9; 32]);
    let root = w.ledger.pool().unwrap().latest_root();
    let stolen = redeem(
        w.ledger.chain(),
        w.miles.id,
        Epoch(0),
        &thief,
        &notes,
        root,
        w.merchant.public(),
        10,
        &keys().spend,
        &mut w.rng,
    );
    assert!(matches!(stolen, Err(ProofError::NoteNotSpendable(_))));
    // Shielding more than the balance.
    let account = w.account();
    let over = shield(
        w.ledger.chain(),
        w.miles.id,
        Epoch(0),
        NoteLifetime::Unlimited,
        &w.customer,
        &SpendingAccount {
            state: &account,
            balance: 900,
        },
        901,
        &w.sk().address(),
        &keys().output,
        &mut w.rng,
    );
    assert!(matches!(over, Err(ProofError::InsufficientBalance)));
}

fn redeem_parts(tx: &Transaction) -> coalition_core::shielded::RedeemTx {
    match tx {
        Transaction::Redeem(r) => r.clone(),
        _ => unreachable!(),
    }
}

fn shield_parts(tx: &Transaction) -> coalition_core::shielded::ShieldTx {
    match tx {
        Transaction::Shield(s) => s.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn ledger_rejects_every_mutated_redeem_field() {
    let mut w = World::new(4);
    let (s, _) = w.shield(500, 1000);
    w.ledger.apply(&s).unwrap();
    let notes = w.scan();
    // Built step by step to keep α: a mutated body re-signed by the owner
    // isolates what the proof alone refuses.
    let ask = w.sk().spend_authorizing_key();
    let (tx, alpha) = w.redeem_keeping_alpha(&notes, w.epoch(), 200);
    let honest = redeem_parts(&tx);
    let other_merchant = IdentityKeys::random(&mut w.rng);
    let other_alpha = Randomizer::random(&mut w.rng);
    let other_rk = ask.verification_key().randomize(&other_alpha);
    let bump = |f: &mut coalition_circuits::Fr| *f += coalition_circuits::Fr::from(1u64);
    type Mutation = Box<dyn Fn(&mut coalition_core::shielded::RedeemTx)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("value", Box::new(|t| t.value += 1)),
        (
            "merchant",
            Box::new(move |t| t.merchant = *other_merchant.public()),
        ),
        (
            "nullifier 1",
            Box::new(move |t| bump(&mut t.nullifiers[0].0)),
        ),
        (
            "nullifier 2",
            Box::new(move |t| bump(&mut t.nullifiers[1].0)),
        ),
        (
            "change cm",
            Box::new(move |t| bump(&mut t.change.commitment.0)),
        ),
        (
            "change ciphertext",
            Box::new(|t| t.change.encrypted.ciphertext[0] ^= 1),
        ),
        ("change epk", Box::new(|t| t.change.encrypted.epk[0] ^= 1)),
        // rk is a public input of the proof (and the signature's key).
        ("rk", Box::new(move |t| t.rk = other_rk)),
    ];
    for (name, mutate) in mutations {
        let mut bad = honest.clone();
        mutate(&mut bad);
        // As is: the signature covers the field (it signs the binding hash).
        assert_eq!(
            rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad.clone()))),
            TxVerificationError::Proof(VerificationError::SpendAuthorization),
            "mutated {name}, old signature"
        );
        // Re-signed by the owner (under the mutated rk where rk changed):
        // the proof alone refuses it.
        let randomizer = if bad.rk == honest.rk {
            &alpha
        } else {
            &other_alpha
        };
        bad.spend_auth = ask
            .randomize(randomizer)
            .sign(&bad.authorization_message(), &mut w.rng);
        assert_eq!(
            rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad))),
            TxVerificationError::Proof(VerificationError::Groth16),
            "mutated {name}, re-signed"
        );
    }
    // Root: an unknown root is refused before the proof.
    let mut bad = honest.clone();
    bump(&mut bad.root.0);
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad))),
        TxVerificationError::Pool("anchor root is not a recent note-tree root")
    );
    // Another chain.
    let mut bad = honest.clone();
    bad.chain = ChainId([4; 32]);
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad))),
        TxVerificationError::WrongChain
    );
    // Equal nullifiers.
    let mut bad = honest.clone();
    bad.nullifiers[1] = bad.nullifiers[0];
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad))),
        TxVerificationError::Pool("the two nullifiers are equal")
    );
    // The Shield's Output proof in place of the Spend proof.
    let mut bad = honest.clone();
    bad.proof = shield_parts(&s).output_proof;
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad))),
        TxVerificationError::Proof(VerificationError::Groth16)
    );
    // The spend-authorization signature: any bit of R or S flipped (the
    // proof still holds, the signature does not).
    for (name, part) in [("R", 0usize), ("S", 32)] {
        for byte in [0usize, 31] {
            let mut bad = honest.clone();
            let mut bytes = bad.spend_auth.to_bytes();
            bytes[part + byte] ^= 0x01;
            bad.spend_auth = SpendAuthSignature::from_bytes(&bytes);
            assert_eq!(
                rejected_with(w.ledger.clone().apply(&Transaction::Redeem(bad))),
                TxVerificationError::Proof(VerificationError::SpendAuthorization),
                "signature {name} byte {byte}"
            );
        }
    }
    // On the wire, rk must be a proper subgroup point and S canonical: the
    // identity as rk, or S + l, do not decode.
    let bytes = tx.to_bytes();
    let at = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap()
    };
    let rk_at = at(&honest.rk.to_bytes());
    let mut identity_rk = bytes.clone();
    // The identity (0, 1): y = 1, sign bit clear.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    identity_rk[rk_at..rk_at + 32].copy_from_slice(&identity);
    assert!(decode_exact::<Transaction>(&identity_rk).is_err());
    let s_at = at(&honest.spend_auth.s);
    let mut s_plus_l = bytes.clone();
    {
        use ark_ff::{BigInteger, PrimeField};
        let mut s =
            coalition_circuits::babyjub::Scalar::from_le_bytes_mod_order(&honest.spend_auth.s)
                .into_bigint();
        s.add_with_carry(&coalition_circuits::babyjub::Scalar::MODULUS);
        s_plus_l[s_at..s_at + 32].copy_from_slice(&s.to_bytes_le()[..32]);
    }
    assert!(decode_exact::<Transaction>(&s_plus_l).is_err());
    // The honest one still goes through.
    w.ledger.apply(&tx).unwrap();
}

#[test]
fn ledger_rejects_mutated_shields_and_chosen_rho() {
    let mut w = World::new(5);
    let (tx, _) = w.shield(300, 1000);
    let honest = shield_parts(&tx);
    let resign = resign_shield;
    type Mutation = Box<dyn Fn(&mut coalition_core::shielded::ShieldTx)>;
    // Each mutation breaks the account proof's transcript (and, for all but
    // the signature, the Output proof): refused as a proof failure.
    let mutations: Vec<(&str, Mutation)> = vec![
        ("value up", Box::new(|t| t.value += 1)),
        ("value down", Box::new(|t| t.value -= 1)),
        (
            "note commitment",
            Box::new(|t| {
                t.output.commitment =
                    NoteCommitment(t.output.commitment.0 + coalition_circuits::Fr::from(1u64))
            }),
        ),
        (
            "note ciphertext",
            Box::new(|t| t.output.encrypted.ciphertext[3] ^= 1),
        ),
    ];
    for (name, mutate) in mutations {
        let mut bad = honest.clone();
        mutate(&mut bad);
        let error = rejected_with(w.ledger.clone().apply(&resign(bad, &w)));
        assert!(
            matches!(error, TxVerificationError::Proof(_)),
            "mutated {name}: {error:?}"
        );
    }
    // The Output proof alone: a well-formed account proof for another note
    // does not rescue a wrong Output proof.
    let (other, _) = w.shield(300, 1000);
    let mut swapped = honest.clone();
    swapped.output_proof = shield_parts(&other).output_proof;
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&resign(swapped, &w))),
        TxVerificationError::Proof(VerificationError::Groth16)
    );
    // Unsigned change: signature fails.
    let mut bad = honest.clone();
    bad.value += 1;
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&Transaction::Shield(bad))),
        TxVerificationError::Signature
    );
    w.ledger.apply(&tx).unwrap();
    // A Shield cannot choose its ρ: a note committed with any other ρ (here,
    // aimed at a nullifier, which would block that Redeem's change) fails the
    // Output proof against the derived ρ.
    let (tx2, _) = w.shield(100, 700);
    let mut aimed = shield_parts(&tx2);
    let victim_nf = Rho(coalition_circuits::Fr::from(12345u64));
    let note = Note::new(
        AssetId(u64::from_be_bytes(*w.miles.id.as_bytes())),
        Expiry::NEVER,
        100,
        w.sk().address(),
        victim_nf,
        &mut w.rng,
    );
    aimed.output.commitment = note.commitment();
    aimed.output_proof = coalition_prover::groth16::prove(
        "output",
        &keys().output,
        coalition_circuits::output::OutputCircuit::for_note(&note),
        &mut w.rng,
    )
    .unwrap();
    let error = rejected_with(w.ledger.clone().apply(&resign(aimed, &w)));
    assert!(matches!(error, TxVerificationError::Proof(_)), "{error:?}");
    // Two Shields of one account get distinct derived ρ.
    assert_ne!(shield_parts(&tx2).rho(), honest.rho());
    assert_eq!(
        shield_parts(&tx2).output_public_inputs(Expiry::NEVER).rho,
        shield_parts(&tx2).rho()
    );
}

#[test]
fn redeem_bytes_reveal_nothing_about_the_customer() {
    let mut w = World::new(6);
    let (s, note) = w.shield(400, 1000);
    w.ledger.apply(&s).unwrap();
    let notes = w.scan();
    let (tx, _) = w.redeem(&notes, 150).unwrap();
    let bytes = tx.to_bytes();
    let sk = w.sk();
    let address = sk.address();
    let fvk = sk.full_viewing_key();
    let customer = w.customer.public();
    let position = notes[0].path.position;
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("loyalty id", w.customer.loyalty_id().0.to_vec()),
        ("signing key", customer.signing.to_bytes().to_vec()),
        (
            "elgamal key",
            customer
                .encryption
                .as_point()
                .compress()
                .to_bytes()
                .to_vec(),
        ),
        ("address owner", address.to_bytes()[..32].to_vec()),
        ("transmission key", address.transmission_key.to_vec()),
        ("ak", fvk.ak.to_bytes().to_vec()),
        (
            "spent note commitment",
            note.commitment().to_bytes().to_vec(),
        ),
        ("spent note rho", note.rho.to_bytes().to_vec()),
        (
            "spent note rcm",
            coalition_circuits::field::to_bytes(&note.rcm).to_vec(),
        ),
        ("shield tx id", s.id().0.to_vec()),
        ("shield epk", shield_parts(&s).output.encrypted.epk.to_vec()),
        ("tree position", position.to_le_bytes().to_vec()),
    ];
    for (name, secret) in secrets {
        // Any 8-byte window of the value appearing in the Redeem would be a link.
        for window in secret.windows(8) {
            if window.iter().all(|b| *b == 0) {
                continue;
            }
            assert!(
                !bytes.windows(8).any(|w| w == window),
                "Redeem bytes contain part of the {name}"
            );
        }
    }
    // What it does reveal: the merchant, the value, the root, nullifiers.
    let r = redeem_parts(&tx);
    assert_eq!(r.root, TreeRoot(w.ledger.pool().unwrap().latest_root().0));
    assert_ne!(r.nullifiers[0], Nullifier(note.commitment().0));
}

/// Spec §13.13: a note expires by its currency's lifetime. MILES notes here
/// live 2 settlement epochs of 3 blocks (block `h` is in epoch `(h − 1)/3`).
#[test]
fn expired_notes_cannot_be_redeemed() {
    let mut w = World::build(21, NoteLifetime::from_u32(2), 3);
    assert_eq!(w.epoch(), Epoch(0));
    let (tx, note) = w.shield(600, 1000);
    assert_eq!(note.expiry, Expiry(2), "shielded in epoch 0, lifetime 2");
    // A Shield naming a future epoch is refused; so is one naming another
    // epoch than its note's expiry was computed from (the Output proof's
    // public expiry is the node's, not the sender's).
    let mut future = shield_parts(&tx);
    future.epoch = Epoch(1);
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&resign_shield(future, &w))),
        TxVerificationError::Epoch {
            named: 1,
            current: 0
        }
    );
    w.ledger.apply(&tx).unwrap();

    // Epoch 1 (block 4): a Shield naming epoch 0, the one before, is
    // accepted; one claiming epoch 1 with the epoch-0 proof is not (the
    // expiry its Output proof was made for is 2, epoch 1 gives 3).
    w.advance_to(4);
    assert_eq!(w.epoch(), Epoch(1));
    let (late, late_note) = w.shield(100, 400);
    let mut relabelled = shield_parts(&late);
    relabelled.epoch = Epoch(0);
    assert!(matches!(
        rejected_with(w.ledger.clone().apply(&resign_shield(relabelled, &w))),
        TxVerificationError::Proof(_)
    ));
    assert_eq!(late_note.expiry, Expiry(3));
    let previous = {
        let account = w.account();
        shield(
            w.ledger.chain(),
            w.miles.id,
            Epoch(0),
            w.ledger.note_lifetime(&w.miles.id),
            &w.customer,
            &SpendingAccount {
                state: &account,
                balance: 400,
            },
            100,
            &w.sk().address(),
            &keys().output,
            &mut w.rng,
        )
        .unwrap()
    };
    assert_eq!(previous.note.expiry, Expiry(2));
    w.ledger.apply(&previous.tx).unwrap();

    // Epoch 2 (block 7), the first note's last: spend 100 of it beside the
    // later note (expiry 3): the change takes the earlier expiry, 2.
    w.advance_to(7);
    assert_eq!(w.epoch(), Epoch(2));
    let notes = w.scan();
    let first = notes.iter().find(|n| n.note == note).unwrap().clone();
    let (spent, change) = w.redeem(&[first, notes[1].clone()], 150).unwrap();
    assert_eq!(change.expiry, Expiry(2), "points are not refreshed");
    w.ledger.apply(&spent).unwrap();

    // Epoch 3 (block 10): the change (expiry 2) has expired. The wallet's
    // builder refuses it for the current epoch …
    w.advance_to(10);
    assert_eq!(w.epoch(), Epoch(3));
    let change_input = w
        .scan()
        .into_iter()
        .find(|n| n.note == change)
        .expect("the change is in the pool");
    assert!(matches!(
        w.redeem(std::slice::from_ref(&change_input), 10),
        Err(ProofError::NoteNotSpendable(_))
    ));
    // … and a proof for epoch 2, its last, is still accepted in epoch 3
    // (the ledger takes the epoch before), but not in epoch 4.
    let ask = w.sk().spend_authorizing_key();
    let (last_chance, alpha) =
        w.redeem_keeping_alpha(std::slice::from_ref(&change_input), Epoch(2), 10);
    w.ledger.clone().apply(&last_chance).unwrap();
    // The epoch is bound by the proof: named epoch 3 (current) and
    // re-signed by the owner, the epoch-2 proof fails.
    let mut relabelled = redeem_parts(&last_chance);
    relabelled.epoch = Epoch(3);
    relabelled.spend_auth = ask
        .randomize(&alpha)
        .sign(&relabelled.authorization_message(), &mut w.rng);
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&Transaction::Redeem(relabelled))),
        TxVerificationError::Proof(VerificationError::Groth16)
    );
    w.advance_to(13);
    assert_eq!(w.epoch(), Epoch(4));
    assert_eq!(
        rejected_with(w.ledger.clone().apply(&last_chance)),
        TxVerificationError::Epoch {
            named: 2,
            current: 4
        }
    );
    // The note of expiry 3 that was not touched has expired too; the one
    // never-expiring currency aside, nothing is left to redeem.
    assert!(w.scan().iter().all(|n| !n.note.expiry.allows(w.epoch())));
}

/// A Shield with its fields changed and re-signed by the owner (the account
/// proof is then checked against the changed statement).
fn resign_shield(shield: coalition_core::shielded::ShieldTx, w: &World) -> Transaction {
    let mut tx = Transaction::Shield(shield);
    tx.set_signature(w.customer.sign(&tx.signing_message()));
    tx
}

/// Spec §13.13: the mempool checks a transaction for the block it waits for
/// (the tip's + 1), and drops one that a later epoch no longer accepts
/// instead of offering it to every block after (which would fail each).
#[test]
fn the_mempool_checks_the_next_blocks_epoch_and_drops_stale_shields() {
    // Epochs of one block: block h is in epoch h − 1.
    let mut w = World::build(31, NoteLifetime::from_u32(4), 1);
    w.advance_to(1);
    assert_eq!(w.epoch(), Epoch(0));
    // Named for the tip's epoch 0; the next block is in epoch 1, which
    // takes the epoch before.
    let (tx, _) = w.shield(100, 1000);
    let mut pool = Mempool::new(MempoolConfig::default(), &w.ledger);
    pool.insert(tx.clone()).unwrap();
    w.ledger
        .after_block_at(2, std::slice::from_ref(&tx))
        .unwrap();
    // A Shield naming an epoch the next block does not take is refused at
    // admission.
    let mut ahead = shield_parts(&tx);
    ahead.epoch = Epoch(2);
    assert!(matches!(
        pool.insert(resign_shield(ahead, &w)),
        Err(MempoolError::Invalid(_))
    ));
    // A block from elsewhere without it: the next block is in epoch 2, the
    // Shield is stale and goes.
    w.advance_to(2);
    assert!(w
        .ledger
        .after_block_at(3, std::slice::from_ref(&tx))
        .is_err());
    assert_eq!(pool.on_block(&[], &w.ledger), vec![tx.id()]);
    assert!(pool.is_empty());
    // What a block builder does when a block fails: a full re-check, and
    // the culprit dropped by ID.
    let (fresh, _) = w.shield(100, 1000);
    pool.insert(fresh.clone()).unwrap();
    assert!(pool.revalidate(&w.ledger).is_empty());
    assert!(pool.evict(&fresh.id(), &w.ledger));
    assert!(pool.is_empty() && !pool.evict(&fresh.id(), &w.ledger));
}

#[test]
fn a_copied_redeem_with_a_garbage_proof_cannot_crowd_out_the_original() {
    // A Redeem's ID leaves out its proof, so anyone who sees it pending can
    // submit a copy with another proof under the same ID. Put first in the
    // same admission batch, the copy must not get the original refused as
    // a duplicate.
    let mut w = World::new(12);
    let (s, _) = w.shield(300, 1000);
    w.ledger.apply(&s).unwrap();
    let notes = w.scan();
    let (honest, _) = w.redeem(&notes, 100).unwrap();
    let mut copy = redeem_parts(&honest);
    copy.proof = shield_parts(&s).output_proof;
    let copy = Transaction::Redeem(copy);
    assert_eq!(copy.id(), honest.id());
    let mut mempool = Mempool::new(MempoolConfig::default(), &w.ledger);
    let results = mempool.insert_batch(vec![copy.clone(), honest.clone()]);
    assert!(
        matches!(results[0], Err(MempoolError::Invalid(_))),
        "{:?}",
        results[0]
    );
    assert_eq!(results[1], Ok(honest.id()));
    assert_eq!(mempool.take_for_block(10), vec![honest.clone()]);
    // Once the original is held, a copy is a duplicate, before any proof.
    let mut mempool = Mempool::new(MempoolConfig::default(), &w.ledger);
    let results = mempool.insert_batch(vec![honest.clone(), copy.clone(), honest]);
    assert!(results[0].is_ok());
    assert_eq!(results[1], Err(MempoolError::Duplicate));
    assert_eq!(results[2], Err(MempoolError::Duplicate));
}
