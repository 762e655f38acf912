//! # `indenture_*` RPC
//!
//! The IndentureApi runtime API as JSON, so agents and polkadot.js users read prices, the
//! queue and indentures without scanning storage.
//!
//! - `indenture_indicativePrice(resources, duration, nodes?, at?)` → [`PriceView`]
//! - `indenture_queue(filter?, page?, at?)` → `[id, …]` in queue order; `filter` is a
//!   [`FilterParam`], `page` a [`PageParam`] (count at most [`MAX_PAGE`], default
//!   [`DEFAULT_PAGE`])
//! - `indenture_get(id, at?)` → [`InfoView`]: the indenture with its slots, its CIRecord once
//!   ended, or `null`.
//!
//! Balances are decimal strings (base units, 18 decimals): CU amounts exceed what a JSON
//! number keeps exactly in JavaScript. Accounts are SS58 strings, hashes and bytes 0x-hex.
//!
//! [`views`] has the JSON shapes as serde types, shared by the server (feature `server`, on by
//! default: what the node merges) and by clients, which deserialize into them instead of
//! indexing untyped JSON.

pub mod views;

pub use views::*;

#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub use server::*;
