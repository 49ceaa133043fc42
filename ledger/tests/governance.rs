//! Governance rules at the state-machine level: thresholds, admission,
//! rejection, removal, expiry, nonces, currency registration, terms and
//! the rates they put in force; plus the encodings.

use coalition_core::currency::{CurrencyId, ExchangeRate, NoteLifetime};
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::governance::MembershipAction;
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::partnership::PartnershipTerms;
use coalition_core::transaction::Transaction;
use coalition_ledger::audit::RulesModel;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::{ProposalStatus, Threshold, PROPOSAL_TTL_BLOCKS};
use coalition_ledger::ledger::{AccountLedger, LedgerError};
use coalition_prover::governance::{propose_member, register_currency, vote};
use coalition_verifier::transactions::LedgerView;
use coalition_verifier::TxVerificationError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct World {
    founders: Vec<IdentityKeys>,
    ledger: AccountLedger,
    rng: ChaCha20Rng,
    /// The audit's independent statement of the rules, fed the same
    /// accepted transactions: it must agree with the ledger after each.
    model: RulesModel,
}

/// Applies `tx` to `ledger` and, when accepted, to the audit's rule
/// model, which must find nothing wrong and derive the same members.
fn apply(
    ledger: &mut AccountLedger,
    model: &mut RulesModel,
    tx: &Transaction,
) -> Result<(), LedgerError> {
    ledger.apply(tx)?;
    model
        .observe(ledger.height(), tx)
        .expect("the audit's rule model accepts what the ledger accepted");
    model
        .compare(ledger)
        .expect("the audit's rule model derives the ledger's members");
    Ok(())
}

fn world(founders: usize, p: u32, q: u32) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(founders as u64 * 31 + u64::from(p));
    let keys: Vec<IdentityKeys> = (0..founders)
        .map(|_| IdentityKeys::random(&mut rng))
        .collect();
    let genesis = Genesis {
        name: "gov".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(p, q).unwrap(),
        founders: keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("founder-{i}"), *k.public()))
            .collect(),
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 8,
    };
    World {
        ledger: genesis.ledger(None, false).unwrap(),
        model: RulesModel::new(&genesis),
        founders: keys,
        rng,
    }
}

fn refused(ledger: &AccountLedger, tx: &Transaction) -> TxVerificationError {
    match ledger.after_block(std::slice::from_ref(tx)) {
        Err(LedgerError::Rejected { error, .. }) => error,
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|l| l.state_hash())
        ),
    }
}

fn admit(keys: &IdentityKeys) -> MembershipAction {
    MembershipAction::Admit {
        candidate: *keys.public(),
        name: "candidate".into(),
    }
}

#[test]
fn threshold_counts_ceil_of_share_and_at_least_one() {
    let t = Threshold::new(2, 3).unwrap();
    assert_eq!(t.needed(0), 1);
    assert_eq!(t.needed(1), 1);
    assert_eq!(t.needed(2), 2);
    assert_eq!(t.needed(3), 2);
    assert_eq!(t.needed(4), 3);
    assert_eq!(Threshold::new(1, 1).unwrap().needed(5), 5);
    assert!(Threshold::new(0, 3).is_none());
    assert!(Threshold::new(4, 3).is_none());
}

#[test]
fn admission_by_threshold_with_every_refusal() {
    let mut w = world(3, 2, 3);
    let chain = w.ledger.chain();
    let candidate = IdentityKeys::random(&mut w.rng);
    let outsider = IdentityKeys::random(&mut w.rng);
    let [a, b, c] = [&w.founders[0], &w.founders[1], &w.founders[2]];
    let proposal = propose_member(chain, a, 0, admit(&candidate));
    let id = proposal.id();
    let before = w.ledger.state_hash();
    // Nonce, signer and signature are checked.
    assert_eq!(
        refused(&w.ledger, &propose_member(chain, a, 1, admit(&candidate))),
        TxVerificationError::Governance("wrong governance nonce")
    );
    assert_eq!(
        refused(
            &w.ledger,
            &propose_member(chain, &outsider, 0, admit(&candidate))
        ),
        TxVerificationError::Governance("the signer is not a member")
    );
    let mut forged = proposal.clone();
    forged.set_signature(b.sign(&forged.signing_message()));
    assert_eq!(refused(&w.ledger, &forged), TxVerificationError::Signature);
    assert_eq!(w.ledger.state_hash(), before);

    apply(&mut w.ledger, &mut w.model, &proposal).unwrap();
    let p = &w.ledger.governance().proposals()[&id];
    assert_eq!(p.status, ProposalStatus::Open);
    // A second proposal about the same candidate while one is open.
    assert_eq!(
        refused(&w.ledger, &propose_member(chain, b, 0, admit(&candidate))),
        TxVerificationError::Governance("an open proposal already concerns this partner")
    );
    // The proposer cannot vote twice.
    assert_eq!(
        refused(&w.ledger, &vote(chain, a, 1, id, true)),
        TxVerificationError::Governance("this member already voted")
    );
    // A vote on an unknown proposal.
    assert_eq!(
        refused(
            &w.ledger,
            &vote(
                chain,
                b,
                0,
                Transaction::Vote(match vote(chain, b, 0, id, true) {
                    Transaction::Vote(v) => v,
                    _ => unreachable!(),
                })
                .id(),
                true
            )
        ),
        TxVerificationError::Governance("no such proposal")
    );
    // One more yes (2 of 3) admits.
    apply(&mut w.ledger, &mut w.model, &vote(chain, b, 0, id, true)).unwrap();
    assert!(w
        .ledger
        .governance()
        .members()
        .contains_key(&candidate.loyalty_id()));
    assert_eq!(
        w.ledger.governance().proposals()[&id].status,
        ProposalStatus::Accepted(0)
    );
    // Decided: no more votes.
    assert_eq!(
        refused(&w.ledger, &vote(chain, c, 0, id, true)),
        TxVerificationError::Governance("the proposal is decided or expired")
    );
    // Already a member.
    assert_eq!(
        refused(&w.ledger, &propose_member(chain, c, 0, admit(&candidate))),
        TxVerificationError::Governance("the candidate is already a member")
    );
}

