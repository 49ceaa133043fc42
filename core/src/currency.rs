//! Currencies and exchange rates (spec §5.2).

use core::num::NonZeroU32;

use coalition_circuits::note::{Epoch, Expiry};

use crate::encoding::{Decode, Encode, Reader};
use crate::errors::DecodeError;
use crate::keys::{ElGamalPublicKey, PublicIdentity};

/// A currency's ledger identifier: its ticker symbol, 1–8 characters from
/// `A–Z 0–9`, zero-padded to 8 bytes (e.g. `MILES`, `HPTS`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyId([u8; 8]);

impl CurrencyId {
    /// Parses a ticker symbol.
    pub fn new(symbol: &str) -> Result<Self, DecodeError> {
        let bytes = symbol.as_bytes();
        if bytes.is_empty() || bytes.len() > 8 {
            return Err(DecodeError::Invalid {
                what: "currency symbol",
                reason: "must be 1 to 8 characters",
            });
        }
        let mut out = [0u8; 8];
        for (i, b) in bytes.iter().enumerate() {
            if !(b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return Err(DecodeError::Invalid {
                    what: "currency symbol",
                    reason: "only A-Z and 0-9 are allowed",
                });
            }
            out[i] = *b;
        }
        Ok(Self(out))
    }

    /// The 8-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// The ticker symbol.
    pub fn symbol(&self) -> &str {
        let len = self.0.iter().position(|b| *b == 0).unwrap_or(8);
        core::str::from_utf8(&self.0[..len]).unwrap_or("?")
    }
}

impl core::fmt::Debug for CurrencyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CurrencyId({})", self.symbol())
    }
}

impl core::fmt::Display for CurrencyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Encode for CurrencyId {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for CurrencyId {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let raw = reader.array::<8>("currency id")?;
        let len = raw.iter().position(|b| *b == 0).unwrap_or(8);
        if raw[len..].iter().any(|b| *b != 0) {
            return Err(DecodeError::Invalid {
                what: "currency id",
                reason: "padding must be zero",
            });
        }
        let symbol = core::str::from_utf8(&raw[..len]).map_err(|_| DecodeError::Invalid {
            what: "currency id",
            reason: "not ASCII",
        })?;
        Self::new(symbol)
    }
}

/// An exchange rate `p/q`: `x` units of the source currency become `y` units of
/// the target with `q·y = p·x` exactly. `p, q ∈ [1, 2^32)`. Ordered by
/// `(p, q)` (not by value) so it can key a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeRate {
    numerator: u32,
    denominator: u32,
}

impl ExchangeRate {
    /// A rate `p/q`; both must be non-zero.
    pub fn new(numerator: u32, denominator: u32) -> Result<Self, DecodeError> {
        if numerator == 0 || denominator == 0 {
            return Err(DecodeError::Invalid {
                what: "exchange rate",
                reason: "numerator and denominator must be non-zero",
            });
        }
        Ok(Self {
            numerator,
            denominator,
        })
    }

    /// `p`.
    pub fn numerator(&self) -> u32 {
        self.numerator
    }

    /// `q`.
    pub fn denominator(&self) -> u32 {
        self.denominator
    }

    /// `y = p·x / q` when it is an integer below 2^64, else `None`.
    pub fn convert(&self, x: u64) -> Option<u64> {
        let product = u128::from(x) * u128::from(self.numerator);
        let q = u128::from(self.denominator);
        if product % q != 0 {
            return None;
        }
        u64::try_from(product / q).ok()
    }
}

impl Encode for ExchangeRate {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.numerator.to_le_bytes());
        out.extend_from_slice(&self.denominator.to_le_bytes());
    }
}

impl Decode for ExchangeRate {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let p = reader.u32("rate numerator")?;
        let q = reader.u32("rate denominator")?;
        Self::new(p, q)
    }
}

/// How long a currency's points stay spendable in the shielded pool (spec
/// §13.13), set once when the currency is registered. Encoded as a `u32`:
/// `0` for [`NoteLifetime::Unlimited`], else the number of epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NoteLifetime {
    /// Notes never expire.
    #[default]
    Unlimited,
    /// A note shielded in epoch `t` expires at `t + n`: a Redeem naming an
    /// epoch up to `t + n` may spend it (and the ledger takes a Redeem
    /// naming the epoch before its own, so until the end of `t + n + 1`).
    Epochs(NonZeroU32),
}

