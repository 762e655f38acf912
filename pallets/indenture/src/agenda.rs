//! The agenda: deadlines the chain moves itself in `on_initialize`, within a weight budget;
//! each also has a permissionless call as a fallback.

use super::*;

impl<T: Config> Pallet<T> {
	/// Puts `deadline` on the agenda of block `at`, or of one of the next few blocks when
	/// that one is full, or else at the end of the backlog: a burst of deadlines (a thousand
	/// indentures submitted in one block) is late under load, never lost.
	pub(crate) fn schedule(at: BlockNumberFor<T>, deadline: Deadline) {
		let mut block = at;
		for _ in 0..AGENDA_SPREAD {
			if Agenda::<T>::try_mutate(block, |a| a.try_push(deadline)).is_ok() {
				return;
			}
			block = block.saturating_add(One::one());
		}
		BacklogRange::<T>::mutate(|(_, next)| {
			Backlog::<T>::insert(*next, (at, deadline));
			*next = next.saturating_add(1);
		});
		Self::deposit_event(Event::AgendaFull { deadline });
	}

	/// The most `schedule` spends: it probes every block of its spread, then writes the
	/// backlog (its entry, its range) and an event. Storage access is what it costs; the
	/// agenda lists it decodes are bounded by `MaxAgenda`.
	pub fn schedule_weight() -> Weight {
		T::DbWeight::get().reads_writes(u64::from(AGENDA_SPREAD) + 1, 3)
	}

	/// Puts the audit of concluded factorization challenge `challenge` on the agenda for the
	/// block after its window: an issuer that never reveals `p` fails then, and the challenge
	/// leaves storage, without anyone having to call `report_unaudited`.
	pub(crate) fn schedule_audit(challenge: ChallengeId) {
		if let Some(until) = T::Challenges::audit_until(challenge) {
			Self::schedule(until.saturating_add(One::one()), Deadline::Audit(challenge));
		}
	}

	/// The weight of processing one deadline.
	pub fn deadline_weight(deadline: &Deadline) -> Weight {
		match deadline {
			Deadline::Award(_) => Self::expire_weight(),
			Deadline::Results(_) => T::WeightInfo::conclude_results(),
			// Accepting or, disputed in Escrow, applying the default rule or putting it on the
			// agenda.
			Deadline::Acceptance(_) => Self::deadline_weight(&Deadline::DisputeDefault(0))
				.saturating_add(Self::schedule_weight()),
			Deadline::LeaseEnd(_) => {
				T::WeightInfo::lease_end().saturating_add(Self::address_weight(1))
			},
			// Storage only: the prefix iterated and every unrated miner removed.
			Deadline::Audit(_) => T::Challenges::close_audit_weight(),
			// Settling with every miner's payout and a record each, as an expired acceptance
			// does, plus the operator's failure record.
			Deadline::DisputeDefault(_) => {
				T::WeightInfo::accept_expired().saturating_add(T::WeightInfo::dispute_resolved())
			},
			Deadline::RatingsClose(_) => {
				let slots = u64::from(T::MaxSlots::get());
				T::DbWeight::get().reads_writes(slots + 1, slots)
			},
		}
	}

	/// What expiring an indenture may weigh: its own work, and concluding the challenge of
	/// every slot (each may decide among its commits).
	pub fn expire_weight() -> Weight {
		T::WeightInfo::expire()
			.saturating_add(
				T::Challenges::conclude_weight().saturating_mul(T::MaxSlots::get().into()),
			)
			.saturating_add(Self::address_weight(T::MaxSlots::get()))
	}

	/// Taking or letting go of `slots` leases' dedicated addresses (`release_address`: the
	/// miner's count and the address's index entry, each read and written): storage that
	/// `weights.rs` was measured without. The benchmarks of the calls and hooks doing it now
	/// take services at dedicated addresses, so regenerating the weights measures it; until
	/// then it is added here.
	pub fn address_weight(slots: u32) -> Weight {
		let n = 2 * u64::from(slots);
		T::DbWeight::get().reads_writes(n, n)
	}

	/// The heaviest kind of deadline.
	pub fn max_deadline_weight() -> Weight {
		[
			Deadline::Award(0),
			Deadline::Results(0),
			Deadline::Acceptance(0),
			Deadline::LeaseEnd(0),
			Deadline::RatingsClose(0),
			Deadline::Audit(0),
			Deadline::DisputeDefault(0),
		]
		.iter()
		.map(Self::deadline_weight)
		.fold(Weight::zero(), |a, b| a.max(b))
	}