#[test]
fn rejection_expiry_and_removal() {
    let mut w = world(3, 2, 3);
    let chain = w.ledger.chain();
    let candidate = IdentityKeys::random(&mut w.rng);
    let [a, b, c] = [&w.founders[0], &w.founders[1], &w.founders[2]];

    // Two "no" votes of three: 2 approvals can no longer be reached.
    let p = propose_member(chain, a, 0, admit(&candidate));
    apply(&mut w.ledger, &mut w.model, &p).unwrap();
    apply(
        &mut w.ledger,
        &mut w.model,
        &vote(chain, b, 0, p.id(), false),
    )
    .unwrap();
    assert_eq!(
        w.ledger.governance().proposals()[&p.id()].status,
        ProposalStatus::Open
    );
    apply(
        &mut w.ledger,
        &mut w.model,
        &vote(chain, c, 0, p.id(), false),
    )
    .unwrap();
    assert_eq!(
        w.ledger.governance().proposals()[&p.id()].status,
        ProposalStatus::Rejected(0)
    );
    assert!(!w
        .ledger
        .governance()
        .members()
        .contains_key(&candidate.loyalty_id()));

    // Expiry: a vote after the window is refused.
    let p2 = propose_member(chain, a, 1, admit(&candidate));
    apply(&mut w.ledger, &mut w.model, &p2).unwrap();
    let late = w
        .ledger
        .after_block_at(PROPOSAL_TTL_BLOCKS + 1, &[vote(chain, b, 1, p2.id(), true)]);
    assert!(matches!(
        late,
        Err(LedgerError::Rejected {
            error: TxVerificationError::Governance("the proposal is decided or expired"),
            ..
        })
    ));
    let in_time = w
        .ledger
        .after_block_at(PROPOSAL_TTL_BLOCKS, &[vote(chain, b, 1, p2.id(), true)]);
    assert!(in_time.is_ok());

    // Removal of c, who co-signed terms: the terms and their rates go.
    let miles = CurrencyId::new("MILES").unwrap();
    let nights = CurrencyId::new("NIGHTS").unwrap();
    let one = ExchangeRate::new(1, 1).unwrap();
    apply(
        &mut w.ledger,
        &mut w.model,
        &register_currency(chain, a, 2, miles, 0, None, one, NoteLifetime::Unlimited),
    )
    .unwrap();
    apply(
        &mut w.ledger,
        &mut w.model,
        &register_currency(
            chain,
            c,
            1,
            nights,
            0,
            None,
            // A night is worth 4 miles: rates up to 4 miles a night keep
            // settlement value.
            ExchangeRate::new(1, 4).unwrap(),
            NoteLifetime::Unlimited,
        ),
    )
    .unwrap();
    let terms = PartnershipTerms {
        chain,
        version: 1,
        partners: vec![*a.public(), *c.public()],
        rates: vec![(miles, nights, ExchangeRate::new(2, 1).unwrap())],
        earn_rules: vec![],
    };
    apply(
        &mut w.ledger,
        &mut w.model,
        &Transaction::Terms(terms.clone().sign(&[a, c])),
    )
    .unwrap();
    assert_eq!(
        w.ledger.exchange_rate(&miles, &nights),
        Some(ExchangeRate::new(2, 1).unwrap())
    );
    // Another partner set may not set the same rate.
    let rival = PartnershipTerms {
        partners: vec![*a.public(), *b.public(), *c.public()],
        ..terms.clone()
    };
    assert_eq!(
        refused(&w.ledger, &Transaction::Terms(rival.sign(&[a, b, c]))),
        TxVerificationError::Governance("another partnership already sets this rate")
    );
    // A newer version replaces the rate; an older one is refused.
    let v2 = PartnershipTerms {
        version: 2,
        rates: vec![(miles, nights, ExchangeRate::new(3, 1).unwrap())],
        ..terms.clone()
    };
    apply(
        &mut w.ledger,
        &mut w.model,
        &Transaction::Terms(v2.sign(&[a, c])),
    )
    .unwrap();
    assert_eq!(
        w.ledger.exchange_rate(&miles, &nights),
        Some(ExchangeRate::new(3, 1).unwrap())
    );
    assert!(matches!(
        refused(&w.ledger, &Transaction::Terms(terms.clone().sign(&[a, c]))),
        TxVerificationError::Governance(_)
    ));

    let remove = propose_member(
        chain,
        a,
        3,
        MembershipAction::Remove {
            member: c.loyalty_id(),
        },
    );
    apply(&mut w.ledger, &mut w.model, &remove).unwrap();
    apply(
        &mut w.ledger,
        &mut w.model,
        &vote(chain, b, 1, remove.id(), true),
    )
    .unwrap();
    assert!(!w
        .ledger
        .governance()
        .members()
        .contains_key(&c.loyalty_id()));
    assert!(w.ledger.governance().terms().is_empty());
    assert_eq!(w.ledger.exchange_rate(&miles, &nights), None);
    // The removed member's signature no longer counts.
    assert_eq!(
        refused(&w.ledger, &vote(chain, c, 2, p2.id(), true)),
        TxVerificationError::Governance("the signer is not a member")
    );
}

