//! The account state machine end to end: real proofs, real verification,
//! balances decrypted and compared with a plaintext model.

use std::sync::OnceLock;

use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::keys::IdentityKeys;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::ledger::{AccountLedger, LedgerError};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_verifier::transactions::LedgerView;
use coalition_verifier::TxVerificationError;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn table() -> &'static DecryptionTable {
    static TABLE: OnceLock<DecryptionTable> = OnceLock::new();
    TABLE.get_or_init(|| DecryptionTable::new(16, 16))
}

struct Coalition {
    rng: ChaCha20Rng,
    ledger: AccountLedger,
    airline: IdentityKeys,
    hotel: IdentityKeys,
    auditor: IdentityKeys,
    people: Vec<IdentityKeys>,
    miles: CurrencyPolicy,
    points: CurrencyPolicy,
    rate: ExchangeRate,
}

impl Coalition {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let airline = IdentityKeys::random(&mut rng);
        let hotel = IdentityKeys::random(&mut rng);
        let auditor = IdentityKeys::random(&mut rng);
        let people = (0..3).map(|_| IdentityKeys::random(&mut rng)).collect();
        let miles = CurrencyPolicy {
            id: CurrencyId::new("MILES").unwrap(),
            issuer: *airline.public(),
            auditor: Some(auditor.public().encryption),
        };
        let points = CurrencyPolicy {
            id: CurrencyId::new("HPTS").unwrap(),
            issuer: *hotel.public(),
            auditor: None,
        };
        let rate = ExchangeRate::new(2, 1).unwrap();
        let mut ledger = AccountLedger::new(ChainId([7; 32]));
        ledger.register_currency(miles.clone()).unwrap();
        ledger.register_currency(points.clone()).unwrap();
        ledger.set_exchange_rate(miles.id, points.id, rate).unwrap();
        Self {
            rng,
            ledger,
            airline,
            hotel,
            auditor,
            people,
            miles,
            points,
            rate,
        }
    }

    fn chain(&self) -> ChainId {
        self.ledger.chain()
    }

    fn account(&self, who: usize, currency: &CurrencyPolicy) -> AccountState {
        let keys = &self.people[who];
        self.ledger
            .account(&keys.loyalty_id(), &currency.id)
            .cloned()
            .unwrap_or_else(|| AccountState::new(*keys.public()))
    }

    fn balances(&self, who: usize, currency: &CurrencyPolicy) -> (u64, u64) {
        let state = self.account(who, currency);
        let secret = self.people[who].elgamal_secret();
        (
            state.available.decrypt(secret, table()).unwrap(),
            state.pending.decrypt(secret, table()).unwrap(),
        )
    }

    fn issue(&mut self, who: usize, amount: u64) -> Transaction {
        let nonce = self.ledger.issuer_nonce(&self.miles.id);
        transactions::issue(
            self.chain(),
            &self.miles,
            &self.airline,
            nonce,
            self.people[who].public(),
            amount,
            &mut self.rng,
        )
        .unwrap()
    }

    fn transfer(
        &mut self,
        from: usize,
        to: usize,
        amount: u64,
    ) -> Result<Transaction, coalition_prover::ProofError> {
        let state = self.account(from, &self.miles);
        let balance = self.balances(from, &self.miles).0;
        transactions::transfer(
            self.chain(),
            &self.miles,
            &self.people[from],
            &SpendingAccount {
                state: &state,
                balance,
            },
            self.people[to].public(),
            amount,
            &mut self.rng,
        )
    }

    fn apply(&mut self, who: usize, currency: CurrencyId) -> Transaction {
        let policy = if currency == self.miles.id {
            self.miles.clone()
        } else {
            self.points.clone()
        };
        let state = self.account(who, &policy);
        transactions::apply_pending(self.chain(), currency, &self.people[who], &state).unwrap()
    }
}

