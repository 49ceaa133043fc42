//! Signed node-to-node messages (spec §20.3).
//!
//! Every Raft message (and every submission a follower forwards to the
//! leader) travels in an envelope signed with the sending
//! partner's identity key — the Ed25519 key governance records for it — and
//! every answer is signed by the partner that was asked:
//!
//! ```text
//! request   = "CRQ2" ‖ sender (LoyaltyId, 32) ‖ recipient (node ID, u64 BE)
//!             ‖ timestamp ms (u64 BE) ‖ body length (u64 BE) ‖ SHA-256(body) (32)
//!             ‖ signature (64) ‖ body
//! signed    = SHA-256 over length-prefixed parts:
//!             REQUEST_DOMAIN ‖ chain ‖ route ‖ sender ‖ recipient ‖ timestamp
//!             ‖ body length ‖ SHA-256(body)
//! response  = "CRS1" ‖ responder (32) ‖ signature (64) ‖ body
//! signed    = RESPONSE_DOMAIN ‖ chain ‖ route ‖ responder ‖ request signature ‖ SHA-256(body)
//! ```
//!
//! The chain ID keeps messages of one coalition out of another, the route
//! keeps a vote from being replayed as an append, the recipient keeps a
//! message to one node from being reflected to another, and the timestamp
//! bounds replays to [`MAX_CLOCK_SKEW_MS`] (Raft itself ignores a replayed
//! message: terms and log positions make every RPC idempotent). The answer
//! binds the request's signature, so it cannot be served for another
//! request. A receiver accepts a request only from a **current member** of
//! the coalition as its own committed governance state records it.
//!
//! The head carries the body's length and hash under the signature, so a
//! receiver authenticates a request from its first [`REQUEST_HEAD`] bytes
//! ([`open_request_head`]) before it reads, let alone buffers, the body
//! (up to 256 MiB for a batch of blocks): a stranger, or anyone sending a
//! member's head with a forged length, costs it one head and a signature
//! check. The receiver also opens each head only once (it remembers the
//! signatures of the clock window), so a head seen on the wire cannot be
//! replayed to make it hold bodies either. The body is then checked
//! against the signed length and hash ([`RequestHead::open_body`]).

use coalition_core::encoding::decode_exact;
use coalition_core::keys::{IdentityKeys, LoyaltyId, PublicIdentity, TxSignature};
use coalition_core::transaction::ChainId;
use sha2::{Digest, Sha256};

/// Domain of request signatures (protocol and version).
pub const REQUEST_DOMAIN: &[u8] = b"coalition/raft-request/v2";
/// Domain of response signatures.
pub const RESPONSE_DOMAIN: &[u8] = b"coalition/raft-response/v1";
/// Largest accepted difference between a request's timestamp and the
/// receiver's clock.
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

const REQUEST_MAGIC: &[u8; 4] = b"CRQ2";
const RESPONSE_MAGIC: &[u8; 4] = b"CRS1";
/// Bytes of a request before its body: everything the signature covers
/// but the chain and route (which the receiver knows), and the signature.
pub const REQUEST_HEAD: usize = 4 + 32 + 8 + 8 + 8 + 32 + 64;
const RESPONSE_HEAD: usize = 4 + 32 + 64;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Shorter than its fixed head, or not this format.
    #[error("malformed envelope")]
    Malformed,
    /// The sender is not a current member of the coalition.
    #[error("sender {0} is not a member of the coalition")]
    NotAMember(String),
    /// The signature does not verify under the sender's identity key.
    #[error("envelope signature does not verify")]
    BadSignature,
    /// Addressed to another node.
    #[error("envelope is addressed to node {got}, this is node {expected}")]
    WrongRecipient {
        /// This node.
        expected: u64,
        /// The envelope's.
        got: u64,
    },
    /// The timestamp is too far from the receiver's clock.
    #[error("envelope timestamp is {skew_ms} ms away from this node's clock")]
    Stale {
        /// How far.
        skew_ms: u64,
    },
    /// The body differs from the length or hash the head signs.
    #[error("envelope body does not match its signed length and hash")]
    BodyMismatch,
    /// The answer came from another partner than the one asked.
    #[error("answer signed by {got}, expected {expected}")]
    WrongResponder {
        /// Who was asked.
        expected: String,
        /// Who answered.
        got: String,
    },
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

fn request_message(
    chain: &ChainId,
    route: &str,
    sender: &LoyaltyId,
    recipient: u64,
    timestamp_ms: u64,
    body_len: u64,
    body_hash: &[u8; 32],
) -> [u8; 32] {
    digest(&[
        REQUEST_DOMAIN,
        &chain.0,
        route.as_bytes(),
        &sender.0,
        &recipient.to_be_bytes(),
        &timestamp_ms.to_be_bytes(),
        &body_len.to_be_bytes(),
        body_hash,
    ])
}

