//! Invariants, checked after every unit test and by try-runtime.

use super::*;

impl<T: Config> Pallet<T> {
	/// Invariants, checked after every unit test and by try-runtime:
	/// - the queue is sorted (priority descending, then id ascending) and holds exactly the
	///   open indentures, unevictable (`WON`) exactly when a slot has a miner; `OpenOf`
	///   counts them by buyer;
	/// - every indenture's escrow holds its incentive plus fees less exactly the rounds its
	///   slots were paid; a running lease withholds at most `DisputeLag` rounds' pay, and an
	///   ended one was paid or withholds every round it proved (so a buyer never pays for
	///   rounds nobody proved, and pays at most `DisputeLag` rounds a slot it cannot dispute);
	/// - every indenture has nodes × replicas slots; an empty slot still has its challenge,
	///   an awarded one has its lease (mapped back to the slot while it runs); a leased
	///   indenture has no empty slot;
	/// - `SlotsOf` indexes exactly the slots that have a miner;
	/// - `AddressesHeld` counts each miner's running leases that need a dedicated address, and
	///   `DedicatedAt` indexes exactly the addresses such leases were published at;
	/// - the deadline backlog holds exactly the entries of its range.
	#[cfg(any(test, feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let queue = Queue::<T>::get();
		ensure!(
			queue.windows(2).all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
			"queue out of order"
		);
		for (id, ind) in Indentures::<T>::iter() {
			let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
			ensure!(
				slots.len() as u32 == ind.spec.nodes.saturating_mul(ind.spec.replicas),
				"an indenture has the wrong number of slots"
			);
			for (index, slot) in &slots {
				ensure!(slot.miner.is_some() == slot.lease.is_some(), "a miner without a lease");
				if let (Some(lease), None) = (slot.lease, slot.ended) {
					ensure!(
						SlotOfLease::<T>::get(lease) == Some((id, *index)),
						"a running lease lost its slot"
					);
				}
				if slot.miner.is_none() {
					ensure!(
						SlotOfChallenge::<T>::get(slot.challenge).is_some_and(|(i, _)| i == id),
						"an open slot lost its challenge"
					);
				}
			}
			if ind.status == Status::Leased {
				ensure!(slots.iter().all(|(_, s)| s.miner.is_some()), "leased with an empty slot");
			}
			let lag = T::DisputeLag::get();
			let mut rounds_paid = 0u32;
			for (_, slot) in &slots {
				rounds_paid = rounds_paid.saturating_add(slot.rounds_paid);
				match slot.ended {
					None => ensure!(slot.rounds_held <= lag, "a running lease withholds too much"),
					Some(end) => ensure!(
						slot.rounds_paid.saturating_add(slot.rounds_held) == end.proven,
						"an ended lease's rounds are not all paid or withheld"
					),
				}
			}
			let full =
				ind.spec.incentive.saturating_add(ind.exchange_fee).saturating_add(ind.escrow_fee);
			let streamed = Self::pay_per_round(&ind).saturating_mul(rounds_paid.into());
			ensure!(
				T::Escrow::held(id) == full.saturating_sub(streamed),
				"an escrow does not hold incentive + fees less the rounds paid"
			);
		}
		let open = Indentures::<T>::iter().filter(|(_, i)| i.status == Status::Open).count();
		ensure!(open == queue.len(), "queue and open indentures differ");
		let mut open_of = alloc::collections::btree_map::BTreeMap::<T::AccountId, u32>::new();
		for (p, id, premium) in queue.iter() {
			let ind = Indentures::<T>::get(id).ok_or("queued indenture missing")?;
			ensure!(ind.spec.priority == *p, "queued priority differs");
			let won = Slots::<T>::iter_prefix_values(id).any(|s| s.miner.is_some());
			ensure!(won == (*premium == WON), "a won entry is evictable, or an unwon one is not");
			*open_of.entry(ind.buyer.clone()).or_default() += 1;
		}
		ensure!(
			OpenOf::<T>::iter().collect::<alloc::collections::btree_map::BTreeMap<_, _>>()
				== open_of,
			"open counts differ from the queue"
		);
		let mut held = 0usize;
		for (miner, (id, index), ()) in SlotsOf::<T>::iter() {
			let slot = Slots::<T>::get(id, index).ok_or("SlotsOf names a slot that is gone")?;
			ensure!(slot.miner.as_ref() == Some(&miner), "SlotsOf names the wrong miner");
			held += 1;
		}
		ensure!(
			held == Slots::<T>::iter_values().filter(|s| s.miner.is_some()).count(),
			"a slot with a miner is missing from SlotsOf"
		);
		let mut addresses = alloc::collections::btree_map::BTreeMap::<T::AccountId, u16>::new();
		for (id, ind) in Indentures::<T>::iter() {
			for (index, slot) in Slots::<T>::iter_prefix(id) {
				let (Some(miner), None) = (&slot.miner, slot.ended) else { continue };
				if !ind.spec.public_ip.needs_address(ind.spec.nodes, index) {
					continue;
				}
				*addresses.entry(miner.clone()).or_default() += 1;
				if let Some(key) = Self::published_address(&slot) {
					ensure!(
						DedicatedAt::<T>::get(miner, key) == Some((id, index)),
						"a dedicated address is not indexed to the lease published there"
					);
				}
			}
		}
		ensure!(
			AddressesHeld::<T>::iter().collect::<alloc::collections::btree_map::BTreeMap<_, _>>()
				== addresses,
			"a miner's count of dedicated addresses differs from its running leases needing one"
		);
		for (miner, key, (id, index)) in DedicatedAt::<T>::iter() {
			let slot = Slots::<T>::get(id, index).ok_or("a dedicated address names no slot")?;
			ensure!(
				slot.ended.is_none()
					&& slot.miner.as_ref() == Some(&miner)
					&& Self::published_address(&slot) == Some(key),
				"a dedicated address is indexed to a lease not running or published elsewhere"
			);
		}
		let (first, next) = BacklogRange::<T>::get();
		ensure!(first <= next, "backlog range inverted");
		ensure!(
			Backlog::<T>::iter_keys().all(|k| (first..next).contains(&k))
				&& Backlog::<T>::iter_keys().count() as u64 == next - first,
			"the backlog holds exactly its range"
		);
		Ok(())
	}
}
