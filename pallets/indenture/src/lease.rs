//! Leases: a won slot starts its miner's heartbeat lease; each proven round streams pay,
//! `DisputeLag` rounds late; when every lease has ended the indenture moves to its results
//! (batch), to its buyer's acceptance (service), or settles (any failure).

use super::*;

impl<T: Config> Pallet<T> {
	/// Challenge `challenge` went to `winner`: its slot starts a heartbeat lease. A winner
	/// that is no longer eligible (it started leaving, or its bond was slashed below the
	/// minimum, between its commit and the award) or that cannot be marked busy does not get
	/// the slot: the slot reopens under a fresh challenge, so nobody serves work with a bond
	/// that can be withdrawn under it.
	pub(crate) fn on_awarded(challenge: ChallengeId, winner: &T::AccountId) {
		let Some((id, slot_index)) = SlotOfChallenge::<T>::take(challenge) else { return };
		let Some(mut ind) = Indentures::<T>::get(id) else { return };
		let Some(mut slot) = Slots::<T>::get(id, slot_index) else { return };
		if Self::competing(id, Some(slot_index), winner).is_none() {
			return Self::reopen_slot(id, slot_index, slot, &ind, winner);
		}
		if let Err(e) = T::Registry::begin_work(winner, Role::Miner) {
			log::debug!(target: LOG_TARGET, "award of {id}/{slot_index} refused: {e:?}");
			return Self::reopen_slot(id, slot_index, slot, &ind, winner);
		}
		let now = frame_system::Pallet::<T>::block_number();
		let period = T::HeartbeatPeriod::get();
		let rounds = (ind.spec.duration / period).max(1);
		let start = now.saturating_add(One::one());
		let window = T::HeartbeatWindow::get();
		let lease = match T::Challenges::start_lease(
			id,
			winner.clone(),
			start,
			rounds,
			period,
			window,
			T::MaxMissedRounds::get(),
		) {
			Ok(lease) => lease,
			// The lease parameters come from this pallet's checked config: this cannot fail.
			// Should it, the miner is not left busy and the slot is not left without a
			// challenge.
			Err(e) => {
				defensive!("starting a lease failed", e);
				T::Registry::end_work(winner, Role::Miner);
				return Self::reopen_slot(id, slot_index, slot, &ind, winner);
			},
		};
		// The last round closes `window` blocks after it opens; then its misses are counted.
		let last_close = start.saturating_add(
			rounds.saturating_sub(1).saturating_mul(period).saturating_add(window).into(),
		);
		Self::schedule(last_close, Deadline::LeaseEnd(lease));
		if ind.spec.public_ip.needs_address(ind.spec.nodes, slot_index) {
			AddressesHeld::<T>::mutate(winner, |n| *n = n.saturating_add(1));
		}
		slot.miner = Some(winner.clone());
		slot.lease = Some(lease);
		slot.access = Some(Access {
			start,
			end: last_close,
			endpoint: T::Registry::miner_endpoint(winner).unwrap_or_default(),
			service: None,
		});
		Slots::<T>::insert(id, slot_index, slot);
		SlotsOf::<T>::insert(winner, (id, slot_index), ());
		SlotOfLease::<T>::insert(lease, (id, slot_index));
		Self::deposit_event(Event::SlotAwarded {
			id,
			slot: slot_index,
			miner: winner.clone(),
			lease,
		});
		if Slots::<T>::iter_prefix_values(id).any(|s| s.miner.is_none()) {
			Self::mark_won(id);
		} else {
			ind.status = Status::Leased;
			Self::dequeue(id, &ind.buyer);
			Self::deposit_event(Event::Leased { id });
			Self::observe_price(id, &ind);
			Indentures::<T>::insert(id, ind);
		}
	}