impl NoteLifetime {
    /// The expiry of a note shielded in `epoch`: `epoch + n`, capped at
    /// `2^32 − 2` (the last finite expiry; the pool's clock stops before).
    pub fn expiry(self, epoch: Epoch) -> Expiry {
        match self {
            NoteLifetime::Unlimited => Expiry::NEVER,
            NoteLifetime::Epochs(n) => Expiry(epoch.0.saturating_add(n.get()).min(u32::MAX - 1)),
        }
    }

    /// The encoded form: `0` or the number of epochs.
    pub fn as_u32(self) -> u32 {
        match self {
            NoteLifetime::Unlimited => 0,
            NoteLifetime::Epochs(n) => n.get(),
        }
    }

    /// From [`NoteLifetime::as_u32`] (total: every `u32` is one).
    pub fn from_u32(epochs: u32) -> Self {
        NonZeroU32::new(epochs).map_or(NoteLifetime::Unlimited, NoteLifetime::Epochs)
    }
}

impl core::fmt::Display for NoteLifetime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NoteLifetime::Unlimited => f.write_str("never expire"),
            NoteLifetime::Epochs(n) => write!(f, "expire {n} settlement epochs after shielding"),
        }
    }
}

impl Encode for NoteLifetime {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.as_u32().to_le_bytes());
    }
}

impl Decode for NoteLifetime {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u32(reader.u32("note lifetime")?))
    }
}

/// What the ledger knows about a currency when verifying its transactions:
/// the issuer (who alone may `Issue`, and who reads `Burn` amounts) and the
/// optional auditor key that every amount is also encrypted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencyPolicy {
    /// The currency.
    pub id: CurrencyId,
    /// The issuing partner's identity.
    pub issuer: PublicIdentity,
    /// The auditor's ElGamal key, when the currency names one.
    pub auditor: Option<ElGamalPublicKey>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode_exact;

    #[test]
    fn currency_ids_round_trip_and_reject_bad_symbols() {
        let id = CurrencyId::new("MILES").unwrap();
        assert_eq!(decode_exact::<CurrencyId>(&id.to_bytes()).unwrap(), id);
        assert!(CurrencyId::new("").is_err());
        assert!(CurrencyId::new("miles").is_err());
        assert!(CurrencyId::new("TOOLONGSYM").is_err());
        assert!(decode_exact::<CurrencyId>(b"AB\0C\0\0\0\0").is_err());
    }

    #[test]
    fn note_lifetimes_round_trip_and_cap_their_expiry() {
        for epochs in [0, 1, 12, u32::MAX] {
            let lifetime = NoteLifetime::from_u32(epochs);
            assert_eq!(lifetime.as_u32(), epochs);
            assert_eq!(
                decode_exact::<NoteLifetime>(&lifetime.to_bytes()).unwrap(),
                lifetime
            );
        }
        assert_eq!(NoteLifetime::Unlimited.expiry(Epoch(5)), Expiry::NEVER);
        let twelve = NoteLifetime::from_u32(12);
        assert_eq!(twelve.expiry(Epoch(5)), Expiry(17));
        // Never reaches NEVER by overflow.
        assert_eq!(twelve.expiry(Epoch(u32::MAX - 3)), Expiry(u32::MAX - 1));
        assert_eq!(
            NoteLifetime::from_u32(u32::MAX).expiry(Epoch(0)),
            Expiry(u32::MAX - 1)
        );
    }

    #[test]
    fn rate_conversion_is_exact_or_refused() {
        let r = ExchangeRate::new(3, 2).unwrap();
        assert_eq!(r.convert(10), Some(15));
        assert_eq!(r.convert(3), None);
        assert!(ExchangeRate::new(0, 1).is_err());
        assert_eq!(
            ExchangeRate::new(u32::MAX, 1).unwrap().convert(u64::MAX),
            None
        );
    }
}
