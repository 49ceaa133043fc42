//! `coalition wallet …`: a customer's wallet against a node's HTTP API
//! (see `coalition_wallet`). The wallet directory holds the seed (mode
//! 0600) and the local store; `--wallet` or `COALITION_WALLET_DIR` picks it.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use coalition_core::encoding::Encode;
use coalition_wallet::{
    keyfile, parse_identity, proving_keys, verifying_keys, SpendProver, Wallet,
};
use zeroize::Zeroizing;

use crate::progress;

/// Options every wallet command takes.
#[derive(Args)]
pub struct WalletArgs {
    /// The wallet directory (default: $COALITION_WALLET_DIR, else
    /// ~/.local/share/coalition/wallet).
    #[arg(long, global = true)]
    wallet: Option<PathBuf>,
    /// The node's API address (default: the one stored at init, else 127.0.0.1:8080).
    #[arg(long, global = true)]
    node: Option<SocketAddr>,
    /// The node's certificate (PEM): speak TLS and accept only it.
    #[arg(long, global = true)]
    node_cert: Option<PathBuf>,
    #[command(subcommand)]
    command: WalletCommand,
}

/// `coalition wallet …`
#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a wallet: a new seed (or, with --restore, one read from stdin),
    /// bound to the node's coalition. Prints the loyalty ID, never the seed.
    Init {
        /// Read the seed (64 hex digits, as `wallet seed` shows) from stdin
        /// and rescan: the wallet comes back with its notes and history.
        #[arg(long)]
        restore: bool,
    },
    /// The loyalty ID and the public identity others pay to.
    Id {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show the seed (keep it secret: it controls every point).
    Seed,
    /// Scan new blocks and pool notes (resumable).
    Sync,
    /// Balances per currency, decrypted with the wallet's key.
    Balance {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Transactions concerning this wallet (after `sync`).
    History {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Fold pending credits into the spendable balance.
    ApplyPending {
        /// Currency symbol.
        #[arg(long)]
        currency: String,
    },
    /// Send points to another account (amount hidden from everyone else).
    Transfer {
        /// Currency symbol.
        #[arg(long)]
        currency: String,
        /// The recipient's identity (hex, from their `wallet id`).
        #[arg(long)]
        to: String,
        /// Points.
        #[arg(long)]
        amount: u64,
    },
    /// Move points into a shielded note.
    Shield {
        /// Currency symbol.
        #[arg(long)]
        currency: String,
        /// Points.
        #[arg(long)]
        amount: u64,
    },
    /// Pay a merchant from shielded notes: the merchant sees the amount,
    /// no one sees who paid.
    Redeem {
        /// Currency symbol.
        #[arg(long)]
        currency: String,
        /// The merchant's identity (hex).
        #[arg(long)]
        merchant: String,
        /// Points.
        #[arg(long)]
        amount: u64,
        /// Delegate the Spend proof to the `coalition prover serve` at this
        /// loopback address (it gets ak, nk, α and the notes, never the key
        /// that authorizes; the wallet checks the proof, then signs).
        #[arg(long)]
        prover: Option<std::net::SocketAddr>,
    },
    /// Exchange points of one currency into another at the agreed rate.
    Exchange {
        /// From this currency.
        #[arg(long)]
        from: String,
        /// Into this one.
        #[arg(long)]
        to: String,
        /// Points of `from`.
        #[arg(long)]
        amount: u64,
    },
}

fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COALITION_WALLET_DIR") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/coalition/wallet"),
        None => PathBuf::from("coalition-wallet"),
    }
}

fn sync(wallet: &mut Wallet) -> Result<usize> {
    let mut bar = progress::Bar::new("syncing blocks", 0);
    let found = wallet.sync(&mut |h, tip| {
        bar.set(h.min(tip));
    })?;
    bar.finish();
    Ok(found)
}

