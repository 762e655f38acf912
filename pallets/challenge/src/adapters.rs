//! [`ChallengeApi`]: what the opener of challenges and leases (Indenture) calls.

use super::*;

impl<T: Config> ChallengeApi<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
	fn open(
		context: ContextId,
		kind: ChallengeKind,
		issuer: Option<T::AccountId>,
		work: u64,
		deadline: BlockNumberFor<T>,
		stake: Stake<T::AccountId>,
	) -> Result<ChallengeId, DispatchError> {
		let now = Self::now();
		ensure!(deadline > now, Error::<T>::BadDeadline);
		let id = NextChallengeId::<T>::get();
		let (puzzle, status, issuer) = match kind {
			ChallengeKind::Factorization => {
				let issuer = issuer.ok_or(Error::<T>::NotIssuer)?;
				(
					Puzzle::Factorization {
						bits: Self::factor_bits_for(work),
						modulus: Default::default(),
						factor_commitment: H256::zero(),
						audit: Audit::Pending,
					},
					ChallengeStatus::AwaitingModulus,
					Some(issuer),
				)
			},
			ChallengeKind::HashTarget => (
				Puzzle::HashTarget { difficulty: Self::hash_difficulty_for(work) },
				ChallengeStatus::Open,
				None,
			),
		};
		NextChallengeId::<T>::put(id.saturating_add(1));
		if let Some(issuer) = &issuer {
			IssuedBy::<T>::mutate(issuer, context, |n| *n = n.saturating_add(1));
		}
		Challenges::<T>::insert(
			id,
			Challenge {
				context,
				issuer,
				work,
				puzzle,
				status,
				opened: now,
				deadline,
				posted: None,
				commits: 0,
				revealed: 0,
				deposit: Self::commit_deposit(stake.value),
				beneficiary: stake.beneficiary,
				concluded: None,
			},
		);
		Self::deposit_event(Event::ChallengeOpened { id, context, kind, deadline });
		Ok(id)
	}

	fn cancel(id: ChallengeId) -> DispatchResult {
		let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		ensure!(
			matches!(c.status, ChallengeStatus::AwaitingModulus | ChallengeStatus::Open),
			Error::<T>::AlreadyAwarded
		);
		Self::clear_commits(id, &c, false);
		Self::drop_challenge(id, &c);
		Self::deposit_event(Event::Cancelled { id });
		Ok(())
	}

	fn start_lease(
		context: ContextId,
		miner: T::AccountId,
		start: BlockNumberFor<T>,
		rounds: u32,
		period: u32,
		window: u32,
		max_misses: u32,
	) -> Result<LeaseId, DispatchError> {
		ensure!(
			rounds > 0
				&& rounds <= T::MaxRounds::get()
				&& window > 0
				&& window <= period
				&& start >= Self::now(),
			Error::<T>::BadLeaseParameters
		);
		let lease = NextLeaseId::<T>::get();
		NextLeaseId::<T>::put(lease.saturating_add(1));
		Leases::<T>::insert(
			lease,
			HeartbeatLease {
				context,
				miner: miner.clone(),
				start,
				period,
				window,
				rounds,
				difficulty: T::HeartbeatDifficulty::get(),
				max_misses,
				cursor: 0,
				proven: 0,
				missed: 0,
				root: H256::zero(),
				status: LeaseStatus::Active,
			},
		);
		Self::deposit_event(Event::LeaseStarted { lease, context, miner, rounds });
		Ok(lease)
	}

	fn stop_lease(id: LeaseId) -> Result<(u32, u32), DispatchError> {
		let l = Leases::<T>::take(id).ok_or(Error::<T>::UnknownLease)?;
		Self::deposit_event(Event::LeaseStopped {
			lease: id,
			proven: l.proven,
			missed: l.missed,
			root: l.root,
		});
		Ok((l.proven, l.missed))
	}

	fn conclude(id: ChallengeId) -> bool {
		Self::do_conclude(id).is_err()
			&& Challenges::<T>::get(id).is_some_and(|c| c.status == ChallengeStatus::Open)
	}

	fn count_missed(lease: LeaseId) -> DispatchResult {
		Self::do_report_missed(lease)
	}

	fn conclude_weight() -> Weight {
		T::WeightInfo::conclude(T::MaxCommits::get())
			.saturating_add(T::Outcome::decision_weight())
			.saturating_add(Self::award_checks_weight())
	}

	fn audit_until(id: ChallengeId) -> Option<BlockNumberFor<T>> {
		let c = Challenges::<T>::get(id)?;
		let Puzzle::Factorization { audit: Audit::Pending, .. } = c.puzzle else { return None };
		c.concluded.map(|at| at.saturating_add(T::AuditWindow::get()))
	}

	fn close_audit(id: ChallengeId) -> DispatchResult {
		Self::do_report_unaudited(id)
	}

	fn close_audit_weight() -> Weight {
		T::WeightInfo::report_unaudited().saturating_add(T::Outcome::decision_weight())
	}
}
