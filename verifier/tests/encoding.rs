//! Canonical encodings: round trips, truncation, trailing bytes, non-canonical
//! scalars, invalid and identity points, and random input that must never panic.

use coalition_circuits::note::Epoch;
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::{decode_exact, Encode, MAX_TRANSACTION_BYTES};
use coalition_core::errors::DecodeError;
use coalition_core::keys::IdentityKeys;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_prover::transactions::{self, SpendingAccount};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// One transaction of each type (built once).
fn samples() -> Vec<Transaction> {
    static SAMPLES: std::sync::OnceLock<Vec<Transaction>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(build_samples).clone()
}

fn build_samples() -> Vec<Transaction> {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let chain = ChainId([3; 32]);
    let issuer = IdentityKeys::random(&mut rng);
    let issuer_b = IdentityKeys::random(&mut rng);
    let auditor = IdentityKeys::random(&mut rng);
    let alice = IdentityKeys::random(&mut rng);
    let bob = IdentityKeys::random(&mut rng);
    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *issuer.public(),
        auditor: Some(auditor.public().encryption),
    };
    let points = CurrencyPolicy {
        id: CurrencyId::new("HPTS").unwrap(),
        issuer: *issuer_b.public(),
        auditor: None,
    };
    let mut state = AccountState::new(*alice.public());
    state.available = Ciphertext::encrypt(&alice.public().encryption, 500, &mut rng).0;
    let account = SpendingAccount {
        state: &state,
        balance: 500,
    };
    vec![
        transactions::issue(chain, &miles, &issuer, 0, alice.public(), 500, &mut rng).unwrap(),
        transactions::transfer(chain, &miles, &alice, &account, bob.public(), 50, &mut rng)
            .unwrap(),
        transactions::apply_pending(chain, miles.id, &alice, &state).unwrap(),
        transactions::burn(chain, &miles, &alice, &account, 20, &mut rng).unwrap(),
        transactions::exchange(
            chain,
            &miles,
            &points,
            ExchangeRate::new(1, 4).unwrap(),
            &alice,
            &account,
            40,
            &mut rng,
        )
        .unwrap(),
        shield_sample(chain, &miles, &alice, &account, &mut rng),
        redeem_sample(chain, &miles, bob.public(), &mut rng),
    ]
}

fn proving_keys() -> &'static coalition_params::ShieldedProvingKeys {
    static KEYS: std::sync::OnceLock<coalition_params::ShieldedProvingKeys> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        coalition_params::ShieldedProvingKeys::insecure_dev(&coalition_params::default_params_dir())
            .unwrap()
    })
}

/// A Shield (tag 6) of 30 from the sample account.
fn shield_sample(
    chain: ChainId,
    miles: &CurrencyPolicy,
    alice: &IdentityKeys,
    account: &SpendingAccount<'_>,
    rng: &mut ChaCha20Rng,
) -> Transaction {
    let recipient = coalition_circuits::keys::SpendingKey::from_seed(&[4; 32]).address();
    coalition_prover::shielded::shield(
        chain,
        miles.id,
        Epoch(0),
        NoteLifetime::Unlimited,
        alice,
        account,
        30,
        &recipient,
        &proving_keys().output,
        rng,
    )
    .unwrap()
    .tx
}

/// A Redeem (tag 7, unsigned) of two notes (300 and 500) paying 650.
fn redeem_sample(
    chain: ChainId,
    miles: &CurrencyPolicy,
    merchant: &coalition_core::keys::PublicIdentity,
    rng: &mut ChaCha20Rng,
) -> Transaction {
    let asset = coalition_core::shielded::asset_id(&miles.id);
    let f =
        coalition_circuits::testing::spend_fixture([4; 32], asset, (300, Some(500)), 650, 2, rng);
    coalition_prover::shielded::redeem(
        chain,
        miles.id,
        Epoch(0),
        &coalition_circuits::keys::SpendingKey::from_seed(&[4; 32]),
        &f.witness.inputs,
        f.public.root,
        merchant,
        650,
        &proving_keys().spend,
        rng,
    )
    .unwrap()
    .tx
}

/// The signer of `samples()[which]` (same seed, same derivation order).
fn signer_of(which: usize) -> coalition_core::keys::SigningPublicKey {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let issuer = IdentityKeys::random(&mut rng);
    let _issuer_b = IdentityKeys::random(&mut rng);
    let _auditor = IdentityKeys::random(&mut rng);
    let alice = IdentityKeys::random(&mut rng);
    if which == 0 {
        issuer.public().signing
    } else {
        alice.public().signing
    }
}

#[test]
fn every_transaction_type_round_trips() {
    for tx in samples() {
        let bytes = tx.to_bytes();
        assert!(bytes.len() <= MAX_TRANSACTION_BYTES);
        let back: Transaction = decode_exact(&bytes).unwrap();
        assert_eq!(back, tx);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.id(), tx.id());
    }
}

