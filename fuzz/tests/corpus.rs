//! Replays the kept fuzz corpus (`fuzz/corpus/<target>/`) through the
//! targets on the stable toolchain, so every input a campaign found
//! interesting, the crashes it found included, is checked on every CI run
//! (RELIABILITY.md).

use std::path::Path;

use coalition_fuzz::TARGETS;

#[test]
fn every_kept_input_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut total = 0;
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "no corpus for {name}");
        for input in &inputs {
            let data = std::fs::read(input).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panics on {}", input.display());
        }
        total += inputs.len();
    }
    assert!(total >= TARGETS.len());
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("harness");
    let manifest = std::fs::read_to_string(harness.join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        let file = harness.join("fuzz_targets").join(format!("{name}.rs"));
        let source =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            source.contains(&format!("coalition_fuzz::{name}(")),
            "{} does not call its target",
            file.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "harness/Cargo.toml has no [[bin]] {name}"
        );
    }
}

/// The kept inputs of `target` that `accepts` takes.
fn accepted(target: &str, accepts: impl Fn(&[u8]) -> bool) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| accepts(&std::fs::read(entry.as_ref().unwrap().path()).unwrap()))
        .count()
}

#[test]
fn the_corpus_reaches_past_every_decoder() {
    // The targets check their properties (canonical encodings, a genesis
    // that reads back) only on inputs a decoder accepts: the kept corpus
    // must hold such inputs, or a replay would only ever see refusals.
    use coalition_core::encoding::decode_exact;
    use coalition_core::partnership::PartnershipTerms;
    use coalition_core::shielded::Groth16Proof;
    use coalition_core::transaction::Transaction;
    use std::path::Path as P;
    let text = |d: &[u8]| std::str::from_utf8(d).ok().map(str::to_owned);
    type Accepts = Box<dyn Fn(&[u8]) -> bool>;
    let checks: [(&str, Accepts); 9] = [
        (
            "certificate",
            Box::new(|d| {
                coalition_node::tls::bound_identity(d, coalition_fuzz::CERTIFICATE_NOW).is_ok()
            }),
        ),
        (
            "transaction",
            Box::new(|d| decode_exact::<Transaction>(d).is_ok()),
        ),
        (
            "block",
            Box::new(|d| coalition_ledger::block::decode_block(d).is_ok()),
        ),
        (
            "genesis",
            Box::new(|d| coalition_ledger::genesis::Genesis::from_bytes(d).is_ok()),
        ),
        (
            "terms",
            Box::new(|d| decode_exact::<PartnershipTerms>(d).is_ok()),
        ),
        (
            "proof",
            Box::new(|d| decode_exact::<Groth16Proof>(d).is_ok()),
        ),
        (
            "genesis_toml",
            Box::new(move |d| {
                text(d).is_some_and(|t| {
                    coalition_node::config::genesis_from_toml(&t, P::new("g")).is_ok()
                })
            }),
        ),
        (
            "node_config",
            Box::new(move |d| {
                text(d).is_some_and(|t| {
                    coalition_node::config::NodeConfig::from_toml(&t, P::new("n")).is_ok()
                })
            }),
        ),
        (
            "key_file",
            Box::new(move |d| {
                text(d).is_some_and(|t| coalition_wallet::keyfile::parse_seed(&t).is_some())
            }),
        ),
    ];
    for (target, accepts) in checks {
        assert!(
            accepted(target, accepts) > 0,
            "no kept {target} input decodes"
        );
    }
}