fn response_message(
    chain: &ChainId,
    route: &str,
    responder: &LoyaltyId,
    request_signature: &[u8; 64],
    body: &[u8],
) -> [u8; 32] {
    let body_hash: [u8; 32] = Sha256::digest(body).into();
    digest(&[
        RESPONSE_DOMAIN,
        &chain.0,
        route.as_bytes(),
        &responder.0,
        request_signature,
        &body_hash,
    ])
}

fn signature_bytes(signature: &TxSignature) -> [u8; 64] {
    let mut out = [0u8; 64];
    out.copy_from_slice(&signature.0.to_bytes());
    out
}

/// A request envelope around `body`, signed by `keys`; returns the bytes
/// and the signature (which the answer must bind).
pub fn seal_request(
    keys: &IdentityKeys,
    chain: &ChainId,
    route: &str,
    recipient: u64,
    timestamp_ms: u64,
    body: &[u8],
) -> (Vec<u8>, [u8; 64]) {
    let sender = keys.loyalty_id();
    let body_len = body.len() as u64;
    let body_hash: [u8; 32] = Sha256::digest(body).into();
    let signature = signature_bytes(&keys.sign(&request_message(
        chain,
        route,
        &sender,
        recipient,
        timestamp_ms,
        body_len,
        &body_hash,
    )));
    let mut out = Vec::with_capacity(REQUEST_HEAD + body.len());
    out.extend_from_slice(REQUEST_MAGIC);
    out.extend_from_slice(&sender.0);
    out.extend_from_slice(&recipient.to_be_bytes());
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&body_hash);
    out.extend_from_slice(&signature);
    out.extend_from_slice(body);
    (out, signature)
}

/// An authenticated request.
#[derive(Debug)]
pub struct OpenedRequest<'a> {
    /// Who sent it (a current member).
    pub sender: LoyaltyId,
    /// Its signature, for the answer to bind.
    pub signature: [u8; 64],
    /// The payload.
    pub body: &'a [u8],
}

/// An authenticated request head: a current member signed it for this
/// node, route and chain, recently. Its body is still to be checked.
#[derive(Debug)]
pub struct RequestHead {
    /// Who sent it (a current member).
    pub sender: LoyaltyId,
    /// Its signature, for the answer to bind.
    pub signature: [u8; 64],
    /// The body's length, as signed.
    pub body_len: u64,
    /// When it was signed (ms), within the clock window of the receiver.
    pub timestamp_ms: u64,
    body_hash: [u8; 32],
}

fn be_u64(bytes: &[u8]) -> Result<u64, EnvelopeError> {
    Ok(u64::from_be_bytes(
        bytes.try_into().map_err(|_| EnvelopeError::Malformed)?,
    ))
}

/// Opens the head of a request (its first [`REQUEST_HEAD`] bytes; more are
/// ignored) addressed to node `me` on `route`: the sender must be a member
/// (`member` looks it up in the committed governance state), the signature
/// must verify under its key, the timestamp must be within
/// [`MAX_CLOCK_SKEW_MS`] of `now_ms`. Nothing of the body is needed.
pub fn open_request_head(
    head: &[u8],
    chain: &ChainId,
    route: &str,
    me: u64,
    now_ms: u64,
    member: impl FnOnce(&LoyaltyId) -> Option<PublicIdentity>,
) -> Result<RequestHead, EnvelopeError> {
    if head.len() < REQUEST_HEAD || &head[..4] != REQUEST_MAGIC {
        return Err(EnvelopeError::Malformed);
    }
    let mut sender = [0u8; 32];
    sender.copy_from_slice(&head[4..36]);
    let sender = LoyaltyId(sender);
    let recipient = be_u64(&head[36..44])?;
    let timestamp_ms = be_u64(&head[44..52])?;
    let body_len = be_u64(&head[52..60])?;
    let mut body_hash = [0u8; 32];
    body_hash.copy_from_slice(&head[60..92]);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&head[92..REQUEST_HEAD]);
    let identity = member(&sender).ok_or_else(|| EnvelopeError::NotAMember(sender.to_string()))?;
    let parsed: TxSignature = decode_exact(&signature).map_err(|_| EnvelopeError::BadSignature)?;
    identity
        .signing
        .verify(
            &request_message(
                chain,
                route,
                &sender,
                recipient,
                timestamp_ms,
                body_len,
                &body_hash,
            ),
            &parsed,
        )
        .map_err(|_| EnvelopeError::BadSignature)?;
    if recipient != me {
        return Err(EnvelopeError::WrongRecipient {
            expected: me,
            got: recipient,
        });
    }
    let skew_ms = now_ms.abs_diff(timestamp_ms);
    if skew_ms > MAX_CLOCK_SKEW_MS {
        return Err(EnvelopeError::Stale { skew_ms });
    }
    Ok(RequestHead {
        sender,
        signature,
        body_len,
        timestamp_ms,
        body_hash,
    })
}

