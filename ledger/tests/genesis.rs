//! Issue 21: every genesis field is checked at load with the bounds its
//! decoder uses, so a node never stores a genesis it cannot read back (a
//! 65-byte name once bricked the data directory after the first start).

use coalition_core::encoding::{Encode, MAX_TRANSACTION_BYTES};
use coalition_core::keys::IdentityKeys;
use coalition_ledger::genesis::{Genesis, GenesisError, MAX_GENESIS_TIMESTAMP_MS};
use coalition_ledger::governance::{Threshold, MAX_MEMBERS};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn genesis(name: &str, timestamp_ms: u64) -> Genesis {
    let founder = IdentityKeys::random(&mut ChaCha20Rng::seed_from_u64(1));
    Genesis {
        name: name.into(),
        timestamp_ms,
        threshold: Threshold::two_thirds(),
        founders: vec![("founder".into(), *founder.public())],
        pool: None,
        settlement_epoch_blocks: 10,
        max_currencies_per_member: 8,
    }
}

fn refused(g: &Genesis) -> String {
    match g.ledger(None, false) {
        Err(GenesisError::Field(why)) => why,
        other => panic!("{:?} accepted: {:?}", g.name, other.map(|l| l.height())),
    }
}

#[test]
fn names_times_and_founders_outside_the_decoders_bounds_are_refused() {
    assert!(genesis(&"n".repeat(64), 1).ledger(None, false).is_ok());
    assert!(refused(&genesis(&"n".repeat(65), 1)).contains("coalition name"));
    assert!(refused(&genesis(&"n".repeat(300), 1)).contains("coalition name"));
    assert!(refused(&genesis("", 1)).contains("coalition name"));
    assert!(genesis("late", MAX_GENESIS_TIMESTAMP_MS)
        .ledger(None, false)
        .is_ok());
    assert!(refused(&genesis("late", MAX_GENESIS_TIMESTAMP_MS + 1)).contains("genesis time"));
    assert!(refused(&genesis("late", u64::MAX)).contains("genesis time"));
    let mut long_founder = genesis("ok", 1);
    long_founder.founders[0].0 = "f".repeat(65);
    assert!(refused(&long_founder).contains("founder name"));
    let mut nobody = genesis("ok", 1);
    nobody.founders.clear();
    assert!(refused(&nobody).contains("founder count"));
    let mut no_epoch = genesis("ok", 1);
    no_epoch.settlement_epoch_blocks = 0;
    assert!(refused(&no_epoch).contains("settlement epoch"));
}

/// A genesis naming the most founders allowed, each with the longest name,
/// is larger than a transaction may be; it must still be accepted and read
/// back (a 16 KiB bound once refused any genesis of more than ~200 founders).
#[test]
fn the_largest_genesis_allowed_is_accepted_and_read_back() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut g = genesis(&"n".repeat(64), 1);
    g.founders = (0..MAX_MEMBERS)
        .map(|i| {
            (
                format!("{i:0>64}"),
                *IdentityKeys::random(&mut rng).public(),
            )
        })
        .collect();
    let bytes = g.to_bytes();
    assert!(bytes.len() > MAX_TRANSACTION_BYTES);
    assert!(g.ledger(None, false).is_ok());
    assert_eq!(Genesis::from_bytes(&bytes).unwrap(), g);
    g.founders.push(("one too many".into(), g.founders[0].1));
    assert!(refused(&g).contains("founder count"));
}

proptest! {
    /// Whatever the fields, a genesis is accepted exactly when its encoding
    /// decodes back to it, and an accepted one starts a ledger.
    #[test]
    fn a_genesis_is_accepted_exactly_when_it_round_trips(
        name in "\\PC{0,70}",
        timestamp_ms in prop_oneof![Just(u64::MAX), Just(MAX_GENESIS_TIMESTAMP_MS), any::<u64>(), 0u64..1u64 << 45],
        p in 1u32..5,
        extra in 0u32..5,
        epoch in prop_oneof![Just(0u64), Just(u64::MAX), 1u64..1000],
        cap in prop_oneof![Just(0u32), 1u32..20],
    ) {
        let mut g = genesis(&name, timestamp_ms);
        g.threshold = Threshold::new(p, p + extra).unwrap();
        g.settlement_epoch_blocks = epoch;
        g.max_currencies_per_member = cap;
        let round_trips = Genesis::from_bytes(&g.to_bytes()).ok() == Some(g.clone());
        prop_assert_eq!(g.validate().is_ok(), round_trips);
        prop_assert_eq!(g.ledger(None, false).is_ok(), round_trips);
    }
}