#[test]
fn the_last_member_cannot_be_removed() {
    let w = world(1, 1, 1);
    let a = &w.founders[0];
    assert_eq!(
        refused(
            &w.ledger,
            &propose_member(
                w.ledger.chain(),
                a,
                0,
                MembershipAction::Remove {
                    member: a.loyalty_id()
                }
            )
        ),
        TxVerificationError::Governance("the last member cannot be removed")
    );
}

#[test]
fn currency_registration_rules() {
    let mut w = world(2, 1, 2);
    let chain = w.ledger.chain();
    let [a, b] = [&w.founders[0], &w.founders[1]];
    let auditor = IdentityKeys::random(&mut w.rng);
    let miles = CurrencyId::new("MILES").unwrap();
    let value = ExchangeRate::new(1, 100).unwrap();
    apply(
        &mut w.ledger,
        &mut w.model,
        &register_currency(
            chain,
            a,
            0,
            miles,
            2,
            Some(auditor.public().encryption),
            value,
            NoteLifetime::Unlimited,
        ),
    )
    .unwrap();
    let policy = w.ledger.currency(&miles).unwrap();
    assert_eq!(policy.issuer, *a.public());
    assert_eq!(policy.auditor, Some(auditor.public().encryption));
    assert_eq!(w.ledger.governance().currencies()[&miles].decimals, 2);
    assert_eq!(
        refused(
            &w.ledger,
            &register_currency(chain, b, 0, miles, 0, None, value, NoteLifetime::Unlimited)
        ),
        TxVerificationError::Governance("the currency is already registered")
    );
}

#[test]
fn governance_encodings_round_trip_and_refuse_damage() {
    let w = world(2, 2, 3);
    let chain = w.ledger.chain();
    let a = &w.founders[0];
    let txs = [
        propose_member(chain, a, 0, admit(&w.founders[1])),
        propose_member(
            chain,
            a,
            1,
            MembershipAction::Remove {
                member: a.loyalty_id(),
            },
        ),
        vote(
            chain,
            a,
            2,
            propose_member(chain, a, 0, admit(a)).id(),
            false,
        ),
        register_currency(
            chain,
            a,
            3,
            CurrencyId::new("PTS").unwrap(),
            18,
            Some(a.public().encryption),
            ExchangeRate::new(1, 3).unwrap(),
            NoteLifetime::Unlimited,
        ),
    ];
    for tx in &txs {
        let bytes = tx.to_bytes();
        assert_eq!(&decode_exact::<Transaction>(&bytes).unwrap(), tx);
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_exact::<Transaction>(&bytes[..cut]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_exact::<Transaction>(&long).is_err());
    }
    // Decimals above 18 and an unknown action tag are refused.
    let mut bytes = txs[3].to_bytes();
    let decimals_at = 2 + 32 + 32 + 8 + 8;
    bytes[decimals_at] = 19;
    assert!(decode_exact::<Transaction>(&bytes).is_err());
    let mut bytes = txs[0].to_bytes();
    bytes[2 + 32 + 32 + 8] = 7;
    assert!(decode_exact::<Transaction>(&bytes).is_err());
}

#[test]
fn genesis_binds_every_field_into_the_chain_id() {
    let w = world(2, 2, 3);
    let base = Genesis {
        name: "g".into(),
        timestamp_ms: 5,
        threshold: Threshold::new(2, 3).unwrap(),
        founders: vec![("a".into(), *w.founders[0].public())],
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 8,
    };
    let bytes = base.to_bytes();
    assert_eq!(decode_exact::<Genesis>(&bytes).unwrap(), base);
    let variants = [
        Genesis {
            name: "h".into(),
            ..base.clone()
        },
        Genesis {
            timestamp_ms: 6,
            ..base.clone()
        },
        Genesis {
            threshold: Threshold::new(1, 2).unwrap(),
            ..base.clone()
        },
        Genesis {
            founders: vec![("a".into(), *w.founders[1].public())],
            ..base.clone()
        },
        Genesis {
            pool: Some(coalition_ledger::genesis::PoolKeyHashes::insecure_dev()),
            ..base.clone()
        },
        Genesis {
            settlement_epoch_blocks: 11,
            ..base.clone()
        },
        Genesis {
            max_currencies_per_member: 9,
            ..base.clone()
        },
    ];
    for v in &variants {
        assert_ne!(v.chain_id(), base.chain_id());
    }
    // No founders, or a zero epoch: refused.
    assert!(Genesis {
        founders: vec![],
        ..base.clone()
    }
    .ledger(None, true)
    .is_err());
    assert!(Genesis {
        settlement_epoch_blocks: 0,
        ..base.clone()
    }
    .ledger(None, true)
    .is_err());
    assert!(Genesis {
        max_currencies_per_member: 0,
        ..base.clone()
    }
    .ledger(None, true)
    .is_err());
    let mut zero_cap = base.to_bytes();
    let n = zero_cap.len();
    zero_cap[n - 4..].copy_from_slice(&0u32.to_le_bytes());
    assert!(decode_exact::<Genesis>(&zero_cap).is_err());
    // The INSECURE dev keys' hashes are refused outside dev mode, even
    // before any key is loaded.
    let dev = Genesis {
        pool: Some(coalition_ledger::genesis::PoolKeyHashes::insecure_dev()),
        ..base
    };
    assert!(dev.pool.unwrap().are_insecure_dev());
}

