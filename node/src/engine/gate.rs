//! Bounds on submissions in flight (spec §17.4).
//!
//! Every submission holds a blocking thread while it is admitted (the
//! signature check, then the wait for its batch's proof verification), and
//! an invalid proof costs as much to refuse as a valid one to accept. So
//! before a submission's body is even read, it takes a [`GatePass`]:
//!
//! * at most `max_in_flight` submissions are read, checked or waiting at
//!   once, node-wide, which leaves the blocking pool free for blocks and
//!   reads;
//! * at most `max_in_flight_per_client` of them come from one client
//!   (an IPv4 address, or an IPv6 /64, which one subscriber typically
//!   holds whole), so one client cannot take every place;
//! * a partner's node forwarding its own clients' submissions (signed with
//!   the partner's identity key, §20.5) is not bounded as a client (its
//!   clients were bounded by that node already) but by its own share,
//!   `max_in_flight_per_partner` (half the node's by default), so one
//!   partner's node, faulty or flooded, cannot take every place.
//!
//! A submission that finds no place is refused at once with `429 busy`;
//! nothing is queued. The pass is returned when the submission's work is
//! done: its admission answered, or (at a follower) the leader's answer to
//! it forwarded; a client hanging up does not return it earlier.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use coalition_core::keys::LoyaltyId;
use thiserror::Error;

/// Why a submission found no place.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum GateRefusal {
    /// The node has `0` submissions in flight already.
    #[error("the node is busy ({0} submissions in flight); retry later")]
    Node(usize),
    /// This client has `0` submissions in flight already.
    #[error("this client has {0} submissions in flight; wait for their answers")]
    Client(usize),
    /// This partner's node has `0` forwarded submissions in flight already.
    #[error("this partner's node has {0} forwarded submissions in flight; retry later")]
    Partner(usize),
}

/// Who sent a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitter {
    /// A client, by the address its connection comes from.
    Client(IpAddr),
    /// A member's node, forwarding in an envelope its partner signed.
    PartnerNode(LoyaltyId),
}

/// Who a submission counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(u32),
    /// An IPv6 /64 prefix.
    V6Prefix(u64),
    /// A partner's node, by the partner's loyalty ID.
    Partner([u8; 32]),
}

impl ClientKey {
    /// The key of a peer at `ip`.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(u32::from(v4)),
                None => ClientKey::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// The node-wide and per-client bounds (see the module docs).
#[derive(Clone, Debug)]
pub struct SubmissionGate {
    max_in_flight: usize,
    max_per_client: usize,
    max_per_partner: usize,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<ClientKey, usize>,
}

/// A submission's place; dropping it gives the place back.
#[derive(Debug)]
pub struct GatePass {
    counts: Arc<Mutex<Counts>>,
    /// Whose share it is counted in.
    client: ClientKey,
}

impl SubmissionGate {
    /// A gate admitting `max_in_flight` submissions at once, at most
    /// `max_per_client` of them from one client and `max_per_partner` from
    /// one partner's node.
    pub fn new(
        max_in_flight: usize,
        max_per_client: usize,
        max_per_partner: usize,
    ) -> SubmissionGate {
        SubmissionGate {
            max_in_flight,
            max_per_client,
            max_per_partner,
            counts: Arc::default(),
        }
    }

    /// A place for a submission from `submitter`, within the node-wide
    /// bound and its own share (a client's or a partner node's).
    pub fn enter(&self, submitter: Submitter) -> Result<GatePass, GateRefusal> {
        let (client, share, refusal): (_, _, fn(usize) -> GateRefusal) = match submitter {
            Submitter::Client(ip) => (ClientKey::of(ip), self.max_per_client, GateRefusal::Client),
            Submitter::PartnerNode(partner) => (
                ClientKey::Partner(partner.0),
                self.max_per_partner,
                GateRefusal::Partner,
            ),
        };
        let mut counts = lock(&self.counts);
        if counts.total >= self.max_in_flight {
            return Err(GateRefusal::Node(counts.total));
        }
        let mine = counts.per_client.entry(client).or_insert(0);
        if *mine >= share {
            return Err(refusal(*mine));
        }
        *mine += 1;
        counts.total += 1;
        Ok(GatePass {
            counts: self.counts.clone(),
            client,
        })
    }

