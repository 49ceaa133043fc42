//! The replicated state machine and Raft log in-process (spec §20):
//!
//! * openraft's own storage conformance suite over the RocksDB log store
//!   and the chain state machine;
//! * a block a faulty leader forged is refused alike by every replica and
//!   changes nothing but the apply position, which survives a restart;
//! * snapshots carry the chain and are re-validated on install: tampered,
//!   truncated, foreign or forking snapshots are refused, and a shorter
//!   one never rolls a node back; they live in files, received through the
//!   file openraft writes the chunks into, and only the current one is kept.

use std::io::{BufReader, Cursor};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::transaction::Transaction;
use coalition_ledger::block::transactions_root;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use coalition_node::config::{dev_identity, NodeConfig};
use coalition_node::engine::Node;
use coalition_node::replication::log_store::LogStore;
use coalition_node::replication::snapshot::check_framing;
use coalition_node::replication::state_machine::StateMachine;
use coalition_node::replication::{Applied, Counters, Proposal, TypeConfig};
use coalition_prover::governance::register_currency;
use coalition_prover::transactions;
use openraft::network::snapshot_transport::Streaming;
use openraft::raft::InstallSnapshotRequest;
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    Vote,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn genesis() -> Genesis {
    Genesis {
        name: "replication-test".into(),
        timestamp_ms: 1_767_225_600_000,
        threshold: Threshold::two_thirds(),
        founders: ["airline", "hotel"]
            .iter()
            .map(|n| (n.to_string(), *dev_identity(n).public()))
            .collect(),
        pool: None,
        settlement_epoch_blocks: 20,
        max_currencies_per_member: 8,
    }
}

fn open_node(dir: &std::path::Path) -> Node {
    let config = NodeConfig {
        data_dir: dir.to_path_buf(),
        ..NodeConfig::default()
    };
    Node::open_with_genesis(config, genesis(), true, None).unwrap()
}

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().unwrap();
        let node = open_node(dir.path());
        let machine = StateMachine::open(node.clone(), Arc::default())?;
        Ok((dir, LogStore::new(node), machine))
    }
}

#[test]
fn the_log_store_and_state_machine_pass_openraft_s_storage_suite() {
    Suite::test_all(Builder).unwrap();
}

/// A node that produced `blocks` blocks: MILES registered, then Issues.
fn producer(dir: &std::path::Path, blocks: u64) -> Node {
    let node = open_node(dir);
    let chain = node.genesis().chain_id();
    let airline = dev_identity("airline");
    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *airline.public(),
        auditor: None,
    };
    node.submit(register_currency(
        chain,
        &airline,
        0,
        miles.id,
        0,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    ))
    .unwrap();
    node.produce_block().unwrap().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for nonce in 0..blocks - 1 {
        let tx = transactions::issue(
            chain,
            &miles,
            &airline,
            nonce,
            dev_identity("hotel").public(),
            10,
            &mut rng,
        )
        .unwrap();
        node.submit(tx).unwrap();
        node.produce_block().unwrap().unwrap();
    }
    node
}

