//! A real node on a loopback port, driven over HTTP: governance admits a
//! partner, currencies are registered, partnership terms adopted, points
//! issued by the rule engine, transferred and burned at a merchant, and the
//! settlement figures decrypt to what moved. Every refusal — double spend,
//! overdraw, replay, unsigned governance change, oversized body, non-member
//! vote — gets a typed error and leaves the state hash unchanged.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use coalition_api::client::Client;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::governance::{MembershipAction, ProposeMemberTx};
use coalition_core::keys::{IdentityKeys, PublicIdentity};
use coalition_core::partnership::{EarnRule, Matcher, PartnershipTerms};
use coalition_core::transaction::{Transaction, TxId};
use coalition_ledger::audit::{audit, AuditError, BlockSource};
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use coalition_ledger::rules::{LineItem, Purchase, RuleEngine};
use coalition_ledger::settlement::{net_positions, readable, SettledPair};
use coalition_prover::governance::{propose_member, register_currency, vote};
use coalition_prover::transactions::{self, SpendingAccount};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use support::RunningNode;

fn genesis(airline: &IdentityKeys, hotel: &IdentityKeys) -> Genesis {
    Genesis {
        name: "api-test".into(),
        timestamp_ms: 1_700_000_000_000,
        threshold: Threshold::new(2, 3).unwrap(),
        founders: vec![
            ("airline".into(), *airline.public()),
            ("hotel".into(), *hotel.public()),
        ],
        pool: None,
        settlement_epoch_blocks: 1_000_000,
        max_currencies_per_member: 8,
    }
}

fn decrypt(hex_ct: &Value, keys: &IdentityKeys) -> u64 {
    let ct: Ciphertext = decode_exact(&hex::decode(hex_ct.as_str().unwrap()).unwrap()).unwrap();
    ct.decrypt(keys.elgamal_secret(), &DecryptionTable::new(16, 8))
        .unwrap()
}

