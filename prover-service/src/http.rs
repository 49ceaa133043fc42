//! The HTTP API (axum).
//!
//! | method | path | |
//! |---|---|---|
//! | POST | `/v1/prove` | body: a [`ProveRequest`] (at most [`MAX_JOB_BYTES`], within [`BODY_TIMEOUT`], at most `max_arriving` bodies at once); 200 `{proof, circuit, backend, batch_size, queued_ms, batch_ms}`; 400 malformed; 408 body too slow; 413 too large; 422 unsatisfied witness; 500 the service failed on the job (or its worker stopped; the reason goes to the operator's log, not the answer); 503 queue full or too many bodies arriving; 504 no proof within the job timeout |
//! | GET | `/v1/health` | backend in use and queue state |
//! | GET | `/metrics` | Prometheus text: queue depth, proofs, failures, abandoned jobs, proofs that failed their check, batches, last batch's proofs/s, backend |
//!
//! A job is a witness: its body is wiped once parsed, and no refusal
//! repeats a value from it (a JSON error names a line and column only).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use coalition_api::prover::{ProveAnswer, ProverHealth, ProverRefusal};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::jobs::ProveRequest;
use crate::queue::{JobError, Queue};

/// Largest job body: a Spend job is about 6 KiB of JSON.
pub const MAX_JOB_BYTES: usize = 64 * 1024;
/// How long a job's body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The service's routes over `queue`, receiving at most `max_arriving` job
/// bodies at once.
pub fn router(queue: Queue, max_arriving: usize) -> Router {
    let arriving = Arc::new(Semaphore::new(max_arriving.max(1)));
    Router::new()
        .route("/v1/prove", post(prove))
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(Service { queue, arriving })
}

#[derive(Clone)]
struct Service {
    queue: Queue,
    /// Places for job bodies being received: slow senders hold at most
    /// these many buffers (of at most [`MAX_JOB_BYTES`]) between them.
    arriving: Arc<Semaphore>,
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(ProverRefusal { error: message })).into_response()
}

/// Reads a job's body: at most [`MAX_JOB_BYTES`], within [`BODY_TIMEOUT`].
async fn read_job(request: Request) -> Result<Zeroizing<Vec<u8>>, Response> {
    let read = axum::body::to_bytes(request.into_body(), MAX_JOB_BYTES);
    let body = tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .map_err(|_| {
            error(
                StatusCode::REQUEST_TIMEOUT,
                format!("the job did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            )
        })?
        .map_err(|e| {
            let inner = e.into_inner();
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
            while let Some(cause) = source {
                if cause.is::<http_body_util::LengthLimitError>() {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("a job is at most {MAX_JOB_BYTES} bytes"),
                    );
                }
                source = cause.source();
            }
            error(
                StatusCode::BAD_REQUEST,
                "the job's body could not be read".into(),
            )
        })?;
    // A copy, wiped once parsed. The buffers hyper read it into are not
    // ours to wipe (§14.3 says so).
    Ok(Zeroizing::new(body.to_vec()))
}

async fn prove(State(service): State<Service>, request: Request) -> Response {
    let queue = service.queue;
    let Ok(place) = service.arriving.try_acquire() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many jobs are arriving at once; retry".into(),
        );
    };
    let body = match read_job(request).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    drop(place);
    let request: ProveRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let kind = match e.classify() {
                serde_json::error::Category::Data => "not a proving job",
                serde_json::error::Category::Eof => "cut short",
                _ => "not JSON",
            };
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is {kind} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    drop(body);
    let circuit = match request.into_circuit() {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let name = circuit.name();
    match queue.prove(circuit).await {
        Ok(out) => Json(ProveAnswer {
            circuit: name.to_string(),
            proof: hex::encode(&out.proof),
            backend: queue.backend_name(),
            batch_size: out.batch_size as u64,
            queued_ms: out.queued_ms,
            batch_ms: out.batch_ms,
        })
        .into_response(),
        Err(e @ JobError::QueueFull) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e @ JobError::Rejected(_)) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e @ JobError::TimedOut(_)) => error(StatusCode::GATEWAY_TIMEOUT, e.to_string()),
        // What failed inside (a backend's CUDA error, a path, a panic) goes
        // to the operator's log; the client learns only that it was not its
        // job's fault, as the node answers `internal` (issue 21).
        Err(e @ JobError::Internal(_)) => {
            tracing::error!(error = %e, circuit = name, "a proving job failed inside the service");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the service failed on the job (not the job's fault); its operator's log has \
                 the details"
                    .into(),
            )
        }
    }
}

async fn health(State(Service { queue, .. }): State<Service>) -> Response {
    Json(ProverHealth {
        backend: queue.backend_name(),
        in_flight: queue.metrics.in_flight.load(Ordering::Relaxed),
    })
    .into_response()
}

async fn metrics(State(Service { queue, .. }): State<Service>) -> Response {
    let m = &queue.metrics;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let body = format!(
        "# HELP coalition_prover_queue_depth Jobs waiting or being proven.\n\
         # TYPE coalition_prover_queue_depth gauge\n\
         coalition_prover_queue_depth {}\n\
         # HELP coalition_prover_jobs_total Jobs by outcome.\n\
         # TYPE coalition_prover_jobs_total counter\n\
         coalition_prover_jobs_total{{outcome=\"proven\"}} {}\n\
         coalition_prover_jobs_total{{outcome=\"failed\"}} {}\n\
         coalition_prover_jobs_total{{outcome=\"refused_queue_full\"}} {}\n\
         coalition_prover_jobs_total{{outcome=\"abandoned\"}} {}\n\
         # HELP coalition_prover_bad_proofs_total Proofs made that failed their check (the backend was distrusted).\n\
         # TYPE coalition_prover_bad_proofs_total counter\n\
         coalition_prover_bad_proofs_total {}\n\
         # HELP coalition_prover_batches_total Batches run.\n\
         # TYPE coalition_prover_batches_total counter\n\
         coalition_prover_batches_total {}\n\
         # HELP coalition_prover_last_batch_proofs_per_second Throughput of the last batch.\n\
         # TYPE coalition_prover_last_batch_proofs_per_second gauge\n\
         coalition_prover_last_batch_proofs_per_second {:.3}\n\
         # HELP coalition_prover_backend_info The MSM backend in use.\n\
         # TYPE coalition_prover_backend_info gauge\n\
         coalition_prover_backend_info{{backend=\"{}\"}} 1\n",
        load(&m.in_flight),
        load(&m.proofs),
        load(&m.failed),
        load(&m.refused_full),
        load(&m.abandoned),
        load(&m.bad_proofs),
        load(&m.batches),
        load(&m.last_batch_milli_proofs_per_s) as f64 / 1000.0,
        queue.backend_name().replace('"', "'"),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}
