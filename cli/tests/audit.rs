//! `coalition audit` and `coalition keys` through the real binary: a ledger
//! written by `coalition demo --data-dir` passes; a byte changed in a stored
//! block or record is found and located (exit code 3); bad inputs get clear
//! errors.

use std::path::Path;

use assert_cmd::Command;
use coalition_core::encoding::Encode;

fn coalition() -> Command {
    Command::cargo_bin("coalition").expect("the coalition binary")
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn with_db<T>(dir: &Path, f: impl FnOnce(&rocksdb::DB) -> T) -> T {
    let path = dir.join("db");
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
    f(&db)
}

fn block_bytes(dir: &Path, height: u64) -> Vec<u8> {
    with_db(dir, |db| {
        db.get_cf(db.cf_handle("blocks").unwrap(), height.to_be_bytes())
            .unwrap()
            .expect("block stored")
    })
}

fn put(dir: &Path, cf: &str, key: &[u8], value: &[u8]) {
    with_db(dir, |db| {
        db.put_cf(db.cf_handle(cf).unwrap(), key, value).unwrap()
    })
}

/// A data directory written by `coalition demo --data-dir`.
fn demo_ledger() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let demo = coalition()
        .arg("demo")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}{}", stdout(&demo), stderr(&demo));
    dir
}

