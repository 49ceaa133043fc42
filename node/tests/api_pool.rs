//! The shielded pool through a real node over HTTP: a customer shields
//! points, finds its note by scanning `/v1/pool/notes`, takes its path from
//! `/v1/pool/paths`, and redeems at a member merchant; the settlement
//! report shows the public redeemed value; the nullifier shows as spent; a
//! replay and a redemption at a non-member are refused with the state hash
//! unchanged.

mod support;

use std::sync::Arc;

use coalition_circuits::merkle::{MerklePath, DEPTH};
use coalition_circuits::note::{Epoch, TreeRoot};
use coalition_circuits::spend::SpendInput;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::shielded::NoteOutput;
use coalition_ledger::genesis::{Genesis, PoolKeyHashes};
use coalition_ledger::governance::Threshold;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::governance::register_currency;
use coalition_prover::shielded::{redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::RunningNode;

fn field(hex_text: &serde_json::Value) -> ark_bn254::Fr {
    let bytes: [u8; 32] = hex::decode(hex_text.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    coalition_circuits::field::from_bytes(&bytes).unwrap()
}

#[test]
fn shield_and_redeem_over_http() {
    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap();
    let vks = Arc::new(keys.verifying_keys());
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let airline = IdentityKeys::random(&mut rng);
    let hotel = IdentityKeys::random(&mut rng);
    let stranger = IdentityKeys::random(&mut rng);
    let seed = Seed::random(&mut rng);
    let bob = IdentityKeys::from_seed(&seed);
    let genesis = Genesis {
        name: "pool-test".into(),
        timestamp_ms: 1_700_000_000_000,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: vec![
            ("airline".into(), *airline.public()),
            ("hotel".into(), *hotel.public()),
        ],
        pool: Some(PoolKeyHashes::of(&vks)),
        settlement_epoch_blocks: 1_000_000,
        max_currencies_per_member: 8,
    };
    let dir = tempfile::tempdir().unwrap();
    let node = RunningNode::start(dir.path(), genesis, Some(vks), 64 * 1024);
    let chain = node.chain();
    let miles_id = CurrencyId::new("MILES").unwrap();
    node.commit(&register_currency(
        chain,
        &airline,
        0,
        miles_id,
        0,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    ));
    let miles = CurrencyPolicy {
        id: miles_id,
        issuer: *airline.public(),
        auditor: None,
    };
    node.commit(
        &transactions::issue(chain, &miles, &airline, 0, bob.public(), 1000, &mut rng).unwrap(),
    );
    let account = node.account(&bob.loyalty_id(), "MILES").unwrap();
    node.commit(&transactions::apply_pending(chain, miles_id, &bob, &account).unwrap());
    let account = node.account(&bob.loyalty_id(), "MILES").unwrap();
    let sk = seed.shielded_spending_key();
    let shielded = shield(
        chain,
        miles_id,
        Epoch(0),
        NoteLifetime::Unlimited,
        &bob,
        &SpendingAccount {
            state: &account,
            balance: 1000,
        },
        600,
        &sk.address(),
        &keys.output,
        &mut rng,
    )
    .unwrap();
    node.commit(&shielded.tx);

    // The wallet scans the pool over HTTP and finds its note.
    let (_, page) = node.get("/v1/pool/notes?from=0&limit=1000");
    let (ivk, address) = (sk.incoming_viewing_key(), sk.address());
    let mine: Vec<(u64, coalition_circuits::note::Note)> = page["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| {
            let out: NoteOutput =
                decode_exact(&hex::decode(n["note"].as_str().unwrap()).unwrap()).unwrap();
            out.encrypted
                .decrypt(&ivk, &address, &out.commitment)
                .map(|note| (n["position"].as_u64().unwrap(), note))
        })
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1, shielded.note);
    let (_, path_json) = node.get(&format!("/v1/pool/paths/{}", mine[0].0));
    let siblings: Vec<ark_bn254::Fr> = path_json["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(field)
        .collect();
    assert_eq!(siblings.len(), DEPTH);
    let path = MerklePath {
        position: mine[0].0,
        siblings: siblings.try_into().unwrap(),
    };
    let root = TreeRoot(field(&path_json["root"]));
    assert_eq!(path.root(shielded.note.commitment().0), root.0);
    let input = SpendInput {
        note: mine[0].1.clone(),
        path,
    };

    // Redeeming at a non-member is refused: settlement needs a partner.
    let at_stranger = redeem(
        chain,
        miles_id,
        Epoch(0),
        &sk,
        std::slice::from_ref(&input),
        root,
        stranger.public(),
        100,
        &keys.spend,
        &mut rng,
    )
    .unwrap();
    let body = node.refused(&at_stranger.tx, 422);
    assert!(
        body["reason"].as_str().unwrap().contains("member"),
        "{body}"
    );

    // At the hotel (a member): accepted, the nullifier is then spent.
    let at_hotel = redeem(
        chain,
        miles_id,
        Epoch(0),
        &sk,
        std::slice::from_ref(&input),
        root,
        hotel.public(),
        250,
        &keys.spend,
        &mut rng,
    )
    .unwrap();
    node.commit(&at_hotel.tx);
    let nf = match &at_hotel.tx {
        coalition_core::transaction::Transaction::Redeem(r) => r.nullifiers[0],
        _ => unreachable!(),
    };
    let (_, spent) = node.get(&format!(
        "/v1/pool/nullifiers/{}",
        hex::encode(nf.to_bytes())
    ));
    assert_eq!(spent["spent"], true);
    let (status, _) = node.get(&format!("/v1/pool/nullifiers/{}", "ff".repeat(32)));
    assert_eq!(status, 400, "a non-canonical nullifier is a bad request");
    // The replay: refused (committed), nothing changes.
    node.refused(&at_hotel.tx, 409);
    // A fresh proof of the same note: refused (nullifier spent).
    let again = redeem(
        chain,
        miles_id,
        Epoch(0),
        &sk,
        std::slice::from_ref(&input),
        root,
        hotel.public(),
        10,
        &keys.spend,
        &mut rng,
    )
    .unwrap();
    node.refused(&again.tx, 422);

    // The hotel's pending balance holds the 250; the settlement report
    // shows the public redeemed value.
    let hotel_account = node.account(&hotel.loyalty_id(), "MILES").unwrap();
    assert!(hotel_account
        .pending
        .decrypts_to(hotel.elgamal_secret(), 250));
    let (_, report) = node.get("/v1/settlement/0");
    let pair = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["merchant"] == hex::encode(hotel.loyalty_id().0))
        .unwrap()
        .clone();
    assert_eq!(pair["redeems"], 1);
    assert_eq!(pair["redeemed"], 250);
    let (_, pool) = node.get("/v1/pool");
    assert_eq!(pool["size"], 2, "the shielded note and the change note");
    assert_eq!(pool["nullifiers"], 2, "the spent note and the dummy input");
    let _ = shielded.tx.to_bytes();
}