    /// Submissions in flight now.
    pub fn in_flight(&self) -> usize {
        lock(&self.counts).total
    }
}

impl Drop for GatePass {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        counts.total -= 1;
        if let Some(mine) = counts.per_client.get_mut(&self.client) {
            *mine -= 1;
            if *mine == 0 {
                // Clients come and go: keep only those in flight.
                counts.per_client.remove(&self.client);
            }
        }
    }
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    // The counts are updated in single statements: a panic elsewhere
    // cannot leave them half-changed.
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The address a request without a known peer (an in-process call) is
/// counted under.
pub const UNKNOWN_PEER: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn each_client_gets_at_most_its_share() {
        let gate = SubmissionGate::new(10, 2, 5);
        let a1 = gate.enter(Submitter::Client(v4(1))).unwrap();
        let _a2 = gate.enter(Submitter::Client(v4(1))).unwrap();
        assert_eq!(
            gate.enter(Submitter::Client(v4(1))).unwrap_err(),
            GateRefusal::Client(2)
        );
        // Another client is not affected, and a returned place is reusable.
        let _b = gate.enter(Submitter::Client(v4(2))).unwrap();
        drop(a1);
        let _a3 = gate.enter(Submitter::Client(v4(1))).unwrap();
        assert_eq!(gate.in_flight(), 3);
    }

    #[test]
    fn a_partners_node_has_its_own_share_and_the_node_wide_bound_holds() {
        let gate = SubmissionGate::new(4, 1, 2);
        let (airline, hotel) = (LoyaltyId([1; 32]), LoyaltyId([2; 32]));
        let _a = gate.enter(Submitter::Client(v4(1))).unwrap();
        // A partner's node is not bound as a client...
        let p1 = gate.enter(Submitter::PartnerNode(airline)).unwrap();
        let _p2 = gate.enter(Submitter::PartnerNode(airline)).unwrap();
        // ...but by its own share, whichever address it comes from.
        assert_eq!(
            gate.enter(Submitter::PartnerNode(airline)).unwrap_err(),
            GateRefusal::Partner(2)
        );
        let _h = gate.enter(Submitter::PartnerNode(hotel)).unwrap();
        // And nobody passes the node-wide bound.
        assert_eq!(
            gate.enter(Submitter::PartnerNode(hotel)).unwrap_err(),
            GateRefusal::Node(4)
        );
        assert_eq!(
            gate.enter(Submitter::Client(v4(3))).unwrap_err(),
            GateRefusal::Node(4)
        );
        drop(p1);
        let _c = gate.enter(Submitter::Client(v4(3))).unwrap();
        assert_eq!(gate.in_flight(), 4);
    }

    #[test]
    fn passes_given_back_leave_nothing_behind() {
        let gate = SubmissionGate::new(4, 4, 4);
        let passes: Vec<GatePass> = (0..4)
            .map(|i| {
                gate.enter(if i == 0 {
                    Submitter::PartnerNode(LoyaltyId([7; 32]))
                } else {
                    Submitter::Client(v4(i))
                })
                .unwrap()
            })
            .collect();
        drop(passes);
        assert_eq!(gate.in_flight(), 0);
        assert!(lock(&gate.counts).per_client.is_empty());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let gate = SubmissionGate::new(10, 1, 5);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_prefix: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_prefix: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _a = gate.enter(Submitter::Client(a)).unwrap();
        assert_eq!(
            gate.enter(Submitter::Client(same_prefix)).unwrap_err(),
            GateRefusal::Client(1)
        );
        let _b = gate.enter(Submitter::Client(other_prefix)).unwrap();
        // An IPv4-mapped address is its IPv4 client.
        let _c = gate.enter(Submitter::Client(v4(7))).unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            gate.enter(Submitter::Client(mapped)).unwrap_err(),
            GateRefusal::Client(1)
        );
    }
}
