//! Partnership terms: signed by every partner, versioned; the rule engine
//! turns purchases into points and Issue transactions the ledger accepts.

use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::IdentityKeys;
use coalition_core::transaction::ChainId;
use coalition_ledger::ledger::AccountLedger;
use coalition_ledger::rules::{
    Bonus, EarnRule, LineItem, Matcher, PartnershipTerms, Purchase, RuleEngine, TermsError,
};
use coalition_verifier::transactions::LedgerView;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const CHAIN: ChainId = ChainId([8; 32]);

struct Partners {
    airline: IdentityKeys,
    hotel: IdentityKeys,
    miles: CurrencyPolicy,
}

fn partners(rng: &mut ChaCha20Rng) -> Partners {
    let airline = IdentityKeys::random(rng);
    let hotel = IdentityKeys::random(rng);
    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *airline.public(),
        auditor: None,
    };
    Partners {
        airline,
        hotel,
        miles,
    }
}

fn terms(p: &Partners, version: u64, suite_rate: u32) -> PartnershipTerms {
    let at_hotel = |matcher, rate: ExchangeRate, bonus| EarnRule {
        partner: p.hotel.loyalty_id(),
        currency: p.miles.id,
        matcher,
        points_per_unit: rate,
        bonus,
    };
    PartnershipTerms {
        chain: CHAIN,
        version,
        partners: vec![*p.airline.public(), *p.hotel.public()],
        rates: vec![(
            p.miles.id,
            CurrencyId::new("HPTS").unwrap(),
            ExchangeRate::new(3, 2).unwrap(),
        )],
        earn_rules: vec![
            at_hotel(Matcher::Any, ExchangeRate::new(1, 2).unwrap(), None),
            at_hotel(
                Matcher::Category("room".into()),
                ExchangeRate::new(3, 2).unwrap(),
                None,
            ),
            at_hotel(
                Matcher::Sku("SUITE".into()),
                ExchangeRate::new(suite_rate, 1).unwrap(),
                Some(Bonus {
                    multiplier: 5,
                    from_ms: 1_000,
                    until_ms: 2_000,
                }),
            ),
        ],
    }
}

fn purchase(p: &Partners, customer: &IdentityKeys, time_ms: u64) -> Purchase {
    let item = |sku: &str, category: &str, amount| LineItem {
        sku: sku.into(),
        category: category.into(),
        amount,
    };
    Purchase {
        partner: p.hotel.loyalty_id(),
        customer: *customer.public(),
        items: vec![
            item("SUITE", "room", 100),
            item("TWIN", "room", 5),
            item("SPA", "wellness", 9),
        ],
        time_ms,
    }
}

#[test]
fn terms_need_every_signature_and_newer_versions_replace_older() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let p = partners(&mut rng);
    let mut engine = RuleEngine::new(CHAIN);
    // One partner alone, a stranger, or a change after signing: refused.
    let t = terms(&p, 1, 2);
    let mut half = t.clone().sign(&[&p.airline, &p.hotel]);
    half.signatures.pop();
    assert_eq!(engine.adopt(half), Err(TermsError::Signatures));
    let stranger = IdentityKeys::random(&mut rng);
    assert_eq!(
        engine.adopt(t.clone().sign(&[&p.airline, &stranger])),
        Err(TermsError::Signatures)
    );
    let mut altered = t.clone().sign(&[&p.airline, &p.hotel]);
    altered.terms.earn_rules[0].points_per_unit = ExchangeRate::new(100, 1).unwrap();
    assert_eq!(engine.adopt(altered), Err(TermsError::Signatures));
    let mut other_chain = t.clone();
    other_chain.chain = ChainId([1; 32]);
    assert_eq!(
        engine.adopt(other_chain.sign(&[&p.airline, &p.hotel])),
        Err(TermsError::WrongChain)
    );

    engine
        .adopt(t.clone().sign(&[&p.airline, &p.hotel]))
        .unwrap();
    assert_eq!(
        engine.rate(&p.miles.id, &CurrencyId::new("HPTS").unwrap()),
        Some(ExchangeRate::new(3, 2).unwrap())
    );
    assert_eq!(
        engine.adopt(t.sign(&[&p.airline, &p.hotel])),
        Err(TermsError::StaleVersion { current: 1, got: 1 })
    );
    // Version 2 doubles the suite rate and replaces version 1.
    let customer = IdentityKeys::random(&mut rng);
    let before = engine.points(&purchase(&p, &customer, 5_000)).unwrap()[&p.miles.id];
    engine
        .adopt(terms(&p, 2, 4).sign(&[&p.airline, &p.hotel]))
        .unwrap();
    let after = engine.points(&purchase(&p, &customer, 5_000)).unwrap()[&p.miles.id];
    assert_eq!(after - before, 200);
    // A rule for a partner outside the terms is malformed.
    let mut stray = terms(&p, 3, 2);
    stray.earn_rules[0].partner = stranger.loyalty_id();
    assert!(matches!(
        engine.adopt(stray.sign(&[&p.airline, &p.hotel])),
        Err(TermsError::Invalid(_))
    ));
}