impl RequestHead {
    /// The request, once `body` has the signed length and hash.
    pub fn open_body(self, body: &[u8]) -> Result<OpenedRequest<'_>, EnvelopeError> {
        let hash: [u8; 32] = Sha256::digest(body).into();
        if body.len() as u64 != self.body_len || hash != self.body_hash {
            return Err(EnvelopeError::BodyMismatch);
        }
        Ok(OpenedRequest {
            sender: self.sender,
            signature: self.signature,
            body,
        })
    }
}

/// Opens a whole request held in memory: [`open_request_head`], then
/// [`RequestHead::open_body`] on the bytes after the head.
pub fn open_request<'a>(
    bytes: &'a [u8],
    chain: &ChainId,
    route: &str,
    me: u64,
    now_ms: u64,
    member: impl FnOnce(&LoyaltyId) -> Option<PublicIdentity>,
) -> Result<OpenedRequest<'a>, EnvelopeError> {
    open_request_head(bytes, chain, route, me, now_ms, member)?.open_body(&bytes[REQUEST_HEAD..])
}

/// An answer to the request signed `request_signature`, signed by `keys`.
pub fn seal_response(
    keys: &IdentityKeys,
    chain: &ChainId,
    route: &str,
    request_signature: &[u8; 64],
    body: &[u8],
) -> Vec<u8> {
    let responder = keys.loyalty_id();
    let signature = keys.sign(&response_message(
        chain,
        route,
        &responder,
        request_signature,
        body,
    ));
    let mut out = Vec::with_capacity(RESPONSE_HEAD + body.len());
    out.extend_from_slice(RESPONSE_MAGIC);
    out.extend_from_slice(&responder.0);
    out.extend_from_slice(&signature.0.to_bytes());
    out.extend_from_slice(body);
    out
}

