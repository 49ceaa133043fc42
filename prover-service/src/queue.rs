//! The bounded job queue and the batching worker.
//!
//! Jobs enter a bounded channel (`try_send`: a full queue is refused at once
//! with backpressure, never buffered without limit). One worker takes the
//! first waiting job, then keeps collecting until the batch is full or
//! `max_wait` has passed, and proves the batch on a blocking thread:
//! witnesses are synthesized and checked in parallel, then proven one after
//! then the satisfied statements of each circuit are proven together with
//! `prove_batch_with_backend`: each of the five MSMs runs once for the whole
//! group, one pass over the proving key's bases on the GPU. Each job's
//! outcome goes back on its own channel; a false statement fails alone, and
//! a panic fails only its group.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::ProvingKey;
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::SpendCircuit;
use coalition_core::encoding::Encode;
use coalition_prover::backend::ProvingBackend;
use coalition_prover::groth16::{prove_batch_with_backend, synthesize_checked, R1cs};
use rand_core::OsRng;
use rayon::prelude::*;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use crate::jobs::Circuit;

/// Queue and batch sizes.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// Jobs waiting at most (beyond: refused).
    pub capacity: usize,
    /// Jobs per batch at most.
    pub max_batch: usize,
    /// How long the first job of a batch waits for company.
    pub max_wait: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 256,
            max_batch: 16,
            max_wait: Duration::from_millis(20),
        }
    }
}

/// A proof, or why there is none.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The queue is full: retry later.
    #[error("the proving queue is full")]
    QueueFull,
    /// The witness does not satisfy the circuit (or another prover error).
    #[error("{0}")]
    Rejected(String),
    /// The service failed on this job (it keeps serving the others).
    #[error("internal error: {0}")]
    Internal(String),
}

/// A finished job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// The 128-byte compressed proof.
    pub proof: Vec<u8>,
    /// How many jobs shared its batch.
    pub batch_size: usize,
    /// Milliseconds from enqueue to the start of its batch.
    pub queued_ms: u64,
    /// Milliseconds its batch took.
    pub batch_ms: u64,
}

struct Job {
    circuit: Circuit,
    enqueued: Instant,
    reply: oneshot::Sender<Result<JobOutput, JobError>>,
}

/// The proving keys a service proves with.
#[derive(Clone)]
pub struct Keys {
    /// Output key.
    pub output: Arc<ProvingKey<Bn254>>,
    /// Spend key.
    pub spend: Arc<ProvingKey<Bn254>>,
}

/// Counters exported on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Jobs accepted into the queue.
    pub accepted: AtomicU64,
    /// Jobs refused because the queue was full.
    pub refused_full: AtomicU64,
    /// Proofs made.
    pub proofs: AtomicU64,
    /// Jobs that failed.
    pub failed: AtomicU64,
    /// Batches run.
    pub batches: AtomicU64,
    /// Jobs waiting or being proven.
    pub in_flight: AtomicU64,
    /// Proofs per second of the last batch, times 1000.
    pub last_batch_milli_proofs_per_s: AtomicU64,
}

/// The submitting side of the queue.
#[derive(Clone)]
pub struct Queue {
    tx: mpsc::Sender<Job>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Backend name.
    pub backend: String,
}

impl Queue {
    /// Starts the worker on the current tokio runtime.
    pub fn start(config: QueueConfig, keys: Keys, backend: Arc<dyn ProvingBackend>) -> Queue {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let metrics = Arc::new(Metrics::default());
        let queue = Queue {
            tx,
            metrics: metrics.clone(),
            backend: backend.name(),
        };
        tokio::spawn(worker(rx, config, keys, backend, metrics));
        queue
    }

    /// Queues `circuit` and waits for its proof.
    pub async fn prove(&self, circuit: Circuit) -> Result<JobOutput, JobError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            circuit,
            enqueued: Instant::now(),
            reply,
        };
        if self.tx.try_send(job).is_err() {
            self.metrics.refused_full.fetch_add(1, Ordering::Relaxed);
            return Err(JobError::QueueFull);
        }
        self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
        self.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        answer
            .await
            .unwrap_or_else(|_| Err(JobError::Internal("the worker dropped the job".into())))
    }
}