#[test]
fn issue_transfer_apply_burn_exchange_round_trip() {
    let mut c = Coalition::new(1);
    let tx = c.issue(0, 1_000);
    c.ledger.apply(&tx).unwrap();
    assert_eq!(c.balances(0, &c.miles.clone()), (0, 1_000));
    // Replaying the same Issue is refused (issuance sequence).
    assert!(matches!(
        c.ledger.apply(&tx),
        Err(LedgerError::Rejected { .. })
    ));
    let tx = c.apply(0, c.miles.id);
    c.ledger.apply(&tx).unwrap();
    assert_eq!(c.balances(0, &c.miles.clone()), (1_000, 0));
    // Replaying the ApplyPending is refused (nonce).
    assert!(c.ledger.apply(&tx).is_err());

    let tx = c.transfer(0, 1, 400).unwrap();
    c.ledger.apply(&tx).unwrap();
    assert!(c.ledger.apply(&tx).is_err(), "replayed transfer");
    assert_eq!(c.balances(0, &c.miles.clone()), (600, 0));
    assert_eq!(c.balances(1, &c.miles.clone()), (0, 400));

    // Person 1 is a merchant: applies, then burns 150 back to the airline.
    let tx = c.apply(1, c.miles.id);
    c.ledger.apply(&tx).unwrap();
    let state = c.account(1, &c.miles.clone());
    let tx = transactions::burn(
        c.chain(),
        &c.miles,
        &c.people[1],
        &SpendingAccount {
            state: &state,
            balance: 400,
        },
        150,
        &mut c.rng,
    )
    .unwrap();
    c.ledger.apply(&tx).unwrap();
    assert_eq!(c.balances(1, &c.miles.clone()), (250, 0));
    // The issuer reads the burned amount from its handle; nobody else's key works.
    let Transaction::Burn(burn) = &tx else {
        unreachable!()
    };
    let issuer_view = burn.amount.ciphertext(1).unwrap();
    assert_eq!(
        issuer_view.decrypt(c.airline.elgamal_secret(), table()),
        Ok(150)
    );
    assert!(issuer_view
        .decrypt(c.hotel.elgamal_secret(), table())
        .is_err());
    let auditor_view = burn.amount.ciphertext(2).unwrap();
    assert_eq!(
        auditor_view.decrypt(c.auditor.elgamal_secret(), table()),
        Ok(150)
    );

    // Exchange 300 miles into 600 hotel points.
    let state = c.account(0, &c.miles.clone());
    let tx = transactions::exchange(
        c.chain(),
        &c.miles,
        &c.points,
        c.rate,
        &c.people[0],
        &SpendingAccount {
            state: &state,
            balance: 600,
        },
        300,
        &mut c.rng,
    )
    .unwrap();
    c.ledger.apply(&tx).unwrap();
    assert_eq!(c.balances(0, &c.miles.clone()), (300, 0));
    assert_eq!(c.balances(0, &c.points.clone()), (0, 600));
    let Transaction::Exchange(ex) = &tx else {
        unreachable!()
    };
    assert_eq!(
        ex.amount_to
            .ciphertext(1)
            .unwrap()
            .decrypt(c.hotel.elgamal_secret(), table()),
        Ok(600)
    );
}

#[test]
fn overdraw_and_stale_proofs_are_rejected_with_state_unchanged() {
    let mut c = Coalition::new(2);
    let tx = c.issue(0, 100);
    c.ledger.apply(&tx).unwrap();
    let tx = c.apply(0, c.miles.id);
    c.ledger.apply(&tx).unwrap();
    assert!(matches!(
        c.transfer(0, 1, 101),
        Err(coalition_prover::ProofError::InsufficientBalance)
    ));
    // Two transfers built against the same state: the second is stale.
    let first = c.transfer(0, 1, 60).unwrap();
    let second = c.transfer(0, 2, 30).unwrap();
    c.ledger.apply(&first).unwrap();
    let before = c.ledger.clone();
    let err = c.ledger.apply(&second).unwrap_err();
    assert!(matches!(
        err,
        LedgerError::Rejected {
            error: TxVerificationError::Account(_),
            ..
        }
    ));
    assert_eq!(c.ledger, before, "a rejected transaction changes nothing");
    // A credit arriving between building and applying an ApplyPending is
    // folded with the others (spec §5.1); replaying it is refused.
    let tx = c.apply(1, c.miles.id);
    let extra = c.issue(1, 5);
    c.ledger.apply(&extra).unwrap();
    c.ledger.apply(&tx).unwrap();
    assert_eq!(c.balances(1, &c.miles.clone()), (65, 0));
    assert!(c.ledger.apply(&tx).is_err());
}

