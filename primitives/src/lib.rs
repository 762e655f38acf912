//! # cutopia-primitives
//!
//! What CuTopia's pallets, node, SDK (plexus), relayer and tests share, with no FRAME in it:
//!
//! - [`types`]: ids, [`Resources`], [`Role`], [`ChallengeKind`], [`WorkRecord`],
//!   [`Settlement`] and the limits ([`CU`], [`MAX_INLINE`]);
//! - [`hashes`]: every domain-separated hash of the protocol as a free function, so a miner,
//!   an exchange and the chain compute the same bytes from one definition;
//! - [`traits`]: what one pallet asks of another ([`ChallengeApi`], [`EscrowApi`],
//!   [`Registry`], [`ReputationApi`]) and how it learns outcomes ([`ChallengeOutcome`],
//!   [`EscrowOutcome`], [`Eligibility`]), with `()` implementations for runtimes and tests
//!   that leave a part out.
//!
//! Pallets depend on this crate, never on each other: the runtime wires them together
//! through these traits.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod hashes;
pub mod traits;
pub mod types;

pub use sp_core::H256;
pub use traits::*;
pub use types::*;
