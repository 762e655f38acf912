//! Prometheus gauges: how far behind the relayer is, what it did, and the watchdog's view of
//! the vault against the bridged supply.

use alloy::primitives::U256;
use substrate_prometheus_endpoint::{register, Gauge, PrometheusError, Registry, I64, U64};
use tracing::error;

pub struct Metrics {
	pub lag: Gauge<U64>,
	pub seen: Gauge<U64>,
	pub attested: Gauge<U64>,
	pub signed: Gauge<U64>,
	pub pending_age: Gauge<U64>,
	pub rpc_errors: Gauge<U64>,
	pub unconfirmed: Gauge<U64>,
	pub reorged: Gauge<U64>,
	pub supply_delta: Gauge<I64>,
}

impl Metrics {
	fn registered_in(registry: &Registry) -> Result<Self, PrometheusError> {
		let g = |name: &str, help: &str| register(Gauge::new(name, help)?, registry);
		Ok(Self {
			lag: g("cutopia_bridge_lag_blocks", "Ethereum blocks between the followed head and the checkpoint")?,
			seen: g("cutopia_bridge_deposits_seen", "Deposited logs seen and checked")?,
			attested: g("cutopia_bridge_deposits_attested", "Deposits this relayer attested")?,
			signed: g("cutopia_bridge_withdrawals_signed", "Withdrawals this relayer signed")?,
			pending_age: g("cutopia_bridge_pending_age_seconds", "Age of the oldest unfinished cycle")?,
			rpc_errors: g("cutopia_bridge_rpc_errors", "RPC errors (each one backs off)")?,
			unconfirmed: g("cutopia_bridge_deposits_unconfirmed", "Deposits seen above the followed head, waiting for it")?,
			reorged: g("cutopia_bridge_deposits_reorged", "Deposits seen unconfirmed that then left the Ethereum chain (never attested)")?,
			supply_delta: register(
				Gauge::new(
					"cutopia_bridge_supply_delta",
					"Vault token balance minus bridged supply, in whole CU; below 0 the vault holds less than the chain's bridged CU (alarm)",
				)?,
				registry,
			)?,
		})
	}

	/// Registers the gauges and serves them on 127.0.0.1:`port`; `None` when `port` is 0.
	pub fn serve(port: u16) -> Result<Option<Self>, PrometheusError> {
		if port == 0 {
			return Ok(None);
		}
		let registry = Registry::new_custom(None, None)?;
		let metrics = Self::registered_in(&registry)?;
		let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
		tokio::spawn(async move {
			if let Err(e) = substrate_prometheus_endpoint::init_prometheus(addr, registry).await {
				error!("metrics endpoint: {e}");
			}
		});
		Ok(Some(metrics))
	}
}

/// Whole CU in an amount of base units (18 decimals), saturating.
pub fn whole_cu(amount: U256) -> u64 {
	u64::try_from(amount / U256::from(10u128.pow(18))).unwrap_or(u64::MAX)
}

/// `balance − supply` in whole CU, signed (towards zero) and saturating: the watchdog's gauge,
/// negative when the vault holds less than the chain's bridged supply.
pub fn supply_delta(balance: U256, supply: U256) -> i64 {
	let whole = |x: U256| i64::try_from(whole_cu(x)).unwrap_or(i64::MAX);
	if balance >= supply {
		whole(balance - supply)
	} else {
		-whole(supply - balance)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_round_down_to_whole_cu_and_saturate() {
		let cu = U256::from(10u128.pow(18));
		assert_eq!(whole_cu(U256::ZERO), 0);
		assert_eq!(whole_cu(cu - U256::from(1u8)), 0);
		assert_eq!(whole_cu(cu * U256::from(5u8) / U256::from(2u8)), 2);
		assert_eq!(whole_cu(U256::MAX), u64::MAX);
	}

	#[test]
	fn the_supply_gauge_goes_below_zero_when_the_vault_holds_less() {
		let cu = U256::from(10u128.pow(18));
		assert_eq!(supply_delta(cu * U256::from(5u8), cu * U256::from(3u8)), 2);
		assert_eq!(supply_delta(cu * U256::from(3u8), cu * U256::from(5u8)), -2);
		assert_eq!(supply_delta(U256::ZERO, U256::MAX), -i64::MAX);
		assert_eq!(supply_delta(cu, cu), 0);
	}
}
