//! Durable storage: a node restarted from its data directory resumes at the
//! same tip with a byte-identical state; a damaged record, a foreign genesis
//! or a state that does not hash to the tip's commitment stops start-up.

mod support;

use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::governance::MembershipAction;
use coalition_core::keys::IdentityKeys;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use coalition_node::store::{Store, StoreError};
use coalition_prover::governance::{propose_member, register_currency};
use coalition_prover::transactions;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::RunningNode;

fn genesis(founder: &IdentityKeys, name: &str) -> Genesis {
    Genesis {
        name: name.into(),
        timestamp_ms: 1_700_000_000_000,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: vec![("founder".into(), *founder.public())],
        pool: None,
        settlement_epoch_blocks: 3,
        max_currencies_per_member: 8,
    }
}

/// A running node of a one-founder coalition (threshold 1/2) in `dir`
/// with MILES registered by its founder, and a customer to issue to.
struct MilesNode {
    rng: ChaCha20Rng,
    founder: IdentityKeys,
    customer: IdentityKeys,
    genesis: Genesis,
    miles: CurrencyId,
    policy: CurrencyPolicy,
    node: RunningNode,
}

fn miles_node(dir: &std::path::Path, seed: u64, name: &str) -> MilesNode {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let founder = IdentityKeys::random(&mut rng);
    let customer = IdentityKeys::random(&mut rng);
    let genesis = genesis(&founder, name);
    let miles = CurrencyId::new("MILES").unwrap();
    let node = RunningNode::start(dir, genesis.clone(), None, 64 * 1024);
    node.commit(&register_currency(
        genesis.chain_id(),
        &founder,
        0,
        miles,
        2,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    ));
    let policy = node.node.with_ledger(|l| l.currencies()[&miles].clone());
    MilesNode {
        rng,
        founder,
        customer,
        genesis,
        miles,
        policy,
        node,
    }
}

#[test]
fn restart_resumes_the_same_state_and_damage_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let MilesNode {
        mut rng,
        founder,
        customer,
        genesis: g,
        miles,
        policy,
        node,
    } = miles_node(dir.path(), 7, "restart");
    let chain = g.chain_id();
    let partner = IdentityKeys::random(&mut rng);
    // One founder, threshold 1/2: the proposal admits at once.
    node.commit(&propose_member(
        chain,
        &founder,
        1,
        MembershipAction::Admit {
            candidate: *partner.public(),
            name: "partner".into(),
        },
    ));
    for nonce in 0..4 {
        let tx = transactions::issue(
            chain,
            &policy,
            &founder,
            nonce,
            customer.public(),
            10 + nonce,
            &mut rng,
        )
        .unwrap();
        node.commit(&tx);
    }
    let (_, status_before) = node.get("/v1/status");
    let (_, governance_before) = node.get("/v1/governance");
    let (_, settlement_before) = node.get("/v1/settlement/0");
    let account_before = node.account(&customer.loyalty_id(), "MILES").unwrap();
    node.stop();

    // Restart: same tip, same state, same derived data; and it goes on.
    let node = RunningNode::start(dir.path(), g.clone(), None, 64 * 1024);
    let (_, status_after) = node.get("/v1/status");
    assert_eq!(status_after["tip"], status_before["tip"]);
    assert_eq!(node.get("/v1/governance").1, governance_before);
    assert_eq!(node.get("/v1/settlement/0").1, settlement_before);
    assert_eq!(
        node.account(&customer.loyalty_id(), "MILES").unwrap(),
        account_before
    );
    let tx =
        transactions::issue(chain, &policy, &founder, 4, customer.public(), 99, &mut rng).unwrap();
    let height = node.commit(&tx);
    assert_eq!(height, status_before["height"].as_u64().unwrap() + 1);
    node.stop();

    // Another coalition's genesis on the same directory: refused.
    let other = genesis(&founder, "another");
    let store = Store::open(&dir.path().join("db")).unwrap();
    assert!(matches!(
        store.open_chain(&other, None, true),
        Err(StoreError::OtherChain(_))
    ));
    drop(store);

    // A record altered behind the node's back (the customer's nonce): the
    // rebuilt state no longer hashes to the tip's commitment.
    let mut key = customer.loyalty_id().0.to_vec();
    key.extend_from_slice(miles.as_bytes());
    tamper(dir.path(), "accounts", &key, |v| {
        let n = v.len();
        v[n - 8] ^= 1;
    });
    let store = Store::open(&dir.path().join("db")).unwrap();
    assert!(matches!(
        store.open_chain(&g, None, true),
        Err(StoreError::Corrupt("state hash differs from the tip's"))
    ));
    drop(store);
    // Garbage in a record: a typed decode error, not a panic.
    tamper(dir.path(), "governance", b"q", |v| v.truncate(3));
    let store = Store::open(&dir.path().join("db")).unwrap();
    assert!(store.open_chain(&g, None, true).is_err());
}

