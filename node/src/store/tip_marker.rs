//! The committed-tip marker: the last block this node committed, recorded
//! outside RocksDB so that a database that lost blocks is noticed.
//!
//! Every block is committed in one synced write, but RocksDB keeps recent
//! writes only in its write-ahead log until a memtable flush, and on opening
//! it replays that log up to its first damaged record (point-in-time
//! recovery, which also tolerates the torn tail a crash can leave). A
//! truncated, cut, altered or deleted log therefore used to open cleanly at
//! an earlier height: committed blocks disappeared without a word, and an
//! audit of the directory passed.
//!
//! So after each commit the store also writes its tip's height and hash to
//! this file (written whole to a temporary file, synced, renamed over the
//! marker, directory synced), and on opening refuses a database whose tip
//! is below the marker, naming the lost heights and the log files. The
//! marker is written after the block, so a crash in between leaves it one
//! block behind, which is accepted; a marker ahead of the database is
//! never a crash's doing.
//!
//! Layout (72 bytes): height (u64 big-endian) ‖ block hash (32) ‖
//! SHA-256("coalition/committed-tip/v1" ‖ the first 40 bytes).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The marker's file name, inside the database directory (RocksDB leaves
/// files it does not name alone).
pub const FILE_NAME: &str = "COALITION-COMMITTED-TIP";

const DOMAIN: &[u8] = b"coalition/committed-tip/v1";
const LEN: usize = 72;

/// A recorded tip: height and block hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommittedTip {
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    pub hash: [u8; 32],
}

/// Why the marker could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// Reading failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The marker file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a marker this node wrote.
    #[error("{path} is damaged (wrong length or checksum)")]
    Damaged {
        /// The marker file.
        path: PathBuf,
    },
}

fn checksum(body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(body);
    h.finalize().into()
}

/// The marker of the database in `dir`.
#[derive(Clone, Debug)]
pub struct TipMarker {
    path: PathBuf,
}

impl TipMarker {
    /// The marker beside the database files in `dir`.
    pub fn in_dir(dir: &Path) -> TipMarker {
        TipMarker {
            path: dir.join(FILE_NAME),
        }
    }

    /// The marker file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded tip; `None` when no marker was written yet (a new
    /// database, or one written before markers existed).
    pub fn read(&self) -> Result<Option<CommittedTip>, MarkerError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(MarkerError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let damaged = || MarkerError::Damaged {
            path: self.path.clone(),
        };
        if bytes.len() != LEN {
            return Err(damaged());
        }
        let (body, sum) = bytes.split_at(40);
        if checksum(body)[..] != *sum {
            return Err(damaged());
        }
        let mut height = [0u8; 8];
        height.copy_from_slice(&body[..8]);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&body[8..40]);
        Ok(Some(CommittedTip {
            height: u64::from_be_bytes(height),
            hash,
        }))
    }

    /// Records `tip` durably, replacing the marker whole.
    pub fn record(&self, tip: CommittedTip) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.extend_from_slice(&tip.height.to_be_bytes());
        bytes.extend_from_slice(&tip.hash);
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        let temporary = self.path.with_extension("tmp");
        {
            let mut file = File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_tip_reads_back_and_any_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let marker = TipMarker::in_dir(dir.path());
        assert_eq!(marker.read().unwrap(), None);
        let tip = CommittedTip {
            height: 224,
            hash: [7; 32],
        };
        marker.record(tip).unwrap();
        assert_eq!(marker.read().unwrap(), Some(tip));
        let next = CommittedTip {
            height: 225,
            hash: [8; 32],
        };
        marker.record(next).unwrap();
        assert_eq!(marker.read().unwrap(), Some(next));
        let good = std::fs::read(marker.path()).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 1;
            std::fs::write(marker.path(), &bad).unwrap();
            assert!(matches!(marker.read(), Err(MarkerError::Damaged { .. })));
        }
        for len in [0, 40, 71, 73] {
            let mut bad = good.clone();
            bad.resize(len, 0);
            std::fs::write(marker.path(), &bad).unwrap();
            assert!(matches!(marker.read(), Err(MarkerError::Damaged { .. })));
        }
    }
}