fn policy(node: &RunningNode, symbol: &str, issuer: &PublicIdentity) -> CurrencyPolicy {
    let (_, body) = node.get("/v1/currencies");
    let entry = body["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == symbol)
        .expect("currency registered")
        .clone();
    assert_eq!(
        entry["issuer_identity"].as_str().unwrap(),
        hex::encode(issuer.to_bytes())
    );
    CurrencyPolicy {
        id: CurrencyId::new(symbol).unwrap(),
        issuer: *issuer,
        auditor: None,
    }
}

#[test]
fn coalition_over_http() {
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let airline = IdentityKeys::random(&mut rng);
    let hotel = IdentityKeys::random(&mut rng);
    let grocer = IdentityKeys::random(&mut rng);
    let outsider = IdentityKeys::random(&mut rng);
    let alice = IdentityKeys::random(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let node = RunningNode::start(dir.path(), genesis(&airline, &hotel), None, 64 * 1024);
    let chain = node.chain();

    // Events: subscribe before anything happens.
    let mut events = std::net::TcpStream::connect(node.addr).unwrap();
    write!(
        events,
        "GET /v1/events?account={} HTTP/1.1\r\nHost: x\r\n\r\n",
        hex::encode(grocer.loyalty_id().0)
    )
    .unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();

    // Currencies: each founder registers its own.
    let one = ExchangeRate::new(1, 100).unwrap();
    let miles_id = CurrencyId::new("MILES").unwrap();
    let nights_id = CurrencyId::new("NIGHTS").unwrap();
    node.commit(&register_currency(
        chain,
        &airline,
        0,
        miles_id,
        0,
        None,
        one,
        NoteLifetime::Unlimited,
    ));
    node.commit(&register_currency(
        chain,
        &hotel,
        0,
        nights_id,
        0,
        None,
        ExchangeRate::new(3, 100).unwrap(),
        NoteLifetime::Unlimited,
    ));
    // The same symbol again, by anyone: refused.
    node.refused(
        &register_currency(
            chain,
            &hotel,
            1,
            miles_id,
            0,
            None,
            one,
            NoteLifetime::Unlimited,
        ),
        422,
    );
    // A non-member cannot register a currency.
    node.refused(
        &register_currency(
            chain,
            &outsider,
            0,
            CurrencyId::new("FAKE").unwrap(),
            0,
            None,
            one,
            NoteLifetime::Unlimited,
        ),
        422,
    );
    let miles = policy(&node, "MILES", airline.public());

    // Governance: the airline proposes the grocer; 2 of 2 founders needed.
    let admit = MembershipAction::Admit {
        candidate: *grocer.public(),
        name: "grocer".into(),
    };
    let proposal_tx = propose_member(chain, &airline, 1, admit.clone());
    let proposal: TxId = proposal_tx.id();
    node.commit(&proposal_tx);
    let (_, gov) = node.get("/v1/governance");
    assert_eq!(gov["members"].as_array().unwrap().len(), 2);
    assert_eq!(gov["proposals"][0]["status"], "open");
    // An unsigned (wrongly signed) governance change: the grocer signs a
    // proposal in the airline's name.
    let mut forged = match propose_member(chain, &airline, 2, admit.clone()) {
        Transaction::ProposeMember(t) => t,
        _ => unreachable!(),
    };
    forged.signature = grocer.sign(&Transaction::ProposeMember(forged.clone()).signing_message());
    let body = node.refused(
        &Transaction::ProposeMember(ProposeMemberTx { ..forged }),
        422,
    );
    assert!(
        body["reason"].as_str().unwrap().contains("signature"),
        "{body}"
    );
    // A non-member's vote is refused.
    node.refused(&vote(chain, &outsider, 0, proposal, true), 422);
    // A wrong governance nonce is refused.
    node.refused(&vote(chain, &hotel, 5, proposal, true), 422);
    // The hotel approves: the grocer is admitted.
    node.commit(&vote(chain, &hotel, 1, proposal, true));
    let (_, gov) = node.get("/v1/governance");
    assert_eq!(gov["members"].as_array().unwrap().len(), 3);
    assert_eq!(gov["proposals"][0]["status"], "accepted");
    // Voting on a decided proposal is refused.
    node.refused(&vote(chain, &grocer, 0, proposal, true), 422);

    // Partnership terms: miles ↔ nights, and miles earned at the grocer.
    let terms = |version: u64, partners: Vec<PublicIdentity>| PartnershipTerms {
        chain,
        version,
        partners,
        rates: vec![(miles_id, nights_id, ExchangeRate::new(1, 10).unwrap())],
        earn_rules: vec![EarnRule {
            partner: grocer.loyalty_id(),
            currency: miles_id,
            matcher: Matcher::Sku("coffee".into()),
            points_per_unit: ExchangeRate::new(2, 1).unwrap(),
            bonus: None,
        }],
    };
    let everyone = vec![*airline.public(), *hotel.public(), *grocer.public()];
    // Not signed by every partner it names: refused.
    let mut half = terms(1, everyone.clone()).sign(&[&airline, &hotel, &grocer]);
    half.signatures[2] = half.signatures[1];
    node.refused(&Transaction::Terms(half), 422);
    // Naming a non-member: refused.
    let with_outsider = terms(
        1,
        vec![
            *airline.public(),
            *hotel.public(),
            *grocer.public(),
            *outsider.public(),
        ],
    );
    node.refused(
        &Transaction::Terms(with_outsider.sign(&[&airline, &hotel, &grocer, &outsider])),
        422,
    );
    let signed = terms(1, everyone.clone()).sign(&[&airline, &hotel, &grocer]);
    node.commit(&Transaction::Terms(signed.clone()));
    // The same version again: refused.
    node.refused(&Transaction::Terms(signed.clone()), 409);
    let (_, partnerships) = node.get("/v1/partnerships");
    assert_eq!(partnerships["partnerships"][0]["version"], 1);
    let (_, currencies) = node.get("/v1/currencies");
    assert_eq!(currencies["rates"][0]["rate"], serde_json::json!([1, 10]));

    // A purchase at the grocer earns miles under the terms in force.
    let engine = node.node.with_ledger(RuleEngine::from_ledger);
    assert_eq!(
        engine.rate(&miles_id, &nights_id),
        Some(ExchangeRate::new(1, 10).unwrap())
    );
    let purchase = Purchase {
        partner: grocer.loyalty_id(),
        customer: *alice.public(),
        items: vec![LineItem {
            sku: "coffee".into(),
            category: "food".into(),
            amount: 500,
        }],
        time_ms: 1_700_000_100_000,
    };
    let points = engine
        .owed(&purchase, &miles_id)
        .unwrap()
        .expect("the purchase earns miles");
    let issued =
        transactions::issue(chain, &miles, &airline, 0, alice.public(), points, &mut rng).unwrap();
    node.commit(&issued);
    let account = node.account(&alice.loyalty_id(), "MILES").unwrap();
    assert!(account.pending.decrypts_to(alice.elgamal_secret(), 1000));
    // Replaying the issue: refused as already committed.
    node.refused(&issued, 409);

    // Alice folds her pending balance in and pays the grocer 300.
    node.commit(&transactions::apply_pending(chain, miles_id, &alice, &account).unwrap());
    let account = node.account(&alice.loyalty_id(), "MILES").unwrap();
    let pay = |amount: u64, balance: u64, rng: &mut ChaCha20Rng, state| {
        transactions::transfer(
            chain,
            &miles,
            &alice,
            &SpendingAccount { state, balance },
            grocer.public(),
            amount,
            rng,
        )
        .unwrap()
    };
    // An overdraw: Alice takes a valid 300 transfer, raises the amount to
    // 3000 and re-signs it; the equality and range proofs no longer hold.
    let mut overdraw = match pay(300, 1000, &mut rng, &account) {
        Transaction::Transfer(t) => t,
        _ => unreachable!(),
    };
    let raised = *overdraw.amount.commitment.as_point()
        + curve25519_dalek::Scalar::from(2700u64) * coalition_core::generators::g();
    overdraw.amount.commitment = coalition_core::elgamal::PedersenCommitment::from_point(raised);
    let mut overdraw = Transaction::Transfer(overdraw);
    overdraw.set_signature(alice.sign(&overdraw.signing_message()));
    let body = node.refused(&overdraw, 422);
    assert!(body["reason"].as_str().unwrap().contains("proof"), "{body}");
    let first = pay(300, 1000, &mut rng, &account);
    let second = pay(200, 1000, &mut rng, &account);
    node.commit(&first);
    // A double spend of the same balance (same nonce): refused.
    node.refused(&second, 422);

    // The grocer folds in its 300 and burns 250 back to the airline.
    let grocer_account = node.account(&grocer.loyalty_id(), "MILES").unwrap();
    assert!(grocer_account
        .pending
        .decrypts_to(grocer.elgamal_secret(), 300));
    node.commit(&transactions::apply_pending(chain, miles_id, &grocer, &grocer_account).unwrap());
    let grocer_account = node.account(&grocer.loyalty_id(), "MILES").unwrap();
    let burn = transactions::burn(
        chain,
        &miles,
        &grocer,
        &SpendingAccount {
            state: &grocer_account,
            balance: 300,
        },
        250,
        &mut rng,
    )
    .unwrap();
    node.commit(&burn);

    // Alice converts 500 of her remaining 700 MILES into 50 NIGHTS: the
    // airline's liability falls, the hotel's rises, and settlement records
    // that the airline owes the hotel their value.
    let account = node.account(&alice.loyalty_id(), "MILES").unwrap();
    let nights = policy(&node, "NIGHTS", hotel.public());
    node.commit(
        &transactions::exchange(
            chain,
            &miles,
            &nights,
            ExchangeRate::new(1, 10).unwrap(),
            &alice,
            &SpendingAccount {
                state: &account,
                balance: 700,
            },
            500,
            &mut rng,
        )
        .unwrap(),
    );

    // Settlement, epoch 0: each party decrypts its own view of the sums.
    let (status, report) = node.get("/v1/settlement/0");
    assert_eq!(status, 200);
    let pair = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["merchant"] == hex::encode(grocer.loyalty_id().0) && p["currency"] == "MILES")
        .expect("grocer/MILES pair")
        .clone();
    assert_eq!(pair["issuer"], hex::encode(airline.loyalty_id().0));
    assert_eq!(pair["burns"], 1);
    assert_eq!(decrypt(&pair["burned"]["merchant"], &grocer), 250);
    assert_eq!(decrypt(&pair["burned"]["issuer"], &airline), 250);
    assert_eq!(pair["transfers"], 1);
    assert_eq!(decrypt(&pair["transferred"]["merchant"], &grocer), 300);
    assert!(pair["transferred"]["issuer"].is_null());
    // The hotel's key reads nothing useful from the grocer's figure.
    let ct: Ciphertext =
        decode_exact(&hex::decode(pair["burned"]["issuer"].as_str().unwrap()).unwrap()).unwrap();
    assert!(!ct.decrypts_to(hotel.elgamal_secret(), 250));
    // Netting: the grocer is owed 250 miles at 1/100 = 2 units; the
    // airline owes them; positions sum to zero.
    let value = 250 / 100; // 250 miles at a settlement value of 1/100, rounded down
    let net = net_positions(
        &[SettledPair {
            merchant: grocer.loyalty_id(),
            issuer: airline.loyalty_id(),
            currency: miles_id,
            burned: 250,
            value,
        }],
        &[],
    );
    assert_eq!(net[&grocer.loyalty_id()], 2);
    assert_eq!(net.values().sum::<i128>(), 0);

    // The exchange figure, typed: the airline reads Σx = 500 and derives
    // Σy = 50; the hotel reads Σy = 50; both value it at ⌈50·3/100⌉ = 2
    // (exchange figures round up, §16.5); the grocer reads nothing of it.
    let typed = node.client.settlement(0).unwrap();
    assert_eq!(typed.figures.exchanges.len(), 1);
    let issuers = [
        (miles_id, airline.loyalty_id()),
        (nights_id, hotel.loyalty_id()),
    ]
    .into_iter()
    .collect();
    let (key, figure) = typed.figures.exchanges.iter().next().unwrap();
    assert_eq!(
        (key.from, key.to, figure.exchanges),
        (miles_id, nights_id, 1)
    );
    let values = [
        (miles_id, one),
        (nights_id, ExchangeRate::new(3, 100).unwrap()),
    ]
    .into_iter()
    .collect();
    let table = DecryptionTable::new(16, 8);
    let read = |who: &IdentityKeys| {
        readable(
            who.loyalty_id(),
            who.elgamal_secret(),
            &table,
            &typed.figures,
            &issuers,
            &values,
        )
        .unwrap()
    };
    let (by_airline, by_hotel, by_grocer) = (read(&airline), read(&hotel), read(&grocer));
    assert_eq!(by_airline.exchanges, by_hotel.exchanges);
    assert_eq!(
        (by_hotel.exchanges[0].credited, by_hotel.exchanges[0].value),
        (50, 2)
    );
    assert!(by_grocer.exchanges.is_empty());
    // The grocer's burn reads alike from both sides; the full netting
    // from what the three parties read sums to zero.
    assert_eq!(by_grocer.pairs, by_airline.pairs);
    let net = net_positions(&by_airline.pairs, &by_airline.exchanges);
    assert_eq!(
        (
            net[&airline.loyalty_id()],
            net[&hotel.loyalty_id()],
            net[&grocer.loyalty_id()]
        ),
        (-4, 2, 2)
    );
    // A debited sum that is not a whole number of exchanges at its rate
    // (501 MILES at 1/10) is refused, not rounded.
    let mut tampered = typed.figures.clone();
    let sum = tampered.exchanges.values_mut().next().unwrap();
    let debited = sum.debited.as_mut().unwrap();
    debited.issuer.commitment = coalition_core::elgamal::PedersenCommitment::from_point(
        *debited.issuer.commitment.as_point() + coalition_core::generators::g(),
    );
    assert!(readable(
        airline.loyalty_id(),
        airline.elgamal_secret(),
        &table,
        &tampered,
        &issuers,
        &values,
    )
    .is_err());

    // An oversized body: 413, nothing changes.
    let before = node.state_hash();
    let big = vec![0u8; 80 * 1024];
    let r = node
        .client
        .post("/v1/transactions", "application/octet-stream", &big)
        .unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.json().unwrap()["error"], "too_large");
    // Garbage: 400.
    let r = node
        .client
        .post("/v1/transactions", "application/octet-stream", &[1, 2, 250])
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(node.state_hash(), before);

    // Events reached the grocer's subscription: admitted, credit, redemption.
    let mut seen = Vec::new();
    let mut reader = BufReader::new(events);
    let mut line = String::new();
    while !(seen.iter().any(|l: &String| l.contains("\"admitted\""))
        && seen.iter().any(|l| l.contains("\"redemption\"")))
    {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if let Some(data) = line.strip_prefix("data:") {
            seen.push(data.trim().to_string());
        }
    }
    assert!(seen
        .iter()
        .any(|l| l.contains("\"credit\"") && l.contains("\"transfer\"")));

    // Metrics count what happened.
    let metrics = node.client.get("/metrics").unwrap().text();
    assert!(metrics.contains("coalition_transactions_committed_total{type=\"burn\"} 1"));
    assert!(metrics.contains("outcome=\"rejected\""));

    // The OpenAPI document lists every route the node serves.
    let (_, doc) = node.get("/openapi.json");
    for path in [
        "/v1/status",
        "/v1/transactions",
        "/v1/transactions/{id}",
        "/v1/blocks",
        "/v1/blocks/{height}",
        "/v1/accounts/{id}/{currency}",
        "/v1/currencies",
        "/v1/pool",
        "/v1/pool/notes",
        "/v1/pool/paths/{position}",
        "/v1/pool/nullifiers/{nullifier}",
        "/v1/governance",
        "/v1/partnerships",
        "/v1/settlement/{epoch}",
        "/v1/events",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    // Blocks chain together and re-decode.
    let height = node.height();
    let mut previous = node.get("/v1/status").1["tip"]["hash"].clone();
    for h in (1..=height).rev() {
        let (_, block) = node.get(&format!("/v1/blocks/{h}"));
        assert_eq!(block["header"]["hash"], previous);
        previous = block["header"]["previous"].clone();
        let bytes = hex::decode(block["bytes"].as_str().unwrap()).unwrap();
        coalition_ledger::block::decode_block(&bytes).unwrap();
    }
    // A range answers the same blocks as one request each, stops at the
    // tip and at its limit, and refuses height 0.
    let one_by_one: Vec<Vec<u8>> = (1..=height)
        .map(|h| node.client.block_bytes(h).unwrap().unwrap())
        .collect();
    assert_eq!(node.client.blocks_bytes(1, 256).unwrap(), one_by_one);
    assert!(height >= 3, "the scenario commits a few blocks");
    assert_eq!(node.client.blocks_bytes(2, 2).unwrap(), one_by_one[1..3]);
    let decoded = node.client.blocks(2, 2).unwrap();
    assert_eq!(
        decoded.iter().map(|b| b.header.height).collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(node.client.blocks_bytes(height + 1, 10).unwrap().is_empty());
    let (code, range) = node.get("/v1/blocks?from=1&limit=100000");
    assert_eq!(code, 200);
    assert_eq!(
        range["blocks"].as_array().unwrap().len() as u64,
        height.min(256)
    );
    assert_eq!(node.get("/v1/blocks?from=0").0, 400);
    assert_eq!(node.get("/v1/blocks?from=x").0, 400);
    assert_eq!(node.get("/v1/blocks").0, 400);
    // An auditor replays the ledger through the API, a range at a time,
    // and refuses a source that answers more blocks than it asked for.
    let report = audit(&node.client, None, true, None, &mut |_| {}).unwrap();
    assert!(report.finding.is_none(), "{:?}", report.finding);
    assert_eq!(report.blocks, height);
    // Epoch 0's figures (the tip's) and the empty epoch 1 were recomputed
    // and compared; the rule model re-derived the grocer's admission.
    assert_eq!(
        (
            report.settlement.epochs_compared,
            report.settlement.epochs_moved_on
        ),
        (2, 0)
    );
    assert_eq!(report.rules.membership_changes, 1);
    // A source whose figures are as of a later block (a live node that
    // committed more since) has its open epoch skipped, not misjudged,
    // however its figures differ; one whose figures are behind its tip,
    // or that reports figures no block produced, is a finding.
    struct Figures<'a> {
        node: &'a Client,
        height: i64,
        extra: bool,
    }
    impl BlockSource for Figures<'_> {
        fn genesis(&self) -> Result<Genesis, AuditError> {
            self.node
                .genesis()
                .map_err(|e| AuditError::Source(e.to_string()))
        }
        fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError> {
            BlockSource::block_bytes(self.node, height)
        }
        fn claimed_tip(&self) -> Result<Option<(u64, [u8; 32])>, AuditError> {
            self.node.claimed_tip()
        }
        fn settlement(
            &self,
            epoch: u64,
        ) -> Result<Option<(u64, coalition_ledger::settlement::Figures)>, AuditError> {
            let (height, mut figures) = BlockSource::settlement(self.node, epoch)?.unwrap();
            if self.extra {
                let (key, f) = figures
                    .pairs
                    .iter()
                    .next()
                    .map(|(k, f)| (*k, f.clone()))
                    .unwrap_or_else(|| {
                        // The empty epoch 1: a figure no block produced.
                        let (k, f) = self
                            .node
                            .settlement(0)
                            .unwrap()
                            .figures
                            .pairs
                            .into_iter()
                            .next()
                            .unwrap();
                        (coalition_ledger::settlement::PairKey { epoch, ..k }, f)
                    });
                let mut more = f;
                more.burns += 1;
                figures.pairs.insert(key, more);
            }
            Ok(Some((height.saturating_add_signed(self.height), figures)))
        }
    }
    let with = |height: i64, extra: bool| {
        audit(
            &Figures {
                node: &node.client,
                height,
                extra,
            },
            None,
            true,
            None,
            &mut |_| {},
        )
        .unwrap()
    };
    let ahead = with(3, true);
    assert!(ahead.finding.is_none(), "{:?}", ahead.finding);
    assert_eq!(
        (
            ahead.settlement.epochs_compared,
            ahead.settlement.epochs_moved_on
        ),
        (0, 2)
    );
    let behind = with(-1, false).finding.unwrap();
    assert!(behind.problem.contains("behind its tip"), "{behind}");
    let extra = with(0, true).finding.unwrap();
    assert!(
        extra
            .problem
            .contains("settlement figures of epoch 0 differ"),
        "{extra}"
    );
    struct Overanswering<'a>(&'a Client);
    impl BlockSource for Overanswering<'_> {
        fn genesis(&self) -> Result<Genesis, AuditError> {
            self.0
                .genesis()
                .map_err(|e| AuditError::Source(e.to_string()))
        }
        fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError> {
            BlockSource::block_bytes(self.0, height)
        }
        fn block_range(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, AuditError> {
            let first = self.0.block_range(from, 1)?;
            Ok(first.into_iter().cycle().take(limit as usize + 1).collect())
        }
        fn claimed_tip(&self) -> Result<Option<(u64, [u8; 32])>, AuditError> {
            self.0.claimed_tip()
        }
    }
    match audit(&Overanswering(&node.client), None, true, None, &mut |_| {}) {
        Err(AuditError::Source(why)) => assert!(why.contains("blocks answered"), "{why}"),
        other => panic!("an over-long range went unnoticed: {other:?}"),
    }
    let _ = previous.to_string().len();
    let _ = Encode::to_bytes(&burn);
}