/// A store records the state format its headers commit to; a node of
/// another format refuses it with both versions named instead of reporting
/// a corrupt state (stores from before the marker are format 1).
#[test]
fn a_store_of_another_state_format_is_refused_by_version() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let founder = IdentityKeys::random(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(&founder, "format");
    let open = || {
        let store = Store::open(&dir.path().join("db")).unwrap();
        store.open_chain(&g, None, true).map(|c| c.tip().height)
    };
    assert_eq!(open().unwrap(), 0);
    let set_marker = |value: Option<&[u8]>| {
        let path = dir.path().join("db");
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
        let meta = db.cf_handle("metadata").unwrap();
        match value {
            Some(v) => db.put_cf(meta, b"state_format", v).unwrap(),
            None => db.delete_cf(meta, b"state_format").unwrap(),
        }
    };
    set_marker(None);
    let err = open().unwrap_err();
    assert!(matches!(
        err,
        StoreError::StateFormat {
            found: 1,
            expected: 5
        }
    ));
    assert!(err.to_string().contains("state format 1"));
    // Format 2: the pool before v2's domain-separated hashes; format 3:
    // notes without an expiry; format 4: no exchange settlement figures.
    for old in [2u32, 3, 4] {
        set_marker(Some(&old.to_le_bytes()));
        assert!(matches!(
            open(),
            Err(StoreError::StateFormat {
                found,
                expected: 5
            }) if found == old
        ));
    }
    set_marker(Some(&[2, 0]));
    assert!(matches!(
        open(),
        Err(StoreError::Corrupt("malformed state format"))
    ));
    set_marker(Some(&coalition_ledger::ledger::STATE_FORMAT.to_le_bytes()));
    assert_eq!(open().unwrap(), 0);
}

fn tamper(dir: &std::path::Path, cf: &str, key: &[u8], change: impl FnOnce(&mut Vec<u8>)) {
    let path = dir.join("db");
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
    let handle = db.cf_handle(cf).unwrap();
    let mut value = db.get_cf(handle, key).unwrap().expect("record exists");
    change(&mut value);
    db.put_cf(handle, key, value).unwrap();
}

