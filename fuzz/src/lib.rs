//! # coalition-fuzz
//!
//! One function per decoder that reads bytes from outside a node (issue
//! 21, RELIABILITY.md): transactions, blocks, genesis (encoded and TOML),
//! node configuration, Raft envelopes and messages, stored log entries,
//! snapshots, key files, partnership terms, proofs and verifying keys.
//!
//! Each function takes arbitrary bytes and must return without panicking,
//! whatever they are; where a decoder accepts its input, it also checks
//! the property that keeps a node safe from what it stored or was sent:
//! a canonical encoding (decoded, re-encoded, the same bytes) and, for the
//! genesis, that what a node accepts at load it can read back from disk.
//! A violated property panics, which is what a fuzzer reports.
//!
//! The same functions run twice: under libFuzzer (`harness/`, nightly
//! `cargo fuzz`, one `fuzz_target!` per function) and in CI, where
//! `tests/corpus.rs` replays the kept corpus (`corpus/<target>/`) through
//! them on the stable toolchain.

use std::io::{BufReader, Cursor};
use std::path::Path;

use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, Seed};
use coalition_core::partnership::PartnershipTerms;
use coalition_core::proofs::RangeProof;
use coalition_core::shielded::Groth16Proof;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::block::decode_block;
use coalition_ledger::genesis::Genesis;
use coalition_node::config::{genesis_from_toml, NodeConfig};
use coalition_node::replication::envelope::{
    open_request, open_response, seal_request, seal_response, REQUEST_HEAD,
};
use coalition_node::replication::TypeConfig;
use coalition_params::key_file::decode_verifying_key;
use coalition_params::CircuitId;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};

/// A fuzz target: arbitrary bytes in, a panic only on a real defect.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and fuzz binary carry.
pub const TARGETS: &[(&str, Target)] = &[
    ("transaction", transaction),
    ("block", block),
    ("genesis", genesis),
    ("genesis_toml", genesis_toml),
    ("node_config", node_config),
    ("raft_envelope", raft_envelope),
    ("raft_message", raft_message),
    ("snapshot", snapshot),
    ("key_file", key_file),
    ("terms", terms),
    ("proof", proof),
    ("verifying_key", verifying_key),
    ("certificate", certificate),
];

/// A transaction as `POST /v1/transactions` and a block carry it: if it
/// decodes, its encoding is the bytes it came from (one transaction, one
/// encoding, one ID).
pub fn transaction(data: &[u8]) {
    if let Ok(tx) = decode_exact::<Transaction>(data) {
        assert_eq!(
            tx.to_bytes(),
            data,
            "a transaction's encoding is not canonical"
        );
        let _ = tx.id();
    }
}

/// A block as a peer, a snapshot or the store hands it over: canonical.
pub fn block(data: &[u8]) {
    if let Ok(block) = decode_block(data) {
        assert_eq!(
            block.to_bytes(),
            data,
            "a block's encoding is not canonical"
        );
        let _ = block.header.hash();
    }
}

/// A stored genesis: canonical, and valid by the rules a node loads it with.
pub fn genesis(data: &[u8]) {
    if let Ok(genesis) = Genesis::from_bytes(data) {
        assert_eq!(
            genesis.to_bytes(),
            data,
            "a genesis encoding is not canonical"
        );
        let _ = genesis.chain_id();
    }
}

/// A genesis file: what a node accepts, it stores, and what it stores it
/// reads back as the same genesis (a data directory is never bricked by
/// its own genesis, the 65-byte-name bug of issue 21).
pub fn genesis_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(genesis) = genesis_from_toml(text, Path::new("genesis.toml")) {
        let stored = genesis.to_bytes();
        let read_back = Genesis::from_bytes(&stored)
            .unwrap_or_else(|e| panic!("an accepted genesis does not read back: {e}"));
        assert_eq!(read_back.to_bytes(), stored);
        assert_eq!(read_back.chain_id(), genesis.chain_id());
    }
}

/// A node's configuration file: parsed and range-checked, never a panic.
pub fn node_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        // (Its genesis path is not followed: that file is `genesis_toml`'s.)
        let _ = NodeConfig::from_toml(text, Path::new("node.toml"));
    }
}

/// The fixed partner the envelope targets sign and check with.
fn partner() -> IdentityKeys {
    IdentityKeys::from_seed(&Seed::from_bytes([7; 32]))
}

const ROUTE: &str = "/raft/append";
const NOW_MS: u64 = 1_700_000_000_000;

