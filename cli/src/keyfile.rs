//! `coalition keys …`: identity key files (see `coalition_wallet::keyfile`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use coalition_core::encoding::Encode;
use coalition_core::keys::{IdentityKeys, Seed};
use rand_core::OsRng;
use zeroize::Zeroizing;

pub use coalition_wallet::keyfile::{read_identity, read_seed, write_private_file, write_seed};

/// Makes a node certificate bound to `keys` and writes it to `cert` and
/// its key to `key` (a new file, mode 0600).
pub fn write_tls_files(
    keys: &IdentityKeys,
    names: &[String],
    days: u32,
    cert: &Path,
    key: &Path,
) -> Result<()> {
    let made = coalition_node::tls::generate(keys, names, days)?;
    write_private_file(key, made.key_pem.as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    std::fs::write(cert, &made.certificate_pem)
        .with_context(|| format!("writing {}", cert.display()))?;
    Ok(())
}

/// `coalition keys …`
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new key file (mode 0600) and print its loyalty ID.
    New {
        /// Where to write it (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the key file of a development identity (`airline`, `hotel`, …):
    /// INSECURE, its seed is public; only for the development coalition.
    Dev {
        /// The identity's name.
        name: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a TLS certificate for a partner's node, bound to the partner's
    /// identity (spec §17.4): a fresh ECDSA P-256 key (mode 0600) and a
    /// self-signed certificate carrying the identity's signature over it.
    /// Give the certificate to the partners' nodes' operators and to
    /// clients, who pin it (`--node-cert`).
    Tls {
        /// The partner's key file.
        #[arg(long, conflicts_with = "dev")]
        key: Option<PathBuf>,
        /// A development identity instead (INSECURE).
        #[arg(long)]
        dev: Option<String>,
        /// Where to write the certificate (PEM).
        #[arg(long)]
        out_cert: PathBuf,
        /// Where to write its private key (PEM; refuses to overwrite).
        #[arg(long)]
        out_key: PathBuf,
        /// DNS names and IP addresses the node is reached at (repeatable),
        /// for clients that check names.
        #[arg(long = "name")]
        names: Vec<String>,
        /// Days the certificate (and its binding) stays valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
    /// Print a key file's public identity (and, if asked, its seed).
    Show {
        /// The key file.
        file: PathBuf,
        /// Also print the secret seed.
        #[arg(long)]
        secret: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `coalition keys …`.
pub fn run(command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::New { out } => {
            let seed = Seed::random(&mut OsRng);
            write_seed(&out, &seed)?;
            println!("wrote {} (mode 0600)", out.display());
            println!("loyalty ID {}", IdentityKeys::from_seed(&seed).loyalty_id());
            Ok(())
        }
        KeysCommand::Dev { name, out } => {
            let seed = coalition_node::config::dev_seed(&name);
            write_seed(&out, &seed)?;
            eprintln!("INSECURE development identity {name:?}: anyone can derive this key");
            println!("wrote {} (mode 0600)", out.display());
            println!("loyalty ID {}", IdentityKeys::from_seed(&seed).loyalty_id());
            Ok(())
        }
        KeysCommand::Tls {
            key,
            dev,
            out_cert,
            out_key,
            names,
            days,
        } => {
            let keys = match (key, dev) {
                (Some(key), None) => read_identity(&key)?,
                (None, Some(name)) => {
                    eprintln!("INSECURE development identity {name:?}: anyone can derive this key");
                    coalition_node::config::dev_identity(&name)
                }
                _ => anyhow::bail!("give the partner's key file with --key (or --dev NAME)"),
            };
            write_tls_files(&keys, &names, days, &out_cert, &out_key)?;
            println!(
                "wrote {} and {} (mode 0600)",
                out_cert.display(),
                out_key.display()
            );
            println!("bound to loyalty ID {}", keys.loyalty_id());
            Ok(())
        }
        KeysCommand::Show { file, secret, json } => {
            let seed = read_seed(&file)?;
            let keys = IdentityKeys::from_seed(&seed);
            let public = keys.public();
            let seed_hex = secret.then(|| Zeroizing::new(hex::encode(seed.expose_secret())));
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "loyalty_id": hex::encode(keys.loyalty_id().0),
                        "identity": hex::encode(public.to_bytes()),
                        "encryption_key": hex::encode(public.encryption.to_bytes()),
                        "seed": seed_hex.as_deref().map(String::as_str),
                    })
                );
            } else {
                println!("loyalty ID      {}", keys.loyalty_id());
                println!("identity        {}", hex::encode(public.to_bytes()));
                println!(
                    "encryption key  {}",
                    hex::encode(public.encryption.to_bytes())
                );
                if let Some(s) = seed_hex {
                    println!("seed (SECRET)   {}", s.as_str());
                }
            }
            Ok(())
        }
    }
}
