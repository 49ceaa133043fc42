//! The README's main job runs end to end through the real binary.

use std::process::Command;

mod support;

#[test]
fn demo_runs_and_reconciles() {
    let output = Command::new(env!("CARGO_BIN_EXE_coalition"))
        .arg("demo")
        .output()
        .expect("the coalition binary starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "the grocer is admitted",
        "registers GROC before admission: refused",
        "adopt terms v1",
        "the rules in force owe 1 GROC and 64 MILES",
        "alice decrypts her MILES: 64",
        "the prover refuses",
        "replays her transfer: refused",
        "exchanges 40 MILES into 60 HPTS",
        "Prover service (as a wallet provider runs it; CPU backend): http://127.0.0.1:",
        "the prover service signs the Redeem with what it was sent (ak, nk, α): refused (",
        "signature does not verify",
        "signed by bob's wallet",
        "nothing in its 602 bytes names bob",
        "the same Redeem again: refused",
        "netting in settlement units",
        "airline owes hotel for exchanges MILES → HPTS: 60 HPTS created, worth 30 units",
        "airline -70, hotel +45, grocer +25",
        "the auditor's own netting from the audited currencies (equal to the partners'): airline -70, hotel +45, grocer +25",
        "settlement of 7 epochs recomputed and equal to the node's",
        "MILES: issued 94 − burned 40 − exchanged out 40 + in 0 = 9 in accounts + 5 in the pool: reconciled",
        "registers HPTS (audited; shielded HPTS expire after 1 epoch)",
        "shields 10 HPTS in epoch ",
        "her wallet redeems the 10 HPTS in epoch ",
        ": refused (note not spendable here: note expired",
        "the note's last: refused (transaction 0 rejected: the transaction names settlement epoch ",
        "(epochs 0 to ",
        // The expired 10 HPTS stay in the pool's public total.
        "exchanged out 0 + in 60 = ",
        " in accounts + 10 in the pool: reconciled",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn unknown_subcommand_fails_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_coalition"))
        .arg("no-such-command")
        .output()
        .expect("the coalition binary starts");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"));
}

#[test]
fn prover_serve_answers_health_and_metrics() {
    use std::io::{Read, Write};
    let (mut child, addr) = support::start_prover();
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let health = get("/v1/health");
    let metrics = get("/metrics");
    child.kill().ok();
    child.wait().ok();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"backend\":\"cpu"), "{health}");
    assert!(
        metrics.contains("coalition_prover_queue_depth 0"),
        "{metrics}"
    );
}
