//! Identity key files: one 32-byte seed from which the Ed25519 signing key,
//! the ElGamal key and the shielded spending key all derive (spec §3).
//!
//! Format: the line `coalition-seed-v1`, then the seed in hex. Files are
//! created with mode 0600 and refused when group or others can read them
//! (on Unix); the seed is zeroized after use and never printed unless
//! `keys show --secret` asks for it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use coalition_core::encoding::Encode;
use coalition_core::keys::{IdentityKeys, Seed};
use rand_core::OsRng;
use zeroize::Zeroizing;

const HEADER: &str = "coalition-seed-v1";

/// `coalition keys …`
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new key file (mode 0600) and print its public identity.
    New {
        /// Where to write it (refuses to overwrite).
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

/// Writes `seed` to a new file at `path`, readable by its owner only.
pub fn write_seed(path: &Path, seed: &Seed) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating key file {}", path.display()))?;
    let text = Zeroizing::new(format!("{HEADER}\n{}\n", hex::encode(seed.expose_secret())));
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Reads a key file written by [`write_seed`].
pub fn read_seed(path: &Path) -> Result<Seed> {
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("key file {} cannot be read", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "key file {} is readable by others (mode {mode:o}); run chmod 600 on it",
                path.display()
            );
        }
    }
    if metadata.len() > 1024 {
        bail!("{} is not a coalition key file (too large)", path.display());
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("key file {} cannot be read", path.display()))?,
    );
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        bail!(
            "{} is not a coalition key file (expected a first line {HEADER:?})",
            path.display()
        );
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(lines.next().unwrap_or("").trim(), bytes.as_mut())
        .map_err(|_| anyhow::anyhow!("{}: the seed is not 64 hex digits", path.display()))?;
    Ok(Seed::from_bytes(*bytes))
}

/// The identity in a key file.
pub fn read_identity(path: &Path) -> Result<IdentityKeys> {
    Ok(IdentityKeys::from_seed(&read_seed(path)?))
}

/// Runs `coalition keys …`.
pub fn run(command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::New { out } => {
            let seed = Seed::random(&mut OsRng);
            write_seed(&out, &seed)?;
            let keys = IdentityKeys::from_seed(&seed);
            println!("wrote {} (mode 0600)", out.display());
            println!("loyalty ID {}", keys.loyalty_id());
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
                        "seed": seed_hex.as_deref(),
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
