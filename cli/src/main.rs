//! `coalition`: the command-line entry point.
//!
//! One binary, subcommands per role: `demo` (the whole story on a real
//! node), `node` (a partner's verifier node), `audit` (replay and
//! re-verify a ledger), `keys` (identity key files), `prover serve` (the
//! proving service). Exit codes: 0 success; 1 a failure (the message says
//! what); 2 bad usage (clap); 3 an audit that found a problem.
#![forbid(unsafe_code)]

mod audit_cmd;
mod demo;
mod devnet;
mod keyfile;
mod node_check;
mod node_client;
mod partner_cmd;
mod progress;
mod wallet_cmd;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use coalition_params::{default_params_dir, ShieldedProvingKeys};

#[derive(Parser)]
#[command(
    name = "coalition",
    version,
    about = "Zero-knowledge privacy ledger for coalition loyalty programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a whole coalition on a real node with real proofs: governance,
    /// terms, purchases, transfer, exchange, shielded redemption,
    /// settlement, audit.
    Demo {
        /// Keep the node's database here (default: a temporary directory).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Audit a ledger: replay it from genesis, re-verify everything.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// A customer's wallet: init, id, sync, balance, history, apply-pending,
    /// transfer, shield, redeem, exchange.
    Wallet(wallet_cmd::WalletArgs),
    /// A partner's tools: currencies, membership votes, purchases and
    /// issuance, settlement figures.
    Partner(partner_cmd::PartnerArgs),
    /// Identity key files (Ed25519 signing + ElGamal encryption, from one seed).
    Keys {
        #[command(subcommand)]
        command: keyfile::KeysCommand,
    },
    /// Run a partner verifier node: RocksDB storage, HTTP API, events,
    /// metrics, block production. With no options it serves the
    /// development coalition (INSECURE dev keys) from the default data dir.
    #[command(args_conflicts_with_subcommands = true)]
    Node {
        #[command(subcommand)]
        command: Option<node_check::NodeCommand>,
        /// A TOML configuration file (see papers/protocol.md §17.3).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// Overrides the configuration's data directory.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Overrides the configuration's listen address.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Overrides the block interval (milliseconds).
        #[arg(long)]
        block_interval_ms: Option<u64>,
    },
    /// A development coalition of several replicating partner nodes on
    /// loopback (INSECURE dev identities).
    Devnet {
        #[command(subcommand)]
        command: devnet::DevnetCommand,
    },
    /// The proving service.
    Prover {
        #[command(subcommand)]
        command: ProverCommand,
    },
}

#[derive(Subcommand)]
enum ProverCommand {
    /// Serve Spend/Output proving jobs over HTTP, batched, on the GPU when present.
    Serve {
        /// Address to listen on (loopback by default: jobs are witnesses).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        /// Jobs per batch at most (1..=1024).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
        max_batch: u16,
        /// How long a batch waits to fill, in milliseconds.
        #[arg(long, default_value_t = 20)]
        max_wait_ms: u64,
        /// Jobs waiting at most; beyond, requests get 503 (1..=65536).
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536))]
        queue: u32,
        /// How long a job may wait for its proof, queueing included; past
        /// it the client gets 504 and a job not yet started is dropped.
        #[arg(long, default_value_t = 120_000)]
        job_timeout_ms: u64,
        /// MSM backend: auto (GPU if present, else CPU), cpu or gpu.
        #[arg(long, default_value = "auto")]
        backend: String,
    },
}

