//! Deciding a challenge: a hash-target solution wins at once; a factorization goes to the
//! best-ranked miner that qualified (committed in the window, revealed valid factors after
//! it); a challenge that is due is concluded, expires or is voided.

use super::*;

impl<T: Config> Pallet<T> {
	/// The `solve` call, after its origin is checked.
	pub(crate) fn do_solve(who: T::AccountId, id: ChallengeId, nonce: u64) -> DispatchResult {
		let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let Puzzle::HashTarget { difficulty } = c.puzzle else {
			return Err(Error::<T>::WrongKind.into());
		};
		ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
		let now = Self::now();
		ensure!(now <= c.deadline, Error::<T>::DeadlinePassed);
		ensure!(T::Eligibility::may_compete(c.context, id, &who), Error::<T>::NotEligible);
		ensure!(now > c.opened, Error::<T>::SeedNotYetKnown);
		let seed = Self::hash_target_seed_of(id, &c);
		let hash = math::work_hash(&seed.0, &who.encode(), nonce);
		ensure!(math::leading_zero_bits(&hash) >= difficulty, Error::<T>::TargetNotMet);
		c.status = ChallengeStatus::Awarded(who.clone());
		c.concluded = Some(now);
		Self::finish_awarded(id, c, who);
		Ok(())
	}

	/// The seed of hash-target challenge `id`: [`hash_target_seed`] of the hash of the block
	/// it opened in. That block's hash exists only once the block is sealed, after the work
	/// was submitted, so neither the submitter nor anyone else could solve it earlier. (Zero
	/// while the challenge's own block runs; `solve` waits for the next block.)
	///
	/// [`hash_target_seed`]: cutopia_primitives::hashes::hash_target_seed
	pub fn hash_target_seed_of(id: ChallengeId, c: &ChallengeOf<T>) -> H256 {
		let opened = frame_system::Pallet::<T>::block_hash(c.opened);
		cutopia_primitives::hashes::hash_target_seed(c.context, id, &opened)
	}

	/// Leading zero bits of a hash-target challenge for `work` compute units:
	/// `MinHashDifficulty + ⌊log2(work)⌋`, clamped to the runtime bounds.
	pub fn hash_difficulty_for(work: u64) -> u32 {
		T::MinHashDifficulty::get()
			.saturating_add(work.max(1).ilog2())
			.clamp(T::MinHashDifficulty::get(), T::MaxHashDifficulty::get())
	}

	/// What awarding may spend on eligibility checks: one ranking per revealed commit, at
	/// most `MaxCommits`, all of the same context (the first reads it, the rest find it
	/// cached).
	pub fn award_checks_weight() -> Weight {
		Self::ranking_weight(T::MaxCommits::get())
	}

	/// What ranking `n` qualified miners of one challenge weighs.
	pub fn ranking_weight(n: u32) -> Weight {
		if n == 0 {
			return Weight::zero();
		}
		T::Eligibility::weight()
			.saturating_add(T::Eligibility::repeat_weight().saturating_mul(u64::from(n - 1)))
	}

	pub(crate) fn now() -> BlockNumberFor<T> {
		frame_system::Pallet::<T>::block_number()
	}

	/// Decides factorization challenge `c`, whose commit window has closed and whose reveals
	/// are in: the qualified miner (a revealed commit) the opener ranks highest and that may
	/// still compete wins; ties go to the smallest `blake2_256(hash of the commit window's
	/// last block ‖ id ‖ miner)`. That hash did not exist while commits were accepted and is
	/// fixed once they close, so neither the order of commits nor the timing of a reveal or
	/// of `conclude` can choose it. With nobody qualified the challenge expires.
	pub(crate) fn decide(id: ChallengeId, mut c: ChallengeOf<T>, now: BlockNumberFor<T>) {
		let closed = Self::commit_window(&c).map_or(now, |(_, last)| last);
		let parent = frame_system::Pallet::<T>::block_hash(closed);
		let mut best: Option<(u64, [u8; 32], T::AccountId)> = None;
		for seq in 0..c.commits {
			let Some(k) = Commits::<T>::get(id, seq) else { continue };
			if !k.revealed {
				continue;
			}
			let Some(rank) = T::Eligibility::rank(c.context, id, &k.who) else { continue };
			let tie = sp_io::hashing::blake2_256(&(b"cutopia/award", &parent, id, &k.who).encode());
			if best.as_ref().is_none_or(|(r, t, _)| rank > *r || (rank == *r && tie < *t)) {
				best = Some((rank, tie, k.who));
			}
		}
		match best {
			Some((_, _, winner)) => {
				c.status = ChallengeStatus::Awarded(winner.clone());
				c.concluded = Some(now);
				Self::finish_awarded(id, c, winner);
			},
			None => Self::expire(id, c, now),
		}
	}

