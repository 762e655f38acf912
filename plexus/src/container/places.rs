//! Bounded places for a listener's connections, shared so that a stranger cannot take them
//! all: a new connection is never refused but takes the place of the oldest from its own
//! source when that source holds its share, else, when all are taken, of the oldest from
//! the source holding the most. So one address only ever evicts its own connections, and a
//! client's one connection goes only when every place is held by a different source. A
//! source is an IPv4 address or an IPv6 /64 (one customer's prefix holds countless
//! addresses).

use std::{
	collections::VecDeque,
	net::{IpAddr, Ipv6Addr},
	sync::{Arc, Mutex},
};
use tokio::task::AbortHandle;

/// The places of one listener.
#[derive(Clone)]
pub(crate) struct Places(Arc<Mutex<Held>>);

struct Held {
	max: usize,
	per_source: usize,
	next: u64,
	/// Oldest first: id, source, and the task serving it (once spawned).
	held: VecDeque<(u64, IpAddr, Option<AbortHandle>)>,
}

impl Places {
	pub(crate) fn new(max: usize, per_source: usize) -> Self {
		Self(Arc::new(Mutex::new(Held { max, per_source, next: 0, held: VecDeque::new() })))
	}

	/// A place for a connection from `ip`, made by evicting (aborting the task of) another
	/// when needed. Taken before the connection's task exists (record it with
	/// [`Places::started`]); the lock is not held while that task is spawned, which may drop
	/// it at once (a runtime shutting down) and so give the place back.
	pub(crate) fn admit(&self, ip: IpAddr) -> Place {
		let source = source_of(ip);
		let (id, evicted) = {
			let mut held = self.0.lock().expect("not poisoned");
			let id = held.next;
			held.next += 1;
			let evicted = held.admit(id, source);
			(id, evicted)
		};
		if let Some(task) = evicted {
			task.abort();
		}
		Place(self.clone(), id)
	}

	/// Records the task serving place `id`, if it is still held.
	pub(crate) fn started(&self, id: u64, task: AbortHandle) {
		let mut held = self.0.lock().expect("not poisoned");
		if let Some(entry) = held.held.iter_mut().find(|(i, _, _)| *i == id) {
			entry.2 = Some(task);
		}
	}

	fn leave(&self, id: u64) {
		self.0.lock().expect("not poisoned").held.retain(|(i, _, _)| *i != id);
	}
}

impl Held {
	fn admit(&mut self, id: u64, source: IpAddr) -> Option<AbortHandle> {
		let count = |of: &IpAddr| self.held.iter().filter(|(_, s, _)| s == of).count();
		let evict = if count(&source) >= self.per_source {
			self.held.iter().position(|(_, s, _)| *s == source)
		} else if self.held.len() >= self.max {
			let most = self.held.iter().map(|(_, s, _)| count(s)).max().unwrap_or(0);
			self.held.iter().position(|(_, s, _)| count(s) == most)
		} else {
			None
		};
		let evicted = evict.and_then(|at| self.held.remove(at)).and_then(|(_, _, task)| task);
		self.held.push_back((id, source, None));
		evicted
	}
}

/// One connection's place, given back with [`Place::leave`] or when dropped.
pub(crate) struct Place(Places, u64);

impl Place {
	pub(crate) fn id(&self) -> u64 {
		self.1
	}

	pub(crate) fn leave(&self) {
		self.0.leave(self.1);
	}
}

impl Drop for Place {
	fn drop(&mut self) {
		self.leave();
	}
}

/// Whose connection this is: an IPv4 address, or an IPv6 /64.
fn source_of(ip: IpAddr) -> IpAddr {
	match ip {
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => v4.into(),
			None => Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1)).into(),
		},
		v4 => v4,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn ip(s: &str) -> IpAddr {
		s.parse().unwrap()
	}

	fn ids(p: &Places) -> Vec<u64> {
		p.0.lock().unwrap().held.iter().map(|(id, _, _)| *id).collect()
	}

	/// A full listener makes room from the source holding the most places, so strangers
	/// from a few addresses never evict a client's one connection; one address only ever
	/// evicts its own; an IPv6 /64 is one source.
	#[test]
	fn places_are_taken_from_the_most_crowded_source() {
		let p = Places::new(16, 4);
		let mut kept = vec![p.admit(ip("198.51.100.7"))];
		// Four strangers' addresses, 15 connections (4, 4, 4, 3).
		for n in 1..=15 {
			kept.push(p.admit(ip(&format!("203.0.113.{}", (n - 1) / 4))));
		}
		assert_eq!(ids(&p).len(), 16);
		for n in 16..40 {
			std::mem::forget(p.admit(ip(&format!("203.0.113.{}", n % 4))));
			assert!(ids(&p).contains(&0), "the client was evicted by connection {n}");
			assert_eq!(ids(&p).len(), 16);
		}
		// One address floods: it evicts its own oldest, nobody else's.
		let p = Places::new(16, 4);
		let client = p.admit(ip("198.51.100.7"));
		for _ in 1..100 {
			std::mem::forget(p.admit(ip("203.0.113.9")));
		}
		assert_eq!(ids(&p), [0, 96, 97, 98, 99]);
		// A place given back is free; so is a dropped one.
		client.leave();
		assert_eq!(ids(&p), [96, 97, 98, 99]);
		// The addresses of one IPv6 /64 count as one source.
		let p = Places::new(16, 4);
		for n in 0..10 {
			std::mem::forget(p.admit(ip(&format!("2001:db8:1:2::{n:x}"))));
		}
		assert_eq!(ids(&p), [6, 7, 8, 9]);
		drop(p.admit(ip("2001:db8:1:3::1")));
		assert_eq!(ids(&p), [6, 7, 8, 9]);
		assert_eq!(source_of(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
		assert_ne!(source_of(ip("2001:db8:1:2::1")), source_of(ip("2001:db8:1:3::1")));
	}
}