/// Opens the answer to the request signed `request_signature`, which must
/// come from `expected`.
pub fn open_response<'a>(
    bytes: &'a [u8],
    chain: &ChainId,
    route: &str,
    expected: &PublicIdentity,
    request_signature: &[u8; 64],
) -> Result<&'a [u8], EnvelopeError> {
    if bytes.len() < RESPONSE_HEAD || &bytes[..4] != RESPONSE_MAGIC {
        return Err(EnvelopeError::Malformed);
    }
    let mut responder = [0u8; 32];
    responder.copy_from_slice(&bytes[4..36]);
    let responder = LoyaltyId(responder);
    if responder != expected.loyalty_id() {
        return Err(EnvelopeError::WrongResponder {
            expected: expected.loyalty_id().to_string(),
            got: responder.to_string(),
        });
    }
    let signature: TxSignature =
        decode_exact(&bytes[36..100]).map_err(|_| EnvelopeError::BadSignature)?;
    let body = &bytes[RESPONSE_HEAD..];
    expected
        .signing
        .verify(
            &response_message(chain, route, &responder, request_signature, body),
            &signature,
        )
        .map_err(|_| EnvelopeError::BadSignature)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dev_identity;

    const NOW: u64 = 1_800_000_000_000;

    fn setup() -> (IdentityKeys, IdentityKeys, ChainId) {
        (
            dev_identity("airline"),
            dev_identity("hotel"),
            ChainId([7; 32]),
        )
    }

    #[test]
    fn a_member_request_opens_and_its_answer_verifies() {
        let (airline, hotel, chain) = setup();
        let (bytes, sig) = seal_request(&airline, &chain, "/raft/vote", 9, NOW, b"hello");
        let opened = open_request(&bytes, &chain, "/raft/vote", 9, NOW + 5, |id| {
            (*id == airline.loyalty_id()).then(|| *airline.public())
        })
        .unwrap();
        assert_eq!(opened.body, b"hello");
        assert_eq!(opened.sender, airline.loyalty_id());
        let answer = seal_response(&hotel, &chain, "/raft/vote", &opened.signature, b"ok");
        assert_eq!(
            open_response(&answer, &chain, "/raft/vote", hotel.public(), &sig).unwrap(),
            b"ok"
        );
        // The answer is bound to its request, route, chain and responder.
        let other_sig = [1u8; 64];
        assert_eq!(
            open_response(&answer, &chain, "/raft/vote", hotel.public(), &other_sig),
            Err(EnvelopeError::BadSignature)
        );
        assert_eq!(
            open_response(&answer, &chain, "/raft/append", hotel.public(), &sig),
            Err(EnvelopeError::BadSignature)
        );
        assert_eq!(
            open_response(
                &answer,
                &ChainId([8; 32]),
                "/raft/vote",
                hotel.public(),
                &sig
            ),
            Err(EnvelopeError::BadSignature)
        );
        assert!(matches!(
            open_response(&answer, &chain, "/raft/vote", airline.public(), &sig),
            Err(EnvelopeError::WrongResponder { .. })
        ));
        let mut tampered = answer.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            open_response(&tampered, &chain, "/raft/vote", hotel.public(), &sig),
            Err(EnvelopeError::BadSignature)
        );
        assert_eq!(
            open_response(&answer[..50], &chain, "/raft/vote", hotel.public(), &sig),
            Err(EnvelopeError::Malformed)
        );
    }

    #[test]
    fn requests_are_refused_unless_every_field_matches() {
        let (airline, hotel, chain) = setup();
        let members = |id: &LoyaltyId| (*id == airline.loyalty_id()).then(|| *airline.public());
        let (bytes, _) = seal_request(&airline, &chain, "/raft/vote", 9, NOW, b"hello");
        // A non-member's request, however well signed.
        let (outsider, _) = seal_request(&hotel, &chain, "/raft/vote", 9, NOW, b"hello");
        assert!(matches!(
            open_request(&outsider, &chain, "/raft/vote", 9, NOW, members),
            Err(EnvelopeError::NotAMember(_))
        ));
        // A member's request under another route, chain or recipient.
        assert_eq!(
            open_request(&bytes, &chain, "/raft/append", 9, NOW, members).unwrap_err(),
            EnvelopeError::BadSignature
        );
        assert_eq!(
            open_request(&bytes, &ChainId([8; 32]), "/raft/vote", 9, NOW, members).unwrap_err(),
            EnvelopeError::BadSignature
        );
        assert_eq!(
            open_request(&bytes, &chain, "/raft/vote", 10, NOW, members).unwrap_err(),
            EnvelopeError::WrongRecipient {
                expected: 10,
                got: 9
            }
        );
        // Too old, too new.
        assert!(matches!(
            open_request(&bytes, &chain, "/raft/vote", 9, NOW + 60_001, members),
            Err(EnvelopeError::Stale { .. })
        ));
        assert!(matches!(
            open_request(&bytes, &chain, "/raft/vote", 9, NOW - 60_001, members),
            Err(EnvelopeError::Stale { .. })
        ));
        // Every byte of the head and body is covered: flip each in turn.
        for i in 4..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(
                open_request(&t, &chain, "/raft/vote", 9, NOW, members).is_err(),
                "flipping byte {i} went unnoticed"
            );
        }
        // Truncated or foreign bytes.
        for n in [0, 3, 4, 60, REQUEST_HEAD - 1] {
            assert_eq!(
                open_request(&bytes[..n], &chain, "/raft/vote", 9, NOW, members).unwrap_err(),
                EnvelopeError::Malformed
            );
        }
        // The head alone authenticates, before any of the body is read;
        // the body must then be exactly the signed one.
        let head = open_request_head(
            &bytes[..REQUEST_HEAD],
            &chain,
            "/raft/vote",
            9,
            NOW,
            members,
        )
        .unwrap();
        assert_eq!(head.body_len, 5);
        assert_eq!(
            head.open_body(b"hellp").unwrap_err(),
            EnvelopeError::BodyMismatch
        );
        let body_of = |n: usize| {
            let head = open_request_head(&bytes, &chain, "/raft/vote", 9, NOW, members).unwrap();
            head.open_body(&bytes[REQUEST_HEAD..][..n])
                .map(|o| o.body.len())
        };
        assert_eq!(body_of(5), Ok(5));
        for short in 0..5 {
            assert_eq!(body_of(short), Err(EnvelopeError::BodyMismatch));
        }
        let mut longer = bytes.clone();
        longer.push(b'!');
        assert_eq!(
            open_request(&longer, &chain, "/raft/vote", 9, NOW, members).unwrap_err(),
            EnvelopeError::BodyMismatch
        );
        // A member's head with a forged (larger) length does not verify:
        // the length is signed.
        let mut inflated = bytes.clone();
        inflated[52..60].copy_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(
            open_request_head(&inflated, &chain, "/raft/vote", 9, NOW, members).unwrap_err(),
            EnvelopeError::BadSignature
        );
        // The previous version's messages are not this format.
        let mut foreign = bytes.clone();
        foreign[..4].copy_from_slice(b"CRQ1");
        assert_eq!(
            open_request(&foreign, &chain, "/raft/vote", 9, NOW, members).unwrap_err(),
            EnvelopeError::Malformed
        );
        let mut foreign = bytes.clone();
        foreign[0] = b'X';
        assert_eq!(
            open_request(&foreign, &chain, "/raft/vote", 9, NOW, members).unwrap_err(),
            EnvelopeError::Malformed
        );
    }
}
