//! Homomorphic running sums and their encodings, shared by the merchant
//! and exchange figures: `Σ Enc_k(x_i) = Enc_k(Σ x_i)`, so a sum is one
//! ciphertext per reader.

use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::{Decode, Encode, Reader};
use coalition_core::DecodeError;

/// Adds `value` into `slot` (an absent value adds nothing).
pub(super) fn add(slot: &mut Option<Ciphertext>, value: Option<Ciphertext>) {
    *slot = match (*slot, value) {
        (Some(a), Some(b)) => Some(a + b),
        (None, b) => b,
        (a, None) => a,
    };
}

/// `0`, or `1 ‖ ciphertext`.
pub(super) fn put_opt(out: &mut Vec<u8>, c: &Option<Ciphertext>) {
    match c {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            c.encode(out);
        }
    }
}

/// Inverse of [`put_opt`].
pub(super) fn read_opt(r: &mut Reader<'_>) -> Result<Option<Ciphertext>, DecodeError> {
    Ok(match r.flag("ciphertext present")? {
        false => None,
        true => Some(Ciphertext::decode(r)?),
    })
}
