//! The wallet and partner subcommands through the real binary, against a
//! `coalition node` process on loopback (the development coalition): a
//! partner registers a currency and issues points; a customer syncs,
//! applies, transfers, shields and redeems at a member; a wallet restored
//! from its seed finds the same balances; every bad input gets a clear
//! error and a documented exit code.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};

use assert_cmd::Command;

struct NodeProcess(Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod support;

fn start_node(data_dir: &Path) -> (NodeProcess, SocketAddr) {
    let (child, addr) = support::start_node(data_dir, 20);
    (NodeProcess(child), addr)
}

fn run(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("coalition")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fails(args: &[&str], code: i32, message: &str) {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr}"
    );
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

fn balance(wallet: &str, node: &str, currency: &str) -> (u64, u64, u64) {
    let all = json(&[
        "wallet", "--wallet", wallet, "--node", node, "balance", "--json",
    ]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == currency)
        .map(|b| {
            (
                b["available"].as_u64().unwrap(),
                b["pending"].as_u64().unwrap(),
                b["shielded"].as_u64().unwrap(),
            )
        })
        .unwrap_or((0, 0, 0))
}

#[test]
fn a_customer_and_a_partner_drive_a_node_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, addr) = start_node(&dir.path().join("node"));
    let node = addr.to_string();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (airline_key, hotel_key, alice, bob) = (
        path("airline.key"),
        path("hotel.key"),
        path("alice"),
        path("bob"),
    );

    // The development coalition's founders.
    ok(&["keys", "dev", "airline", "--out", &airline_key]);
    ok(&["keys", "dev", "hotel", "--out", &hotel_key]);
    let hotel_identity = json(&["keys", "show", "--json", &hotel_key])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&[
        "partner",
        "--key",
        &airline_key,
        "--node",
        &node,
        "register-currency",
        "--symbol",
        "MILES",
    ]);

    // Two customers.
    let created = ok(&["wallet", "--wallet", &alice, "--node", &node, "init"]);
    assert!(created.contains("loyalty ID"));
    let seed = ok(&["wallet", "--wallet", &alice, "seed"]);
    assert_eq!(seed.trim().len(), 64);
    assert!(!created.contains(seed.trim()), "init never prints the seed");
    ok(&["wallet", "--wallet", &bob, "--node", &node, "init"]);
    let alice_identity = json(&["wallet", "--wallet", &alice, "id", "--json"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let bob_identity = json(&["wallet", "--wallet", &bob, "id", "--json"])["identity"]
        .as_str()
        .unwrap()
        .to_string();

    // The airline issues; alice syncs, sees it pending, applies it.
    ok(&[
        "partner",
        "--key",
        &airline_key,
        "--node",
        &node,
        "issue",
        "--currency",
        "MILES",
        "--to",
        &alice_identity,
        "--amount",
        "500",
    ]);
    ok(&["wallet", "--wallet", &alice, "sync"]);
    assert_eq!(balance(&alice, &node, "MILES"), (0, 500, 0));
    ok(&[
        "wallet",
        "--wallet",
        &alice,
        "apply-pending",
        "--currency",
        "MILES",
    ]);
    assert_eq!(balance(&alice, &node, "MILES"), (500, 0, 0));

    // A transfer, then bob applies it.
    ok(&[
        "wallet",
        "--wallet",
        &alice,
        "transfer",
        "--currency",
        "MILES",
        "--to",
        &bob_identity,
        "--amount",
        "120",
    ]);
    ok(&["wallet", "--wallet", &bob, "sync"]);
    ok(&[
        "wallet",
        "--wallet",
        &bob,
        "apply-pending",
        "--currency",
        "MILES",
    ]);
    assert_eq!(balance(&bob, &node, "MILES"), (120, 0, 0));
    let history = json(&["wallet", "--wallet", &bob, "history", "--json"]);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "transfer" && e["amount"] == 120 && e["direction"] == "in"));

    // Shield and redeem at the hotel (a member): the hotel's pending grows.
    ok(&[
        "wallet",
        "--wallet",
        &alice,
        "shield",
        "--currency",
        "MILES",
        "--amount",
        "200",
    ]);
    assert_eq!(balance(&alice, &node, "MILES"), (180, 0, 200));
    let redeem_args = |amount: &'static str, extra: &[&'static str]| {
        let mut args = vec![
            "wallet",
            "--wallet",
            &alice,
            "redeem",
            "--currency",
            "MILES",
            "--merchant",
            &hotel_identity,
            "--amount",
            amount,
        ];
        args.extend_from_slice(extra);
        args
    };
    ok(&redeem_args("130", &[]));
    assert_eq!(balance(&alice, &node, "MILES"), (180, 0, 70));
    // The next Redeem's Spend proof is delegated to a prover service (it
    // gets ak, nk, α and the notes, never ask); the wallet signs.
    let (prover, prover_addr) = support::start_prover();
    let prover = NodeProcess(prover);
    let prover_arg = prover_addr.to_string();
    let mut delegated_args = redeem_args("20", &["--prover"]);
    delegated_args.push(&prover_arg);
    let delegated = ok(&delegated_args);
    assert!(
        delegated.contains("delegated to the prover service"),
        "{delegated}"
    );
    drop(prover);
    assert_eq!(balance(&alice, &node, "MILES"), (180, 0, 50));
    // A prover off this machine is refused before anything is sent (the
    // job would travel in plain HTTP). TEST-NET-1: never contacted.
    fails(
        &redeem_args("5", &["--prover", "192.0.2.1:8787"]),
        1,
        "not a loopback address",
    );
    assert_eq!(balance(&alice, &node, "MILES"), (180, 0, 50));
    let settlement = json(&[
        "partner",
        "--key",
        &hotel_key,
        "--node",
        &node,
        "settlement",
        "--epoch",
        "0",
        "--json",
    ]);
    assert_eq!(settlement["pairs"][0]["role"], "merchant");
    assert_eq!(settlement["pairs"][0]["redeemed"], 150);

    // Terms between the airline and the hotel: 2 MILES buy 3 HPTS, and 10
    // HPTS per unit spent at the hotel. HPTS is audited by an auditor key.
    let auditor_key = path("auditor.key");
    ok(&["keys", "new", "--out", &auditor_key]);
    let auditor_public = json(&["keys", "show", "--json", &auditor_key])["encryption_key"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&[
        "partner",
        "--key",
        &hotel_key,
        "--node",
        &node,
        "register-currency",
        "--symbol",
        "HPTS",
        "--auditor",
        &auditor_public,
        "--settlement-value",
        "1/2",
    ]);
    let airline_identity = json(&["keys", "show", "--json", &airline_key])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let hotel_id = json(&["keys", "show", "--json", &hotel_key])["loyalty_id"]
        .as_str()
        .unwrap()
        .to_string();
    let terms = path("terms.json");
    std::fs::write(
        &terms,
        serde_json::json!({
            "version": 1,
            "partners": [airline_identity, hotel_identity],
            "rates": [{ "from": "MILES", "to": "HPTS", "rate": [3, 2] }],
            "earn_rules": [{ "partner": hotel_id, "currency": "HPTS", "match": "any", "points_per_unit": [10, 1] }],
        })
        .to_string(),
    )
    .unwrap();
    let collected = path("terms.signed.json");
    ok(&[
        "partner",
        "--key",
        &airline_key,
        "--node",
        &node,
        "terms",
        "sign",
        "--terms",
        &terms,
        "--out",
        &collected,
    ]);
    fails(
        &[
            "partner",
            "--key",
            &airline_key,
            "--node",
            &node,
            "terms",
            "submit",
            "--signed",
            &collected,
        ],
        1,
        "has not signed",
    );
    ok(&[
        "partner", "--key", &hotel_key, "--node", &node, "terms", "sign", "--terms", &collected,
        "--out", &collected,
    ]);
    ok(&[
        "partner", "--key", &hotel_key, "--node", &node, "terms", "submit", "--signed", &collected,
    ]);
    // A purchase at the hotel earns HPTS; alice exchanges 100 MILES into 150 HPTS.
    let bought = ok(&[
        "partner",
        "--key",
        &hotel_key,
        "--node",
        &node,
        "purchase",
        "--customer",
        &alice_identity,
        "--item",
        "NIGHT:rooms:12",
    ]);
    assert!(bought.contains("issued 120 HPTS"), "{bought}");
    ok(&[
        "wallet", "--wallet", &alice, "exchange", "--from", "MILES", "--to", "HPTS", "--amount",
        "100",
    ]);
    ok(&["wallet", "--wallet", &alice, "sync"]);
    assert_eq!(balance(&alice, &node, "HPTS"), (0, 270, 0));
    ok(&[
        "wallet",
        "--wallet",
        &alice,
        "apply-pending",
        "--currency",
        "HPTS",
    ]);
    assert_eq!(balance(&alice, &node, "MILES"), (80, 0, 50));
    assert_eq!(balance(&alice, &node, "HPTS"), (270, 0, 0));

    // The hotel folds in the 150 MILES it was paid and burns them back to
    // the airline; each side's netting view reads its own figure.
    let hotel_seed = json(&["keys", "show", "--json", "--secret", &hotel_key])["seed"]
        .as_str()
        .unwrap()
        .to_string();
    let hotel_wallet = path("hotel-wallet");
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_coalition"))
        .args([
            "wallet",
            "--wallet",
            &hotel_wallet,
            "--node",
            &node,
            "init",
            "--restore",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(hotel_seed.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    ok(&[
        "wallet",
        "--wallet",
        &hotel_wallet,
        "apply-pending",
        "--currency",
        "MILES",
    ]);
    ok(&[
        "partner",
        "--key",
        &hotel_key,
        "--node",
        &node,
        "burn",
        "--currency",
        "MILES",
        "--amount",
        "150",
    ]);
    let hotel_net = json(&[
        "partner", "--key", &hotel_key, "--node", &node, "netting", "--json",
    ]);
    let airline_net = json(&[
        "partner",
        "--key",
        &airline_key,
        "--node",
        &node,
        "netting",
        "--json",
    ]);
    // 150 MILES burned at the hotel (value 1/1) and 150 HPTS created from
    // alice's 100 MILES at 3/2 (HPTS value 1/2): the airline owes the
    // hotel 150 + 75, read alike from either side's key.
    assert_eq!(hotel_net["net"], "225");
    assert_eq!(airline_net["net"], "-225");
    let exchange_row = |net: &serde_json::Value| {
        net["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["figure"] == "150 HPTS created from MILES at 3/2")
            .map(|f| f["value"].clone())
    };
    assert_eq!(exchange_row(&hotel_net), Some("75".into()));
    assert_eq!(exchange_row(&airline_net), Some("-75".into()));

    // The auditor replays the node's ledger and reconciles HPTS.
    let chain = hex::encode(
        coalition_api::client::Client::new(node.parse().unwrap())
            .status()
            .unwrap()
            .chain
            .0,
    );
    let audited = ok(&[
        "audit",
        "verify",
        "--allow-dev",
        "--chain",
        &chain,
        "--node",
        &node,
        "--auditor-key",
        &auditor_key,
    ]);
    assert!(
        audited.contains(
            "HPTS: issued 120 − burned 0 − exchanged out 0 + in 150 = accounts 270 + pool 0"
        ),
        "{audited}"
    );
    assert!(audited.contains("PASSED"), "{audited}");

    // Restored from its seed, the wallet rescans to the same balances and notes.
    let restored = path("alice-restored");
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_coalition"))
        .args([
            "wallet",
            "--wallet",
            &restored,
            "--node",
            &node,
            "init",
            "--restore",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(seed.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(balance(&restored, &node, "MILES"), (80, 0, 50));
    assert_eq!(balance(&restored, &node, "HPTS"), (270, 0, 0));

    // Failure paths, each with a clear message and exit code 1.
    fails(
        &[
            "wallet",
            "--wallet",
            &alice,
            "transfer",
            "--currency",
            "MILES",
            "--to",
            &bob_identity,
            "--amount",
            "100000",
        ],
        1,
        "insufficient balance: 80 MILES available, 100000 needed",
    );
    fails(
        &[
            "wallet",
            "--wallet",
            &alice,
            "transfer",
            "--currency",
            "NOPE",
            "--to",
            &bob_identity,
            "--amount",
            "1",
        ],
        1,
        "currency NOPE is not registered",
    );
    fails(
        &[
            "wallet",
            "--wallet",
            &alice,
            "transfer",
            "--currency",
            "MILES",
            "--to",
            "abcd",
            "--amount",
            "1",
        ],
        1,
        "not a valid identity",
    );
    fails(
        &[
            "wallet",
            "--wallet",
            &alice,
            "redeem",
            "--currency",
            "MILES",
            "--merchant",
            &hotel_identity,
            "--amount",
            "51",
        ],
        1,
        "insufficient balance",
    );
    fails(
        &[
            "wallet",
            "--wallet",
            &alice,
            "--node",
            "127.0.0.1:9",
            "balance",
        ],
        1,
        "node unreachable at 127.0.0.1:9",
    );
    fails(
        &["wallet", "--wallet", &path("nobody"), "balance"],
        1,
        "no wallet in",
    );
    fails(
        &["wallet", "--wallet", &alice, "--node", &node, "init"],
        1,
        "a wallet already exists",
    );
    let junk = path("junk.key");
    std::fs::write(&junk, "not a key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    fails(
        &[
            "partner",
            "--key",
            &junk,
            "--node",
            &node,
            "issue",
            "--currency",
            "MILES",
            "--to",
            &bob_identity,
            "--amount",
            "1",
        ],
        1,
        "not a coalition key file",
    );
    fails(
        &[
            "partner",
            "--key",
            &hotel_key,
            "--node",
            &node,
            "issue",
            "--currency",
            "MILES",
            "--to",
            &bob_identity,
            "--amount",
            "1",
        ],
        1,
        "does not issue MILES",
    );
    // A currency registered by a non-member is refused by the node.
    let outsider = path("outsider.key");
    ok(&["keys", "new", "--out", &outsider]);
    fails(
        &[
            "partner",
            "--key",
            &outsider,
            "--node",
            &node,
            "register-currency",
            "--symbol",
            "FAKE",
        ],
        1,
        "not a member",
    );
}