/// A node-to-node request or answer envelope: opened against a member
/// whose key is known (most bytes fail its signature, never with a
/// panic); and a body sealed by that member opens to the same body, once,
/// for its recipient only.
pub fn raft_envelope(data: &[u8]) {
    let keys = partner();
    let chain = ChainId([1; 32]);
    let member = |_: &_| Some(*keys.public());
    let _ = open_request(data, &chain, ROUTE, 1, NOW_MS, member);
    let _ = open_response(data, &chain, ROUTE, keys.public(), &[0; 64]);

    let (sealed, signature) = seal_request(&keys, &chain, ROUTE, 1, NOW_MS, data);
    let opened = open_request(&sealed, &chain, ROUTE, 1, NOW_MS, member)
        .unwrap_or_else(|e| panic!("a sealed request does not open: {e}"));
    assert_eq!(opened.body, data);
    assert!(open_request(&sealed, &chain, ROUTE, 2, NOW_MS, member).is_err());
    assert!(
        open_request(&sealed[..REQUEST_HEAD], &chain, ROUTE, 1, NOW_MS, member).is_err()
            || data.is_empty()
    );
    let answer = seal_response(&keys, &chain, ROUTE, &signature, data);
    assert_eq!(
        open_response(&answer, &chain, ROUTE, keys.public(), &signature).ok(),
        Some(data)
    );
}

/// A Raft RPC's payload, as an authenticated peer sends it: each message
/// type parses or is refused, and the blocks an AppendEntries carries go
/// through the block decoder.
pub fn raft_message(data: &[u8]) {
    if let Ok(request) = serde_json::from_slice::<AppendEntriesRequest<TypeConfig>>(data) {
        for entry in &request.entries {
            if let openraft::EntryPayload::Normal(proposal) = &entry.payload {
                let _ = coalition_node::replication::decode_proposal(proposal);
            }
        }
    }
    let _ = serde_json::from_slice::<VoteRequest<u64>>(data);
    let _ = serde_json::from_slice::<InstallSnapshotRequest<TypeConfig>>(data);
    // A log entry as the store keeps it.
    let _ = coalition_node::replication::log_store::decode_entry(data);
}

/// A snapshot file a peer sent: its framing is checked before anything
/// is installed.
pub fn snapshot(data: &[u8]) {
    let chain = data.get(6..38).and_then(|c| <[u8; 32]>::try_from(c).ok());
    let mut reader = BufReader::new(Cursor::new(data));
    let _ = coalition_node::replication::snapshot::check_framing(
        &mut reader,
        &chain.unwrap_or([0; 32]),
    );
}

/// A key file's text (or a bare recovery code).
pub fn key_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(seed) = coalition_wallet::keyfile::parse_seed(text) {
            let _ = IdentityKeys::from_seed(&seed);
        }
    }
}

/// Partnership terms as partners sign and exchange them: canonical, and
/// checked for being well formed.
pub fn terms(data: &[u8]) {
    if let Ok(terms) = decode_exact::<PartnershipTerms>(data) {
        assert_eq!(terms.to_bytes(), data, "terms' encoding is not canonical");
        let _ = terms.check();
        let _ = terms.signing_message();
    }
}

/// Proofs on their own: a Groth16 proof (compressed BN254 points, checked
/// on the curve and in the subgroup) and a Bulletproofs range proof of
/// every shape a transaction may carry.
pub fn proof(data: &[u8]) {
    if let Ok(proof) = decode_exact::<Groth16Proof>(data) {
        assert_eq!(
            proof.to_bytes(),
            data,
            "a Groth16 proof's encoding is not canonical"
        );
    }
    for bits in [8, 16, 32, 64] {
        for parties in [1, 2, 4] {
            if RangeProof::encoded_len(bits, parties) == data.len() {
                if let Ok(proof) = RangeProof::from_bytes(data, bits, parties) {
                    assert_eq!(proof.to_bytes(), data);
                }
            }
        }
    }
}

/// A verifying key file, for either circuit.
pub fn verifying_key(data: &[u8]) {
    for circuit in [CircuitId::Output, CircuitId::Spend] {
        let _ = decode_verifying_key(data, circuit);
    }
}

/// The Unix time [`certificate`] checks validity at (2027-01-15), inside
/// the kept certificates' ten years.
pub const CERTIFICATE_NOW: i64 = 1_800_000_000;

/// A TLS certificate as a partner's node or a client presents it in a
/// handshake (DER): if its partner binding holds, the identity it names
/// is canonical and the binding holds at no other identity's word.
pub fn certificate(data: &[u8]) {
    if let Ok(identity) = coalition_node::tls::bound_identity(data, CERTIFICATE_NOW) {
        let bytes = identity.to_bytes();
        assert_eq!(
            coalition_core::encoding::decode_exact::<coalition_core::keys::PublicIdentity>(&bytes)
                .expect("a bound identity re-decodes"),
            identity
        );
    }
}
