//! Dev keys: deterministic, pinned by checked-in hashes, cached on disk in
//! files whose every header field and payload byte is checked at load.

use coalition_params::{
    cache::load_or_generate_dev_proving_key,
    checked_in::{verifying_key_hash, DEV_KEYS},
    dev_setup::INSECURE_WARNING,
    key_file::{self, KeyHeader, KeyKind, SetupKind},
    CircuitId, ParamsError,
};

#[test]
fn dev_verifying_keys_match_checked_in_hashes() {
    let dir = tempfile::tempdir().unwrap();
    for (circuit, shape_hex, vk_hex) in DEV_KEYS {
        let shape = circuit.shape_hash().unwrap();
        let pk = load_or_generate_dev_proving_key(circuit, dir.path()).unwrap();
        println!(
            "{}: {} constraints, shape {}, vk {}",
            circuit.name(),
            circuit.num_constraints().unwrap(),
            hex::encode(shape),
            hex::encode(verifying_key_hash(&pk.vk))
        );
        assert_eq!(
            hex::encode(shape),
            shape_hex,
            "{} shape changed",
            circuit.name()
        );
        assert_eq!(
            hex::encode(verifying_key_hash(&pk.vk)),
            vk_hex,
            "{} dev verifying key changed",
            circuit.name()
        );
        // Second load comes from disk and is the same key.
        let again = load_or_generate_dev_proving_key(circuit, dir.path()).unwrap();
        assert_eq!(verifying_key_hash(&again.vk), verifying_key_hash(&pk.vk));
    }
}

#[test]
fn key_files_reject_every_header_and_payload_defect() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = CircuitId::Output;
    let pk = load_or_generate_dev_proving_key(circuit, dir.path()).unwrap();
    let header = KeyHeader {
        kind: KeyKind::Proving,
        setup: SetupKind::InsecureDev,
        circuit,
        shape_hash: circuit.shape_hash().unwrap(),
        banner: INSECURE_WARNING.into(),
    };
    let good = key_file::encode_proving_key(&header, &pk).unwrap();
    let (parsed, decoded) = key_file::decode_proving_key(&good, circuit).unwrap();
    assert_eq!(parsed, header);
    assert_eq!(decoded, pk);
    let vk_file = key_file::encode_verifying_key(&header, &pk.vk).unwrap();
    assert_eq!(
        key_file::decode_verifying_key(&vk_file, circuit).unwrap().1,
        pk.vk
    );

    // Wrong circuit, wrong kind.
    assert!(matches!(
        key_file::decode_proving_key(&good, CircuitId::Spend),
        Err(ParamsError::WrongCircuit { .. })
    ));
    assert!(matches!(
        key_file::decode_verifying_key(&good, circuit),
        Err(ParamsError::WrongKind)
    ));
    // Stale shape.
    let stale = KeyHeader {
        shape_hash: [7; 32],
        ..header.clone()
    };
    assert!(matches!(
        key_file::decode_proving_key(&key_file::encode_proving_key(&stale, &pk).unwrap(), circuit),
        Err(ParamsError::StaleShape)
    ));
    // Magic, version.
    let mut bad = good.clone();
    bad[0] ^= 1;
    assert!(matches!(
        key_file::decode_proving_key(&bad, circuit),
        Err(ParamsError::BadMagic)
    ));
    let mut bad = good.clone();
    bad[8] = 9;
    assert!(matches!(
        key_file::decode_proving_key(&bad, circuit),
        Err(ParamsError::UnsupportedVersion(9))
    ));
    // A flipped payload byte fails the payload hash.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(
        key_file::decode_proving_key(&bad, circuit),
        Err(ParamsError::PayloadHashMismatch)
    ));
    // Truncated, and trailing bytes.
    assert!(key_file::decode_proving_key(&good[..good.len() - 1], circuit).is_err());
    let mut long = good.clone();
    long.push(0);
    assert!(key_file::decode_proving_key(&long, circuit).is_err());
}

#[test]
fn payload_with_valid_hash_but_invalid_point_is_rejected() {
    // Re-hash a payload whose first point (alpha_g1) is corrupted, so only
    // the curve/subgroup validation can catch it.
    let dir = tempfile::tempdir().unwrap();
    let circuit = CircuitId::Output;
    let pk = load_or_generate_dev_proving_key(circuit, dir.path()).unwrap();
    let header = KeyHeader {
        kind: KeyKind::Verifying,
        setup: SetupKind::InsecureDev,
        circuit,
        shape_hash: circuit.shape_hash().unwrap(),
        banner: String::new(),
    };
    let file = key_file::encode_verifying_key(&header, &pk.vk).unwrap();
    let payload_start = file.len() - {
        use ark_serialize::CanonicalSerialize;
        pk.vk.compressed_size()
    };
    let mut rejected = 0;
    for flip in 0..8u8 {
        let mut payload = file[payload_start..].to_vec();
        payload[0] ^= 1 << flip;
        let mut refile = file[..payload_start - 40].to_vec();
        use sha2::{Digest, Sha256};
        refile.extend_from_slice(&Sha256::digest(&payload));
        refile.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        refile.extend_from_slice(&payload);
        match key_file::decode_verifying_key(&refile, circuit) {
            Err(ParamsError::Deserialize(_)) => rejected += 1,
            Ok((_, vk)) => assert_ne!(vk, pk.vk),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(
        rejected > 0,
        "no corrupted point was rejected by validation"
    );
}
