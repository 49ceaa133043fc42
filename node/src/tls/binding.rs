//! The partner binding: an X.509 extension in which a partner's identity
//! vouches for a TLS key (spec §17.6).
//!
//! ```text
//! extnID     1.3.6.1.3.7261.1.1   (a private arc under IANA's experimental
//!                                  1.3.6.1.3: nothing outside a coalition
//!                                  reads it; the extension is not critical)
//! extnValue  OCTET STRING { version (1 byte, = 1)
//!                           ‖ identity (64: Ed25519 key ‖ ElGamal key)
//!                           ‖ signature (64) }
//! signature  Ed25519, by the identity's signing key, over
//!            "coalition/v1/tls-binding" ‖ identity
//!            ‖ not_after (i64, big-endian Unix seconds)
//!            ‖ len(spki) (u32, big-endian) ‖ spki (the certificate's
//!            SubjectPublicKeyInfo, DER)
//! ```
//!
//! The signature covers the certificate's key, so the binding cannot be
//! moved to another certificate, and its expiry, so a TLS key that leaks
//! stops speaking for the partner when its certificate ends (the partner
//! rotates by signing a new one; nothing about the old one needs
//! revoking at the others' nodes). The certificate's own self-signature
//! adds nothing and is not checked: the handshake proves possession of the
//! key, the binding says whose key it is.

use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, PublicIdentity, TxSignature};
use x509_parser::oid_registry::Oid;

use super::TlsError;

/// The binding extension's OID, as arcs.
pub const BINDING_OID: &[u64] = &[1, 3, 6, 1, 3, 7261, 1, 1];
/// The binding format's version byte.
pub const BINDING_VERSION: u8 = 1;
/// The signature's domain separator.
const DOMAIN: &[u8] = b"coalition/v1/tls-binding";
/// Version, identity, signature.
const CONTENT_LEN: usize = 1 + 64 + 64;
/// The DER header of an OCTET STRING of [`CONTENT_LEN`] (129) bytes: tag 4,
/// then the length in long form (one length byte follows).
const OCTET_STRING_HEADER: [u8; 3] = [0x04, 0x81, CONTENT_LEN as u8];

/// What the identity signs.
fn message(identity: &PublicIdentity, not_after: i64, spki: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 64 + 12 + spki.len());
    out.extend_from_slice(DOMAIN);
    identity.encode(&mut out);
    out.extend_from_slice(&not_after.to_be_bytes());
    // An SPKI is a few hundred bytes at most; the certificate parser bounds it.
    out.extend_from_slice(&(spki.len() as u32).to_be_bytes());
    out.extend_from_slice(spki);
    out
}

/// The extension's value (its DER OCTET STRING): `keys` vouch for the key
/// `spki` until `not_after` (Unix seconds).
pub fn extension_value(keys: &IdentityKeys, not_after: i64, spki: &[u8]) -> Vec<u8> {
    let signature = keys.sign(&message(keys.public(), not_after, spki));
    let mut out = Vec::with_capacity(OCTET_STRING_HEADER.len() + CONTENT_LEN);
    out.extend_from_slice(&OCTET_STRING_HEADER);
    out.push(BINDING_VERSION);
    keys.public().encode(&mut out);
    signature.encode(&mut out);
    out
}

/// The partner identity the certificate `der` is bound to, checked: it
/// parses (one certificate, nothing after it), is valid at `now` (Unix
/// seconds), carries exactly one binding, and the binding's signature
/// verifies under the identity it names, over this certificate's key and
/// expiry.
pub fn bound_identity(der: &[u8], now: i64) -> Result<PublicIdentity, TlsError> {
    let (rest, certificate) =
        x509_parser::parse_x509_certificate(der).map_err(|e| TlsError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(TlsError::Malformed("bytes after the certificate".into()));
    }
    let validity = certificate.validity();
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    if now < not_before || now > not_after {
        return Err(TlsError::Expired {
            not_before,
            not_after,
        });
    }
    let oid = Oid::from(BINDING_OID).map_err(|_| TlsError::BadBinding)?;
    let mut bindings = certificate.iter_extensions().filter(|e| e.oid == oid);
    let value = bindings.next().ok_or(TlsError::Unbound)?.value;
    if bindings.next().is_some() {
        return Err(TlsError::BadBinding);
    }
    let content = value
        .strip_prefix(&OCTET_STRING_HEADER[..])
        .filter(|c| c.len() == CONTENT_LEN && c[0] == BINDING_VERSION)
        .ok_or(TlsError::BadBinding)?;
    let identity: PublicIdentity =
        decode_exact(&content[1..65]).map_err(|_| TlsError::BadBinding)?;
    let signature: TxSignature = decode_exact(&content[65..]).map_err(|_| TlsError::BadBinding)?;
    identity
        .signing
        .verify(
            &message(&identity, not_after, certificate.public_key().raw),
            &signature,
        )
        .map_err(|_| TlsError::BadSignature)?;
    Ok(identity)
}

