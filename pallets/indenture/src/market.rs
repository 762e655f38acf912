//! The market: pricing, the IndentureQueue, and an indenture's life before its slots are
//! won — submit, cancel, expire.

use super::*;

impl<T: Config> Pallet<T> {
	/// The compute-unit weights configured in the runtime.
	pub fn cu_weights() -> CuWeights {
		CuWeights {
			per_millicore: T::CuPerMillicore::get(),
			per_gib_memory: T::CuPerGibMemory::get(),
			per_gib_storage: T::CuPerGibStorage::get(),
			per_gpu: T::CuPerGpu::get(),
		}
	}

	/// `(compute units, compute units × market rate)` for one replica: a buyer asking for `r`
	/// replicas pays for `r` times the compute ([`Self::billed_units`]).
	pub fn indicative_price(
		resources: &Resources,
		nodes: u32,
		duration: u32,
	) -> (u64, BalanceOf<T>) {
		let cu = Self::cu_weights().compute_units(resources, nodes, duration);
		let rate = MarketRate::<T>::get();
		(cu, rate.saturating_mul(cu.saturated_into()))
	}

	/// Moves the market rate toward what leased indenture `id` pays per compute unit: by
	/// `RateSmoothing` × (its compute units / `RateReferenceUnits`, at most 1) of the gap, an
	/// average weighted by compute units; one indenture moves it at most its share of
	/// `MaxRateStep`, and a block never more than `MaxRateStep` of the rate it began with,
	/// however many indentures are leased in it. Only leased work counts (a miner took it at
	/// that price), and one block's move is bounded, so a ring of sock puppets trading with
	/// itself pays for every block it pushes the rate and cannot move it more than the step per
	/// block (docs/DECISIONS.md, "A living market rate").
	pub(crate) fn observe_price(id: IndentureId, ind: &IndentureOf<T>) {
		if ind.compute_units == 0 {
			return;
		}
		let paid = ind.spec.incentive / Self::billed(ind);
		let rate = MarketRate::<T>::get();
		let reference = T::RateReferenceUnits::get().max(1);
		let units = Self::billed_units(ind.compute_units, ind.spec.replicas);
		let share = Perbill::from_rational(units.min(reference), reference);
		let alpha = T::RateSmoothing::get() * share;
		let target = if paid >= rate {
			rate.saturating_add(alpha.mul_ceil(paid - rate))
		} else {
			rate.saturating_sub(alpha.mul_ceil(rate - paid))
		};
		let now = frame_system::Pallet::<T>::block_number();
		let mut history = RateHistory::<T>::get();
		let moved_here = history.last().is_some_and(|(b, _)| *b == now);
		// The rate this block began with: the entry before this block's own, if it has one.
		let began = match history.len().checked_sub(2) {
			Some(i) if moved_here => history.get(i).map_or(rate, |(_, r)| *r),
			_ => rate,
		};
		// One indenture moves the rate at most its share of the step, so reaching the full
		// step in a block takes a core-hour of leased work, not one tiny indenture.
		let own = (T::MaxRateStep::get() * share).mul_ceil(rate).max(One::one());
		let target = target.clamp(rate.saturating_sub(own), rate.saturating_add(own));
		let step = T::MaxRateStep::get().mul_ceil(began).max(One::one());
		let floor = began.saturating_sub(step).max(One::one());
		let new = target.clamp(floor, began.saturating_add(step));
		if new == rate {
			return;
		}
		MarketRate::<T>::put(new);
		if moved_here {
			if let Some((_, r)) = history.last_mut() {
				*r = new;
			}
		} else {
			// Two entries keep the rate the block began with next to its own.
			let entries = if history.is_empty() {
				alloc::vec![(now.saturating_sub(One::one()), rate), (now, new)]
			} else {
				alloc::vec![(now, new)]
			};
			for entry in entries {
				if history.is_full() {
					history.remove(0);
				}
				if history.try_push(entry).is_err() {
					defensive!("a history with room refused an entry");
				}
			}
		}
		RateHistory::<T>::put(history);
		Self::deposit_event(Event::MarketRateMoved { id, paid, rate: new });
	}

