//! Dedicated public addresses (`--public-ip`): a service that asks for one (its spec's
//! `public_ip`, [`PublicIp::needs_address`]) is served on port 80 of an address no other
//! lease uses, with its SSH gateway on port 22 of it. The miner registers how many it has; the
//! chain gives it no more such slots at once than that, and takes one lease's publication at
//! an address at a time.

use super::TARGET;
use crate::cutopia::runtime_types::{
	cutopia_primitives::types::PublicIp as Asked, pallet_indenture::types::IndentureSpec,
};
use anyhow::{bail, Result};
use cutopia_primitives::{PublicIp, DEDICATED_SERVICE_PORT, DEDICATED_SSH_PORT};
use std::{
	collections::BTreeMap,
	net::{IpAddr, SocketAddr},
	sync::{Arc, Mutex},
};

/// Whether slot `slot` of `spec` is served at a dedicated address: the chain's rule.
pub(super) fn needed<A, B>(spec: &IndentureSpec<A, B>, slot: u32) -> bool {
	let asked = match spec.public_ip {
		Asked::None => PublicIp::None,
		Asked::PerNode => PublicIp::PerNode,
		Asked::PerCluster => PublicIp::PerCluster,
	};
	asked.needs_address(spec.nodes, slot)
}

/// Checks that this host can serve on ports 80 and 22 of each address, before the miner
/// registers them: an address that is not this host's, or a port another program holds (an
/// sshd listening on every address holds port 22 of each), is said at start, not when a
/// buyer's service cannot start.
pub fn check(addresses: &[IpAddr]) -> Result<()> {
	for (i, ip) in addresses.iter().enumerate() {
		if addresses[..i].iter().any(|other| other.to_canonical() == ip.to_canonical()) {
			bail!("--public-ip {ip} is given twice");
		}
		if ip.is_unspecified() || ip.is_multicast() {
			bail!("--public-ip {ip} is not an address a service can be reached at");
		}
		for port in [DEDICATED_SERVICE_PORT, DEDICATED_SSH_PORT] {
			if let Err(e) = std::net::TcpListener::bind(SocketAddr::new(*ip, port)) {
				let why = match e.kind() {
					std::io::ErrorKind::PermissionDenied => {
						"ports below 1024 need root or CAP_NET_BIND_SERVICE"
					},
					std::io::ErrorKind::AddrInUse => {
						"another program holds it — an sshd listening on every address holds \
						 port 22 of each"
					},
					_ => "is the address this host's?",
				};
				bail!("--public-ip {ip}: cannot listen on port {port} ({why}): {e}");
			}
		}
	}
	Ok(())
}

/// The miner's dedicated addresses and which service holds each.
#[derive(Debug, Default)]
pub(super) struct Addresses {
	held: Mutex<BTreeMap<IpAddr, Option<u64>>>,
}

impl Addresses {
	pub(super) fn new(addresses: &[IpAddr]) -> Arc<Self> {
		Arc::new(Self { held: Mutex::new(addresses.iter().map(|ip| (*ip, None)).collect()) })
	}

	/// A free address for service `id`: `preferred` (where the chain says it was published
	/// before a restart, so the buyer's DNS still points at it) if it is free, else the first
	/// free one not `reserved` (published on chain for another running lease of this miner,
	/// which the chain would not let this one be published at).
	pub(super) fn take(
		self: &Arc<Self>,
		id: u64,
		preferred: Option<IpAddr>,
		reserved: &[IpAddr],
	) -> Option<Dedicated> {
		let mut held = self.held.lock().expect("not poisoned");
		let free = |ip: &IpAddr| {
			held.get(ip).is_some_and(Option::is_none)
				&& !reserved.iter().any(|r| r.to_canonical() == ip.to_canonical())
		};
		let ip = preferred.filter(free).or_else(|| held.keys().find(|ip| free(ip)).copied())?;
		held.insert(ip, Some(id));
		Some(Dedicated { pool: self.clone(), ip })
	}
}

/// An address held by one service; free again when dropped.
#[derive(Debug)]
pub(super) struct Dedicated {
	pool: Arc<Addresses>,
	pub(super) ip: IpAddr,
}

impl Drop for Dedicated {
	fn drop(&mut self) {
		if let Some(by) = self.pool.held.lock().expect("not poisoned").get_mut(&self.ip) {
			tracing::debug!(target: TARGET, "{} free again (held by service {by:?})", self.ip);
			*by = None;
		}
	}
}

/// The dedicated address a published `host:port` names: a literal IP at port 80 (an ordinary
/// service published on another port of an address holds no dedicated address).
pub(super) fn dedicated_ip(endpoint: &[u8]) -> Option<IpAddr> {
	let at = std::str::from_utf8(endpoint).ok()?.parse::<SocketAddr>().ok()?;
	(at.port() == DEDICATED_SERVICE_PORT).then_some(at.ip())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn an_address_serves_one_service_at_a_time_and_a_restart_keeps_its_own() {
		let ips: Vec<IpAddr> = ["127.0.0.11", "127.0.0.12"].map(|s| s.parse().unwrap()).to_vec();
		let pool = Addresses::new(&ips);
		let a = pool.take(1, Some(ips[1]), &[]).expect("free");
		assert_eq!(a.ip, ips[1]);
		let b = pool.take(2, Some(ips[1]), &[]).expect("the other one");
		assert_eq!(b.ip, ips[0]);
		assert!(pool.take(3, None, &[]).is_none(), "both held");
		drop(a);
		// Free here, but published on chain for another lease (as an IPv4-mapped address):
		// not given out.
		let mapped: IpAddr = "::ffff:127.0.0.12".parse().unwrap();
		assert!(pool.take(3, None, &[mapped]).is_none());
		assert!(pool.take(3, Some(ips[1]), &[mapped]).is_none());
		assert_eq!(pool.take(3, None, &[]).map(|d| d.ip), Some(ips[1]));
		assert_eq!(dedicated_ip(b"[::1]:80"), Some("::1".parse().unwrap()));
		assert_eq!(dedicated_ip(b"miner.example:80"), None);
		assert_eq!(dedicated_ip(b"127.0.0.11:40001"), None, "an ordinary service's port");
	}

	#[test]
	fn an_address_given_twice_or_not_this_hosts_is_refused_at_start() {
		let ip = |s: &str| s.parse::<IpAddr>().unwrap();
		let err = |a: &[IpAddr]| check(a).unwrap_err().to_string();
		assert!(err(&[ip("127.0.0.13"), ip("127.0.0.13")]).contains("twice"));
		assert!(err(&[ip("127.0.0.13"), ip("::ffff:127.0.0.13")]).contains("twice"));
		assert!(err(&[ip("0.0.0.0")]).contains("not an address"));
		// TEST-NET-3: not an address of this host.
		assert!(format!("{:#}", check(&[ip("203.0.113.77")]).unwrap_err())
			.contains("cannot listen on port 80"));
	}
}