/// The current time in Unix seconds (0 if the clock is before 1970).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use rcgen::{CertificateParams, CustomExtension, KeyPair, PublicKeyData};

    /// A certificate for a fresh key, valid until `not_after`, carrying
    /// `extensions` (each an OID's content).
    fn certificate(not_after: i64, extensions: Vec<Vec<u8>>) -> (KeyPair, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        params.custom_extensions = extensions
            .into_iter()
            .map(|content| CustomExtension::from_oid_content(BINDING_OID, content))
            .collect();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        (key, der)
    }

    /// A certificate whose key `keys` bind (the binding made for the
    /// certificate's own key unless `spki` names another).
    fn bound(keys: &IdentityKeys, not_after: i64) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let value = extension_value(keys, not_after, &key.subject_public_key_info());
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        params.custom_extensions = vec![CustomExtension::from_oid_content(BINDING_OID, value)];
        params.self_signed(&key).unwrap().der().to_vec()
    }

    const NOT_AFTER: i64 = 4_000_000_000;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_binding_names_the_identity_that_signed_it() {
        let keys = IdentityKeys::random(&mut OsRng);
        let der = bound(&keys, NOT_AFTER);
        assert_eq!(bound_identity(&der, NOW).unwrap(), *keys.public());
        // `generate` makes the same kind of certificate.
        let made = super::super::generate(&keys, &["localhost".into()], 1).unwrap();
        let pem =
            super::super::NodeCertificate::from_pem(&made.certificate_pem, &made.key_pem).unwrap();
        assert_eq!(pem.identity, *keys.public());
    }

    #[test]
    fn a_binding_moved_to_another_key_or_expiry_is_refused() {
        let keys = IdentityKeys::random(&mut OsRng);
        // Signed for another key (the binding copied onto this certificate).
        let other = KeyPair::generate().unwrap();
        let value = extension_value(&keys, NOT_AFTER, &other.subject_public_key_info());
        let (_, der) = certificate(NOT_AFTER, vec![value.clone()]);
        assert!(matches!(
            bound_identity(&der, NOW),
            Err(TlsError::BadSignature)
        ));
        // Signed for this key but a later expiry than the certificate's.
        let key = KeyPair::generate().unwrap();
        let value = extension_value(&keys, NOT_AFTER + 1, &key.subject_public_key_info());
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(NOT_AFTER).unwrap();
        params.custom_extensions = vec![CustomExtension::from_oid_content(BINDING_OID, value)];
        let der = params.self_signed(&key).unwrap().der().to_vec();
        assert!(matches!(
            bound_identity(&der, NOW),
            Err(TlsError::BadSignature)
        ));
    }

    #[test]
    fn a_binding_with_another_identity_or_a_mangled_encoding_is_refused() {
        let keys = IdentityKeys::random(&mut OsRng);
        let other = IdentityKeys::random(&mut OsRng);
        let key = KeyPair::generate().unwrap();
        let spki = key.subject_public_key_info();
        let good = extension_value(&keys, NOT_AFTER, &spki);
        let with = |value: Vec<u8>| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.not_before = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
            params.not_after = time::OffsetDateTime::from_unix_timestamp(NOT_AFTER).unwrap();
            params.custom_extensions = vec![CustomExtension::from_oid_content(BINDING_OID, value)];
            bound_identity(params.self_signed(&key).unwrap().der(), NOW)
        };
        assert!(with(good.clone()).is_ok());
        // Another identity named beside keys' signature.
        let mut swapped = good.clone();
        let start = OCTET_STRING_HEADER.len() + 1;
        swapped[start..start + 64].copy_from_slice(&other.public().to_bytes());
        assert!(matches!(with(swapped), Err(TlsError::BadSignature)));
        // One bit of the signature.
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(with(flipped), Err(TlsError::BadSignature)));
        // Another version, a truncated value, a non-canonical identity.
        let mut version = good.clone();
        version[OCTET_STRING_HEADER.len()] = 2;
        assert!(matches!(with(version), Err(TlsError::BadBinding)));
        let mut truncated = good.clone();
        truncated.pop();
        assert!(matches!(with(truncated), Err(TlsError::BadBinding)));
        let mut noncanonical = good.clone();
        noncanonical[start + 32..start + 64].fill(0xff);
        assert!(matches!(with(noncanonical), Err(TlsError::BadBinding)));
    }

    #[test]
    fn no_binding_two_bindings_expiry_and_trailing_bytes_are_refused() {
        let keys = IdentityKeys::random(&mut OsRng);
        let (_, unbound) = certificate(NOT_AFTER, vec![]);
        assert!(matches!(
            bound_identity(&unbound, NOW),
            Err(TlsError::Unbound)
        ));
        let key = KeyPair::generate().unwrap();
        let value = extension_value(&keys, NOT_AFTER, &key.subject_public_key_info());
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(NOT_AFTER).unwrap();
        params.custom_extensions = vec![
            CustomExtension::from_oid_content(BINDING_OID, value.clone()),
            CustomExtension::from_oid_content(BINDING_OID, value),
        ];
        let twice = params.self_signed(&key).unwrap().der().to_vec();
        // x509-parser refuses a repeated extension itself; either way, no identity.
        assert!(matches!(
            bound_identity(&twice, NOW),
            Err(TlsError::BadBinding | TlsError::Malformed(_))
        ));
        let der = bound(&keys, NOT_AFTER);
        assert!(matches!(
            bound_identity(&der, NOT_AFTER + 1),
            Err(TlsError::Expired { .. })
        ));
        assert!(matches!(
            bound_identity(&der, -1),
            Err(TlsError::Expired { .. })
        ));
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(
            bound_identity(&trailing, NOW),
            Err(TlsError::Malformed(_))
        ));
        assert!(matches!(
            bound_identity(&der[..der.len() - 1], NOW),
            Err(TlsError::Malformed(_))
        ));
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let keys = IdentityKeys::random(&mut OsRng);
        let a = super::super::generate(&keys, &[], 1).unwrap();
        let b = super::super::generate(&keys, &[], 1).unwrap();
        let mixed =
            super::super::NodeCertificate::from_pem(&a.certificate_pem, &b.key_pem).unwrap();
        assert!(matches!(
            super::super::server_config(&mixed),
            Err(TlsError::Config(_))
        ));
        assert!(super::super::NodeCertificate::from_pem(&a.certificate_pem, "").is_err());
        assert!(super::super::NodeCertificate::from_pem("", &a.key_pem).is_err());
    }
}