	/// Processes block `n`'s agenda within `AgendaBudget`; what does not fit moves on to
	/// the next block. Each deadline runs in its own storage layer, so one that fails
	/// changes nothing (its permissionless call remains).
	pub(crate) fn process_agenda(n: BlockNumberFor<T>) -> Weight {
		let db = T::DbWeight::get();
		let mut used = db.reads_writes(1, 1);
		let due = Agenda::<T>::take(n);
		let budget = T::AgendaBudget::get();
		for deadline in due {
			let w = Self::deadline_weight(&deadline);
			if used.saturating_add(w).any_gt(budget) {
				Self::schedule(n.saturating_add(One::one()), deadline);
				used = used.saturating_add(Self::schedule_weight());
				continue;
			}
			used = used.saturating_add(w);
			Self::run_deadline(n, deadline);
		}
		Self::process_backlog(n, used)
	}

	/// Works through the backlog, oldest first, while the budget (of which `used` is spent)
	/// allows. An entry not yet due goes to the back (at most `BACKLOG_ROTATIONS` a block),
	/// so a far-future deadline never holds up due ones behind it. Returns the weight used
	/// in all.
	fn process_backlog(n: BlockNumberFor<T>, mut used: Weight) -> Weight {
		let db = T::DbWeight::get();
		let budget = T::AgendaBudget::get();
		let rotate = db.writes(3);
		// Each entry at most once a block: a lone future entry is not spun round.
		let (first, next) = BacklogRange::<T>::get();
		let max_rotations =
			next.saturating_sub(first).saturating_sub(1).min(BACKLOG_ROTATIONS.into());
		let mut rotations = 0;
		used = used.saturating_add(db.reads(1));
		loop {
			// Re-read: a deadline processed here may schedule another into the backlog.
			let (first, next) = BacklogRange::<T>::get();
			if first >= next || used.saturating_add(db.reads(1)).any_gt(budget) {
				break;
			}
			used = used.saturating_add(db.reads(1));
			let Some((due, deadline)) = Backlog::<T>::get(first) else {
				defensive!("a backlog entry within its range is missing");
				used = used.saturating_add(db.writes(1));
				BacklogRange::<T>::put((first.saturating_add(1), next));
				continue;
			};
			if due > n {
				if rotations >= max_rotations || used.saturating_add(rotate).any_gt(budget) {
					break;
				}
				rotations += 1;
				used = used.saturating_add(rotate);
				Backlog::<T>::remove(first);
				Backlog::<T>::insert(next, (due, deadline));
				BacklogRange::<T>::put((first.saturating_add(1), next.saturating_add(1)));
				continue;
			}
			let w = Self::deadline_weight(&deadline).saturating_add(db.writes(2));
			if used.saturating_add(w).any_gt(budget) {
				break;
			}
			used = used.saturating_add(w);
			Backlog::<T>::remove(first);
			BacklogRange::<T>::put((first.saturating_add(1), next));
			Self::run_deadline(n, deadline);
		}
		used
	}

	/// Runs one deadline in its own storage layer: one that fails changes nothing (its work
	/// was already done by its permissionless call, or is not due).
	fn run_deadline(n: BlockNumberFor<T>, deadline: Deadline) {
		if let Err(e) = with_storage_layer(|| Self::process_deadline(n, deadline)) {
			log::debug!(target: LOG_TARGET, "deadline {deadline:?} at {n:?}: {e:?}");
		}
	}

	pub(crate) fn process_deadline(n: BlockNumberFor<T>, deadline: Deadline) -> DispatchResult {
		match deadline {
			Deadline::Award(id) => match Self::do_expire(id) {
				Err(e) if e == Error::<T>::AwardPending.into() => {
					Self::schedule(n.saturating_add(One::one()), deadline);
					Ok(())
				},
				other => other,
			},
			Deadline::Results(id) => Self::do_conclude_results(id),
			Deadline::Acceptance(id) => {
				let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
				ensure!(ind.status == Status::Reported, Error::<T>::NotReporting);
				// The buyer disputed in its window: past the operator's deadline the default rule
				// applies, as for any dispute (now, if that deadline has passed already).
				match T::Escrow::dispute_deadline(id) {
					Some(deadline) if deadline < n => T::Escrow::resolve_expired(id),
					Some(deadline) => {
						let after = deadline.saturating_add(One::one());
						Self::schedule(after, Deadline::DisputeDefault(id));
						Ok(())
					},
					None => T::Escrow::accept_expired(id),
				}
			},
			Deadline::LeaseEnd(lease) => T::Challenges::count_missed(lease),
			// A judged dispute is settled and gone: the error changes nothing.
			Deadline::DisputeDefault(id) => {
				let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
				ensure!(
					matches!(ind.status, Status::Disputed | Status::Contested | Status::Reported),
					Error::<T>::NotDisputed
				);
				T::Escrow::resolve_expired(id)
			},
			// Already audited (or voided) challenges are gone: the error changes nothing.
			Deadline::Audit(challenge) => T::Challenges::close_audit(challenge),
			Deadline::RatingsClose(id) => {
				// At most MAX_SLOTS_BOUND miners per indenture: one pass removes them all.
				let removed = Unrated::<T>::clear_prefix(id, MAX_SLOTS_BOUND, None);
				debug_assert!(removed.maybe_cursor.is_none());
				Ok(())
			},
		}
	}
}