fn entry(index: u64, bytes: Vec<u8>) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(Proposal::Block(bytes)),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn a_forged_block_is_refused_and_changes_nothing_but_the_apply_position() {
    let a_dir = tempfile::tempdir().unwrap();
    let a = producer(a_dir.path(), 1);
    let genuine = a.block(1).unwrap().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let b = open_node(b_dir.path());
    let genesis_tip = b.tip();
    let counters = Arc::new(Counters::default());
    let mut machine = StateMachine::open(b.clone(), counters.clone()).unwrap();

    let mut forged: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut state = genuine.clone();
    state.header.state_hash[0] ^= 1;
    forged.push(("state hash", state.to_bytes()));
    let mut previous = genuine.clone();
    previous.header.previous.0[0] ^= 1;
    forged.push(("does not extend", previous.to_bytes()));
    let mut early = genuine.clone();
    early.header.timestamp_ms = genesis_tip.timestamp_ms;
    forged.push(("timestamp", early.to_bytes()));
    let mut height = genuine.clone();
    height.header.height = 2;
    forged.push(("height", height.to_bytes()));
    // A transaction whose signature no longer verifies, with the
    // transactions root recomputed so only the signature is wrong.
    let mut tx_bytes = genuine.transactions[0].to_bytes();
    let at = tx_bytes.len() - 20;
    tx_bytes[at] ^= 1;
    let bad_tx: Transaction = decode_exact(&tx_bytes).unwrap();
    let mut signature = genuine.clone();
    signature.transactions = vec![bad_tx];
    signature.header.transactions_root = transactions_root(&signature.transactions);
    forged.push(("signature", signature.to_bytes()));
    let mut root = genuine.clone();
    root.header.transactions_root[0] ^= 1;
    forged.push(("transactions root", root.to_bytes()));
    forged.push(("decode", b"not a block".to_vec()));
    let mut truncated = genuine.to_bytes();
    truncated.pop();
    forged.push(("decode", truncated));

    let rt = runtime();
    let mut index = 0;
    for (why, bytes) in &forged {
        index += 1;
        let out = rt
            .block_on(machine.apply([entry(index, bytes.clone())]))
            .unwrap();
        match &out[..] {
            [Applied::Refused(reason)] => assert!(
                reason.contains(why),
                "forged ({why}) refused for another reason: {reason}"
            ),
            other => panic!("forged block ({why}) not refused: {other:?}"),
        }
        assert_eq!(b.tip(), genesis_tip, "a forged block ({why}) moved the tip");
        let (applied, _) = rt.block_on(machine.applied_state()).unwrap();
        assert_eq!(applied.map(|l| l.index), Some(index));
    }
    assert_eq!(
        counters.blocks_refused.load(Ordering::Relaxed),
        forged.len() as u64
    );
    index += 1;
    let out = rt
        .block_on(machine.apply([entry(index, genuine.to_bytes())]))
        .unwrap();
    assert_eq!(out, vec![Applied::Block(1)]);
    assert_eq!(b.tip(), a.tip());
    // The same block again (a stale leader's duplicate) is refused alike.
    index += 1;
    let out = rt
        .block_on(machine.apply([entry(index, genuine.to_bytes())]))
        .unwrap();
    assert!(matches!(&out[..], [Applied::Refused(_)]));
    assert_eq!(b.tip(), a.tip());

    // The apply position is durable with the block: a restart resumes there.
    drop(machine);
    drop(b);
    let b = open_node(b_dir.path());
    let mut machine = StateMachine::open(b.clone(), Arc::default()).unwrap();
    let (applied, _) = rt.block_on(machine.applied_state()).unwrap();
    assert_eq!(applied.map(|l| l.index), Some(index));
    assert_eq!(b.tip(), a.tip());
}

fn snapshot_of(node: &Node, rt: &tokio::runtime::Runtime) -> Snapshot<TypeConfig> {
    let mut machine = StateMachine::open(node.clone(), Arc::default()).unwrap();
    rt.block_on(async {
        let mut builder = machine.get_snapshot_builder().await;
        builder.build_snapshot().await
    })
    .unwrap()
}

/// A node that produced three blocks, in its own directory, and its
/// snapshot with the snapshot's bytes.
fn produced_snapshot(
    rt: &tokio::runtime::Runtime,
) -> (tempfile::TempDir, Node, Snapshot<TypeConfig>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let node = producer(dir.path(), 3);
    let mut snapshot = snapshot_of(&node, rt);
    let data = bytes_of(&mut snapshot, rt);
    (dir, node, snapshot, data)
}

/// The bytes of a snapshot, read through its file handle.
fn bytes_of(snapshot: &mut Snapshot<TypeConfig>, rt: &tokio::runtime::Runtime) -> Vec<u8> {
    let mut data = Vec::new();
    rt.block_on(snapshot.snapshot.read_to_end(&mut data))
        .unwrap();
    data
}

/// The block count a snapshot's framing announces (checked whole).
fn block_count(data: &[u8], chain: &[u8; 32]) -> Result<u64, String> {
    check_framing(&mut BufReader::new(Cursor::new(data)), chain)
}

