//! `coalition keys …`: identity key files (see `coalition_wallet::keyfile`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use coalition_core::encoding::Encode;
use coalition_core::keys::{IdentityKeys, Seed};
use rand_core::OsRng;
use zeroize::Zeroizing;

pub use coalition_wallet::keyfile::{read_identity, read_seed, write_seed};

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