	/// What `ind` pays for: its compute units once per replica. Each slot is paid
	/// `incentive / (nodes × replicas)`, so prices, price floors and the minimum incentive
	/// count replicas, or five replicas would be bought at the price of one and each miner
	/// paid a fifth of the floor it agreed to.
	pub fn billed_units(compute_units: u64, replicas: u32) -> u64 {
		compute_units.saturating_mul(replicas.max(1).into())
	}

	/// `max(MinIncentive, MinPriceRatio × indicative)`.
	pub fn minimum_incentive(indicative: BalanceOf<T>) -> BalanceOf<T> {
		T::MinPriceRatio::get().mul_ceil(indicative).max(T::MinIncentive::get())
	}

	/// Where `(priority, id)` goes: after every entry of higher priority, and after older
	/// entries of the same priority.
	pub(crate) fn queue_position(
		queue: &[(u8, IndentureId, u64)],
		priority: u8,
		id: IndentureId,
	) -> usize {
		queue.partition_point(|(p, i, _)| *p > priority || (*p == priority && *i < id))
	}

	/// What `submit` of `spec` is charged without an eviction.
	pub fn submit_weight(spec: &SpecOf<T>) -> Weight {
		T::WeightInfo::submit(
			spec.nodes.saturating_mul(spec.replicas).clamp(1, T::MaxSlots::get()),
			spec.task.size(),
		)
	}

	/// What evicting an entry adds to `submit`: a cancellation.
	pub fn eviction_weight() -> Weight {
		T::WeightInfo::cancel()
	}

	/// `incentive` over `minimum`, in parts per million: 1,000,000 pays exactly the minimum.
	/// Relative to each offer's own minimum, so a flood of tiny jobs at the absolute floor
	/// (`MinIncentive`, many times the market rate per unit) is not dearer than real work.
	pub(crate) fn premium(incentive: BalanceOf<T>, minimum: BalanceOf<T>) -> u64 {
		let minimum: u128 = minimum.saturated_into::<u128>().max(1);
		let incentive: u128 = incentive.saturated_into();
		(incentive.saturating_mul(1_000_000) / minimum).min(u128::from(WON - 1)) as u64
	}

