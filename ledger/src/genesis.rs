//! The genesis of a coalition (spec §16.1): its name, founding partners,
//! voting threshold and shielded-pool keys. The chain ID is the hash of the
//! genesis, so every transaction and block is bound to exactly this set-up.
//!
//! ```text
//! genesis  = name (u8 len ‖ UTF-8) ‖ timestamp_ms (u64) ‖ threshold p (u32) ‖ q (u32)
//!          ‖ founders (u32 count ‖ (name ‖ identity)…)
//!          ‖ pool flag (u8) ‖ [output VK hash (32) ‖ spend VK hash (32)]
//!          ‖ settlement epoch (u64 blocks, ≥ 1)
//!          ‖ currencies per member (u32, ≥ 1)
//! chain id = SHA-256("coalition/v1/genesis" ‖ genesis)
//! ```

use std::sync::Arc;

use coalition_core::encoding::{decode_exact_within, Decode, Encode, Reader};
use coalition_core::governance::read_name;
use coalition_core::keys::PublicIdentity;
use coalition_core::transaction::ChainId;
use coalition_core::DecodeError;
use coalition_params::checked_in::{verifying_key_hash, DEV_KEYS};
use coalition_params::ShieldedVerifyingKeys;
use sha2::{Digest, Sha256};

use crate::governance::{Governance, Threshold, MAX_MEMBERS};
use crate::ledger::AccountLedger;

/// Why a genesis or its keys were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The genesis itself is ill-formed.
    #[error("invalid genesis: {0}")]
    Invalid(&'static str),
    /// The verifying keys offered are not the ones the genesis names.
    #[error("the shielded-pool verifying keys do not match the genesis")]
    KeysMismatch,
    /// The genesis names a pool but no keys were given (or the reverse).
    #[error("the genesis {0} a shielded pool")]
    Pool(&'static str),
    /// The INSECURE development keys outside development mode.
    #[error("the genesis uses the INSECURE development keys; they are allowed only in dev mode")]
    InsecureKeys,
    /// A field outside the bounds its encoding allows: a node that started
    /// from it could never read its own stored genesis back.
    #[error("invalid genesis: {0}")]
    Field(String),
}

/// The latest genesis time: 9999-12-31T23:59:59.999Z. The chain's clock
/// must have room to run (blocks advance at most
/// [`crate::chain::MAX_TIMESTAMP_STEP_MS`] at a time, and never past
/// `u64::MAX`), and no honest coalition starts later than that.
pub const MAX_GENESIS_TIMESTAMP_MS: u64 = 253_402_300_799_999;

/// The largest encoded genesis, in bytes: [`MAX_MEMBERS`] founders with
/// names of the longest allowed length fit with room to spare (each takes
/// at most 1 + 64 + 64 bytes, 33 KiB in all), while a genesis stays a
/// bounded read.
pub const MAX_GENESIS_BYTES: usize = 64 * 1024;

/// SHA-256 hashes of the shielded pool's verifying keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolKeyHashes {
    /// Output circuit VK.
    pub output: [u8; 32],
    /// Spend circuit VK.
    pub spend: [u8; 32],
}

impl PoolKeyHashes {
    /// Hashes of `keys`.
    pub fn of(keys: &ShieldedVerifyingKeys) -> Self {
        PoolKeyHashes {
            output: verifying_key_hash(&keys.output.vk),
            spend: verifying_key_hash(&keys.spend.vk),
        }
    }

    /// The hashes of the checked-in INSECURE development keys.
    pub fn insecure_dev() -> Self {
        let hash = |i: usize| {
            let mut out = [0u8; 32];
            // DEV_KEYS is a checked-in constant of valid hex (params tests).
            if let Ok(bytes) = hex::decode(DEV_KEYS[i].2) {
                if bytes.len() == 32 {
                    out.copy_from_slice(&bytes);
                }
            }
            out
        };
        PoolKeyHashes {
            output: hash(0),
            spend: hash(1),
        }
    }

    /// Whether these are the checked-in INSECURE development keys.
    pub fn are_insecure_dev(&self) -> bool {
        let dev = Self::insecure_dev();
        self.output == dev.output || self.spend == dev.spend
    }
}

/// A coalition's genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The coalition's name.
    pub name: String,
    /// Genesis time (ms since the Unix epoch); block timestamps follow it.
    pub timestamp_ms: u64,
    /// Approvals needed to admit or remove a member.
    pub threshold: Threshold,
    /// Founding partners: display name and identity.
    pub founders: Vec<(String, PublicIdentity)>,
    /// The shielded pool's verifying-key hashes; `None` disables the pool.
    pub pool: Option<PoolKeyHashes>,
    /// Blocks per settlement epoch (≥ 1).
    pub settlement_epoch_blocks: u64,
    /// Most currencies one member may register (≥ 1): each adds to every
    /// block's state hash, and symbols are first come, first served.
    pub max_currencies_per_member: u32,
}

/// The currency cap a genesis file gets when it names none.
pub const DEFAULT_MAX_CURRENCIES_PER_MEMBER: u32 = 8;

impl Genesis {
    /// The chain ID.
    pub fn chain_id(&self) -> ChainId {
        let mut h = Sha256::new();
        h.update(b"coalition/v1/genesis");
        h.update(self.to_bytes());
        ChainId(h.finalize().into())
    }

