//! Key files: one 32-byte seed from which the Ed25519 signing key, the
//! ElGamal key and the shielded spending key all derive (spec §3).
//!
//! Format: the line `coalition-seed-v1`, then the seed in hex. Files are
//! created with mode 0600 and refused when group or others can read them
//! (on Unix); the seed is zeroized after use and never printed unless asked.

use std::io::Write;
use std::path::{Path, PathBuf};

use coalition_core::keys::{IdentityKeys, Seed};
use zeroize::Zeroizing;

const HEADER: &str = "coalition-seed-v1";

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Others can read it.
    #[error("key file {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a key file.
    #[error("{0} is not a coalition key file")]
    NotAKeyFile(PathBuf),
}

/// Writes `seed` to a new file at `path` (never overwrites), readable by
/// its owner only.
pub fn write_seed(path: &Path, seed: &Seed) -> Result<(), KeyFileError> {
    let text = Zeroizing::new(format!("{HEADER}\n{}\n", hex::encode(seed.expose_secret())));
    write_private_file(path, text.as_bytes()).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `secret` to a new file at `path` (never overwrites), readable by
/// its owner only (mode 0600 on Unix), synced to disk.
pub fn write_private_file(path: &Path, secret: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret)?;
    file.sync_all()
}

/// Reads a key file written by [`write_seed`].
pub fn read_seed(path: &Path) -> Result<Seed, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if metadata.len() > 1024 {
        return Err(KeyFileError::NotAKeyFile(path.to_path_buf()));
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
    parse_seed(&text).ok_or_else(|| KeyFileError::NotAKeyFile(path.to_path_buf()))
}

/// Parses a key file's text, or a bare 64-digit hex seed (a recovery code).
pub fn parse_seed(text: &str) -> Option<Seed> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines.next()?;
    if first == HEADER {
        first = lines.next()?;
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(first, bytes.as_mut()).ok()?;
    Some(Seed::from_bytes(*bytes))
}

/// The identity in a key file.
pub fn read_identity(path: &Path) -> Result<IdentityKeys, KeyFileError> {
    Ok(IdentityKeys::from_seed(&read_seed(path)?))
}