#[test]
fn every_truncation_and_any_trailing_byte_is_refused() {
    for tx in samples() {
        let bytes = tx.to_bytes();
        for len in 0..bytes.len() {
            assert!(
                decode_exact::<Transaction>(&bytes[..len]).is_err(),
                "{} truncated to {len}",
                tx.kind()
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode_exact::<Transaction>(&longer),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("field present in encoding")
}

#[test]
fn non_canonical_scalars_invalid_points_and_identities_are_refused() {
    let tx = samples().remove(1);
    let Transaction::Transfer(t) = &tx else {
        unreachable!()
    };
    let bytes = tx.to_bytes();

    // A scalar ≥ ℓ: z_s + ℓ has the same value mod ℓ but is not canonical.
    let at = find(&bytes, t.proof.equality.z_s.as_bytes());
    let mut m = bytes.clone();
    m[at..at + 32].copy_from_slice(&[0xff; 32]);
    m[at + 31] = 0x1f; // < 2^253 but ≥ ℓ
    assert!(matches!(
        decode_exact::<Transaction>(&m),
        Err(DecodeError::NonCanonicalScalar { .. })
    ));

    // A 32-byte string that is not a Ristretto encoding.
    let at = find(&bytes, t.new_balance.as_point().compress().as_bytes());
    let mut m = bytes.clone();
    m[at..at + 32].copy_from_slice(&[0xff; 32]);
    assert!(matches!(
        decode_exact::<Transaction>(&m),
        Err(DecodeError::InvalidPoint { .. })
    ));

    // The identity where a proof point is required.
    let at = find(&bytes, t.proof.equality.y_0.compressed().as_bytes());
    let mut m = bytes.clone();
    m[at..at + 32].copy_from_slice(&[0; 32]);
    assert!(matches!(
        decode_exact::<Transaction>(&m),
        Err(DecodeError::IdentityPoint { .. })
    ));

    // The identity as a public key.
    let mut enc = Vec::new();
    t.destination.encryption.encode(&mut enc);
    let at = find(&bytes, &enc);
    let mut m = bytes.clone();
    m[at..at + 32].copy_from_slice(&[0; 32]);
    assert!(matches!(
        decode_exact::<Transaction>(&m),
        Err(DecodeError::IdentityPoint { .. })
    ));

    // Unknown version, tag and flag.
    let mut m = bytes.clone();
    m[0] = 2;
    assert!(matches!(
        decode_exact::<Transaction>(&m),
        Err(DecodeError::UnknownTag { .. })
    ));
    let mut m = bytes.clone();
    m[1] = 9;
    assert!(matches!(
        decode_exact::<Transaction>(&m),
        Err(DecodeError::UnknownTag { .. })
    ));

    // Oversized input is refused before parsing.
    assert!(matches!(
        decode_exact::<Transaction>(&vec![0u8; MAX_TRANSACTION_BYTES + 1]),
        Err(DecodeError::OutOfBounds { .. })
    ));
}

/// Field elements of the shielded pool at or above the BN254 modulus, in
/// a Shield and a Redeem (the Groth16 proof's own encoding is tested in
/// `groth16.rs`).
#[test]
fn shielded_field_elements_at_or_above_the_modulus_are_refused() {
    let samples = samples();
    let (Transaction::Shield(shield), Transaction::Redeem(redeem)) = (&samples[5], &samples[6])
    else {
        unreachable!()
    };
    let refused = |tx: &Transaction, field: &[u8], what: &str| {
        let bytes = tx.to_bytes();
        let at = find(&bytes, field);
        let mut m = bytes.clone();
        m[at..at + 32].copy_from_slice(&[0xff; 32]);
        assert!(
            matches!(
                decode_exact::<Transaction>(&m),
                Err(DecodeError::Invalid { what: w, .. }) if w == what
            ),
            "{what}: {:?}",
            decode_exact::<Transaction>(&m)
        );
    };
    refused(
        &samples[5],
        &shield.output.commitment.to_bytes(),
        "note commitment",
    );
    refused(&samples[6], &redeem.root.to_bytes(), "tree root");
    refused(&samples[6], &redeem.nullifiers[1].to_bytes(), "nullifier");
    refused(
        &samples[6],
        &redeem.change.commitment.to_bytes(),
        "note commitment",
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_500)) {
        let _ = decode_exact::<Transaction>(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic_and_never_decode_to_a_different_valid_signed_tx(
        which in 0usize..7, position in any::<prop::sample::Index>(), xor in 1u8..=255,
    ) {
        let tx = samples().swap_remove(which);
        let mut bytes = tx.to_bytes();
        let at = position.index(bytes.len());
        bytes[at] ^= xor;
        if let Ok(decoded) = decode_exact::<Transaction>(&bytes) {
            prop_assert_ne!(&decoded, &tx);
            // Whatever decodes no longer carries a valid signature of the
            // original signer: the signature covers every other byte. (A
            // Redeem is unsigned: its Spend proof binds it, which the
            // Groth16 tests mutate.)
            if !matches!(tx, Transaction::Redeem(_)) {
                let signer = signer_of(which);
                prop_assert!(signer.verify(&decoded.signing_message(), decoded.signature().unwrap()).is_err());
            }
        }
    }
}