#[test]
fn configuration_files_are_checked() {
    use coalition_node::config::{dev_genesis, NodeConfig};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // Every key optional; the defaults bind to loopback.
    let empty = NodeConfig::from_file(&write("empty.toml", "")).unwrap();
    assert!(empty.listen.ip().is_loopback());
    let (genesis, dev) = empty.genesis().unwrap();
    assert_eq!(genesis, dev_genesis());
    assert!(dev, "the development coalition runs in dev mode");
    // Unknown keys, bad values and bad files are refused with a reason.
    assert!(NodeConfig::from_file(&write("typo.toml", "listne = \"127.0.0.1:1\"")).is_err());
    assert!(NodeConfig::from_file(&write("zero.toml", "block_interval_ms = 0")).is_err());
    assert!(NodeConfig::from_file(&write("body.toml", "max_body_bytes = 10")).is_err());
    assert!(NodeConfig::from_file(&dir.path().join("missing.toml")).is_err());
    // A genesis file: founders by identity; dev mode off by default, and
    // then the INSECURE dev keys are refused.
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let founder = IdentityKeys::random(&mut rng);
    let identity = hex::encode(coalition_core::encoding::Encode::to_bytes(founder.public()));
    let genesis_file = write(
        "genesis.toml",
        &format!(
            "name = \"skyways\"\ntimestamp_ms = 5\nthreshold = [2, 3]\nshielded_pool = \"insecure-dev\"\n\
             settlement_epoch_blocks = 10\n[[founders]]\nname = \"airline\"\nidentity = \"{identity}\"\n"
        ),
    );
    let config_file = write(
        "node.toml",
        &format!("genesis = {:?}\n", genesis_file.display().to_string()),
    );
    let config = NodeConfig::from_file(&config_file).unwrap();
    let (genesis, dev) = config.genesis().unwrap();
    assert!(!dev);
    assert_eq!(genesis.founders[0].1, *founder.public());
    let keys = std::sync::Arc::new(
        coalition_params::ShieldedVerifyingKeys::insecure_dev(
            &coalition_params::default_params_dir(),
        )
        .unwrap(),
    );
    assert!(matches!(
        genesis.ledger(Some(keys), false),
        Err(coalition_ledger::genesis::GenesisError::InsecureKeys)
    ));
    let bad_identity = write(
        "bad.toml",
        "name = \"x\"\ntimestamp_ms = 5\nthreshold = [2, 3]\nshielded_pool = \"none\"\n\
         settlement_epoch_blocks = 10\n[[founders]]\nname = \"a\"\nidentity = \"00\"\n",
    );
    let config = NodeConfig::from_file(&write(
        "node2.toml",
        &format!("genesis = {:?}\n", bad_identity.display().to_string()),
    ))
    .unwrap();
    assert!(config.genesis().is_err());
}

/// Issue 21: a genesis whose name the stored-genesis decoder would refuse
/// (65 bytes) once started, committed blocks, and then bricked every
/// restart. It is now refused before anything is stored; a genesis file
/// with it is a configuration error naming the file.
#[test]
fn a_genesis_the_store_could_not_read_back_is_refused_before_anything_is_stored() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let founder = IdentityKeys::random(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let long = genesis(&founder, &"n".repeat(65));
    match store.open_chain(&long, None, true) {
        Err(StoreError::Genesis(e)) => assert!(e.to_string().contains("coalition name"), "{e}"),
        other => panic!(
            "a 65-byte name was accepted: {:?}",
            other.map(|c| c.tip().height)
        ),
    }
    assert!(store.genesis().unwrap().is_none(), "nothing was stored");
    // The same store then starts cleanly from a valid genesis.
    let ok = genesis(&founder, &"n".repeat(64));
    assert_eq!(store.open_chain(&ok, None, true).unwrap().tip().height, 0);

    let file = dir.path().join("genesis.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"{}\"\ntimestamp_ms = 1700000000000\nthreshold = [1, 2]\nshielded_pool = \"none\"\nsettlement_epoch_blocks = 3\n\n[[founders]]\nname = \"founder\"\nidentity = \"{}\"\n",
            "n".repeat(65),
            hex::encode(coalition_core::encoding::Encode::to_bytes(founder.public()))
        ),
    )
    .unwrap();
    let config = coalition_node::config::NodeConfig {
        data_dir: dir.path().join("other"),
        genesis: Some(file.clone()),
        ..Default::default()
    };
    match config.genesis() {
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains("genesis.toml") && text.contains("coalition name"),
                "{text}"
            );
        }
        Ok(_) => panic!("a genesis file with a 65-byte name was accepted"),
    }
}

