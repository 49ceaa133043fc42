//! The proving service over real TCP: concurrent jobs batched and proven
//! with verifying proofs, bad witnesses refused without harming the service,
//! malformed jobs refused, backpressure when the queue is full, metrics.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::{AssetId, Note, Rho};
use coalition_circuits::output::{OutputCircuit, OutputPublicInputs};
use coalition_circuits::testing::spend_fixture;
use coalition_core::encoding::decode_exact;
use coalition_core::shielded::Groth16Proof;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::msm::CpuBackend;
use coalition_prover_service::{serve, Keys, ProveRequest, QueueConfig};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn keys() -> &'static ShieldedProvingKeys {
    static KEYS: OnceLock<ShieldedProvingKeys> = OnceLock::new();
    KEYS.get_or_init(|| ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap())
}

async fn start(config: QueueConfig) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let k = keys();
    let service_keys = Keys {
        output: Arc::new(k.output.clone()),
        spend: Arc::new(k.spend.clone()),
    };
    tokio::spawn(serve(listener, config, service_keys, Arc::new(CpuBackend)));
    addr
}

/// A minimal HTTP/1.1 client: returns (status, body).
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn output_job(seed: u64) -> (ProveRequest, Vec<ark_bn254::Fr>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let note = Note::new(
        AssetId(1),
        10 + seed,
        SpendingKey::from_seed(&[2; 32]).address(),
        Rho::random(&mut rng),
        &mut rng,
    );
    let circuit = OutputCircuit::for_note(&note);
    let public = OutputPublicInputs::for_note(&note);
    (
        ProveRequest::output(&public, circuit.assignment.as_ref().unwrap()),
        public.to_field_elements(),
    )
}

fn proof_of(body: &str) -> Groth16Proof {
    let v: Value = serde_json::from_str(body).unwrap();
    decode_exact(&hex::decode(v["proof"].as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_jobs_are_batched_and_their_proofs_verify() {
    let addr = start(QueueConfig {
        capacity: 16,
        max_batch: 8,
        max_wait: Duration::from_millis(300),
    })
    .await;
    let mut tasks = Vec::new();
    for seed in 0..4 {
        let (job, inputs) = output_job(seed);
        let body = serde_json::to_string(&job).unwrap();
        tasks.push(tokio::spawn(async move {
            (http(addr, "POST", "/v1/prove", &body).await, inputs, false)
        }));
    }
    let f = spend_fixture(
        [3; 32],
        AssetId(1),
        (50, Some(70)),
        100,
        2,
        &mut ChaCha20Rng::seed_from_u64(9),
    );
    let body = serde_json::to_string(&ProveRequest::spend(&f.public, &f.witness)).unwrap();
    let spend_inputs = f.public.to_field_elements();
    tasks.push(tokio::spawn(async move {
        (
            http(addr, "POST", "/v1/prove", &body).await,
            spend_inputs,
            true,
        )
    }));

    let output_vk = ark_groth16::prepare_verifying_key(&keys().output.vk);
    let spend_vk = ark_groth16::prepare_verifying_key(&keys().spend.vk);
    let mut largest_batch = 0;
    for task in tasks {
        let ((status, body), inputs, is_spend) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        let proof = proof_of(&body);
        let vk = if is_spend { &spend_vk } else { &output_vk };
        assert!(Groth16::<Bn254>::verify_proof(vk, &proof.0, &inputs).unwrap());
        let v: Value = serde_json::from_str(&body).unwrap();
        largest_batch = largest_batch.max(v["batch_size"].as_u64().unwrap());
    }
    assert!(
        largest_batch > 1,
        "jobs submitted together were never batched"
    );

    let (status, metrics) = http(addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("coalition_prover_jobs_total{outcome=\"proven\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains("coalition_prover_backend_info{backend=\"cpu"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_statements_and_malformed_jobs_are_refused_and_the_service_survives() {
    let addr = start(QueueConfig::default()).await;
    // A witness that does not satisfy Spend: change worth one more.
    let f = spend_fixture(
        [4; 32],
        AssetId(1),
        (50, None),
        20,
        0,
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    let mut job = serde_json::to_value(ProveRequest::spend(&f.public, &f.witness)).unwrap();
    job["change_value"] = Value::from(job["change_value"].as_u64().unwrap() + 1);
    let (status, body) = http(addr, "POST", "/v1/prove", &job.to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("does not satisfy"), "{body}");

    // Malformed: a field element ≥ p, a short path, bad JSON, unknown circuit.
    let mut big = serde_json::to_value(output_job(1).0).unwrap();
    big["owner"] = Value::from("ff".repeat(32));
    let mut short = serde_json::to_value(ProveRequest::spend(&f.public, &f.witness)).unwrap();
    short["inputs"][0]["siblings"].as_array_mut().unwrap().pop();
    for bad in [
        big.to_string(),
        short.to_string(),
        "{not json".into(),
        r#"{"circuit":"mint"}"#.into(),
    ] {
        let (status, body) = http(addr, "POST", "/v1/prove", &bad).await;
        assert_eq!(status, 400, "{bad} -> {body}");
    }
    // Still serving.
    let (job, inputs) = output_job(2);
    let (status, body) = http(
        addr,
        "POST",
        "/v1/prove",
        &serde_json::to_string(&job).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let vk = ark_groth16::prepare_verifying_key(&keys().output.vk);
    assert!(Groth16::<Bn254>::verify_proof(&vk, &proof_of(&body).0, &inputs).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_answers_503() {
    let addr = start(QueueConfig {
        capacity: 1,
        max_batch: 1,
        max_wait: Duration::ZERO,
    })
    .await;
    let f = spend_fixture(
        [5; 32],
        AssetId(1),
        (50, Some(1)),
        20,
        0,
        &mut ChaCha20Rng::seed_from_u64(2),
    );
    let body = serde_json::to_string(&ProveRequest::spend(&f.public, &f.witness)).unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { http(addr, "POST", "/v1/prove", &body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
}
