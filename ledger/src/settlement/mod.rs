//! Settlement between partners (spec §16.5).
//!
//! For every epoch (a fixed number of blocks named in the genesis) the
//! node keeps, from the public ledger alone, homomorphic sums of two kinds
//! of figures:
//!
//! * **merchant figures** (`merchant`), per (merchant `M`, currency `c`
//!   issued by `I`): what `M` burned back to `I` (the settlement figure:
//!   `I` owes `M`), took in by transfer, and was paid from the pool;
//! * **exchange figures** (`exchange`), per (currency `A`, currency `B`,
//!   rate): what customers converted from `A` into `B` (`A`'s issuer owes
//!   `B`'s issuer the value of the `B` points created).
//!
//! Because ElGamal is additively homomorphic, `Σ Enc(x_i) = Enc(Σ x_i)`:
//! each reader decrypts one ciphertext per figure and epoch with one
//! discrete log, and `netting` turns what a partner reads into its
//! position. Each figure's value is rounded once and counted once on each
//! side, so positions sum to zero exactly.

mod exchange;
mod figures;
mod merchant;
mod netting;
mod reading;
mod sums;

pub use exchange::{credited_from_debited, ExchangeFigures, ExchangeKey, IssuerSum};
pub use figures::{block_figures, epoch_of, Figures};
pub use merchant::{PairFigures, PairKey, Sealed};
pub use netting::{burn_value, exchange_value, net_positions, SettledExchange, SettledPair};
pub use reading::{audited, readable, Readable, SettlementReadError};
