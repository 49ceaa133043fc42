//! Spend-authorization signatures: they verify under the randomized key and
//! nothing else, every encoding is strict, and batch verification accepts
//! exactly what one-by-one verification accepts.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField};
use coalition_circuits::babyjub::{self, curve::GENERATOR, Point, PointError, Scalar};
use coalition_circuits::spend_auth::{
    verify_batch, BatchItem, Randomizer, Signature, SigningKey, SpendAuthError, VerificationKey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x5167)
}

#[test]
fn a_randomized_signature_verifies_under_the_randomized_key_only() {
    let mut rng = rng();
    let ask = SigningKey::random(&mut rng);
    let ak = ask.verification_key();
    let alpha = Randomizer::random(&mut rng);
    let rsk = ask.randomize(&alpha);
    let rk = ak.randomize(&alpha);
    assert_eq!(rsk.verification_key(), rk);
    assert_ne!(rk, ak);
    let message = b"binding hash of a redeem";
    let sig = rsk.sign(message, &mut rng);
    assert_eq!(rk.verify(message, &sig), Ok(()));
    // Round trip of the encodings.
    assert_eq!(Signature::from_bytes(&sig.to_bytes()), sig);
    assert_eq!(VerificationKey::from_bytes(&rk.to_bytes()), Ok(rk));

    // Under the unrandomized key, another randomization, another message.
    assert_eq!(ak.verify(message, &sig), Err(SpendAuthError::Invalid));
    let other = ak.randomize(&Randomizer::random(&mut rng));
    assert_eq!(other.verify(message, &sig), Err(SpendAuthError::Invalid));
    assert_eq!(
        rk.verify(b"binding hash of another", &sig),
        Err(SpendAuthError::Invalid)
    );
    // Signed by ask (not rsk) for rk: refused.
    let by_ask = ask.sign(message, &mut rng);
    assert_eq!(rk.verify(message, &by_ask), Err(SpendAuthError::Invalid));
    // Signed with the right α by another key: refused.
    let stranger = SigningKey::random(&mut rng).randomize(&alpha);
    let forged = stranger.sign(message, &mut rng);
    assert_eq!(rk.verify(message, &forged), Err(SpendAuthError::Invalid));
}

#[test]
fn every_mutated_byte_of_a_signature_is_refused() {
    let mut rng = rng();
    let sk = SigningKey::random(&mut rng);
    let vk = sk.verification_key();
    let sig = sk.sign(b"m", &mut rng);
    let bytes = sig.to_bytes();
    for i in 0..Signature::LEN {
        for bit in [0x01u8, 0x80] {
            let mut mutated = bytes;
            mutated[i] ^= bit;
            assert!(
                vk.verify(b"m", &Signature::from_bytes(&mutated)).is_err(),
                "byte {i} bit {bit:#x}"
            );
        }
    }
}

#[test]
fn non_canonical_s_and_swapped_parts_are_refused() {
    let mut rng = rng();
    let sk = SigningKey::random(&mut rng);
    let vk = sk.verification_key();
    let sig = sk.sign(b"m", &mut rng);
    // S + l is the same scalar, another encoding: refused before any check.
    let s = Scalar::from_le_bytes_mod_order(&sig.s);
    let mut s_plus_l = s.into_bigint();
    s_plus_l.add_with_carry(&Scalar::MODULUS);
    let mut malleated = sig;
    malleated.s.copy_from_slice(&s_plus_l.to_bytes_le()[..32]);
    assert_eq!(
        vk.verify(b"m", &malleated),
        Err(SpendAuthError::NonCanonicalS)
    );
    // R and S swapped.
    let swapped = Signature { r: sig.s, s: sig.r };
    assert!(vk.verify(b"m", &swapped).is_err());
}

#[test]
fn keys_must_be_proper_points_of_the_subgroup() {
    // The identity and a point outside the subgroup are no keys.
    assert!(VerificationKey::from_bytes(&babyjub::encode(&Point::zero())).is_err());
    assert!(VerificationKey::from_bytes(&babyjub::encode(&GENERATOR)).is_err());
    // A key with a small-order component added would also verify
    // signatures "for" the clean key under the cofactored equation; it is
    // refused at parsing instead.
    let mut rng = rng();
    let sk = SigningKey::random(&mut rng);
    let vk = sk.verification_key();
    // [l]·Generator has order 8.
    let order8 = GENERATOR.mul_bigint(Scalar::MODULUS).into_affine();
    let dirty = (vk.point().into_group() + order8).into_affine();
    assert!(VerificationKey::from_bytes(&babyjub::encode(&dirty)).is_err());
    // The identity built in memory (secret scalar 0): under it any
    // R = [S]·B would verify, so verification refuses the key itself,
    // one by one and in a batch.
    let zero = SigningKey::from_wide_bytes(&[0; 64]);
    let identity = zero.verification_key();
    let sig = zero.sign(b"m", &mut rng);
    let refused = Err(SpendAuthError::Key(PointError::Identity));
    assert_eq!(identity.verify(b"m", &sig), refused);
    let item = BatchItem {
        key: &identity,
        message: b"m",
        signature: &sig,
    };
    assert_eq!(verify_batch(&[item], &mut rng), refused);
}

#[test]
fn batches_accept_exactly_what_single_checks_accept() {
    let mut rng = rng();
    let keys: Vec<SigningKey> = (0..64).map(|_| SigningKey::random(&mut rng)).collect();
    let alphas: Vec<Randomizer> = (0..64).map(|_| Randomizer::random(&mut rng)).collect();
    let vks: Vec<VerificationKey> = keys
        .iter()
        .zip(&alphas)
        .map(|(k, a)| k.verification_key().randomize(a))
        .collect();
    let messages: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let sigs: Vec<Signature> = keys
        .iter()
        .zip(&alphas)
        .zip(&messages)
        .map(|((k, a), m)| k.randomize(a).sign(m, &mut rng))
        .collect();
    let items = |sigs: &[Signature]| -> Vec<(usize, Signature)> {
        sigs.iter().copied().enumerate().collect()
    };
    let check = |sigs: &[Signature], rng: &mut ChaCha20Rng| {
        let owned = items(sigs);
        let batch: Vec<BatchItem<'_>> = owned
            .iter()
            .map(|(i, s)| BatchItem {
                key: &vks[*i],
                message: &messages[*i],
                signature: s,
            })
            .collect();
        verify_batch(&batch, rng)
    };
    assert_eq!(check(&sigs, &mut rng), Ok(()));
    assert_eq!(verify_batch(&[], &mut rng), Ok(()));
    // One signature for another message, or two swapped: the batch fails.
    let mut bad = sigs.clone();
    bad[17] = keys[17].randomize(&alphas[17]).sign(b"other", &mut rng);
    assert!(check(&bad, &mut rng).is_err());
    let mut swapped = sigs.clone();
    swapped.swap(3, 4);
    assert!(check(&swapped, &mut rng).is_err());
    // Two bad signatures whose errors would cancel without the weights
    // (S shifted by +1 and −1): the batch still fails.
    let mut cancelling = sigs.clone();
    let shift = |s: &Signature, by: Scalar| {
        let v = Scalar::from_le_bytes_mod_order(&s.s) + by;
        let mut out = *s;
        out.s.copy_from_slice(&v.into_bigint().to_bytes_le()[..32]);
        out
    };
    cancelling[5] = shift(&sigs[5], Scalar::from(1u64));
    cancelling[6] = shift(&sigs[6], -Scalar::from(1u64));
    assert!(vks[5].verify(&messages[5], &cancelling[5]).is_err());
    assert!(check(&cancelling, &mut rng).is_err());
}
