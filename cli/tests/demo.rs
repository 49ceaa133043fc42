//! The README's main job runs end to end through the real binary.

use std::process::Command;

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
    assert!(stdout.contains("all proofs verify; state identical"));
    assert!(stdout.contains("refused (insufficient balance"));
    assert!(stdout.contains("pays 700 MILES to the grocer"));
    assert!(stdout.contains("bob's ID in its bytes: false"));
    assert!(stdout.contains("nullifier already spent"));
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
