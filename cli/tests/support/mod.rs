//! Shared by the tests that run `coalition node` as a process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `coalition node` on a loopback port with its data in `data_dir`
/// and waits until it listens; its stdout keeps being drained so it never
/// blocks on it.
#[allow(dead_code)]
pub fn start_node(data_dir: &std::path::Path, block_interval_ms: u64) -> (Child, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coalition"));
    command
        .args(["node", "--listen", "127.0.0.1:0", "--block-interval-ms"])
        .arg(block_interval_ms.to_string())
        .arg("--data-dir")
        .arg(data_dir);
    spawn_listening(command)
}

/// Starts `coalition prover serve` (CPU backend) on a loopback port and
/// waits until it listens.
#[allow(dead_code)]
pub fn start_prover() -> (Child, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coalition"));
    command.args([
        "prover",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        "cpu",
    ]);
    spawn_listening(command)
}

/// Spawns `command` (a `coalition node …` or `coalition prover serve …`)
/// and waits until it prints the address it listens on (`listening on
/// ADDR`, the address optionally as `http://ADDR`).
pub fn spawn_listening(mut command: Command) -> (Child, SocketAddr) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("coalition node starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node did not come up");
        }
        match lines.next() {
            Some(Ok(line)) => {
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let addr = rest
                        .trim_start_matches("http://")
                        .split_whitespace()
                        .next()
                        .unwrap_or_default();
                    std::thread::spawn(move || for _ in lines.by_ref() {});
                    return (child, addr.parse().unwrap());
                }
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node exited before listening (did it refuse its data dir?)")
            }
        }
    }
}