#[test]
fn a_signature_already_verified_still_needs_a_member_signer() {
    use coalition_verifier::transactions::{prepare_with, signer, SignatureCheck};
    let mut w = world(2, 1, 2);
    let outsider = IdentityKeys::random(&mut w.rng);
    let chain = w.ledger.chain();
    let proposal = propose_member(chain, &outsider, 0, admit(&outsider));
    // The node cannot name the signer of an outsider's proposal, so it
    // pre-checks nothing, and skipping the signature skips nothing else.
    assert!(signer(&proposal, &w.ledger).is_none());
    assert!(matches!(
        prepare_with(
            &proposal,
            &w.ledger,
            SignatureCheck::VerifiedFor(outsider.loyalty_id())
        ),
        Err(TxVerificationError::Governance(
            "the signer is not a member"
        ))
    ));
    // A member's proposal: the signer is named, and a forged signature
    // fails the pre-check.
    let by_member = propose_member(chain, &w.founders[0], 0, admit(&outsider));
    let named = signer(&by_member, &w.ledger).unwrap();
    assert_eq!(named, *w.founders[0].public());
    coalition_verifier::transactions::check_signature(&by_member, &named).unwrap();
    let mut forged = by_member.clone();
    let mut sig = forged.signature().unwrap().0.to_bytes();
    sig[5] ^= 1;
    forged.set_signature(coalition_core::keys::TxSignature(
        ed25519_dalek::Signature::from_bytes(&sig),
    ));
    assert_eq!(
        coalition_verifier::transactions::check_signature(&forged, &named),
        Err(TxVerificationError::Signature)
    );
}

/// Issue 22 (liveness): the mempool checks a transaction for the block it
/// waits for. A Vote on a proposal whose window closes at the tip was
/// admitted against the tip's height, refused by every block built with it,
/// and never evicted: the node produced no block again. Now it is refused
/// at admission, and one that a block from elsewhere made late is evicted.
#[test]
fn a_vote_that_the_next_block_would_refuse_is_not_held() {
    use coalition_ledger::mempool::{Mempool, MempoolConfig, MempoolError};
    let w = world(3, 2, 3);
    let chain = w.ledger.chain();
    let (a, b, c) = (&w.founders[0], &w.founders[1], &w.founders[2]);
    let candidate = IdentityKeys::from_seed(&Seed::from_bytes([8; 32]));
    let proposal = propose_member(chain, a, 0, admit(&candidate));
    let opened = w
        .ledger
        .after_block_at(1, std::slice::from_ref(&proposal))
        .unwrap();
    // The last height at which a vote counts is 1 + TTL.
    let tip = opened.after_block_at(PROPOSAL_TTL_BLOCKS + 1, &[]).unwrap();
    let late = vote(chain, b, 0, proposal.id(), true);
    assert!(tip
        .after_block_at(PROPOSAL_TTL_BLOCKS + 2, std::slice::from_ref(&late))
        .is_err());
    let mut pool = Mempool::new(MempoolConfig::default(), &tip);
    assert!(matches!(pool.insert(late), Err(MempoolError::Invalid(_))));

    // Admitted in time, then a block from elsewhere (without it) closes
    // the window: the vote is evicted, not offered to the next block.
    let before = opened.after_block_at(PROPOSAL_TTL_BLOCKS, &[]).unwrap();
    let mut pool = Mempool::new(MempoolConfig::default(), &before);
    let in_time = vote(chain, c, 0, proposal.id(), true);
    pool.insert(in_time.clone()).unwrap();
    assert_eq!(pool.on_block(&[], &tip), vec![in_time.id()]);
    assert!(pool.is_empty());
}