fn main() {
    let cli = Cli::parse();
    // The node's and the prover service's operational log (failures inside
    // the node, refused proposals, membership changes) goes to stderr.
    // Other crates log only warnings: arkworks' gadgets open an INFO span
    // per operation under the target `gr1cs`, recording field elements, and
    // formatting those during one synthesis takes gigabytes.
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("coalition", LevelFilter::INFO)
        .with_target("gr1cs", LevelFilter::OFF)
        .with_target("r1cs", LevelFilter::OFF);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
    let result = match cli.command {
        Command::Demo { data_dir } => demo::run(data_dir),
        Command::Audit { command } => audit_cmd::run(command),
        Command::Keys { command } => keyfile::run(command),
        Command::Wallet(args) => wallet_cmd::run(args),
        Command::Partner(args) => partner_cmd::run(args),
        Command::Node {
            command: Some(command),
            ..
        } => node_check::run(command),
        Command::Node {
            command: None,
            config,
            data_dir,
            listen,
            block_interval_ms,
        } => node(config, data_dir, listen, block_interval_ms),
        Command::Devnet { command } => devnet::run(command),
        Command::Prover {
            command:
                ProverCommand::Serve {
                    listen,
                    max_batch,
                    max_wait_ms,
                    queue,
                    job_timeout_ms,
                    backend,
                },
        } => prover_serve(
            listen,
            coalition_prover_service::QueueConfig {
                capacity: queue as usize,
                max_batch: usize::from(max_batch),
                max_wait: std::time::Duration::from_millis(max_wait_ms),
                job_timeout: std::time::Duration::from_millis(job_timeout_ms),
                ..coalition_prover_service::QueueConfig::default()
            },
            &backend,
        ),
    };
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        let damage = error.downcast_ref::<audit_cmd::AuditFailed>().is_some()
            || error.downcast_ref::<node_check::CheckFailed>().is_some();
        let code = if damage { 3 } else { 1 };
        std::process::exit(code);
    }
}

fn node(
    config: Option<std::path::PathBuf>,
    data_dir: Option<std::path::PathBuf>,
    listen: Option<std::net::SocketAddr>,
    block_interval_ms: Option<u64>,
) -> Result<()> {
    use coalition_node::config::NodeConfig;
    let mut config = match config {
        Some(path) => NodeConfig::from_file(&path)?,
        None => NodeConfig::default(),
    };
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    if let Some(addr) = listen {
        config.listen = addr;
    }
    if let Some(ms) = block_interval_ms {
        config.block_interval_ms = ms;
    }
    config.check()?;
    let (genesis, dev_mode) = config.genesis()?;
    if dev_mode {
        eprintln!(
            "coalition node: DEV MODE — INSECURE development keys and identities are allowed; \
             never use this coalition for real points"
        );
    }
    eprintln!(
        "coalition node: coalition {:?}, data in {}",
        genesis.name,
        config.data_dir.display()
    );
    let identity = match config
        .replication
        .as_ref()
        .and_then(|r| r.identity_key.as_ref())
    {
        Some(path) => Some(
            coalition_wallet::keyfile::read_identity(path)
                .with_context(|| format!("reading the partner key {}", path.display()))?,
        ),
        None => None,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(coalition_node::http::run(config, None, identity))?;
    Ok(())
}

fn prover_serve(
    listen: std::net::SocketAddr,
    config: coalition_prover_service::QueueConfig,
    backend: &str,
) -> Result<()> {
    use coalition_prover::backend::ProvingBackend;
    use coalition_prover::failover::{best_available, Failover};
    use coalition_prover::msm::CpuBackend;
    let backend: Arc<dyn ProvingBackend> = match backend {
        "cpu" => Arc::new(CpuBackend),
        "auto" | "gpu" => {
            let (chosen, fallback) = best_available();
            match fallback {
                Some(reason) if backend == "gpu" => bail!("--backend gpu: {reason}"),
                Some(reason) => {
                    eprintln!("coalition prover: {reason}");
                    Arc::from(chosen)
                }
                // A device that fails later hands over to the CPU.
                None => Arc::new(Failover::new(chosen)),
            }
        }
        other => bail!("unknown backend {other:?} (auto, cpu or gpu)"),
    };
    let params_dir = default_params_dir();
    let keys = ShieldedProvingKeys::insecure_dev(&params_dir)
        .with_context(|| format!("proving keys in {}", params_dir.display()))?;
    let keys = coalition_prover_service::Keys::new(Arc::new(keys.output), Arc::new(keys.spend));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let bound = listener.local_addr()?;
        println!(
            "coalition prover: listening on http://{bound} (backend {}; batches of up to {} jobs, {} ms; queue {}; INSECURE dev keys from {})",
            backend.name(),
            config.max_batch,
            config.max_wait.as_millis(),
            config.capacity,
            params_dir.display()
        );
        coalition_prover_service::serve(listener, config, keys, backend)
            .await
            .context("serving")
    })
}