	/// Miner `who` publishes where its slot of service `id` answers (the `publish_access`
	/// call).
	pub(crate) fn do_publish_access(
		who: T::AccountId,
		id: IndentureId,
		access: ServiceAccess,
	) -> DispatchResult {
		let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.spec.task_type == TaskType::Service, Error::<T>::NotService);
		let gateway_ok =
			access.ssh.as_ref().is_none_or(|g| is_address(&g.endpoint) && is_host_key(&g.host_key));
		ensure!(is_address(&access.service) && gateway_ok, Error::<T>::BadAccess);
		let (index, mut slot) = Self::slot_of(id, &who).ok_or(Error::<T>::NotMiner)?;
		ensure!(slot.ended.is_none(), Error::<T>::LeaseOver);
		let dedicated = if ind.spec.public_ip.needs_address(ind.spec.nodes, index) {
			let key = dedicated_address(&access.service, DEDICATED_SERVICE_PORT)
				.ok_or(Error::<T>::NotDedicated)?;
			let ssh_there = access
				.ssh
				.as_ref()
				.is_none_or(|g| dedicated_address(&g.endpoint, DEDICATED_SSH_PORT) == Some(key));
			ensure!(ssh_there, Error::<T>::NotDedicated);
			ensure!(
				DedicatedAt::<T>::get(&who, key).is_none_or(|at| at == (id, index)),
				Error::<T>::AddressTaken
			);
			Some(key)
		} else {
			None
		};
		if let Some(key) = dedicated {
			// Republished at another address (the miner restarted on another one): the old
			// one is free for other leases.
			if let Some(old) = Self::published_address(&slot).filter(|old| *old != key) {
				DedicatedAt::<T>::remove(&who, old);
			}
			DedicatedAt::<T>::insert(&who, key, (id, index));
		}
		// Awarded slots always have their access; one without is no lease to publish for.
		let Some(slot_access) = slot.access.as_mut() else {
			return Err(Error::<T>::NotMiner.into());
		};
		slot_access.service = Some(access.clone());
		Slots::<T>::insert(id, index, slot);
		Self::deposit_event(Event::AccessPublished { id, slot: index, access });
		Ok(())
	}

	/// Slot `index` of `ind` (indenture `id`) stops running: the dedicated address it held,
	/// if it needed one, is free again — its miner's count goes down, and the address it was
	/// published at may be published for another lease. Called once per awarded slot, when its
	/// lease ends or its indenture closes with the lease still running.
	pub(crate) fn release_address(
		ind: &IndentureOf<T>,
		id: IndentureId,
		index: u32,
		slot: &SlotOf<T>,
	) {
		if !ind.spec.public_ip.needs_address(ind.spec.nodes, index) {
			return;
		}
		let Some(miner) = &slot.miner else { return };
		AddressesHeld::<T>::mutate_exists(miner, |n| {
			*n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
		});
		if let Some(key) = Self::published_address(slot) {
			DedicatedAt::<T>::mutate_exists(miner, key, |at| {
				if *at == Some((id, index)) {
					*at = None;
				}
			});
		}
	}

	/// The dedicated address `slot`'s service was published at, if any.
	pub(crate) fn published_address(slot: &SlotOf<T>) -> Option<AddressKey> {
		let published = slot.access.as_ref()?.service.as_ref()?;
		dedicated_address(&published.service, DEDICATED_SERVICE_PORT)
	}

	/// Gives slot `slot_index` of indenture `id`, whose award to `winner` did not stand, a
	/// fresh challenge of the indenture's kind until its award deadline. Past the deadline no
	/// challenge can open: the slot keeps its decided one (mapped back to it, so expiry finds
	/// it) and the award deadline's processing expires the indenture, refunding the buyer, as
	/// for any slot nobody won.
	fn reopen_slot(
		id: IndentureId,
		slot_index: u32,
		mut slot: SlotOf<T>,
		ind: &IndentureOf<T>,
		winner: &T::AccountId,
	) {
		let fresh = Self::fresh_challenge(id, ind, ind.spec.challenge);
		if let Some(challenge) = fresh {
			slot.challenge = challenge;
			Slots::<T>::insert(id, slot_index, &slot);
		}
		SlotOfChallenge::<T>::insert(slot.challenge, (id, slot_index));
		Self::deposit_event(Event::SlotReopened {
			id,
			slot: slot_index,
			miner: winner.clone(),
			challenge: fresh,
		});
	}

	/// A new challenge of `kind` for a slot of `ind`, if its award deadline is still ahead.
	fn fresh_challenge(
		id: IndentureId,
		ind: &IndentureOf<T>,
		kind: ChallengeKind,
	) -> Option<ChallengeId> {
		let now = frame_system::Pallet::<T>::block_number();
		if now >= ind.award_deadline {
			return None;
		}
		Self::open_challenge(id, &ind.buyer, &ind.spec, kind, ind.compute_units, ind.award_deadline)
			.inspect_err(|e| log::warn!(target: LOG_TARGET, "reopen {id}: {e:?}"))
			.ok()
	}

	/// The empty slot challenge `challenge` decided gets a fresh challenge of `kind`, if the
	/// indenture is still open and its award deadline ahead (a factorization challenge
	/// decides long before it: a slot nobody qualified for gets another round). Otherwise the
	/// slot stays as it is and the award deadline expires the indenture. With no `kind`, the
	/// indenture's own.
	fn renew_challenge(challenge: ChallengeId, kind: Option<ChallengeKind>) {
		let Some((id, slot_index)) = SlotOfChallenge::<T>::get(challenge) else { return };
		let Some(ind) = Indentures::<T>::get(id).filter(|i| i.status == Status::Open) else {
			return;
		};
		let kind = kind.unwrap_or(ind.spec.challenge);
		let Some(mut slot) = Slots::<T>::get(id, slot_index) else { return };
		if slot.miner.is_some() || slot.challenge != challenge {
			return;
		}
		let Some(fresh) = Self::fresh_challenge(id, &ind, kind) else { return };
		SlotOfChallenge::<T>::remove(challenge);
		slot.challenge = fresh;
		Slots::<T>::insert(id, slot_index, slot);
		SlotOfChallenge::<T>::insert(fresh, (id, slot_index));
		Self::deposit_event(Event::SlotChallengeRenewed {
			id,
			slot: slot_index,
			challenge: fresh,
			kind,
		});
	}

	/// Nobody won challenge `challenge` in time: its slot gets another round while the award
	/// window lasts.
	pub(crate) fn on_expired(challenge: ChallengeId) {
		Self::renew_challenge(challenge, None);
	}

	/// The exchange of indenture `id` failed its duty on `challenge`: it did not post `C` in
	/// time, posted an unfair one, or did not reveal its factor for the audit. The slot of a
	/// challenge that was never won gets a hash-target challenge, which needs no issuer. The
	/// first failure of an indenture also returns the exchange's fee to the buyer, records the
	/// failure on RepChain with part of its bond slashed to the buyer, and switches the
	/// indenture to hash targets for every slot reopened from then on; later failures of the
	/// same indenture are not slashed again (the exchange has paid for failing it), but their
	/// slots still fall back.
	pub(crate) fn on_voided(id: IndentureId, challenge: ChallengeId, issuer: &T::AccountId) {
		let Some(mut ind) = Indentures::<T>::get(id) else {
			return Self::voided_after_the_end(id, challenge, issuer);
		};
		if ind.spec.exchange != *issuer {
			return;
		}
		if ind.spec.challenge == ChallengeKind::Factorization {
			T::Escrow::waive_exchange_fee(id);
			ind.exchange_fee = Zero::zero();
			ind.spec.challenge = ChallengeKind::HashTarget;
			// The buyer lost time, not money (its fee came back).
			Self::exchange_failed(id, challenge, issuer, &ind.buyer, ind.spec.incentive);
			Indentures::<T>::insert(id, ind);
		}
		Self::renew_challenge(challenge, Some(ChallengeKind::HashTarget));
	}

	/// The exchange of indenture `id`, which has ended (its CIRecord is still recent), never
	/// revealed `p` for the audit of `challenge`: its fee was paid at settlement, so the
	/// failure is recorded and part of its bond slashed to the buyer (at most the work's
	/// value), or an exchange could skip every audit of work shorter than the audit window.
	fn voided_after_the_end(id: IndentureId, challenge: ChallengeId, issuer: &T::AccountId) {
		let Some(ci) = Records::<T>::get(id) else { return };
		Self::exchange_failed(id, challenge, issuer, &ci.client, ci.incentive);
	}

	/// Records the exchange's failure on `challenge` of indenture `id`, slashing part of its
	/// bond to `buyer`, bounded by the work's value `incentive`.
	fn exchange_failed(
		id: IndentureId,
		challenge: ChallengeId,
		issuer: &T::AccountId,
		buyer: &T::AccountId,
		incentive: BalanceOf<T>,
	) {
		let record = Self::work_record(
			issuer.clone(),
			Role::Exchange,
			id,
			Outcome::Failure,
			incentive,
			Some(buyer.clone()),
		);
		T::Reputation::append(record, Some((buyer, incentive)));
		Self::deposit_event(Event::ExchangeFailed { id, exchange: issuer.clone(), challenge });
	}

	/// Heartbeat rounds of one lease of `ind`.
	pub fn rounds_of(ind: &IndentureOf<T>) -> u32 {
		(ind.spec.duration / T::HeartbeatPeriod::get()).max(1)
	}

	/// What one proven round pays: the incentive split evenly over slots and rounds,
	/// rounded down (the remainder goes back to the buyer at settlement).
	pub fn pay_per_round(ind: &IndentureOf<T>) -> BalanceOf<T> {
		let slots = ind.spec.nodes.saturating_mul(ind.spec.replicas).max(1);
		let rounds = Self::rounds_of(ind);
		let streamed = ind.spec.incentive.saturating_sub(Self::result_part(ind));
		streamed / BalanceOf::<T>::from(slots.saturating_mul(rounds))
	}

	/// A proven round is withheld; the oldest withheld round is paid once more than
	/// `DisputeLag` are, so the pay of the last `DisputeLag` proven rounds is always still
	/// held when the buyer disputes.
	pub(crate) fn on_heartbeat_proven(lease: LeaseId, _round: u32) {
		let Some((id, slot_index)) = SlotOfLease::<T>::get(lease) else { return };
		let (Some(ind), Some(mut slot)) =
			(Indentures::<T>::get(id), Slots::<T>::get(id, slot_index))
		else {
			return;
		};
		let Some(miner) = slot.miner.clone() else { return };
		slot.rounds_held = slot.rounds_held.saturating_add(1);
		if slot.rounds_held > T::DisputeLag::get() {
			let amount = Self::pay_per_round(&ind);
			// Cannot exceed the incentive: rounds × slots × per-round ≤ incentive.
			match T::Escrow::pay(id, &miner, amount) {
				Ok(()) => {
					let round = slot.rounds_paid;
					slot.rounds_held -= 1;
					slot.rounds_paid = slot.rounds_paid.saturating_add(1);
					Self::deposit_event(Event::RoundPaid { id, miner, round, amount });
				},
				// The round stays withheld (paid at settlement, or disputed).
				Err(e) => {
					defensive!("streaming a proven round failed", e);
				},
			}
		}
		Slots::<T>::insert(id, slot_index, slot);
	}

	/// What the withheld rounds of `slot` of `ind` are worth.
	pub(crate) fn withheld(ind: &IndentureOf<T>, slot: &SlotOf<T>) -> BalanceOf<T> {
		Self::pay_per_round(ind).saturating_mul(slot.rounds_held.into())
	}

	/// The withheld pay of every miner of indenture `id` that has some.
	pub(crate) fn withheld_payouts(
		id: IndentureId,
		ind: &IndentureOf<T>,
	) -> alloc::vec::Vec<(T::AccountId, BalanceOf<T>)> {
		Slots::<T>::iter_prefix_values(id)
			.filter_map(|s| Some((s.miner.clone()?, Self::withheld(ind, &s))))
			.filter(|(_, amount)| !amount.is_zero())
			.collect()
	}

	/// The share of indenture `id`'s rounds its leases proved: what the fees are worth when
	/// its work ended early or in part.
	pub(crate) fn served_share(id: IndentureId, ind: &IndentureOf<T>) -> Perbill {
		let slots = ind.spec.nodes.saturating_mul(ind.spec.replicas);
		let total_rounds = Self::rounds_of(ind).saturating_mul(slots).max(1);
		let proven: u32 = Slots::<T>::iter_prefix_values(id)
			.filter_map(|s| s.ended)
			.map(|e| e.proven)
			.fold(0, u32::saturating_add);
		Perbill::from_rational(proven.min(total_rounds), total_rounds)
	}

	pub(crate) fn on_lease_ended(lease: LeaseId, failed: bool, proven: u32, missed: u32) {
		// A lease that proved no round at all delivered nothing: it failed, even when its
		// misses stayed within the tolerance.
		let failed = failed || proven == 0;
		let Some((id, slot_index)) = SlotOfLease::<T>::take(lease) else { return };
		let (Some(ind), Some(mut slot)) =
			(Indentures::<T>::get(id), Slots::<T>::get(id, slot_index))
		else {
			return;
		};
		let end = LeaseEnd { proven, missed, failed };
		// Only a running lease holds an address (a stopped one let it go when it stopped).
		if slot.ended.is_none() {
			Self::release_address(&ind, id, slot_index, &slot);
		}
		slot.ended = Some(end);
		if let Some(miner) = slot.miner.clone() {
			T::Registry::end_work(&miner, Role::Miner);
			if failed {
				// A failed miner's bond is slashed in part to the buyer it left without
				// service. Successes are recorded when the work is settled.
				Self::record(&ind, id, miner, false, proven, missed);
			}
		}
		Slots::<T>::insert(id, slot_index, slot);
		Self::deposit_event(Event::LeaseEnded { id, slot: slot_index, end });
		let all_ended = Slots::<T>::iter_prefix_values(id).all(|s| s.ended.is_some());
		// Services, and work with a failed lease, settle on their heartbeats now; a batch task
		// whose leases all completed collects its results first.
		let any_failed =
			Slots::<T>::iter_prefix_values(id).any(|s| s.ended.is_some_and(|e| e.failed));
		if !all_ended {
			return;
		}
		if any_failed {
			Self::settle_on_heartbeats(id, ind, true);
		} else if ind.spec.task_type == TaskType::Service {
			Self::await_service_acceptance(id, ind);
		} else {
			let mut ind = ind;
			let seal_until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::ResultWindow::get());
			ind.status = Status::Reporting;
			ind.results_deadline = Some(seal_until);
			Indentures::<T>::insert(id, ind);
			let reveal_until = seal_until.saturating_add(T::ResultWindow::get());
			Self::schedule(reveal_until.saturating_add(One::one()), Deadline::Results(id));
			Self::deposit_event(Event::ResultsDue { id, seal_until });
		}
	}
}

/// A published address: not empty, printable ASCII, no spaces (`host:port`, `[v6]:port`); no
/// control bytes a client's terminal or its `ssh` would act on.
fn is_address(bytes: &[u8]) -> bool {
	!bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// An SSH host key line as clients pin it: `ssh-ed25519 ` and base64, nothing else.
fn is_host_key(bytes: &[u8]) -> bool {
	bytes.strip_prefix(b"ssh-ed25519 ").is_some_and(|key| {
		!key.is_empty() && key.iter().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b))
	})
}