/// Issue 22 (spec §16.2): removal freezes the removed partner's issuance;
/// its outstanding points still move between customers and can be burned
/// back to it for settlement.
#[test]
fn a_removed_member_cannot_issue_but_its_points_wind_down() {
    use coalition_core::account::AccountState;
    use coalition_prover::transactions::{self, SpendingAccount};
    let World {
        founders: f,
        mut ledger,
        mut model,
        mut rng,
    } = world(3, 2, 3);
    let chain = ledger.chain();
    let (a, b, c) = (&f[0], &f[1], &f[2]);
    let nights = CurrencyId::new("NIGHTS").unwrap();
    let one = ExchangeRate::new(1, 1).unwrap();
    let reg = register_currency(chain, c, 0, nights, 0, None, one, NoteLifetime::Unlimited);
    apply(&mut ledger, &mut model, &reg).unwrap();
    let policy = ledger.currency(&nights).unwrap().clone();
    let alice = IdentityKeys::random(&mut rng);
    let bob = IdentityKeys::random(&mut rng);
    let issue = |rng: &mut ChaCha20Rng, nonce| {
        transactions::issue(chain, &policy, c, nonce, alice.public(), 50, rng).unwrap()
    };
    let first = issue(&mut rng, 0);
    apply(&mut ledger, &mut model, &first).unwrap();
    let account = |ledger: &AccountLedger, who: &IdentityKeys| {
        ledger
            .account(&who.loyalty_id(), &nights)
            .cloned()
            .unwrap_or_else(|| AccountState::new(*who.public()))
    };
    let fold =
        transactions::apply_pending(chain, nights, &alice, &account(&ledger, &alice)).unwrap();
    apply(&mut ledger, &mut model, &fold).unwrap();

    let remove = propose_member(
        chain,
        a,
        0,
        MembershipAction::Remove {
            member: c.loyalty_id(),
        },
    );
    apply(&mut ledger, &mut model, &remove).unwrap();
    apply(
        &mut ledger,
        &mut model,
        &vote(chain, b, 0, remove.id(), true),
    )
    .unwrap();
    assert!(!ledger.governance().members().contains_key(&c.loyalty_id()));

    // Issuance is frozen.
    assert_eq!(
        refused(&ledger, &issue(&mut rng, 1)),
        TxVerificationError::Governance(
            "the issuer is no longer a member: its currency's issuance is frozen"
        )
    );
    // Outstanding points still move: a transfer between customers, …
    let state = account(&ledger, &alice);
    let transfer = transactions::transfer(
        chain,
        &policy,
        &alice,
        &SpendingAccount {
            state: &state,
            balance: 50,
        },
        bob.public(),
        20,
        &mut rng,
    )
    .unwrap();
    apply(&mut ledger, &mut model, &transfer).unwrap();
    // … and a burn back to the former issuer, which still owes settlement.
    let state = account(&ledger, &alice);
    let burn = transactions::burn(
        chain,
        &policy,
        &alice,
        &SpendingAccount {
            state: &state,
            balance: 30,
        },
        30,
        &mut rng,
    )
    .unwrap();
    apply(&mut ledger, &mut model, &burn).unwrap();
    // The former member can no longer register a currency either.
    let other = CurrencyId::new("SUITES").unwrap();
    assert_eq!(
        refused(
            &ledger,
            &register_currency(chain, c, 1, other, 0, None, one, NoteLifetime::Unlimited)
        ),
        TxVerificationError::Governance("the signer is not a member")
    );

    // The audit's model states the same rule independently: had a state
    // machine with this gap accepted the validly signed, validly proven
    // Issue, the audit would still find it.
    let late = issue(&mut rng, 1);
    let finding = model.observe(ledger.height(), &late).unwrap_err();
    assert!(finding.contains("issuer was removed"), "{finding}");
}

/// Issue 22 (spec §18.1): the audit's rule model finds a ledger whose
/// rules were broken even when every signature and proof is valid — here,
/// members the votes did not decide, an exchange at a rate no terms set,
/// and a registration beyond the cap.
#[test]
fn the_audit_rule_model_finds_what_a_faulty_state_machine_lets_through() {
    use coalition_prover::transactions::{self, SpendingAccount};
    let World {
        founders: f,
        mut ledger,
        mut model,
        mut rng,
    } = world(3, 2, 3);
    let chain = ledger.chain();
    let (a, b) = (&f[0], &f[1]);
    let candidate = IdentityKeys::random(&mut rng);

    // A proposal both saw; a vote only the model saw admits the candidate,
    // so the ledger's members (without it) are not what the votes decide.
    let proposal = propose_member(chain, a, 0, admit(&candidate));
    apply(&mut ledger, &mut model, &proposal).unwrap();
    let approve = vote(chain, b, 0, proposal.id(), true);
    let mut diverged = RulesModel::new(&Genesis {
        name: "gov".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(2, 3).unwrap(),
        founders: f
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("founder-{i}"), *k.public()))
            .collect(),
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 8,
    });
    diverged.observe(1, &proposal).unwrap();
    diverged.observe(1, &approve).unwrap();
    let finding = diverged.compare(&ledger).unwrap_err();
    assert!(finding.contains("is missing"), "{finding}");
    // A vote twice, or on a proposal that is decided, is a finding too.
    assert!(diverged.observe(1, &approve).is_err());
    apply(&mut ledger, &mut model, &approve).unwrap();
    model.compare(&ledger).unwrap();

    // An exchange at a rate no terms in force set: valid proofs, valid
    // signature, still a finding.
    let miles = CurrencyId::new("MILES").unwrap();
    let nights = CurrencyId::new("NIGHTS").unwrap();
    let one = ExchangeRate::new(1, 1).unwrap();
    apply(
        &mut ledger,
        &mut model,
        &register_currency(chain, a, 1, miles, 0, None, one, NoteLifetime::Unlimited),
    )
    .unwrap();
    apply(
        &mut ledger,
        &mut model,
        &register_currency(chain, b, 1, nights, 0, None, one, NoteLifetime::Unlimited),
    )
    .unwrap();
    let alice = IdentityKeys::random(&mut rng);
    let miles_policy = ledger.currency(&miles).unwrap().clone();
    let nights_policy = ledger.currency(&nights).unwrap().clone();
    let issued =
        transactions::issue(chain, &miles_policy, a, 0, alice.public(), 10, &mut rng).unwrap();
    apply(&mut ledger, &mut model, &issued).unwrap();
    let fold = transactions::apply_pending(
        chain,
        miles,
        &alice,
        ledger.account(&alice.loyalty_id(), &miles).unwrap(),
    )
    .unwrap();
    apply(&mut ledger, &mut model, &fold).unwrap();
    let exchange = transactions::exchange(
        chain,
        &miles_policy,
        &nights_policy,
        ExchangeRate::new(2, 1).unwrap(),
        &alice,
        &SpendingAccount {
            state: ledger.account(&alice.loyalty_id(), &miles).unwrap(),
            balance: 10,
        },
        5,
        &mut rng,
    )
    .unwrap();
    assert!(refused(&ledger, &exchange).to_string().contains("rate"));
    let finding = model.observe(ledger.height(), &exchange).unwrap_err();
    assert!(
        finding.contains("a rate no terms in force set"),
        "{finding}"
    );
    // Terms whose rate would mint settlement value (2 NIGHTS per MILE, at
    // equal values): the ledger refuses them; the model finds them.
    let greedy = Transaction::Terms(
        PartnershipTerms {
            chain,
            version: 1,
            partners: vec![*a.public(), *b.public()],
            rates: vec![(miles, nights, ExchangeRate::new(2, 1).unwrap())],
            earn_rules: vec![],
        }
        .sign(&[a, b]),
    );
    assert!(refused(&ledger, &greedy)
        .to_string()
        .contains("settlement value"));
    let finding = model.observe(ledger.height(), &greedy).unwrap_err();
    assert!(finding.contains("gives more settlement value"), "{finding}");

    // A registration beyond the genesis cap (8), and a symbol twice.
    let mut capped = RulesModel::new(&Genesis {
        name: "gov".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(2, 3).unwrap(),
        founders: vec![("a".into(), *a.public())],
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 1,
    });
    let reg = |nonce, symbol: &str| {
        register_currency(
            chain,
            a,
            nonce,
            CurrencyId::new(symbol).unwrap(),
            0,
            None,
            one,
            NoteLifetime::Unlimited,
        )
    };
    capped.observe(1, &reg(0, "AAA")).unwrap();
    assert!(capped
        .observe(1, &reg(1, "AAA"))
        .unwrap_err()
        .contains("registered twice"));
    assert!(capped
        .observe(1, &reg(1, "BBB"))
        .unwrap_err()
        .contains("more currencies than the genesis allows"));
}