async fn worker(
    mut rx: mpsc::Receiver<Job>,
    config: QueueConfig,
    keys: Keys,
    backend: Arc<dyn ProvingBackend>,
    metrics: Arc<Metrics>,
) {
    // Build both circuits' shared R1CS before the first job, so the first
    // batch does not pay for it (and a circuit that cannot be built shows
    // up in the log at start, not as a failed job).
    let warm = tokio::task::spawn_blocking(|| {
        R1cs::for_circuit::<OutputCircuit>().and(R1cs::for_circuit::<SpendCircuit>())
    })
    .await;
    if !matches!(warm, Ok(Ok(_))) {
        eprintln!("prover: could not prepare the circuits' R1CS; jobs will report why");
    }
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + config.max_wait;
        let mut batch = vec![first];
        while batch.len() < config.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => batch.push(job),
                _ => break,
            }
        }
        let (keys, backend, metrics) = (keys.clone(), backend.clone(), metrics.clone());
        // The blocking pool runs the batch; a panic there is caught per job.
        let _ =
            tokio::task::spawn_blocking(move || run_batch(batch, &keys, &*backend, &metrics)).await;
    }
}

fn run_batch(batch: Vec<Job>, keys: &Keys, backend: &dyn ProvingBackend, metrics: &Metrics) {
    let started = Instant::now();
    let size = batch.len();
    let synthesized: Vec<_> = batch
        .par_iter()
        .map(|job| {
            let name = job.circuit.name();
            let circuit = job.circuit.clone();
            catch_unwind(AssertUnwindSafe(|| match circuit {
                Circuit::Output(c) => synthesize_checked(name, c),
                Circuit::Spend(c) => synthesize_checked(name, c),
            }))
        })
        .collect();
    // Satisfied statements, grouped by circuit, proven one batch per key.
    let mut outcomes: Vec<Option<Result<Vec<u8>, JobError>>> = vec![None; size];
    let mut groups: [(Vec<usize>, Vec<coalition_prover::groth16::Synthesized>); 2] =
        Default::default();
    for (i, (job, synthesized)) in batch.iter().zip(synthesized).enumerate() {
        match synthesized {
            Err(_) => outcomes[i] = Some(Err(JobError::Internal("synthesis panicked".into()))),
            Ok(Err(e)) => outcomes[i] = Some(Err(JobError::Rejected(e.to_string()))),
            Ok(Ok(s)) => {
                let g = usize::from(matches!(job.circuit, Circuit::Spend(_)));
                groups[g].0.push(i);
                groups[g].1.push(s);
            }
        }
    }
    for (g, (indices, statements)) in groups.iter().enumerate() {
        if indices.is_empty() {
            continue;
        }
        let key = if g == 1 { &keys.spend } else { &keys.output };
        // Fresh zero-knowledge randomness per proof, from the OS.
        let randomness: Vec<(Fr, Fr)> = statements
            .iter()
            .map(|_| (Fr::rand(&mut OsRng), Fr::rand(&mut OsRng)))
            .collect();
        let result = catch_unwind(AssertUnwindSafe(|| {
            prove_batch_with_backend(key, statements, &randomness, backend)
        }));
        match result {
            Ok(Ok(proofs)) => {
                for (&i, proof) in indices.iter().zip(proofs) {
                    outcomes[i] = Some(Ok(proof.to_bytes()));
                }
            }
            Ok(Err(e)) => {
                for &i in indices {
                    outcomes[i] = Some(Err(JobError::Rejected(e.to_string())));
                }
            }
            Err(_) => {
                for &i in indices {
                    outcomes[i] = Some(Err(JobError::Internal("proving panicked".into())));
                }
            }
        }
    }
    let outcomes: Vec<Result<Vec<u8>, JobError>> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(JobError::Internal("job was not processed".into()))))
        .collect();
    let proven = outcomes.iter().filter(|o| o.is_ok()).count() as u64;
    let elapsed = started.elapsed();
    metrics.batches.fetch_add(1, Ordering::Relaxed);
    metrics.proofs.fetch_add(proven, Ordering::Relaxed);
    metrics
        .failed
        .fetch_add(size as u64 - proven, Ordering::Relaxed);
    metrics.in_flight.fetch_sub(size as u64, Ordering::Relaxed);
    metrics.last_batch_milli_proofs_per_s.store(
        (proven as f64 / elapsed.as_secs_f64().max(1e-9) * 1000.0) as u64,
        Ordering::Relaxed,
    );
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        let queued_ms = started.duration_since(job.enqueued).as_millis() as u64;
        let _ = job.reply.send(outcome.map(|proof| JobOutput {
            proof,
            batch_size: size,
            queued_ms,
            batch_ms: elapsed.as_millis() as u64,
        }));
    }
}