/// The files in a node's snapshot directory, with their contents.
fn snapshot_files(data_dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir.join("snapshots"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Installs `data` as openraft does: into the file `begin_receiving_snapshot`
/// gave, written in chunks and never flushed, then `install_snapshot`.
// openraft's `StorageError` is what `install_snapshot` returns.
#[allow(clippy::result_large_err)]
fn install(
    node: &Node,
    snapshot: &Snapshot<TypeConfig>,
    data: Vec<u8>,
    rt: &tokio::runtime::Runtime,
) -> Result<(), StorageError<u64>> {
    let counters = Arc::new(Counters::default());
    let mut machine = StateMachine::open(node.clone(), counters.clone()).unwrap();
    let result = rt.block_on(async {
        let mut received = machine.begin_receiving_snapshot().await?;
        for chunk in data.chunks(1000) {
            received.write_all(chunk).await.unwrap();
        }
        machine.install_snapshot(&snapshot.meta, received).await
    });
    assert_eq!(
        counters.snapshots_installed.load(Ordering::Relaxed),
        u64::from(result.is_ok())
    );
    // The current snapshot is what was installed, in the node's one
    // snapshot file; a refused one leaves no file at all.
    let current = rt.block_on(machine.get_current_snapshot()).unwrap();
    let files = snapshot_files(&node.config().data_dir);
    match (&result, current) {
        (Ok(()), Some(mut current)) => {
            assert_eq!(current.meta, snapshot.meta);
            assert_eq!(bytes_of(&mut current, rt), data);
            assert_eq!(files.len(), 1, "{files:?}");
            assert_eq!(files[0].1, data);
        }
        (Err(_), None) => assert!(files.is_empty(), "a refused snapshot left files"),
        (result, current) => panic!("{result:?} with current {:?}", current.map(|c| c.meta)),
    }
    result
}

#[test]
fn snapshots_carry_the_chain_and_are_revalidated_on_install() {
    let rt = runtime();
    let (a_dir, a, snapshot, data) = produced_snapshot(&rt);
    let chain = a.genesis().chain_id();
    assert_eq!(block_count(&data, &chain.0), Ok(3));
    // It is A's one snapshot file.
    let files = snapshot_files(a_dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].0.ends_with(".snap"));
    assert_eq!(files[0].1, data);
    // Built again, the new file replaces the old one, and a send still
    // reading the old one reads it to the end.
    let mut machine = StateMachine::open(a.clone(), Arc::default()).unwrap();
    let mut sending = rt
        .block_on(async { machine.get_snapshot_builder().await.build_snapshot().await })
        .unwrap();
    rt.block_on(async { machine.get_snapshot_builder().await.build_snapshot().await })
        .unwrap();
    let files = snapshot_files(a_dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].1, data);
    assert_eq!(bytes_of(&mut sending, &rt), data);
    drop(machine);

    // A fresh node installs it and holds A's chain and state.
    let b_dir = tempfile::tempdir().unwrap();
    let b = open_node(b_dir.path());
    install(&b, &snapshot, data.clone(), &rt).unwrap();
    assert_eq!(b.tip(), a.tip());
    for h in 1..=3 {
        assert_eq!(b.block(h).unwrap(), a.block(h).unwrap());
    }
    // Installing it again keeps what is held (byte-equal) and changes nothing.
    install(&b, &snapshot, data.clone(), &rt).unwrap();
    assert_eq!(b.tip(), a.tip());

    // A byte changed inside the last block: refused, and the node never
    // holds a block that is not A's.
    let c_dir = tempfile::tempdir().unwrap();
    let c = open_node(c_dir.path());
    let mut tampered = data.clone();
    let at = tampered.len() - 30;
    tampered[at] ^= 1;
    assert!(install(&c, &snapshot, tampered, &rt).is_err());
    assert!(c.tip().height < 3);
    for h in 1..=c.tip().height {
        assert_eq!(c.block(h).unwrap(), a.block(h).unwrap());
    }

    // Truncated, with trailing bytes, or of another chain: refused whole.
    let d_dir = tempfile::tempdir().unwrap();
    let d = open_node(d_dir.path());
    let genesis_tip = d.tip();
    let mut trailing = data.clone();
    trailing.push(0);
    let mut foreign = data.clone();
    foreign[6] ^= 1;
    let mut huge_count = data.clone();
    huge_count[38..46].copy_from_slice(&u64::MAX.to_be_bytes());
    for bad in [
        data[..data.len() - 1].to_vec(),
        data[..10].to_vec(),
        trailing,
        foreign,
        huge_count,
        b"CSNAP2".to_vec(),
    ] {
        assert!(install(&d, &snapshot, bad, &rt).is_err());
        assert_eq!(d.tip(), genesis_tip);
    }

    // A node with another block 1 refuses the snapshot (a fork).
    let e_dir = tempfile::tempdir().unwrap();
    let e = open_node(e_dir.path());
    let hotel = dev_identity("hotel");
    e.submit(register_currency(
        chain,
        &hotel,
        0,
        CurrencyId::new("HPTS").unwrap(),
        0,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    ))
    .unwrap();
    e.produce_block().unwrap().unwrap();
    let e_tip = e.tip();
    let err = install(&e, &snapshot, data.clone(), &rt).unwrap_err();
    assert!(err.to_string().contains("fork"), "{err}");
    assert_eq!(e.tip(), e_tip);

    // A snapshot shorter than the node's chain (a node that crashed while
    // installing a later one) never rolls it back: its blocks match, so
    // nothing changes.
    let mut short = Vec::new();
    short.extend_from_slice(b"CSNAP1");
    short.extend_from_slice(&chain.0);
    short.extend_from_slice(&1u64.to_be_bytes());
    let block1 = a.store().raw_block(1).unwrap().unwrap();
    short.extend_from_slice(&(block1.len() as u32).to_be_bytes());
    short.extend_from_slice(&block1);
    assert_eq!(block_count(&short, &chain.0), Ok(1));
    install(&b, &snapshot, short.clone(), &rt).unwrap();
    assert_eq!(b.tip(), a.tip());
    // A short snapshot whose block differs from the node's is a fork.
    let err = install(&e, &snapshot, short, &rt).unwrap_err();
    assert!(err.to_string().contains("fork"), "{err}");
    assert_eq!(e.tip(), e_tip);
}

