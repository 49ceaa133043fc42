//! `prover-load`: a load client for a running `coalition prover serve`.
//! Sends an untimed warm-up round first (`--warmup` jobs, default
//! `min(jobs, 64)`: the service's first batch uploads the key's bases and
//! grows its buffers), then submits `--jobs` Spend jobs at once (distinct
//! statements from the test fixtures) and times them, then one false
//! statement, which must be refused with 422. Checks every answer itself
//! (each proof with the Groth16 verifier against its own public inputs,
//! each answer's backend the one `/v1/health` named, so a failover
//! mid-run is a failure, not a slow GPU) and prints verified proofs/s end
//! to end with the batch sizes. Exits non-zero if any proof is missing or
//! does not verify.
//!
//! `prover-load [--addr 127.0.0.1:8787] [--jobs 64] [--warmup N] [--wait-s 180]`
//!
//! The keys come from the same INSECURE dev setup as the service's
//! (`COALITION_PARAMS_DIR`): run both against one parameters directory.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ark_bn254::Fr;
use coalition_circuits::note::AssetId;
use coalition_circuits::testing::spend_fixture;
use coalition_core::encoding::decode_exact;
use coalition_core::shielded::Groth16Proof;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover_service::ProveRequest;
use coalition_verifier::groth16::{verify_groth16, Groth16Item};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer read back (a proof answer is a few hundred bytes).
const MAX_ANSWER_BYTES: u64 = 64 << 10;

/// One HTTP/1.1 exchange: (status, body).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream
        .take(MAX_ANSWER_BYTES)
        .read_to_string(&mut response)
        .await?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn flag<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}"))
        })
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let addr: SocketAddr = flag("--addr", "127.0.0.1:8787".parse().expect("address"));
    let jobs: usize = flag("--jobs", 64);
    let warmup: usize = flag("--warmup", jobs.min(64));
    let wait = Duration::from_secs(flag("--wait-s", 180));
    if jobs == 0 {
        eprintln!("--jobs must be at least 1");
        std::process::exit(2);
    }

    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).expect("dev keys");
    let spend_vk = ark_groth16::prepare_verifying_key(&keys.spend.vk);
    // Distinct statements: a fixture per job (different notes, values and
    // tree positions), built on every core.
    let statements: Vec<(String, Vec<Fr>)> = (0..jobs as u64)
        .into_par_iter()
        .map(|seed| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let f = spend_fixture(
                [9; 32],
                AssetId(1),
                (300 + seed, Some(500)),
                400,
                2,
                &mut rng,
            );
            (
                serde_json::to_string(&ProveRequest::spend(&f.public, &f.witness)).expect("json"),
                f.public.to_field_elements(),
            )
        })
        .collect();
    // And one false statement (change worth one more than the notes allow).
    let false_job = {
        let mut value: Value = serde_json::from_str(&statements[0].0).expect("json");
        let change = value["change_value"].as_u64().expect("change value");
        value["change_value"] = Value::from(change + 1);
        value.to_string()
    };

    // Wait for the service (it compiles or loads kernels and keys first).
    let started = Instant::now();
    let backend = loop {
        match http(addr, "GET", "/v1/health", "").await {
            Ok((200, body)) => {
                let v: Value = serde_json::from_str(&body).expect("health json");
                break v["backend"].as_str().unwrap_or("?").to_string();
            }
            _ if started.elapsed() < wait => tokio::time::sleep(Duration::from_millis(200)).await,
            other => panic!("no service at {addr} after {wait:?}: {other:?}"),
        }
    };
    println!("service at {addr}: backend {backend}");

    if warmup > 0 {
        let t = Instant::now();
        let bodies = statements
            .iter()
            .cycle()
            .take(warmup)
            .map(|(b, _)| b.clone());
        let proven = submit(addr, bodies.collect())
            .await
            .iter()
            .filter(|(status, _)| *status == 200)
            .count();
        println!(
            "warm-up: {proven} of {warmup} jobs proven in {:.2} s (not counted)",
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let answers = submit(addr, statements.iter().map(|(b, _)| b.clone()).collect()).await;
    let elapsed = t.elapsed();
    let (status, body) = submit(addr, vec![false_job]).await.remove(0);
    assert_eq!(status, 422, "the false statement was not refused: {body}");

    let mut batch_sizes = std::collections::BTreeMap::new();
    let mut failures = 0;
    for ((status, body), (_, inputs)) in answers.iter().zip(&statements) {
        if *status != 200 {
            eprintln!("job refused: {status} {body}");
            failures += 1;
            continue;
        }
        let v: Value = serde_json::from_str(body).expect("answer json");
        *batch_sizes
            .entry(v["batch_size"].as_u64().unwrap_or(0))
            .or_insert(0) += 1;
        let answered_backend = v["backend"].as_str().unwrap_or("?");
        if answered_backend != backend {
            eprintln!("proven by {answered_backend}, not {backend}");
            failures += 1;
            continue;
        }
        let proof: Option<Groth16Proof> = v["proof"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .and_then(|bytes| decode_exact(&bytes).ok());
        let verified = proof.is_some_and(|proof| {
            verify_groth16(&Groth16Item {
                key: &spend_vk,
                inputs,
                proof: &proof,
            })
            .is_ok()
        });
        if !verified {
            eprintln!("a proof does not verify");
            failures += 1;
        }
    }
    println!(
        "{jobs} Spend jobs: {:.2} s, {:.2} verified proofs/s end to end; every proof verified here: {}; batch sizes (size: jobs) {batch_sizes:?}; backend {backend}; the false statement got 422",
        elapsed.as_secs_f64(),
        (jobs - failures) as f64 / elapsed.as_secs_f64(),
        failures == 0
    );
    if failures > 0 {
        eprintln!("{failures} of {jobs} jobs failed");
        std::process::exit(1);
    }
}

/// `bodies` posted to `/v1/prove` all at once; the answers in order.
async fn submit(addr: SocketAddr, bodies: Vec<String>) -> Vec<(u16, String)> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| tokio::spawn(async move { http(addr, "POST", "/v1/prove", &body).await }))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task").expect("answer"));
    }
    answers
}