	/// Stores (or, for hash targets, drops) an awarded challenge, settles its commits'
	/// deposits and tells the opener.
	pub(crate) fn finish_awarded(id: ChallengeId, c: ChallengeOf<T>, winner: T::AccountId) {
		Self::clear_commits(id, &c, true);
		let context = c.context;
		Self::store_or_drop(id, c);
		Self::deposit_event(Event::Awarded { id, context, winner: winner.clone() });
		T::Outcome::awarded(context, id, &winner);
	}

	/// Nobody won `c`: it expires (a factorization stays for its audit).
	fn expire(id: ChallengeId, mut c: ChallengeOf<T>, now: BlockNumberFor<T>) {
		c.status = ChallengeStatus::Expired;
		c.concluded = Some(now);
		Self::clear_commits(id, &c, true);
		let context = c.context;
		Self::store_or_drop(id, c);
		Self::deposit_event(Event::Expired { id, context });
		T::Outcome::expired(context, id);
	}

	/// Factorization challenges stay until their audit; the rest are done.
	pub(crate) fn store_or_drop(id: ChallengeId, c: ChallengeOf<T>) {
		if matches!(c.puzzle, Puzzle::Factorization { audit: Audit::Pending, .. }) {
			Challenges::<T>::insert(id, c);
		} else {
			Self::drop_challenge(id, &c);
		}
	}

	/// Removes challenge `id` (`c`) and counts it out of its issuer's index.
	pub(crate) fn drop_challenge(id: ChallengeId, c: &ChallengeOf<T>) {
		Challenges::<T>::remove(id);
		if let Some(issuer) = &c.issuer {
			IssuedBy::<T>::mutate_exists(issuer, c.context, |n| {
				*n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
			});
		}
	}

	/// Removes the commits of `c` and settles the deposits of those never revealed:
	/// forfeited to the beneficiary when the challenge was decided (`forfeit`: the commit
	/// held up the work and never showed an answer), returned when it was withdrawn or its
	/// issuer failed (not the miner's fault).
	pub(crate) fn clear_commits(id: ChallengeId, c: &ChallengeOf<T>, forfeit: bool) {
		let reason = HoldReason::CommitDeposit.into();
		// At most MaxCommits entries each: one pass removes them all.
		for (_, k) in Commits::<T>::drain_prefix(id) {
			if k.revealed || c.deposit.is_zero() {
				continue;
			}
			if forfeit && k.who != c.beneficiary {
				let moved = T::Currency::transfer_on_hold(
					&reason,
					&k.who,
					&c.beneficiary,
					c.deposit,
					Precision::BestEffort,
					Restriction::Free,
					Fortitude::Force,
				);
				match moved {
					Ok(amount) => Self::deposit_event(Event::DepositForfeited {
						id,
						who: k.who,
						amount,
						to: c.beneficiary.clone(),
					}),
					Err(e) => {
						defensive!("a held commit deposit could not move", e);
					},
				}
			} else if let Err(e) =
				T::Currency::release(&reason, &k.who, c.deposit, Precision::BestEffort)
			{
				defensive!("a held commit deposit could not be released", e);
			}
		}
		let owners = CommitOf::<T>::clear_prefix(id, T::MaxCommits::get(), None);
		debug_assert!(owners.maybe_cursor.is_none());
	}

	pub(crate) fn void(id: ChallengeId, c: ChallengeOf<T>, issuer: T::AccountId) {
		Self::clear_commits(id, &c, false);
		Self::drop_challenge(id, &c);
		Self::deposit_event(Event::Voided { id, context: c.context, issuer: issuer.clone() });
		T::Outcome::voided(c.context, id, &issuer);
	}

	/// Whether factorization challenge `c` can be decided at `now`: its reveal window has
	/// closed, or its commit window has and every commit is revealed.
	fn reveals_done(c: &ChallengeOf<T>, now: BlockNumberFor<T>) -> bool {
		let (Some((_, last)), Some(until)) = (Self::commit_window(c), Self::reveals_until(c))
		else {
			return false;
		};
		now > until || (now > last && c.revealed == c.commits)
	}

	/// Returns the commits the challenge had (what concluding it cost).
	pub(crate) fn do_conclude(id: ChallengeId) -> Result<u32, DispatchError> {
		let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let (now, commits) = (Self::now(), c.commits);
		match (&c.status, &c.puzzle) {
			(ChallengeStatus::AwaitingModulus, _) => {
				ensure!(now > Self::posting_deadline(&c), Error::<T>::NotConcludable);
				let issuer = c.issuer.clone().ok_or(Error::<T>::WrongKind)?;
				Self::void(id, c, issuer);
			},
			(ChallengeStatus::Open, Puzzle::Factorization { .. }) => {
				ensure!(Self::reveals_done(&c, now), Error::<T>::NotConcludable);
				Self::decide(id, c, now);
			},
			(ChallengeStatus::Open, Puzzle::HashTarget { .. }) => {
				ensure!(now > c.deadline, Error::<T>::NotConcludable);
				Self::expire(id, c, now);
			},
			_ => return Err(Error::<T>::NotConcludable.into()),
		}
		Ok(commits)
	}
}