/// Writes the seed corpus the campaigns started from (RELIABILITY.md):
/// every block, transaction, proof and terms of a chain a demo left, its
/// genesis, the verifying key files, and hand-made envelopes, Raft
/// messages, snapshots, configuration and key files.
///
/// `coalition demo --data-dir D` and `coalition devnet init --dir N`, then
/// `COALITION_SEED_DATA_DIR=D COALITION_SEED_DEVNET=N cargo test -p
/// coalition-fuzz --test corpus -- --ignored`.
#[test]
#[ignore = "writes the seed corpus from a demo's data directory"]
fn write_seed_corpus() {
    use coalition_core::encoding::Encode;
    use coalition_core::keys::{IdentityKeys, Seed};
    use coalition_core::transaction::{ChainId, Transaction};
    use coalition_node::replication::{envelope, Proposal, TypeConfig};
    use coalition_node::store::Store;
    use openraft::raft::{AppendEntriesRequest, VoteRequest};
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Vote};

    let data_dir = std::env::var_os("COALITION_SEED_DATA_DIR").expect("COALITION_SEED_DATA_DIR");
    let devnet = std::env::var_os("COALITION_SEED_DEVNET").expect("COALITION_SEED_DEVNET");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut written = std::collections::BTreeMap::<&str, usize>::new();
    let mut seed = |target: &'static str, bytes: &[u8]| {
        let n = written.entry(target).or_default();
        *n += 1;
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{n:03}")), bytes).unwrap();
    };

    let store = Store::open_read_only(&Path::new(&data_dir).join("db")).unwrap();
    let genesis = store.genesis().unwrap().expect("a ledger");
    seed("genesis", &genesis.to_bytes());
    let tip = store.tip().unwrap().expect("blocks").height;
    let mut blocks = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for height in 1..=tip {
        let bytes = store.raw_block(height).unwrap().unwrap();
        let block = coalition_ledger::block::decode_block(&bytes).unwrap();
        for tx in &block.transactions {
            // One of each kind, and every proof-carrying one's proofs.
            if kinds.insert(tx.kind()) {
                seed("transaction", &tx.to_bytes());
            }
            match tx {
                Transaction::Terms(signed) => seed("terms", &signed.terms.to_bytes()),
                Transaction::Shield(shield) => seed("proof", &shield.output_proof.to_bytes()),
                Transaction::Redeem(redeem) => seed("proof", &redeem.proof.to_bytes()),
                Transaction::Transfer(transfer) => seed("proof", &transfer.proof.range.to_bytes()),
                _ => {}
            }
        }
        if !block.transactions.is_empty() && blocks.len() < 8 {
            seed("block", &bytes);
            blocks.push(bytes);
        }
    }
    // A snapshot of those blocks: magic, chain, count, length-prefixed.
    let chain = genesis.chain_id();
    let mut snapshot = b"CSNAP1".to_vec();
    snapshot.extend_from_slice(&chain.0);
    snapshot.extend_from_slice(&(blocks.len() as u64).to_be_bytes());
    for block in &blocks {
        snapshot.extend_from_slice(&(block.len() as u32).to_be_bytes());
        snapshot.extend_from_slice(block);
    }
    seed("snapshot", &snapshot);

    // Raft: an AppendEntries carrying a block, a vote, a stored entry,
    // and the envelopes around them.
    let entry = Entry::<TypeConfig> {
        log_id: LogId::new(CommittedLeaderId::new(3, 0), 7),
        payload: EntryPayload::Normal(Proposal::Block(blocks[0].clone())),
    };
    let append = AppendEntriesRequest::<TypeConfig> {
        vote: Vote::new_committed(3, 0),
        prev_log_id: Some(LogId::new(CommittedLeaderId::new(3, 0), 6)),
        entries: vec![entry.clone()],
        leader_commit: Some(LogId::new(CommittedLeaderId::new(3, 0), 6)),
    };
    let append = serde_json::to_vec(&append).unwrap();
    seed("raft_message", &append);
    seed("raft_message", &serde_json::to_vec(&entry).unwrap());
    let vote = VoteRequest::new(
        Vote::new(4, 1),
        Some(LogId::new(CommittedLeaderId::new(3, 0), 7)),
    );
    seed("raft_message", &serde_json::to_vec(&vote).unwrap());
    let keys = IdentityKeys::from_seed(&Seed::from_bytes([7; 32]));
    let (request, signature) = envelope::seal_request(
        &keys,
        &ChainId([1; 32]),
        "/raft/append",
        1,
        1_700_000_000_000,
        &append,
    );
    seed("raft_envelope", &request);
    seed(
        "raft_envelope",
        &envelope::seal_response(&keys, &ChainId([1; 32]), "/raft/append", &signature, b"{}"),
    );

    // Configuration and key files as an operator writes them.
    let devnet = Path::new(&devnet);
    seed(
        "genesis_toml",
        &std::fs::read(devnet.join("genesis.toml")).unwrap(),
    );
    seed(
        "node_config",
        &std::fs::read(devnet.join("airline/node.toml")).unwrap(),
    );
    seed(
        "key_file",
        format!("coalition-seed-v1\n{}\n", "ab".repeat(32)).as_bytes(),
    );
    seed("key_file", "cd".repeat(32).as_bytes());
    // Node certificates bound to a partner (ten years: valid at
    // CERTIFICATE_NOW), with and without names.
    for names in [
        vec![],
        vec!["localhost".to_string(), "127.0.0.1".to_string()],
    ] {
        let made = coalition_node::tls::generate(
            &IdentityKeys::from_seed(&Seed::from_bytes([9; 32])),
            &names,
            3650,
        )
        .unwrap();
        let own =
            coalition_node::tls::NodeCertificate::from_pem(&made.certificate_pem, &made.key_pem)
                .unwrap();
        seed("certificate", &own.certificate);
    }

    // The pool's verifying key files.
    let params = coalition_params::default_params_dir();
    for entry in std::fs::read_dir(&params).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "vk") {
            seed("verifying_key", &std::fs::read(path).unwrap());
        }
    }
    println!("{written:?}");
}