/// Issue 21 (spec §17.3): outside dev mode a genesis naming a public
/// development identity as a founder is refused before anything is stored;
/// in dev mode, or with real keys, the same coalition starts.
#[test]
fn the_public_dev_identities_are_refused_as_founders_outside_dev_mode() {
    use coalition_node::config::{dev_identity, NodeConfig};
    use coalition_node::engine::{Node, NodeError};
    let open = |genesis: &Genesis, dev_mode: bool| {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            data_dir: dir.path().join("db"),
            ..Default::default()
        };
        let opened = Node::open_with_genesis(config, genesis.clone(), dev_mode, None);
        let stored = dir.path().join("db").exists();
        (opened, stored)
    };
    let real = IdentityKeys::random(&mut ChaCha20Rng::seed_from_u64(22));
    let mut g = genesis(&real, "partners");
    assert!(
        open(&g, false).0.is_ok(),
        "real keys start outside dev mode"
    );

    for (founder, dev_name) in [
        ("airline", "airline"),
        ("hotel", "hotel"),
        ("lounge", "lounge"),
    ] {
        g.founders = vec![
            ("real".into(), *real.public()),
            (founder.into(), *dev_identity(dev_name).public()),
        ];
        match open(&g, false) {
            (Err(NodeError::Config(e)), stored) => {
                let text = e.to_string();
                assert!(
                    text.contains(founder) && text.contains("development identity"),
                    "{text}"
                );
                assert!(!stored, "nothing is stored for a refused genesis");
            }
            (other, _) => panic!("dev founder {founder} accepted: {:?}", other.is_ok()),
        }
        assert!(open(&g, true).0.is_ok(), "dev mode allows {founder}");
    }
    // Renamed, a dev identity is still found (by the development names).
    g.founders = vec![("partner".into(), *dev_identity("hotel").public())];
    assert!(matches!(open(&g, false).0, Err(NodeError::Config(_))));
}