#[test]
fn a_targeted_account_can_always_apply_its_pending_balance_and_spend() {
    // Person 2 credits person 1 one point in every block, ahead of whatever
    // person 1 does in it (an earlier rule, `expected == pending_credits`,
    // let that refuse every ApplyPending person 1 made).
    let mut c = Coalition::new(9);
    for (who, amount) in [(1, 40), (2, 1000)] {
        let tx = c.issue(who, amount);
        c.ledger.apply(&tx).unwrap();
        let tx = c.apply(who, c.miles.id);
        c.ledger.apply(&tx).unwrap();
    }
    let mut attacked = 0;
    let mut attack = |c: &mut Coalition| {
        attacked += 1;
        c.transfer(2, 1, 1).unwrap()
    };
    // Pending credits from the attacker, then an ApplyPending built on what
    // the owner saw, with another credit ordered before it in the block.
    let first = attack(&mut c);
    c.ledger.apply_block(&[first]).unwrap();
    let apply = c.apply(1, c.miles.id);
    let Transaction::ApplyPending(seen) = &apply else {
        unreachable!()
    };
    assert_eq!(seen.expected_pending_credits, 1);
    let second = attack(&mut c);
    c.ledger.apply_block(&[second, apply]).unwrap();
    assert_eq!(c.balances(1, &c.miles.clone()), (42, 0));
    // The owner spends while credits keep arriving before its Transfer.
    let spend = c.transfer(1, 0, 30).unwrap();
    let third = attack(&mut c);
    c.ledger.apply_block(&[third, spend]).unwrap();
    assert_eq!(c.balances(1, &c.miles.clone()), (12, 1));
    assert_eq!(c.balances(0, &c.miles.clone()).1, 30);
    // An ApplyPending naming more credits than exist is still refused, and
    // changes nothing.
    let Transaction::ApplyPending(mut ahead) = c.apply(1, c.miles.id) else {
        unreachable!()
    };
    ahead.expected_pending_credits = 2;
    ahead.signature = c.people[1].sign(&Transaction::ApplyPending(ahead.clone()).signing_message());
    let before = c.ledger.clone();
    assert!(matches!(
        c.ledger.apply(&Transaction::ApplyPending(ahead)),
        Err(LedgerError::Rejected {
            error: TxVerificationError::Account(
                coalition_core::account::AccountError::PendingCounterMismatch { .. }
            ),
            ..
        })
    ));
    assert_eq!(c.ledger, before);
    assert_eq!(attacked, 3);
}

#[test]
fn tampered_transactions_are_rejected() {
    let mut c = Coalition::new(3);
    let tx = c.issue(0, 100);
    // Signature from someone else than the issuer.
    let Transaction::Issue(mut forged) = tx.clone() else {
        unreachable!()
    };
    forged.signature = c
        .hotel
        .sign(&Transaction::Issue(forged.clone()).signing_message());
    assert!(matches!(
        c.ledger.apply(&Transaction::Issue(forged)),
        Err(LedgerError::Rejected {
            error: TxVerificationError::Signature,
            ..
        })
    ));
    // Another chain.
    let Transaction::Issue(mut other) = tx.clone() else {
        unreachable!()
    };
    other.chain = ChainId([8; 32]);
    assert!(c.ledger.apply(&Transaction::Issue(other)).is_err());
    // Recipient swapped after signing.
    let Transaction::Issue(mut swapped) = tx.clone() else {
        unreachable!()
    };
    swapped.recipient = *c.people[1].public();
    assert!(c.ledger.apply(&Transaction::Issue(swapped)).is_err());
    c.ledger.apply(&tx).unwrap();
}