    /// The ledger at height 0. `keys` must match [`Genesis::pool`];
    /// the INSECURE dev keys are refused unless `dev_mode`.
    pub fn ledger(
        &self,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
        dev_mode: bool,
    ) -> Result<AccountLedger, GenesisError> {
        self.validate()?;
        if self.settlement_epoch_blocks == 0 {
            return Err(GenesisError::Invalid(
                "the settlement epoch must be at least one block",
            ));
        }
        if self.max_currencies_per_member == 0 {
            return Err(GenesisError::Invalid(
                "a member must be allowed at least one currency",
            ));
        }
        let governance =
            Governance::founded(&self.founders, self.threshold).map_err(GenesisError::Invalid)?;
        let chain = self.chain_id();
        let ledger = match (&self.pool, keys) {
            (None, None) => AccountLedger::new(chain),
            (Some(hashes), Some(keys)) => {
                if PoolKeyHashes::of(&keys) != *hashes {
                    return Err(GenesisError::KeysMismatch);
                }
                if hashes.are_insecure_dev() && !dev_mode {
                    return Err(GenesisError::InsecureKeys);
                }
                AccountLedger::with_shielded_pool(chain, keys)
            }
            (Some(_), None) => return Err(GenesisError::Pool("names")),
            (None, Some(_)) => return Err(GenesisError::Pool("does not name")),
        };
        Ok(self.configure(ledger.with_governance(governance)))
    }

    /// Checks every field against the bounds its decoder enforces, by
    /// decoding its own encoding: a genesis a node could start from but
    /// never read back (a 65-byte name, a time past
    /// [`MAX_GENESIS_TIMESTAMP_MS`], no founder…) is refused before anything
    /// is stored.
    pub fn validate(&self) -> Result<(), GenesisError> {
        match Self::from_bytes(&self.to_bytes()) {
            Ok(back) if back == *self => Ok(()),
            Ok(_) => Err(GenesisError::Field(
                "a field does not survive its encoding".into(),
            )),
            Err(e) => Err(GenesisError::Field(e.to_string())),
        }
    }

    /// Reads a stored genesis back: its canonical encoding, at most
    /// [`MAX_GENESIS_BYTES`] long (a genesis may name more founders than fit
    /// in a transaction's [`coalition_core::encoding::MAX_TRANSACTION_BYTES`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_exact_within(bytes, MAX_GENESIS_BYTES)
    }

    /// `ledger` with this genesis's parameters that are not ledger state
    /// (the settlement epoch, the currency cap): at genesis and whenever a
    /// state is loaded from records.
    pub fn configure(&self, ledger: AccountLedger) -> AccountLedger {
        ledger
            .with_settlement_epoch(self.settlement_epoch_blocks)
            .with_currency_cap(self.max_currencies_per_member)
    }
}

impl Encode for Genesis {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.name.len().min(255) as u8);
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        out.extend_from_slice(&self.threshold.numerator().to_le_bytes());
        out.extend_from_slice(&self.threshold.denominator().to_le_bytes());
        out.extend_from_slice(&(self.founders.len() as u32).to_le_bytes());
        for (name, identity) in &self.founders {
            out.push(name.len().min(255) as u8);
            out.extend_from_slice(name.as_bytes());
            identity.encode(out);
        }
        match &self.pool {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                out.extend_from_slice(&h.output);
                out.extend_from_slice(&h.spend);
            }
        }
        out.extend_from_slice(&self.settlement_epoch_blocks.to_le_bytes());
        out.extend_from_slice(&self.max_currencies_per_member.to_le_bytes());
    }
}

impl Decode for Genesis {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = read_name(reader, "coalition name")?;
        let timestamp_ms = reader.u64("genesis time")?;
        if timestamp_ms > MAX_GENESIS_TIMESTAMP_MS {
            return Err(DecodeError::OutOfBounds {
                what: "genesis time",
                value: timestamp_ms,
            });
        }
        let threshold = Threshold::new(reader.u32("threshold")?, reader.u32("threshold")?).ok_or(
            DecodeError::Invalid {
                what: "threshold",
                reason: "must be p/q with 0 < p ≤ q",
            },
        )?;
        let count = reader.u32("founder count")? as usize;
        if count == 0 || count > MAX_MEMBERS {
            return Err(DecodeError::OutOfBounds {
                what: "founder count",
                value: count as u64,
            });
        }
        let founders = (0..count)
            .map(|_| {
                Ok((
                    read_name(reader, "founder name")?,
                    PublicIdentity::decode(reader)?,
                ))
            })
            .collect::<Result<_, DecodeError>>()?;
        let pool = match reader.flag("pool")? {
            false => None,
            true => Some(PoolKeyHashes {
                output: reader.array("output key hash")?,
                spend: reader.array("spend key hash")?,
            }),
        };
        let settlement_epoch_blocks = reader.u64("settlement epoch")?;
        if settlement_epoch_blocks == 0 {
            return Err(DecodeError::OutOfBounds {
                what: "settlement epoch",
                value: 0,
            });
        }
        let max_currencies_per_member = reader.u32("currencies per member")?;
        if max_currencies_per_member == 0 {
            return Err(DecodeError::OutOfBounds {
                what: "currencies per member",
                value: 0,
            });
        }
        Ok(Genesis {
            name,
            timestamp_ms,
            threshold,
            founders,
            pool,
            settlement_epoch_blocks,
            max_currencies_per_member,
        })
    }
}