/// Copies the database directory `from` (a node's files as a crash would
/// leave them: every committed block synced, nothing flushed) to `to`.
fn crash_image(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The write-ahead log files in a database directory.
fn logs(db: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut logs: Vec<_> = std::fs::read_dir(db)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    logs.sort();
    logs
}

/// Issue 21: damage to RocksDB's write-ahead log used to roll committed
/// blocks back silently (the node started lower, the audit passed). Now a
/// database below the committed-tip marker is refused, naming the lost
/// heights, by the node and by the auditor's read-only open; and a node
/// closed cleanly flushes, so its log holds nothing it needs.
#[test]
fn a_damaged_write_ahead_log_is_refused_never_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let MilesNode {
        mut rng,
        founder,
        customer,
        genesis: g,
        policy,
        node,
        ..
    } = miles_node(dir.path(), 21, "wal");
    let chain = g.chain_id();
    for nonce in 0..5 {
        let tx = transactions::issue(
            chain,
            &policy,
            &founder,
            nonce,
            customer.public(),
            1 + nonce,
            &mut rng,
        )
        .unwrap();
        node.commit(&tx);
    }
    let height = node.height();
    assert!(height >= 2);
    // The node is idle (nothing pending): its files are a crash image.
    let images = tempfile::tempdir().unwrap();
    let image = |name: &str| {
        let db = images.path().join(name);
        crash_image(&dir.path().join("db"), &db);
        db
    };
    let intact = image("intact");
    // Each damage twice: one image for the node's open, one for the
    // auditor's read-only open.
    let images_of = |name: &str| [image(&format!("{name}-rw")), image(&format!("{name}-ro"))];
    let truncated = images_of("truncated");
    let cut = images_of("cut");
    let flipped = images_of("flipped");
    let deleted = images_of("deleted");
    node.stop();

    // The crash image as it is opens at the committed tip.
    let store = Store::open(&intact).unwrap();
    assert_eq!(store.tip().unwrap().unwrap().height, height);
    drop(store);

    // The newest log truncated by its last record, cut in half, one byte
    // flipped in its second half, or deleted: each refused, never opened
    // lower.
    type Damage = fn(&std::path::Path);
    let damage: [(&[std::path::PathBuf; 2], Damage); 4] = [
        (&truncated, |log| {
            let len = std::fs::metadata(log).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(log).unwrap();
            file.set_len(len - 64).unwrap();
        }),
        (&cut, |log| {
            let len = std::fs::metadata(log).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(log).unwrap();
            file.set_len(len / 2).unwrap();
        }),
        (&flipped, |log| {
            let mut bytes = std::fs::read(log).unwrap();
            let at = bytes.len() * 3 / 4;
            bytes[at] ^= 0x40;
            std::fs::write(log, bytes).unwrap();
        }),
        (&deleted, |log| std::fs::remove_file(log).unwrap()),
    ];
    for ([writable, read_only], damage) in damage {
        for db in [writable, read_only] {
            let log = logs(db).pop().expect("a write-ahead log");
            damage(&log);
        }
        let logs_before = logs(writable);
        for (db, opened) in [
            (writable, Store::open(writable)),
            (read_only, Store::open_read_only(read_only)),
        ] {
            match opened {
                Err(StoreError::LostBlocks {
                    stored, committed, ..
                }) => {
                    assert!(stored < height, "{}", db.display());
                    assert_eq!(committed, height);
                }
                // RocksDB itself refusing the damage is as good.
                Err(StoreError::Rocks(_)) => {}
                Err(other) => panic!("{}: {other}", db.display()),
                Ok(store) => panic!(
                    "{} opened at height {:?} after its log was damaged",
                    db.display(),
                    store.tip().unwrap().map(|tip| tip.height)
                ),
            }
        }
        // The refused open kept the damaged log for a recovery.
        assert_eq!(logs(writable), logs_before, "{}", writable.display());
    }
    let message = Store::open(&truncated[0]).err().unwrap().to_string();
    assert!(
        message.contains(&format!("..={height} were lost")),
        "{message}"
    );

    // The node closed cleanly above flushed: with its logs deleted it
    // still starts at the same tip and goes on.
    for log in logs(&dir.path().join("db")) {
        std::fs::remove_file(log).unwrap();
    }
    let node = RunningNode::start(dir.path(), g.clone(), None, 64 * 1024);
    assert_eq!(node.height(), height);
    let tx =
        transactions::issue(chain, &policy, &founder, 5, customer.public(), 9, &mut rng).unwrap();
    assert_eq!(node.commit(&tx), height + 1);
    node.stop();
}

/// The auditor's read-only open beside a live node committing blocks: the
/// marker is read before the database, so a block committed in between is
/// never taken for a lost one.
#[test]
fn a_read_only_open_beside_a_live_node_never_sees_lost_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let MilesNode {
        mut rng,
        founder,
        customer,
        genesis: g,
        policy,
        node,
        ..
    } = miles_node(dir.path(), 22, "live");
    let chain = g.chain_id();
    let start = node.height();
    let db = dir.path().join("db");
    let mut opened = 0;
    let mut last = None;
    for nonce in 0..30 {
        let tx = transactions::issue(
            chain,
            &policy,
            &founder,
            nonce,
            customer.public(),
            1,
            &mut rng,
        )
        .unwrap();
        let (status, body) = node.submit(&tx);
        assert_eq!(status, 202, "{body}");
        last = Some(body["id"].as_str().unwrap().to_string());
        // Open while blocks are being committed (20 ms interval).
        let store = Store::open_read_only(&db).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.tip().unwrap().unwrap().height >= start);
        opened += 1;
    }
    let end = node.wait_committed(&last.unwrap());
    assert!(end > start, "no block committed during the opens");
    assert_eq!(opened, 30);
    node.stop();
}