	/// The entry of a full queue an offer of `premium` may take the place of: the one with
	/// the lowest premium (the newest among equals) nobody has won a slot of, if `premium`
	/// beats it by more than `OutbidMargin`.
	fn eviction_candidate(queue: &[(u8, IndentureId, u64)], premium: u64) -> Option<IndentureId> {
		let (lowest, id) = queue
			.iter()
			.filter(|(_, _, p)| *p != WON)
			.map(|(_, id, p)| (*p, *id))
			.min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))?;
		let margin = T::OutbidMargin::get().mul_ceil(lowest);
		(lowest.saturating_add(margin) < premium).then_some(id)
	}

	/// A miner won a slot of open indenture `id`: its queue entry can no longer be evicted
	/// (the miner has started work on it).
	pub(crate) fn mark_won(id: IndentureId) {
		Queue::<T>::mutate(|q| {
			if let Some(entry) = q.iter_mut().find(|(_, i, p)| *i == id && *p != WON) {
				entry.2 = WON;
			}
		});
	}

	/// Takes indenture `id` out of the queue and its buyer's open count.
	pub(crate) fn dequeue(id: IndentureId, buyer: &T::AccountId) {
		Queue::<T>::mutate(|q| q.retain(|(_, i, _)| *i != id));
		OpenOf::<T>::mutate_exists(buyer, |n| {
			*n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
		});
	}

	/// Checks and lists a Computation Indenture for `buyer` (the `submit` call). Returns
	/// whether it took the place of an evicted entry.
	pub(crate) fn do_submit(buyer: T::AccountId, spec: SpecOf<T>) -> Result<bool, DispatchError> {
		ensure!(spec.task.is_valid(), Error::<T>::EmptyTask);
		ensure!(spec.task.runs_on(spec.executor), Error::<T>::WrongExecutor);
		ensure!(
			spec.public_ip == PublicIp::None
				|| (spec.task_type == TaskType::Service && spec.executor != Executor::Wasm),
			Error::<T>::NoAddressForTask
		);
		ensure!(!spec.resources.is_zero(), Error::<T>::NoResources);
		ensure!((1..=T::MaxNodes::get()).contains(&spec.nodes), Error::<T>::BadNodes);
		ensure!((1..=T::MaxReplicas::get()).contains(&spec.replicas), Error::<T>::BadReplicas);
		ensure!(
			spec.nodes.saturating_mul(spec.replicas) <= T::MaxSlots::get(),
			Error::<T>::TooManySlots
		);
		ensure!((1..=T::MaxDuration::get()).contains(&spec.duration), Error::<T>::BadDuration);
		// A buyer serving its own indenture earns its own fees and reputation for nothing.
		ensure!(buyer != spec.exchange && buyer != spec.escrow_operator, Error::<T>::SelfDealing);
		let exchange_rate = T::Registry::service_fee(&spec.exchange, Role::Exchange)
			.ok_or(Error::<T>::UnknownExchange)?;
		let escrow_rate = T::Registry::service_fee(&spec.escrow_operator, Role::EscrowOperator)
			.ok_or(Error::<T>::UnknownEscrowOperator)?;
		let (compute_units, indicative) =
			Self::indicative_price(&spec.resources, spec.nodes, spec.duration);
		let indicative = indicative.saturating_mul(spec.replicas.into());
		ensure!(spec.incentive >= Self::minimum_incentive(indicative), Error::<T>::IncentiveTooLow);
		ensure!(OpenOf::<T>::get(&buyer) < T::MaxOpenPerBuyer::get(), Error::<T>::TooManyOpen);
		let id = NextIndentureId::<T>::get();
		let premium = Self::premium(spec.incentive, Self::minimum_incentive(indicative));
		let mut queue = Queue::<T>::get();
		// A full queue is not a wall: a better offer (over its own minimum) takes the place of
		// the worst one nobody has won a slot of, so filling the queue to keep others out means
		// outbidding them.
		let evicted = if queue.is_full() {
			let victim = Self::eviction_candidate(&queue, premium).ok_or(Error::<T>::QueueFull)?;
			let ind = Indentures::<T>::get(victim).ok_or(Error::<T>::UnknownIndenture)?;
			let refunded = Self::close_unawarded(victim, ind)?;
			Self::deposit_event(Event::Evicted { id: victim, by: id, refunded });
			queue = Queue::<T>::get();
			true
		} else {
			false
		};
		let pos = Self::queue_position(&queue, spec.priority, id);
		queue.try_insert(pos, (spec.priority, id, premium)).map_err(|_| Error::<T>::QueueFull)?;
		OpenOf::<T>::mutate(&buyer, |n| *n = n.saturating_add(1));

		let exchange_fee = exchange_rate.mul_floor(spec.incentive);
		let escrow_fee = escrow_rate.mul_floor(spec.incentive);
		T::Escrow::open(
			id,
			&buyer,
			&spec.exchange,
			&spec.escrow_operator,
			spec.incentive,
			exchange_fee,
			escrow_fee,
		)?;
		T::Registry::begin_work(&spec.exchange, Role::Exchange)?;
		T::Registry::begin_work(&spec.escrow_operator, Role::EscrowOperator)?;

		let now = frame_system::Pallet::<T>::block_number();
		let award_deadline = now.saturating_add(T::AwardWindow::get());
		// One challenge per slot: each slot goes to a different miner.
		for slot in 0..spec.nodes.saturating_mul(spec.replicas) {
			let challenge = Self::open_challenge(
				id,
				&buyer,
				&spec,
				spec.challenge,
				compute_units,
				award_deadline,
			)?;
			Slots::<T>::insert(
				id,
				slot,
				Slot {
					challenge,
					miner: None,
					lease: None,
					access: None,
					ended: None,
					result: None,
					rounds_paid: 0,
					rounds_held: 0,
				},
			);
			SlotOfChallenge::<T>::insert(challenge, (id, slot));
		}
		let incentive = spec.incentive;
		Self::schedule(award_deadline.saturating_add(One::one()), Deadline::Award(id));
		NextIndentureId::<T>::put(id.saturating_add(1));
		Queue::<T>::put(queue);
		Indentures::<T>::insert(
			id,
			Indenture {
				buyer: buyer.clone(),
				spec,
				compute_units,
				exchange_fee,
				escrow_fee,
				submitted: now,
				award_deadline,
				status: Status::Open,
				results_deadline: None,
				result: None,
			},
		);
		Self::deposit_event(Event::Submitted {
			id,
			buyer,
			compute_units,
			incentive,
			held: T::Escrow::held(id),
			award_deadline,
		});
		Ok(evicted)
	}

	/// Opens a capability challenge of `kind` for one slot of indenture `id`: the exchange
	/// issues factorization challenges; commits to it hold a deposit sized by the slot's share
	/// of the incentive, forfeited to the buyer when never revealed.
	pub(crate) fn open_challenge(
		id: IndentureId,
		buyer: &T::AccountId,
		spec: &SpecOf<T>,
		kind: ChallengeKind,
		compute_units: u64,
		award_deadline: BlockNumberFor<T>,
	) -> Result<ChallengeId, DispatchError> {
		let issuer = (kind == ChallengeKind::Factorization).then(|| spec.exchange.clone());
		let slots = u128::from(spec.nodes.saturating_mul(spec.replicas).max(1));
		let value = spec.incentive.saturated_into::<u128>() / slots;
		let stake = Stake { beneficiary: buyer.clone(), value };
		T::Challenges::open(id, kind, issuer, compute_units, award_deadline, stake)
	}

	/// The buyer `who` withdraws indenture `id` (the `cancel` call).
	pub(crate) fn do_cancel(who: T::AccountId, id: IndentureId) -> DispatchResult {
		let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.buyer == who, Error::<T>::NotBuyer);
		ensure!(ind.status == Status::Open, Error::<T>::NotOpen);
		ensure!(
			Slots::<T>::iter_prefix_values(id).all(|s| s.miner.is_none()),
			Error::<T>::AlreadyAwarded
		);
		let refunded = Self::close_unawarded(id, ind)?;
		Self::deposit_event(Event::Cancelled { id, refunded });
		Ok(())
	}

	/// Concludes the empty slots' challenges, then expires the indenture if a slot is still
	/// empty. Fails with `AwardPending` (changing nothing) while a challenge waits for
	/// reveals made in time.
	pub(crate) fn do_expire(id: IndentureId) -> DispatchResult {
		let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.status == Status::Open, Error::<T>::NotOpen);
		ensure!(
			frame_system::Pallet::<T>::block_number() > ind.award_deadline,
			Error::<T>::DeadlineNotReached
		);
		let empty: alloc::vec::Vec<_> = Slots::<T>::iter_prefix_values(id)
			.filter(|s| s.miner.is_none())
			.map(|s| s.challenge)
			.collect();
		let mut pending = false;
		for challenge in empty {
			pending |= T::Challenges::conclude(challenge);
		}
		ensure!(!pending, Error::<T>::AwardPending);
		// Concluding may have awarded the last empty slots.
		let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		if ind.status != Status::Open {
			return Ok(());
		}
		let refunded = Self::close_unawarded(id, ind)?;
		Self::deposit_event(Event::Expired { id, refunded });
		Ok(())
	}

	/// Refunds everything, frees the exchange, the escrow operator and any miners already
	/// awarded a slot, and drops the indenture with its challenges and leases.
	pub(crate) fn close_unawarded(
		id: IndentureId,
		ind: IndentureOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		// Slots already awarded proved their rounds: their withheld pay is theirs.
		let payouts = Self::withheld_payouts(id, &ind);
		let settlement = T::Escrow::settle(id, &payouts, Perbill::zero())?;
		for (index, slot) in Slots::<T>::drain_prefix(id) {
			SlotOfChallenge::<T>::remove(slot.challenge);
			if let Some(miner) = &slot.miner {
				SlotsOf::<T>::remove(miner, (id, index));
			}
			if slot.miner.is_some() && slot.ended.is_none() {
				Self::release_address(&ind, id, index, &slot);
			}
			match (slot.miner, slot.lease) {
				// A lease that already ended has freed its miner; only running ones stop here.
				(Some(_), _) if slot.ended.is_some() => {},
				(Some(miner), lease) => {
					T::Registry::end_work(&miner, Role::Miner);
					if let Some(lease) = lease {
						SlotOfLease::<T>::remove(lease);
						if let Err(e) = T::Challenges::stop_lease(lease) {
							defensive!("a running lease could not be stopped", e);
						}
					}
				},
				// Awarded challenges are gone from the Challenge pallet already; open ones
				// are withdrawn so nobody keeps working on them.
				(None, _) => {
					// A challenge concluded at the award deadline is gone already.
					if let Err(e) = T::Challenges::cancel(slot.challenge) {
						log::debug!(
							target: LOG_TARGET,
							"challenge {} not cancelled: {e:?}",
							slot.challenge
						);
					}
				},
			}
		}
		T::Registry::end_work(&ind.spec.exchange, Role::Exchange);
		T::Registry::end_work(&ind.spec.escrow_operator, Role::EscrowOperator);
		Self::dequeue(id, &ind.buyer);
		Indentures::<T>::remove(id);
		Ok(settlement.refunded)
	}

	/// Ids of the queue from `start`, at most `count`.
	pub fn queue_page(start: u32, count: u32) -> alloc::vec::Vec<IndentureId> {
		Self::queue_filtered(&QueueFilter::default(), start, count)
	}

	/// Ids of the queue that pass `filter`, from the `start`-th match, at most `count`.
	pub fn queue_filtered(
		filter: &QueueFilter<BalanceOf<T>>,
		start: u32,
		count: u32,
	) -> alloc::vec::Vec<IndentureId> {
		Queue::<T>::get()
			.iter()
			.filter(|(p, _, _)| *p >= filter.min_priority)
			.map(|(_, id, _)| *id)
			.filter(|id| {
				if filter.is_trivial() {
					return true;
				}
				let Some(ind) = Indentures::<T>::get(id) else { return false };
				let cu = Self::billed(&ind);
				filter.resources.is_none_or(|r| r.covers(&ind.spec.resources))
					&& filter.challenge.is_none_or(|c| c == ind.spec.challenge)
					&& filter.task_type.is_none_or(|t| t == ind.spec.task_type)
					&& filter.executors.as_ref().is_none_or(|e| {
						cutopia_primitives::offers(
							e,
							ind.spec.executor,
							ind.spec.task_type == TaskType::Service,
						)
					}) && filter
					.min_price_per_cu
					.is_none_or(|p| p.saturating_mul(cu) <= ind.spec.incentive)
			})
			.skip(start as usize)
			.take(count as usize)
			.collect()
	}

	/// An indenture with its slots (in slot order), or its recent CIRecord.
	pub fn info(
		id: IndentureId,
	) -> Option<IndentureInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		if let Some(indenture) = Indentures::<T>::get(id) {
			let mut slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
			slots.sort_by_key(|(i, _)| *i);
			return Some(IndentureInfo::Active { indenture, slots });
		}
		Records::<T>::get(id).map(IndentureInfo::Ended)
	}

	/// [`Self::billed_units`] of `ind`, at least one, as a balance.
	pub(crate) fn billed(ind: &IndentureOf<T>) -> BalanceOf<T> {
		Self::billed_units(ind.compute_units, ind.spec.replicas).max(1).saturated_into()
	}

	/// How qualified miner `who` ranks for a slot of indenture `id` (higher wins), if it may
	/// still compete: its reputation score first (parts per million, in the high 32 bits),
	/// then how far its price floor is below what the indenture pays per billed unit (so, of
	/// two equally reputed miners, the cheaper wins).
	pub fn rank(id: IndentureId, who: &T::AccountId) -> Option<u64> {
		Self::rank_for(id, None, who)
	}

	/// [`Self::rank`] for slot `slot` (any open slot when `None`).
	pub(crate) fn rank_for(id: IndentureId, slot: Option<u32>, who: &T::AccountId) -> Option<u64> {
		let (ind, price_floor, score) = Self::competing(id, slot, who)?;
		let asked = price_floor.saturating_mul(Self::billed(&ind));
		let share = Permill::from_rational(asked, ind.spec.incentive.max(One::one()));
		let cheapness = u64::from(Permill::one().deconstruct() - share.deconstruct());
		Some(u64::from(score.deconstruct()) << 32 | cheapness)
	}

	/// Whether `who` may compete for a slot of indenture `id`: a registered miner, not its
	/// buyer, exchange or escrow operator, whose resources cover one node, that offers an
	/// executor serving the one the indenture needs, whose price floor is
	/// at most the offered price per billed unit (compute units × replicas), whose reputation
	/// meets the minimum, and who holds no other slot of it; for a slot that needs a
	/// dedicated address, one that has one free. Checked when a miner commits or solves, when
	/// qualified miners are ranked (for the challenge's slot), and again when the slot is
	/// awarded. This form asks for any open slot: an address is needed if one of them needs it.
	pub fn may_compete(id: IndentureId, who: &T::AccountId) -> bool {
		Self::competing(id, None, who).is_some()
	}

	/// The slot of indenture `id` that `challenge` decides, if it is still open.
	pub(crate) fn slot_of_challenge(id: IndentureId, challenge: ChallengeId) -> Option<u32> {
		SlotOfChallenge::<T>::get(challenge).filter(|(i, _)| *i == id).map(|(_, slot)| slot)
	}

	/// What [`Self::may_compete`] checks, with what it read for it: the open indenture, the
	/// miner's price floor and its score.
	pub(crate) fn competing(
		id: IndentureId,
		slot: Option<u32>,
		who: &T::AccountId,
	) -> Option<(IndentureOf<T>, BalanceOf<T>, Permill)> {
		let ind = Indentures::<T>::get(id).filter(|i| i.status == Status::Open)?;
		// The buyer would pay itself and could fail its own miner to keep the slash; the
		// exchange knows its own factors; the operator would judge its own work.
		if [&ind.buyer, &ind.spec.exchange, &ind.spec.escrow_operator].contains(&who) {
			return None;
		}
		let MinerOffer { resources, price_floor, executors, addresses } = T::Registry::miner(who)?;
		let score = T::Reputation::score(who);
		let needs = |index| ind.spec.public_ip.needs_address(ind.spec.nodes, index);
		let (mut holds_one, mut any_wanted) = (false, false);
		for (index, s) in Slots::<T>::iter_prefix(id) {
			holds_one |= s.miner.as_ref() == Some(who);
			any_wanted |= s.miner.is_none() && needs(index);
		}
		// A slot that needs a dedicated address goes only to a miner with one free (its
		// siblings of a cluster need none, so a cluster's other nodes are not kept waiting
		// for miners with addresses).
		let address_wanted = slot.map_or(any_wanted, needs);
		let address_free = !address_wanted || AddressesHeld::<T>::get(who) < addresses;
		let fits = resources.covers(&ind.spec.resources)
			&& cutopia_primitives::offers(
				&executors,
				ind.spec.executor,
				ind.spec.task_type == TaskType::Service,
			) && price_floor.saturating_mul(Self::billed(&ind)) <= ind.spec.incentive
			&& score >= ind.spec.min_reputation
			&& address_free
			&& !holds_one;
		fits.then_some((ind, price_floor, score))
	}
}
