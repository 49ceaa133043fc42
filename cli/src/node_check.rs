//! `coalition node check`: reads a node's whole data directory (see
//! `coalition_node::store::check`) and exits non-zero on damage.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Subcommand;
use coalition_node::store::Store;
use coalition_params::ShieldedVerifyingKeys;

/// The error `main` maps to exit code 3 (damage found).
#[derive(Debug, thiserror::Error)]
#[error("the data directory is damaged: {0}")]
pub struct CheckFailed(pub String);

/// `coalition node …` subcommands.
#[derive(Subcommand)]
pub enum NodeCommand {
    /// Read every record of a stopped or running node's data directory,
    /// verifying checksums, the chain of blocks, the transaction index and
    /// the state hash; exit code 3 on damage. Recovery: restore the
    /// directory from a backup, or move it aside and re-sync from the
    /// partners.
    Check {
        /// The node's data directory (as in its configuration).
        #[arg(long)]
        data_dir: PathBuf,
        /// Where the development pool's keys are cached (default: as the
        /// node's); only a coalition on the INSECURE dev pool needs them.
        #[arg(long)]
        params_dir: Option<PathBuf>,
    },
}

/// Runs a `coalition node` subcommand.
pub fn run(command: NodeCommand) -> Result<()> {
    match command {
        NodeCommand::Check {
            data_dir,
            params_dir,
        } => check(data_dir, params_dir),
    }
}

fn check(data_dir: PathBuf, params_dir: Option<PathBuf>) -> Result<()> {
    let db = data_dir.join("db");
    if !db.join("CURRENT").exists() {
        anyhow::bail!("no node database in {}", data_dir.display());
    }
    // Damage exits 3; a directory that cannot be read (permissions, a
    // lock, an I/O error) is an ordinary error.
    let damaged = |error: coalition_node::store::StoreError| -> anyhow::Error {
        if error.is_damage() {
            CheckFailed(error.to_string()).into()
        } else {
            error.into()
        }
    };
    // Read-only: works beside a running node, and never repairs anything.
    let store = Store::open_read_only(&db)
        .map_err(damaged)
        .with_context(|| format!("checking {}", data_dir.display()))?;
    let genesis = store
        .genesis()
        .map_err(damaged)?
        .ok_or_else(|| CheckFailed("no genesis stored".into()))?;
    // The pool's state loads only with verifying keys: the dev pool's come
    // from the cache the node uses; no other pool can be enabled yet
    // (spec §17.3).
    let keys = match &genesis.pool {
        None => None,
        Some(hashes) if hashes.are_insecure_dev() => {
            let dir = params_dir.unwrap_or_else(coalition_params::default_params_dir);
            Some(Arc::new(
                ShieldedVerifyingKeys::insecure_dev(&dir)
                    .with_context(|| format!("dev pool keys in {}", dir.display()))?,
            ))
        }
        Some(_) => anyhow::bail!(
            "this coalition's pool keys are not the dev keys; no other keys exist yet"
        ),
    };
    let report = store
        .check_integrity(keys)
        .map_err(damaged)
        .with_context(|| format!("checking {}", data_dir.display()))?;
    println!(
        "{}: {} records ({} bytes) read with checksums; blocks 1..={} linked, \
         {} transactions indexed, state hash equals the tip's: no damage found",
        data_dir.display(),
        report.records,
        report.bytes,
        report.height,
        report.transactions
    );
    Ok(())
}