/// A chain ID no ledger here has.
const OTHER_CHAIN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain ID of the ledger in `dir`, as its genesis gives it (what an
/// auditor learns from the coalition, not from the source it audits).
fn chain_of(dir: &Path) -> String {
    let store = coalition_node::store::Store::open_read_only(&dir.join("db")).unwrap();
    hex::encode(store.genesis().unwrap().expect("a genesis").chain_id().0)
}

/// `coalition audit <args> --allow-dev --chain <its ID> --data-dir <dir>`:
/// an audit of the (development) chain in `dir`.
fn audit_dev(dir: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let chain = chain_of(dir);
    coalition()
        .arg("audit")
        .args(args)
        .args(["--allow-dev", "--chain", &chain, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap()
}

/// `audit verify` of the (development) chain in `dir`.
fn verify(dir: &Path) -> std::process::Output {
    audit_dev(dir, &["verify".as_ref()])
}

#[test]
fn audit_passes_a_clean_ledger_and_locates_every_tampered_byte() {
    let dir = demo_ledger();

    // Issue 22: the auditor names the chain it expects, and dev keys are a
    // finding unless it says it audits a development chain.
    let chain = chain_of(dir.path());
    let other = coalition()
        .args([
            "audit",
            "verify",
            "--allow-dev",
            "--chain",
            OTHER_CHAIN,
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(3), "{}", stderr(&other));
    assert!(
        stderr(&other).contains(&format!(
            "the ledger is for chain {chain}, not the expected"
        )),
        "{}",
        stderr(&other)
    );
    let dev = coalition()
        .args(["audit", "verify", "--chain", &chain, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(dev.status.code(), Some(3), "{}", stderr(&dev));
    assert!(
        stderr(&dev).contains("INSECURE dev keys"),
        "{}",
        stderr(&dev)
    );
    let unpinned = coalition()
        .args(["audit", "verify", "--allow-dev", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(unpinned.status.code(), Some(2), "--chain is required");

    // Clean: passes, as JSON and as a written report.
    let clean = audit_dev(dir.path(), &["verify".as_ref(), "--json".as_ref()]);
    assert!(
        clean.status.success(),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&clean)).unwrap();
    assert_eq!(report["blocks"], 45);
    assert!(report["finding"].is_null());
    // The independent rules re-derived the grocer's admission, and every
    // epoch's settlement figures were recomputed and matched.
    assert_eq!(report["rules"]["membership_changes"], 1);
    assert_eq!(report["rules"]["exchange_rates"], 1);
    assert!(report["settlement"]["epochs_compared"].as_u64().unwrap() >= 5);
    let out = dir.path().join("report.json");
    let written = audit_dev(
        dir.path(),
        &["report".as_ref(), "--out".as_ref(), out.as_os_str()],
    );
    assert!(written.status.success());
    assert!(stdout(&written).contains("PASSED"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved["state_hash"], report["state_hash"]);

    // One byte changed in block 16 (alice's transfer): in its header, in
    // the transaction's amount, proof and signature, in the length prefix
    // and in the last byte. Each is found and located.
    let original = block_bytes(dir.path(), 16);
    let header_len = 32 + 8 + 32 + 8 + 32 + 32 + 32 + 32;
    let positions = [
        40,                  // previous hash
        80,                  // timestamp
        100,                 // transactions root
        header_len + 2,      // transaction count
        header_len + 12,     // inside the transaction: chain / currency
        header_len + 300,    // the amount's ciphertext
        header_len + 900,    // the proofs
        original.len() - 10, // the signature
        original.len() - 1,
    ];
    for position in positions {
        let mut damaged = original.clone();
        damaged[position] ^= 0x04;
        put(dir.path(), "blocks", &16u64.to_be_bytes(), &damaged);
        let output = verify(dir.path());
        assert_eq!(
            output.status.code(),
            Some(3),
            "byte {position}: {}{}",
            stdout(&output),
            stderr(&output)
        );
        let text = stdout(&output);
        assert!(
            text.contains("FAILED at block 16") || text.contains("FAILED at block 17"),
            "byte {position} not located: {text}"
        );
        if position > header_len + 200 && position < original.len() - 1 {
            assert!(
                text.contains("transaction 0"),
                "byte {position} not pinned to the transaction: {text}"
            );
        }
    }
    put(dir.path(), "blocks", &16u64.to_be_bytes(), &original);
    assert!(verify(dir.path()).status.success());

    // A stored account record that is not what the blocks produce.
    let (key, record) = with_db(dir.path(), |db| {
        let cf = db.cf_handle("accounts").unwrap();
        let (k, v) = db
            .iterator_cf(cf, rocksdb::IteratorMode::Start)
            .next()
            .unwrap()
            .unwrap();
        (k.to_vec(), v.to_vec())
    });
    let mut damaged = record.clone();
    let n = damaged.len();
    damaged[n - 8] ^= 1; // the nonce
    put(dir.path(), "accounts", &key, &damaged);
    let output = verify(dir.path());
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stdout(&output).contains("stored record of account"),
        "{}",
        stdout(&output)
    );
    put(dir.path(), "accounts", &key, &record);

    // Settlement figures that are not what the blocks produce: an exchange
    // group counted twice, a merchant's burn count changed.
    for cf in ["settlement_exchanges", "settlement"] {
        let (key, record) = with_db(dir.path(), |db| {
            let handle = db.cf_handle(cf).unwrap();
            let (k, v) = db
                .iterator_cf(handle, rocksdb::IteratorMode::Start)
                .find(|item| item.as_ref().unwrap().1[0] != 0)
                .unwrap()
                .unwrap();
            (k.to_vec(), v.to_vec())
        });
        let mut damaged = record.clone();
        damaged[0] += 1; // the count (u64 little-endian)
        put(dir.path(), cf, &key, &damaged);
        let output = verify(dir.path());
        assert_eq!(output.status.code(), Some(3), "{cf}");
        let text = stdout(&output);
        assert!(
            text.contains("settlement figures of epoch")
                && text.contains("differ from those the blocks produce"),
            "{cf}: {text}"
        );
        put(dir.path(), cf, &key, &record);
    }
    assert!(verify(dir.path()).status.success());

    // One exported transaction: found, re-verified where it was committed.
    let block = coalition_ledger::block::decode_block(&original).unwrap();
    let tx_file = dir.path().join("transfer.hex");
    std::fs::write(&tx_file, hex::encode(block.transactions[0].to_bytes())).unwrap();
    let checked = audit_dev(dir.path(), &["proof".as_ref(), tx_file.as_os_str()]);
    assert!(
        checked.status.success(),
        "{}{}",
        stdout(&checked),
        stderr(&checked)
    );
    assert!(stdout(&checked).contains("committed at block 16, index 0"));
    assert!(stdout(&checked).contains("VALID"));
    // The same transaction with its signature damaged: not in the ledger,
    // and invalid.
    let mut bytes = block.transactions[0].to_bytes();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(&tx_file, hex::encode(&bytes)).unwrap();
    let forged = audit_dev(dir.path(), &["proof".as_ref(), tx_file.as_os_str()]);
    assert_eq!(
        forged.status.code(),
        Some(3),
        "{}{}",
        stdout(&forged),
        stderr(&forged)
    );
    assert!(stdout(&forged).contains("INVALID"));
}

#[test]
fn bad_inputs_get_clear_errors() {
    // Nothing listening.
    let output = coalition()
        .args([
            "audit",
            "verify",
            "--chain",
            OTHER_CHAIN,
            "--node",
            "127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no coalition node answers at 127.0.0.1:9"));
    // No ledger in the directory.
    let empty = tempfile::tempdir().unwrap();
    let output = coalition()
        .args(["audit", "verify", "--chain", OTHER_CHAIN, "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no ledger database"),
        "{}",
        stderr(&output)
    );
    // Neither source given: usage error.
    let output = coalition().args(["audit", "verify"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    // Not a transaction.
    let junk = empty.path().join("junk");
    std::fs::write(&junk, "00ff").unwrap();
    let output = coalition()
        .args(["audit", "proof"])
        .arg(&junk)
        .args(["--chain", OTHER_CHAIN, "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not a transaction"));

    // Key files: created 0600, shown without the secret unless asked,
    // refused when others can read them or when they are not key files.
    let key = empty.path().join("auditor.key");
    let created = coalition()
        .args(["keys", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(created.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let shown = coalition()
        .args(["keys", "show", "--json"])
        .arg(&key)
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert!(shown["seed"].is_null());
    assert_eq!(shown["loyalty_id"].as_str().unwrap().len(), 64);
    let again = coalition()
        .args(["keys", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "never overwrites a key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let output = coalition()
            .args(["keys", "show"])
            .arg(&key)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(stderr(&output).contains("readable by others"));
    }
    let output = coalition()
        .args(["keys", "show"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn node_check(dir: &Path) -> std::process::Output {
    coalition()
        .args(["node", "check", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap()
}

/// Issue 21: one flipped byte in a table file used to go unnoticed until a
/// request read it (21 of 24 damaged files started). `coalition node
/// check` reads everything: each table file of a demo ledger damaged in
/// turn is found (exit code 3), as is a transaction missing from the index.
#[test]
fn node_check_finds_a_byte_flipped_in_any_table_file() {
    let dir = demo_ledger();
    let clean = node_check(dir.path());
    assert!(clean.status.success(), "{}", stderr(&clean));
    assert!(
        stdout(&clean).contains("no damage found"),
        "{}",
        stdout(&clean)
    );

    let mut tables: Vec<_> = std::fs::read_dir(dir.path().join("db"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".sst"))
        .collect();
    tables.sort();
    // The demo's node closed cleanly, so its state is in table files.
    assert!(!tables.is_empty(), "no table files after a clean close");
    let copies = tempfile::tempdir().unwrap();
    for (i, table) in tables.iter().enumerate() {
        let copy = copies.path().join(i.to_string());
        copy_tree(dir.path(), &copy);
        let file = copy.join("db").join(table);
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes.len() / 3;
        bytes[at] ^= 0x20;
        std::fs::write(&file, bytes).unwrap();
        let damaged = node_check(&copy);
        assert_eq!(
            damaged.status.code(),
            Some(3),
            "{table:?} damaged at byte {at} not found: {}{}",
            stdout(&damaged),
            stderr(&damaged)
        );
        assert!(stderr(&damaged).contains("damaged"), "{}", stderr(&damaged));
    }

    // A transaction's index entry lost: found, named.
    let copy = copies.path().join("index");
    copy_tree(dir.path(), &copy);
    let block = coalition_ledger::block::decode_block(&block_bytes(&copy, 1)).unwrap();
    let id = block.transactions[0].id();
    with_db(&copy, |db| {
        db.delete_cf(db.cf_handle("transactions").unwrap(), id.0)
            .unwrap()
    });
    let damaged = node_check(&copy);
    assert_eq!(damaged.status.code(), Some(3), "{}", stderr(&damaged));
    assert!(
        stderr(&damaged).contains("missing from the index"),
        "{}",
        stderr(&damaged)
    );

    // Not a data directory: an error, not damage.
    let empty = tempfile::tempdir().unwrap();
    let none = node_check(empty.path());
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
}