/// Issue 22 (spec §16.2): the membership limits hold when a proposal takes
/// effect, not only when it is made; a removal recounts the open
/// proposals; a removed member's votes do not come back with it.
#[test]
fn limits_hold_when_a_proposal_takes_effect() {
    // Two members, both needed: each proposes to remove itself. The first
    // passes; the second would then pass on its proposer's vote alone and
    // leave nobody: it is rejected instead.
    let World {
        founders: f,
        mut ledger,
        mut model,
        ..
    } = world(2, 1, 1);
    let chain = ledger.chain();
    let (a, b) = (&f[0], &f[1]);
    let remove = |who: &IdentityKeys, nonce| {
        propose_member(
            chain,
            who,
            nonce,
            MembershipAction::Remove {
                member: who.loyalty_id(),
            },
        )
    };
    let (ra, rb) = (remove(a, 0), remove(b, 0));
    apply(&mut ledger, &mut model, &ra).unwrap();
    apply(&mut ledger, &mut model, &rb).unwrap();
    apply(&mut ledger, &mut model, &vote(chain, b, 1, ra.id(), true)).unwrap();
    let members = ledger.governance().members();
    assert_eq!(members.len(), 1, "exactly one member is left");
    assert!(members.contains_key(&b.loyalty_id()));
    assert!(matches!(
        ledger.governance().proposals()[&rb.id()].status,
        ProposalStatus::Rejected(_)
    ));

    // Four members, three needed. Admitting x has a and b; removing d
    // then leaves three members, two needed: the admission is recounted
    // and passes at once. d's vote for y goes with d.
    let World {
        founders: f,
        mut ledger,
        mut model,
        mut rng,
    } = world(4, 2, 3);
    let chain = ledger.chain();
    let x = IdentityKeys::random(&mut rng);
    let y = IdentityKeys::random(&mut rng);
    let admit_x = propose_member(chain, &f[0], 0, admit(&x));
    apply(&mut ledger, &mut model, &admit_x).unwrap();
    apply(
        &mut ledger,
        &mut model,
        &vote(chain, &f[1], 0, admit_x.id(), true),
    )
    .unwrap();
    let admit_y = propose_member(chain, &f[3], 0, admit(&y));
    apply(&mut ledger, &mut model, &admit_y).unwrap();
    let remove_d = propose_member(
        chain,
        &f[2],
        0,
        MembershipAction::Remove {
            member: f[3].loyalty_id(),
        },
    );
    apply(&mut ledger, &mut model, &remove_d).unwrap();
    apply(
        &mut ledger,
        &mut model,
        &vote(chain, &f[0], 1, remove_d.id(), true),
    )
    .unwrap();
    assert!(ledger
        .governance()
        .members()
        .contains_key(&f[3].loyalty_id()));
    apply(
        &mut ledger,
        &mut model,
        &vote(chain, &f[1], 1, remove_d.id(), true),
    )
    .unwrap();
    let gov = ledger.governance();
    assert!(!gov.members().contains_key(&f[3].loyalty_id()));
    assert!(gov.members().contains_key(&x.loyalty_id()), "recounted");
    assert!(matches!(
        gov.proposals()[&admit_x.id()].status,
        ProposalStatus::Accepted(_)
    ));
    assert!(
        gov.proposals()[&admit_y.id()].yes.is_empty(),
        "d's vote went with d"
    );
}

