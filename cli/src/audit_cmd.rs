//! `coalition audit …`: replay a ledger from a node's API or a data
//! directory and re-verify everything (see `coalition_ledger::audit`).
//! Exit code 3 when the ledger fails the audit.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use coalition_core::encoding::decode_exact;
use coalition_core::transaction::Transaction;
use coalition_ledger::audit::{audit, check_transaction, AuditReport, AuditorKey, BlockSource};
use coalition_node::store::Store;

use crate::{keyfile, progress};

/// The error `main` maps to exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("the audit failed: {0}")]
pub struct AuditFailed(pub String);

/// Where the ledger is read from.
#[derive(Args)]
pub struct Source {
    /// A node's API address (host:port).
    #[arg(
        long,
        conflicts_with = "data_dir",
        required_unless_present = "data_dir"
    )]
    node: Option<SocketAddr>,
    /// The node's certificate (PEM): speak TLS and accept only it.
    #[arg(long, requires = "node")]
    node_cert: Option<PathBuf>,
    /// A node's data directory (opened read-only; works beside a running node).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The chain ID the auditor expects (64 hex digits, as `/v1/status` and
    /// the genesis give it). The source's genesis must hash to it: an audit
    /// that trusted the genesis of the ledger it audits would prove nothing
    /// about which coalition that is.
    #[arg(long)]
    chain: String,
    /// Audit a chain whose shielded pool runs on the INSECURE dev keys (a
    /// development chain); without it they are a finding (exit code 3).
    #[arg(long)]
    allow_dev: bool,
}

