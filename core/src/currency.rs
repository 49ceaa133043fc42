//! Currencies and exchange rates (spec §5.2).

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
/// the target with `q·y = p·x` exactly. `p, q ∈ [1, 2^32)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