/// Issue 22: parallel admissions cannot take the coalition past its cap.
#[test]
fn parallel_admissions_stop_at_the_member_cap() {
    use coalition_ledger::governance::MAX_MEMBERS;
    let World {
        founders: f,
        mut ledger,
        mut model,
        mut rng,
    } = world(MAX_MEMBERS - 1, 1, 2);
    let chain = ledger.chain();
    let x = IdentityKeys::random(&mut rng);
    let y = IdentityKeys::random(&mut rng);
    let admit_x = propose_member(chain, &f[0], 0, admit(&x));
    let admit_y = propose_member(chain, &f[1], 0, admit(&y));
    apply(&mut ledger, &mut model, &admit_x).unwrap();
    apply(&mut ledger, &mut model, &admit_y).unwrap();
    // Half of 255 is 128 votes each: both made while there was room.
    let needed = 128;
    for (i, voter) in f.iter().enumerate().skip(2).take(needed - 1) {
        let _ = i;
        apply(
            &mut ledger,
            &mut model,
            &vote(chain, voter, 0, admit_x.id(), true),
        )
        .unwrap();
    }
    assert_eq!(ledger.governance().members().len(), MAX_MEMBERS);
    for voter in f.iter().skip(2).take(needed) {
        apply(
            &mut ledger,
            &mut model,
            &vote(chain, voter, 1, admit_y.id(), true),
        )
        .unwrap();
        if !matches!(
            ledger.governance().proposals()[&admit_y.id()].status,
            ProposalStatus::Open
        ) {
            break;
        }
    }
    assert_eq!(ledger.governance().members().len(), MAX_MEMBERS);
    assert!(!ledger.governance().members().contains_key(&y.loyalty_id()));
    assert!(matches!(
        ledger.governance().proposals()[&admit_y.id()].status,
        ProposalStatus::Rejected(_)
    ));
}

/// Issue 22 (readmission): a readmitted partner carries on from its old
/// governance nonce (its old signed transactions stay spent), and terms a
/// removal dropped cannot come back at their old version. The state that
/// remembers both is stored and reloaded like the rest.
#[test]
fn a_readmitted_member_carries_on_and_cannot_replay_its_terms() {
    use coalition_ledger::ledger::records::MemoryRecords;
    let World {
        founders: f,
        mut ledger,
        mut model,
        mut rng,
    } = world(3, 2, 3);
    let chain = ledger.chain();
    let (a, b, c) = (&f[0], &f[1], &f[2]);
    let one = ExchangeRate::new(1, 1).unwrap();
    let miles = CurrencyId::new("MILES").unwrap();
    let nights = CurrencyId::new("NIGHTS").unwrap();
    let quarter = ExchangeRate::new(1, 4).unwrap();
    for (who, currency, value) in [(a, miles, one), (c, nights, quarter)] {
        let tx = register_currency(
            chain,
            who,
            0,
            currency,
            0,
            None,
            value,
            NoteLifetime::Unlimited,
        );
        apply(&mut ledger, &mut model, &tx).unwrap();
    }
    let terms = |version, rate| PartnershipTerms {
        chain,
        version,
        partners: vec![*a.public(), *c.public()],
        rates: vec![(miles, nights, ExchangeRate::new(rate, 1).unwrap())],
        earn_rules: vec![],
    };
    let (v1, v2) = (terms(1, 2).sign(&[a, c]), terms(2, 3).sign(&[a, c]));
    apply(&mut ledger, &mut model, &Transaction::Terms(v1.clone())).unwrap();
    apply(&mut ledger, &mut model, &Transaction::Terms(v2.clone())).unwrap();
    let x = IdentityKeys::random(&mut rng);
    apply(
        &mut ledger,
        &mut model,
        &propose_member(chain, c, 1, admit(&x)),
    )
    .unwrap();
    assert_eq!(ledger.governance().members()[&c.loyalty_id()].nonce, 2);

    let remove = propose_member(
        chain,
        a,
        1,
        MembershipAction::Remove {
            member: c.loyalty_id(),
        },
    );
    apply(&mut ledger, &mut model, &remove).unwrap();
    apply(
        &mut ledger,
        &mut model,
        &vote(chain, b, 0, remove.id(), true),
    )
    .unwrap();
    assert_eq!(ledger.exchange_rate(&miles, &nights), None);
    let readmit = propose_member(chain, a, 2, admit(c));
    apply(&mut ledger, &mut model, &readmit).unwrap();
    apply(
        &mut ledger,
        &mut model,
        &vote(chain, b, 1, readmit.id(), true),
    )
    .unwrap();
    assert_eq!(
        ledger.governance().members()[&c.loyalty_id()].nonce,
        2,
        "the nonce carries on"
    );
    assert_eq!(
        refused(&ledger, &propose_member(chain, c, 0, admit(&x))),
        TxVerificationError::Governance("wrong governance nonce")
    );
    for old in [v1, v2] {
        assert_eq!(
            refused(&ledger, &Transaction::Terms(old)),
            TxVerificationError::Governance(
                "terms version is not newer than the one a removal dropped"
            )
        );
    }

    // Stored and reloaded, the state (and its hash) is the same.
    let mut records = MemoryRecords::default();
    ledger.write_all(&mut records);
    let loaded = AccountLedger::load(&records, chain, None).unwrap();
    assert_eq!(loaded.state_hash(), ledger.state_hash());
    assert_eq!(loaded.governance(), ledger.governance());

    apply(
        &mut ledger,
        &mut model,
        &Transaction::Terms(terms(3, 4).sign(&[a, c])),
    )
    .unwrap();
    assert_eq!(
        ledger.exchange_rate(&miles, &nights),
        Some(ExchangeRate::new(4, 1).unwrap())
    );
}