/// A snapshot received the way openraft's own `Streaming` receives one —
/// chunks written at their offsets, a retried chunk rewritten at an
/// earlier offset, then `shutdown` — is installed from the file it was
/// written to and kept as that file; a reception openraft abandoned
/// leaves no file once the next begins; and an older snapshot installed
/// later (a stale leader's) leaves the newer one current.
#[test]
fn a_streamed_snapshot_is_installed_from_its_file_and_the_newest_kept() {
    let rt = runtime();
    let (_a_dir, a, snapshot, data) = produced_snapshot(&rt);
    let at_index = |index| SnapshotMeta {
        last_log_id: Some(LogId::new(CommittedLeaderId::new(1, 0), index)),
        ..snapshot.meta.clone()
    };
    let (newer, older) = (at_index(50), at_index(10));

    let b_dir = tempfile::tempdir().unwrap();
    let b = open_node(b_dir.path());
    let counters = Arc::new(Counters::default());
    let mut machine = StateMachine::open(b.clone(), counters.clone()).unwrap();
    let parts = || {
        snapshot_files(b_dir.path())
            .into_iter()
            .filter(|(name, _)| name.ends_with(".part"))
            .count()
    };
    let received = rt.block_on(async {
        let mut abandoned = machine.begin_receiving_snapshot().await.unwrap();
        abandoned.write_all(b"half a snapshot").await.unwrap();
        abandoned.flush().await.unwrap();
        assert_eq!(parts(), 1);
        let file = machine.begin_receiving_snapshot().await.unwrap();
        assert_eq!(parts(), 1, "the abandoned reception's file is removed");
        let mut streaming = Streaming::<TypeConfig>::new(newer.snapshot_id.clone(), file);
        let chunk = |offset: usize, len: usize| InstallSnapshotRequest::<TypeConfig> {
            vote: Vote::new(1, 1),
            meta: newer.clone(),
            offset: offset as u64,
            data: data[offset..(offset + len).min(data.len())].to_vec(),
            done: offset + len >= data.len(),
        };
        let size = data.len() / 5 + 1;
        streaming.receive(chunk(0, size)).await.unwrap();
        streaming.receive(chunk(size, size)).await.unwrap();
        // The second chunk's answer was lost: sent again, then the rest.
        streaming.receive(chunk(size, size)).await.unwrap();
        let mut offset = 2 * size;
        while !streaming.receive(chunk(offset, size)).await.unwrap() {
            offset += size;
        }
        let mut received = streaming.into_snapshot_data();
        received.shutdown().await.unwrap();
        received
    });
    rt.block_on(machine.install_snapshot(&newer, received))
        .unwrap();
    assert_eq!(b.tip(), a.tip());
    assert_eq!(counters.snapshots_installed.load(Ordering::Relaxed), 1);
    let files = snapshot_files(b_dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].0.ends_with(".snap"));
    assert_eq!(files[0].1, data);

    // The older snapshot of the same chain installs (it changes nothing)
    // but the newer stays current, in the one file.
    rt.block_on(async {
        let mut received = machine.begin_receiving_snapshot().await.unwrap();
        received.write_all(&data).await.unwrap();
        machine.install_snapshot(&older, received).await.unwrap();
    });
    let mut current = rt
        .block_on(machine.get_current_snapshot())
        .unwrap()
        .unwrap();
    assert_eq!(current.meta, newer);
    assert_eq!(bytes_of(&mut current, &rt), data);
    let files = snapshot_files(b_dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(b.tip(), a.tip());
}