impl Source {
    /// Opens the source and checks it is the expected chain, on keys the
    /// auditor accepts.
    fn open_checked(&self) -> Result<Box<dyn BlockSource>> {
        let expected = hex::decode(self.chain.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .context("--chain is a chain ID: 64 hex digits")?;
        let source = self.open()?;
        let genesis = source.genesis()?;
        let found = genesis.chain_id().0;
        if found != expected {
            return Err(AuditFailed(format!(
                "the ledger is for chain {}, not the expected {}",
                hex::encode(found),
                hex::encode(expected)
            ))
            .into());
        }
        if genesis.pool.as_ref().is_some_and(|h| h.are_insecure_dev()) {
            if !self.allow_dev {
                return Err(AuditFailed(
                    "the shielded pool runs on the INSECURE dev keys: anyone can forge its proofs \
                     (pass --allow-dev to audit a development chain)"
                        .into(),
                )
                .into());
            }
            eprintln!(
                "warning: this coalition's shielded pool uses the INSECURE dev keys: anyone can forge its proofs"
            );
        }
        Ok(source)
    }

    fn open(&self) -> Result<Box<dyn BlockSource>> {
        match (&self.node, &self.data_dir) {
            (Some(addr), _) => {
                let client = crate::node_client::client(*addr, self.node_cert.as_deref())?;
                client
                    .status()
                    .with_context(|| format!("no coalition node answers at {addr}"))?;
                Ok(Box::new(client))
            }
            (None, Some(dir)) => {
                let db = if dir.join("db").exists() {
                    dir.join("db")
                } else {
                    dir.clone()
                };
                Ok(Box::new(Store::open_read_only(&db).with_context(|| {
                    format!("no ledger database in {}", dir.display())
                })?))
            }
            (None, None) => bail!("give --node or --data-dir"),
        }
    }
}

/// `coalition audit …`
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Replay the ledger from genesis: re-verify every signature and proof,
    /// recompute every root and state hash; with an auditor key, reconcile
    /// the supply of the currencies it audits. Exit code 3 on a finding.
    Verify {
        #[command(flatten)]
        source: Source,
        /// A key file whose encryption key audits one or more currencies.
        #[arg(long)]
        auditor_key: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// `verify`, writing the JSON report to a file and a summary to stdout.
    Report {
        #[command(flatten)]
        source: Source,
        /// A key file whose encryption key audits one or more currencies.
        #[arg(long)]
        auditor_key: Option<PathBuf>,
        /// Where to write the JSON report.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check one exported transaction (its bytes, raw or hex) against the
    /// ledger: where it is committed, and whether it verifies there.
    Proof {
        /// The exported transaction.
        file: PathBuf,
        #[command(flatten)]
        source: Source,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn run_audit(source: &Source, auditor_key: Option<&PathBuf>) -> Result<AuditReport> {
    let source = source.open_checked()?;
    let identity = auditor_key.map(|p| keyfile::read_identity(p)).transpose()?;
    let auditor = identity.as_ref().map(|keys| AuditorKey {
        secret: keys.elgamal_secret(),
        table: coalition_wallet::table(),
    });
    let total = source.claimed_tip()?.map(|(h, _)| h).unwrap_or(0);
    let mut bar = progress::Bar::new("replaying blocks", total);
    let report = audit(source.as_ref(), None, true, auditor, &mut |h| bar.set(h))?;
    bar.finish();
    Ok(report)
}

fn summary(report: &AuditReport) -> String {
    let mut out = format!(
        "coalition {:?} (chain {}): {} blocks replayed, {} transactions, {} signatures and {} proven transactions re-verified in {} ms\ntip {} state {}\n",
        report.coalition,
        &report.chain[..16],
        report.blocks,
        report.transactions.values().sum::<u64>(),
        report.signatures,
        report.proven_transactions,
        report.elapsed_ms,
        report.tip_hash,
        report.state_hash,
    );
    for s in &report.supply {
        out.push_str(&format!(
            "{}: issued {} − burned {} − exchanged out {} + in {} = accounts {} + pool {} ({} accounts checked): {}\n",
            s.currency,
            s.issued,
            s.burned,
            s.exchanged_out,
            s.exchanged_in,
            s.in_accounts,
            s.in_pool,
            s.accounts_checked,
            match &s.problem {
                None => "reconciled".to_string(),
                Some(p) => format!("NOT reconciled: {p}"),
            }
        ));
    }
    let r = &report.rules;
    out.push_str(&format!(
        "rules re-derived from the transactions alone: {} membership changes, {} membership checks, {} exchange rates, {} pool flows\n",
        r.membership_changes, r.membership_checks, r.exchange_rates, r.pool_flows
    ));
    if report.settlement.epochs_compared > 0 {
        out.push_str(&format!(
            "settlement: {} epochs recomputed from the blocks match the source's figures\n",
            report.settlement.epochs_compared
        ));
    }
    if !report.settlement.net_positions.is_empty() {
        let positions: Vec<String> = report
            .settlement
            .net_positions
            .iter()
            .map(|(id, v)| format!("{}… {v:+}", &id[..12.min(id.len())]))
            .collect();
        out.push_str(&format!(
            "net positions over all epochs, from the audited currencies{}: {}\n",
            if report.settlement.positions_complete {
                ""
            } else {
                " (not every settled currency is audited by this key)"
            },
            positions.join(", ")
        ));
    }
    match &report.finding {
        None => {
            out.push_str("PASSED: every block, signature, proof and state commitment checks out\n")
        }
        Some(f) => out.push_str(&format!("FAILED at {f}\n")),
    }
    out
}

fn verdict(report: &AuditReport) -> Result<()> {
    if report.passed() {
        return Ok(());
    }
    let what = match &report.finding {
        Some(f) => f.to_string(),
        None => "the supply does not reconcile".into(),
    };
    Err(AuditFailed(what).into())
}

/// Runs `coalition audit …`.
pub fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify {
            source,
            auditor_key,
            json,
        } => {
            let report = run_audit(&source, auditor_key.as_ref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", summary(&report));
            }
            verdict(&report)
        }
        AuditCommand::Report {
            source,
            auditor_key,
            out,
        } => {
            let report = run_audit(&source, auditor_key.as_ref())?;
            std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
                .with_context(|| format!("writing {}", out.display()))?;
            print!("{}", summary(&report));
            println!("report written to {}", out.display());
            verdict(&report)
        }
        AuditCommand::Proof { file, source, json } => {
            let raw =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            if raw.len() > 4 * coalition_core::encoding::MAX_TRANSACTION_BYTES {
                bail!("{} is larger than any transaction", file.display());
            }
            let text = String::from_utf8(raw.clone()).ok();
            let bytes = match text
                .as_deref()
                .map(str::trim)
                .and_then(|t| hex::decode(t).ok())
            {
                Some(decoded) => decoded,
                None => raw,
            };
            let tx: Transaction = decode_exact(&bytes)
                .with_context(|| format!("{} is not a transaction", file.display()))?;
            let source = source.open_checked()?;
            let check = check_transaction(source.as_ref(), None, true, &tx)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&check)?);
            } else {
                let place = match check.committed_at {
                    Some((h, i)) => format!("committed at block {h}, index {i}"),
                    None => "not in the ledger; checked against the tip".into(),
                };
                println!("{} {}: {place}", check.kind, check.id);
                match &check.refusal {
                    None => println!("VALID: signature and proofs verify against the state it met"),
                    Some(r) => println!("INVALID: {r}"),
                }
            }
            match check.refusal {
                None => Ok(()),
                Some(r) => Err(AuditFailed(r).into()),
            }
        }
    }
}