/// Issue 22 (exchange economics): terms may not set a rate that gives more
/// settlement value than it takes, so no cycle of exchanges — inside one
/// set of terms or across several — returns more points than it started
/// with. A cycle whose product is exactly 1 is fine.
#[test]
fn rates_that_could_close_an_arbitrage_cycle_are_refused() {
    let World {
        founders: f,
        mut ledger,
        mut model,
        ..
    } = world(3, 2, 3);
    let chain = ledger.chain();
    let (a, b, c) = (&f[0], &f[1], &f[2]);
    let rate = |p, q| ExchangeRate::new(p, q).unwrap();
    let ids = ["AAA", "BBB", "CCC"].map(|s| CurrencyId::new(s).unwrap());
    // Values: AAA 1, BBB 1/2, CCC 1/4.
    for (who, id, value) in [
        (a, ids[0], rate(1, 1)),
        (b, ids[1], rate(1, 2)),
        (c, ids[2], rate(1, 4)),
    ] {
        apply(
            &mut ledger,
            &mut model,
            &register_currency(chain, who, 0, id, 0, None, value, NoteLifetime::Unlimited),
        )
        .unwrap();
    }
    let terms = |partners: Vec<&IdentityKeys>, version, rates| PartnershipTerms {
        chain,
        version,
        partners: partners.iter().map(|k| *k.public()).collect(),
        rates,
        earn_rules: vec![],
    };
    let arbitrage = TxVerificationError::Governance(
        "the rate gives more settlement value than it takes (an arbitrage cycle could mint points)",
    );
    // AAA → BBB at 2/1 and back at 1/2: product 1, accepted.
    let ab = terms(
        vec![a, b],
        1,
        vec![(ids[0], ids[1], rate(2, 1)), (ids[1], ids[0], rate(1, 2))],
    );
    apply(
        &mut ledger,
        &mut model,
        &Transaction::Terms(ab.sign(&[a, b])),
    )
    .unwrap();
    // The issue's example: AAA → BBB at 2/1 beside BBB → AAA at 1/1 (a
    // 2-cycle of product 2) is refused.
    let greedy = terms(
        vec![a, b],
        2,
        vec![(ids[0], ids[1], rate(2, 1)), (ids[1], ids[0], rate(1, 1))],
    );
    assert_eq!(
        refused(&ledger, &Transaction::Terms(greedy.sign(&[a, b]))),
        arbitrage
    );
    // A cycle across partner sets: BBB → CCC at 2/1 (value kept) is fine,
    // CCC → AAA at 1/3 would close AAA → BBB → CCC → AAA at 4/3.
    let bc = terms(vec![b, c], 1, vec![(ids[1], ids[2], rate(2, 1))]);
    apply(
        &mut ledger,
        &mut model,
        &Transaction::Terms(bc.sign(&[b, c])),
    )
    .unwrap();
    let ca = terms(vec![a, c], 1, vec![(ids[2], ids[0], rate(1, 3))]);
    assert_eq!(
        refused(&ledger, &Transaction::Terms(ca.sign(&[a, c]))),
        arbitrage
    );
    let fair = terms(vec![a, c], 1, vec![(ids[2], ids[0], rate(1, 4))]);
    apply(
        &mut ledger,
        &mut model,
        &Transaction::Terms(fair.sign(&[a, c])),
    )
    .unwrap();
    // Extreme factors stay exact (u32::MAX³ < 2^128).
    let huge = terms(vec![a, b], 3, vec![(ids[0], ids[1], rate(u32::MAX, 1))]);
    assert_eq!(
        refused(&ledger, &Transaction::Terms(huge.sign(&[a, b]))),
        arbitrage
    );
}

/// Issue 22: one member cannot register currencies without limit (each
/// grows every block's state hash); the genesis sets the cap.
#[test]
fn a_member_registers_at_most_the_genesis_cap_of_currencies() {
    let World { founders: f, .. } = world(2, 1, 2);
    let base = Genesis {
        name: "capped".into(),
        timestamp_ms: 1,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: f
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("founder-{i}"), *k.public()))
            .collect(),
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 2,
    };
    let mut ledger = base.ledger(None, false).unwrap();
    let mut model = RulesModel::new(&base);
    let chain = ledger.chain();
    let one = ExchangeRate::new(1, 1).unwrap();
    let register = |who: &IdentityKeys, nonce, symbol: &str| {
        register_currency(
            chain,
            who,
            nonce,
            CurrencyId::new(symbol).unwrap(),
            0,
            None,
            one,
            NoteLifetime::Unlimited,
        )
    };
    apply(&mut ledger, &mut model, &register(&f[0], 0, "AAA")).unwrap();
    apply(&mut ledger, &mut model, &register(&f[0], 1, "BBB")).unwrap();
    assert_eq!(
        refused(&ledger, &register(&f[0], 2, "CCC")),
        TxVerificationError::Governance(
            "the member already issues as many currencies as the genesis allows"
        )
    );
    // The cap is per member.
    apply(&mut ledger, &mut model, &register(&f[1], 0, "CCC")).unwrap();
}
