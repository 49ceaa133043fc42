//! The wallet's local store: one JSON file, replaced atomically (written
//! beside, synced, renamed), so a crash leaves the old or the new state and
//! never a torn one. It holds nothing secret — the seed lives in its own
//! mode-0600 file — only what the wallet learned from the chain: how far it
//! synced, the notes it owns, and its history. Deleting it loses nothing a
//! rescan from the seed cannot rebuild.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Result, WalletError};

/// The store's format version.
pub const VERSION: u32 = 1;

/// Largest store file read (a bound on what is parsed from disk).
pub const MAX_STORE_BYTES: u64 = 256 << 20;

/// Everything the wallet keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalletState {
    /// Format version.
    pub version: u32,
    /// The node's API address.
    pub node: String,
    /// The coalition's chain ID (hex).
    pub chain: String,
    /// Blocks up to here were scanned.
    pub synced_height: u64,
    /// Pool notes before this position were scanned.
    pub notes_scanned: u64,
    /// Notes found for this wallet.
    pub notes: Vec<OwnedNote>,
    /// Transactions that concern the wallet, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A note the wallet can spend (or spent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnedNote {
    /// Its position in the note tree.
    pub position: u64,
    /// Its currency.
    pub currency: String,
    /// Its value.
    pub value: u64,
    /// The last settlement epoch it may be spent in (`u32::MAX`: never
    /// expires).
    pub expiry: u32,
    /// The note as the pool stores it (hex): decrypted again when spent.
    pub output: String,
    /// Whether its nullifier was revealed.
    pub spent: bool,
}

/// One transaction as the wallet saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Block height.
    pub height: u64,
    /// Transaction ID (hex).
    pub tx: String,
    /// Its type.
    pub kind: String,
    /// Currency.
    pub currency: String,
    /// The amount, decrypted with the wallet's key (`None`: not readable).
    pub amount: Option<u64>,
    /// `in`, `out` or `self`.
    pub direction: String,
    /// The other account's loyalty ID, where the transaction names it.
    pub counterparty: Option<String>,
}

impl WalletState {
    /// A new, unsynced wallet for `chain` at `node`.
    pub fn new(node: String, chain: String) -> Self {
        WalletState {
            version: VERSION,
            node,
            chain,
            synced_height: 0,
            notes_scanned: 0,
            notes: Vec::new(),
            history: Vec::new(),
        }
    }

    /// Reads the store at `path`.
    pub fn load(path: &Path) -> Result<WalletState> {
        let bad = |reason: String| WalletError::Store {
            path: path.to_path_buf(),
            reason,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| bad(e.to_string()))?
            .len();
        if size > MAX_STORE_BYTES {
            return Err(bad(format!("larger than {MAX_STORE_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let state: WalletState =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a wallet store: {e}")))?;
        if state.version != VERSION {
            return Err(bad(format!(
                "format version {} is not {VERSION}",
                state.version
            )));
        }
        Ok(state)
    }

    /// Replaces the store at `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let bad = |e: std::io::Error| WalletError::Store {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| WalletError::Store {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let temporary = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary).map_err(bad)?;
        file.write_all(&text).map_err(bad)?;
        file.sync_all().map_err(bad)?;
        std::fs::rename(&temporary, path).map_err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.json");
        let mut state = WalletState::new("127.0.0.1:7700".into(), "ab".repeat(32));
        state.synced_height = 7;
        state.history.push(HistoryEntry {
            height: 3,
            tx: "00".into(),
            kind: "issue".into(),
            currency: "MILES".into(),
            amount: Some(5),
            direction: "in".into(),
            counterparty: None,
        });
        state.save(&path).unwrap();
        let loaded = WalletState::load(&path).unwrap();
        assert_eq!(loaded.synced_height, 7);
        assert_eq!(loaded.history.len(), 1);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            WalletState::load(&path),
            Err(WalletError::Store { .. })
        ));
        let mut other = state.clone();
        other.version = 99;
        other.save(&path).unwrap();
        assert!(WalletState::load(&path).is_err());
    }
}