/// Runs `coalition wallet …`.
pub fn run(args: WalletArgs) -> Result<()> {
    let dir = args.wallet.unwrap_or_else(default_dir);
    if let WalletCommand::Init { restore } = args.command {
        let node = args
            .node
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let seed = if restore {
            let mut text = Zeroizing::new(String::new());
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut text)
                .context("reading the seed from stdin")?;
            Some(keyfile::parse_seed(&text).context("stdin does not hold a seed (64 hex digits)")?)
        } else {
            None
        };
        let client = crate::node_client::client(node, args.node_cert.as_deref())?;
        let mut wallet = Wallet::create(&dir, seed, client)?;
        println!("wallet created in {}", dir.display());
        println!("loyalty ID {}", wallet.keys().loyalty_id());
        println!(
            "back up the seed: `coalition wallet seed` shows it; it is stored in {} (mode 0600)",
            dir.join("seed").display()
        );
        if restore {
            let found = sync(&mut wallet)?;
            println!(
                "restored: {found} transactions and {} notes found",
                wallet.state().notes.len()
            );
        }
        return Ok(());
    }
    let mut wallet = Wallet::open(&dir, args.node)?;
    if let Some(tls) = crate::node_client::tls(args.node_cert.as_deref())? {
        wallet = wallet.with_tls(tls);
    }
    match args.command {
        WalletCommand::Init { .. } => unreachable!("handled above"),
        WalletCommand::Id { json } => {
            let id = wallet.keys().loyalty_id();
            let identity = hex::encode(wallet.keys().public().to_bytes());
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "loyalty_id": hex::encode(id.0), "identity": identity })
                );
            } else {
                println!("loyalty ID {id}");
                println!("identity   {identity}");
            }
        }
        WalletCommand::Seed => {
            let text = Zeroizing::new(hex::encode(wallet.seed().expose_secret()));
            eprintln!("SECRET: anyone with this seed controls the wallet's points");
            println!("{}", text.as_str());
        }
        WalletCommand::Sync => {
            let found = sync(&mut wallet)?;
            println!(
                "synced to block {}: {found} new transactions, {} notes ({} unspent)",
                wallet.state().synced_height,
                wallet.state().notes.len(),
                wallet.state().notes.iter().filter(|n| !n.spent).count()
            );
        }
        WalletCommand::Balance { json } => {
            let balances = wallet.balances()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&balances)?);
            } else if balances.is_empty() {
                println!("no points yet");
            } else {
                println!(
                    "{:<8} {:>12} {:>12} {:>12} {:>12}",
                    "", "available", "pending", "shielded", "expired"
                );
                for b in balances {
                    println!(
                        "{:<8} {:>12} {:>12} {:>12} {:>12}",
                        b.currency, b.available, b.pending, b.shielded, b.expired
                    );
                }
            }
        }
        WalletCommand::History { json } => {
            let history = &wallet.state().history;
            if json {
                println!("{}", serde_json::to_string_pretty(history)?);
            } else {
                for e in history {
                    println!(
                        "block {:>5}  {:<13} {:<4} {:>10} {:<8} {}",
                        e.height,
                        e.kind,
                        e.direction,
                        e.amount.map_or("?".into(), |a| a.to_string()),
                        e.currency,
                        e.counterparty.as_deref().unwrap_or("")
                    );
                }
            }
        }
        WalletCommand::ApplyPending { currency } => {
            let (id, height, credits) = wallet.apply_pending(&currency)?;
            println!(
                "applied {credits} pending {currency} credit(s): {} in block {height}",
                hex::encode(id.0)
            );
        }
        WalletCommand::Transfer {
            currency,
            to,
            amount,
        } => {
            let to = parse_identity(&to)?;
            let (id, height) = wallet.transfer(&currency, &to, amount)?;
            println!(
                "sent {amount} {currency} to {}: {} in block {height}",
                to.loyalty_id(),
                hex::encode(id.0)
            );
        }
        WalletCommand::Shield { currency, amount } => {
            let keys = progress::spinner_while("loading proving keys", proving_keys)?;
            let (id, height) = wallet.shield(&currency, amount, &keys)?;
            println!(
                "shielded {amount} {currency}: {} in block {height}",
                hex::encode(id.0)
            );
        }
        WalletCommand::Redeem {
            currency,
            merchant,
            amount,
            prover,
        } => {
            let merchant = parse_identity(&merchant)?;
            let (id, height) = match prover {
                Some(addr) => {
                    let keys = progress::spinner_while("loading verifying keys", verifying_keys)?;
                    let done = wallet.redeem(
                        &currency,
                        &merchant,
                        amount,
                        SpendProver::Delegated(addr, &keys),
                    )?;
                    println!("Spend proof delegated to the prover service at {addr} (it never saw the authorizing key); checked and signed here");
                    done
                }
                None => {
                    let keys = progress::spinner_while("loading proving keys", proving_keys)?;
                    wallet.redeem(&currency, &merchant, amount, SpendProver::Local(&keys))?
                }
            };
            println!(
                "paid {amount} {currency} to {} from shielded notes: {} in block {height}",
                merchant.loyalty_id(),
                hex::encode(id.0)
            );
        }
        WalletCommand::Exchange { from, to, amount } => {
            let (id, height, received) = wallet.exchange(&from, &to, amount)?;
            println!(
                "exchanged {amount} {from} into {received} {to}: {} in block {height}",
                hex::encode(id.0)
            );
        }
    }
    Ok(())
}