#[test]
fn points_follow_the_most_specific_rule_and_the_bonus_window() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let p = partners(&mut rng);
    let customer = IdentityKeys::random(&mut rng);
    let mut engine = RuleEngine::new(CHAIN);
    engine
        .adopt(terms(&p, 1, 2).sign(&[&p.airline, &p.hotel]))
        .unwrap();
    // SUITE: 100·2 = 200 (×5 in the window); TWIN (room): ⌊5·3/2⌋ = 7; SPA (any): ⌊9/2⌋ = 4.
    assert_eq!(
        engine.points(&purchase(&p, &customer, 5_000)).unwrap()[&p.miles.id],
        211
    );
    assert_eq!(
        engine.points(&purchase(&p, &customer, 1_000)).unwrap()[&p.miles.id],
        1011
    );
    assert_eq!(
        engine.points(&purchase(&p, &customer, 2_000)).unwrap()[&p.miles.id],
        211
    );
    // A purchase at a partner without rules earns nothing.
    let mut elsewhere = purchase(&p, &customer, 5_000);
    elsewhere.partner = p.airline.loyalty_id();
    assert!(engine.points(&elsewhere).unwrap().is_empty());
}

/// Issue 22: `amount · p/q · multiplier` can exceed u128 (2^64 · 2^32 ·
/// 2^32), and so can a sum over items; both are refused as an overflow,
/// never wrapped or a panic.
#[test]
fn points_that_overflow_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let p = partners(&mut rng);
    let customer = IdentityKeys::random(&mut rng);
    let mut greedy = terms(&p, 1, u32::MAX);
    for rule in &mut greedy.earn_rules {
        if let Some(bonus) = rule.bonus.as_mut() {
            bonus.multiplier = u32::MAX;
        }
    }
    let mut engine = RuleEngine::new(CHAIN);
    engine.adopt(greedy.sign(&[&p.airline, &p.hotel])).unwrap();
    let mut huge = purchase(&p, &customer, 1_500);
    huge.items[0].amount = u64::MAX;
    assert_eq!(engine.points(&huge), Err(TermsError::Overflow));
    // Outside the bonus window the product fits u128 but not u64.
    huge.time_ms = 5_000;
    assert_eq!(engine.points(&huge), Err(TermsError::Overflow));
    // Many items that each fit but whose sum does not fit u128.
    let mut many = purchase(&p, &customer, 1_500);
    many.items = vec![many.items[0].clone(); 256];
    for item in &mut many.items {
        item.amount = u64::MAX / 2;
    }
    assert_eq!(engine.points(&many), Err(TermsError::Overflow));
}

#[test]
fn the_engine_issues_what_the_ledger_accepts() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let p = partners(&mut rng);
    let customer = IdentityKeys::random(&mut rng);
    let mut engine = RuleEngine::new(CHAIN);
    engine
        .adopt(terms(&p, 1, 2).sign(&[&p.airline, &p.hotel]))
        .unwrap();
    let mut ledger = AccountLedger::new(CHAIN);
    ledger.register_currency(p.miles.clone()).unwrap();
    let points = engine
        .owed(&purchase(&p, &customer, 1_500), &p.miles.id)
        .unwrap()
        .expect("the purchase earns MILES");
    let tx = coalition_prover::transactions::issue(
        CHAIN,
        &p.miles,
        &p.airline,
        0,
        customer.public(),
        points,
        &mut rng,
    )
    .unwrap();
    ledger.apply(&tx).unwrap();
    let account = ledger.account(&customer.loyalty_id(), &p.miles.id).unwrap();
    assert!(account.pending.decrypts_to(customer.elgamal_secret(), 1011));
}

#[test]
fn terms_encoding_round_trips_and_is_bounded() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let p = partners(&mut rng);
    let t = terms(&p, 7, 2);
    assert_eq!(decode_exact::<PartnershipTerms>(&t.to_bytes()).unwrap(), t);
    let mut long = t.clone();
    long.earn_rules[1].matcher = Matcher::Category("x".repeat(65));
    assert!(decode_exact::<PartnershipTerms>(&long.to_bytes()).is_err());
    let bytes = t.to_bytes();
    for cut in 0..bytes.len() {
        assert!(decode_exact::<PartnershipTerms>(&bytes[..cut]).is_err());
    }
}