#[test]
fn a_block_is_all_or_nothing() {
    let mut c = Coalition::new(4);
    let a = c.issue(0, 10);
    c.ledger.apply(&a).unwrap();
    let b = c.issue(1, 20);
    let before = c.ledger.clone();
    // b is valid, but a is a replay: the whole block is refused.
    let err = c.ledger.apply_block(&[b.clone(), a]).unwrap_err();
    assert!(matches!(err, LedgerError::Rejected { index: 1, .. }));
    assert_eq!(c.ledger, before);
    c.ledger.apply_block(&[b]).unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Issue(usize, u64),
    Transfer(usize, usize, u64),
    Apply(usize),
    Burn(usize, u64),
    Exchange(usize, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..5_000u64).prop_map(|(w, a)| Op::Issue(w, a)),
        (0..3usize, 0..3usize, 0..3_000u64).prop_map(|(f, t, a)| Op::Transfer(f, t, a)),
        (0..3usize).prop_map(Op::Apply),
        (0..3usize, 0..2_000u64).prop_map(|(w, a)| Op::Burn(w, a)),
        (0..3usize, 0..2_000u64).prop_map(|(w, a)| Op::Exchange(w, a)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Any sequence of operations leaves every balance equal to the
    /// plaintext model's, and every operation the model refuses is refused.
    #[test]
    fn balances_follow_the_plaintext_model(ops in prop::collection::vec(op(), 1..10), seed in any::<u64>()) {
        let mut c = Coalition::new(seed);
        // model[who] = (available miles, pending miles, pending points)
        let mut model = [(0u64, 0u64, 0u64); 3];
        for op in ops {
            match op {
                Op::Issue(w, a) => {
                    let tx = c.issue(w, a);
                    c.ledger.apply(&tx).unwrap();
                    model[w].1 += a;
                }
                Op::Transfer(f, t, a) => {
                    let built = c.transfer(f, t, a);
                    if f == t {
                        if let Ok(tx) = built {
                            prop_assert!(c.ledger.apply(&tx).is_err());
                        }
                    } else if a > model[f].0 {
                        prop_assert!(built.is_err());
                    } else {
                        c.ledger.apply(&built.unwrap()).unwrap();
                        model[f].0 -= a;
                        model[t].1 += a;
                    }
                }
                Op::Apply(w) => {
                    let miles = c.miles.id;
                    let tx = c.apply(w, miles);
                    let exists = c.ledger.account(&c.people[w].loyalty_id(), &miles).is_some();
                    let result = c.ledger.apply(&tx);
                    prop_assert_eq!(result.is_ok(), exists);
                    if exists {
                        model[w].0 += model[w].1;
                        model[w].1 = 0;
                    }
                }
                Op::Burn(w, a) => {
                    let state = c.account(w, &c.miles.clone());
                    let balance = model[w].0;
                    let built = transactions::burn(c.chain(), &c.miles, &c.people[w],
                        &SpendingAccount { state: &state, balance }, a, &mut c.rng);
                    if a > balance {
                        prop_assert!(built.is_err());
                    } else {
                        let exists = c.ledger.account(&c.people[w].loyalty_id(), &c.miles.id).is_some();
                        prop_assert_eq!(c.ledger.apply(&built.unwrap()).is_ok(), exists);
                        if exists { model[w].0 -= a; }
                    }
                }
                Op::Exchange(w, a) => {
                    let state = c.account(w, &c.miles.clone());
                    let balance = model[w].0;
                    let built = transactions::exchange(c.chain(), &c.miles, &c.points, c.rate,
                        &c.people[w], &SpendingAccount { state: &state, balance }, a, &mut c.rng);
                    if a > balance {
                        prop_assert!(built.is_err());
                    } else {
                        let exists = c.ledger.account(&c.people[w].loyalty_id(), &c.miles.id).is_some();
                        prop_assert_eq!(c.ledger.apply(&built.unwrap()).is_ok(), exists);
                        if exists {
                            model[w].0 -= a;
                            model[w].2 += 2 * a;
                        }
                    }
                }
            }
            for (w, expected) in model.iter().enumerate() {
                prop_assert_eq!(c.balances(w, &c.miles.clone()), (expected.0, expected.1));
                prop_assert_eq!(c.balances(w, &c.points.clone()).1, expected.2);
            }
        }
    }
}