/// Submissions in flight are bounded before their bodies are read (spec
/// §17.4): a client holding its one place (a body announced and never
/// finished) gets `429 busy` for its next submission and nothing changes;
/// the slow body is cut off with `408` after `body_timeout_ms`, and the
/// place is free again.
#[test]
fn submissions_in_flight_are_bounded_per_client_and_slow_bodies_cut_off() {
    let mut rng = ChaCha20Rng::seed_from_u64(43);
    let airline = IdentityKeys::random(&mut rng);
    let hotel = IdentityKeys::random(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let mut config = RunningNode::config(dir.path());
    config.submissions.max_in_flight = 4;
    config.submissions.max_in_flight_per_client = 1;
    config.submissions.body_timeout_ms = 5_000;
    let node = RunningNode::start_with(config, genesis(&airline, &hotel), None);
    let register = register_currency(
        node.chain(),
        &airline,
        0,
        CurrencyId::new("MILES").unwrap(),
        0,
        None,
        ExchangeRate::new(1, 100).unwrap(),
        NoteLifetime::Unlimited,
    );
    let wait_in_flight = |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.metric("coalition_submissions_in_flight") != n {
            assert!(Instant::now() < deadline, "never {n} in flight");
            std::thread::sleep(Duration::from_millis(10));
        }
    };

    // A slow client announces 1000 bytes and sends 10.
    let mut slow = std::net::TcpStream::connect(node.addr).unwrap();
    write!(
        slow,
        "POST /v1/transactions HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n"
    )
    .unwrap();
    slow.write_all(&[0; 10]).unwrap();
    wait_in_flight(1);
    let body = node.refused(&register, 429);
    assert_eq!(body["error"], "busy");
    assert!(
        body["reason"].as_str().unwrap().contains("this client"),
        "{body}"
    );
    assert_eq!(node.metric("coalition_submissions_busy_total"), 1);

    // The body never completes: cut off.
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = slow.read(&mut buf).expect("the node answers the slow body");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if n == 0 || (text.contains("\r\n\r\n") && text.trim_end().ends_with('}')) {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");

    // The place is free again: the same client is served.
    wait_in_flight(0);
    node.commit(&register);
    assert_eq!(node.metric("coalition_submissions_busy_total"), 1);
}

/// Issue 21: what the HTTP framework itself refuses (a bad path parameter
/// or query, a path that is not UTF-8, an unknown route, a method a route
/// does not take) is the documented JSON `{"error", "reason"}`, not
/// `text/plain` or an empty body.
#[test]
fn framework_refusals_are_the_documented_json() {
    let mut rng = ChaCha20Rng::seed_from_u64(44);
    let airline = IdentityKeys::random(&mut rng);
    let hotel = IdentityKeys::random(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let node = RunningNode::start_with(
        RunningNode::config(dir.path()),
        genesis(&airline, &hotel),
        None,
    );
    let client = &node.client;
    let cases = [
        ("GET", "/v1/blocks/abc", 400, "malformed"),
        ("GET", "/v1/blocks/-1", 400, "malformed"),
        ("GET", "/v1/blocks?from=x", 400, "malformed"),
        (
            "GET",
            "/v1/blocks?limit=99999999999999999999999",
            400,
            "malformed",
        ),
        ("GET", "/v1/pool/notes?from=%FF", 400, "malformed"),
        ("GET", "/v1/settlement/1e3", 400, "malformed"),
        ("GET", "/v1/transactions/%FF%FE", 400, "malformed"),
        ("GET", "/v1/nothing-here", 404, "not_found"),
        ("GET", "/", 404, "not_found"),
        ("POST", "/v1/status", 405, "method_not_allowed"),
        ("GET", "/v1/transactions", 405, "method_not_allowed"),
    ];
    for (method, path, status, code) in cases {
        let answer = if method == "GET" {
            client.get(path)
        } else {
            client.post(path, "application/json", b"{}")
        }
        .unwrap();
        let text = answer.text();
        assert_eq!(answer.status, status, "{method} {path}: {text}");
        let body = answer
            .json()
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text:?}"));
        assert_eq!(body["error"], code, "{method} {path}: {text}");
        assert!(
            body["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{text}"
        );
    }
    // An over-long URI, and over-large header fields, on a known route
    // and an unknown one: the documented JSON too, from a raw socket (the
    // client sends no extra headers).
    let long = "9".repeat(9 * 1024);
    let pad = "a".repeat(20 * 1024);
    for (head, status, code) in [
        (
            format!("GET /v1/blocks/{long} HTTP/1.1\r\nHost: n\r\n"),
            414,
            "uri_too_long",
        ),
        (
            format!("GET /nowhere/{long} HTTP/1.1\r\nHost: n\r\n"),
            414,
            "uri_too_long",
        ),
        (
            format!("GET /v1/status HTTP/1.1\r\nHost: n\r\nX-Pad: {pad}\r\n"),
            431,
            "headers_too_large",
        ),
    ] {
        use std::io::{Read, Write};
        let mut socket = std::net::TcpStream::connect(node.addr).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        socket
            .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        let body: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|_| panic!("{status}: not JSON: {body:?}"));
        assert_eq!(body["error"], code);
    }
    // The routes themselves still answer.
    assert_eq!(node.get("/v1/status").0, 200);
    node.stop();
}
