//! Deciding a challenge: a hash-target solution wins at once; a factorization goes to the
//! earliest commit revealed in time; a challenge past its deadline is concluded or expires.

use super::*;

impl<T: Config> Pallet<T> {
	/// The `solve` call, after its origin is checked.
	pub(crate) fn do_solve(who: T::AccountId, id: ChallengeId, nonce: u64) -> DispatchResult {
		let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let Puzzle::HashTarget { difficulty, seed } = c.puzzle else {
			return Err(Error::<T>::WrongKind.into());
		};
		ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
		let now = Self::now();
		ensure!(now <= c.deadline, Error::<T>::DeadlinePassed);
		ensure!(T::Eligibility::may_compete(c.context, &who), Error::<T>::NotEligible);
		let hash = math::work_hash(&seed.0, &who.encode(), nonce);
		ensure!(math::leading_zero_bits(&hash) >= difficulty, Error::<T>::TargetNotMet);
		c.status = ChallengeStatus::Awarded(who.clone());
		c.concluded = Some(now);
		Self::finish_awarded(id, c, who);
		Ok(())
	}

	/// Leading zero bits of a hash-target challenge for `work` compute units:
	/// `MinHashDifficulty + ⌊log2(work)⌋`, clamped to the runtime bounds.
	pub fn hash_difficulty_for(work: u64) -> u32 {
		T::MinHashDifficulty::get()
			.saturating_add(work.max(1).ilog2())
			.clamp(T::MinHashDifficulty::get(), T::MaxHashDifficulty::get())
	}

	/// What awarding may spend on eligibility checks: one per revealed commit, at most
	/// `MaxCommits` (a lapsed best reveal is passed over for the next).
	pub fn award_checks_weight() -> Weight {
		T::Eligibility::weight().saturating_mul(T::MaxCommits::get().into())
	}

	pub(crate) fn now() -> BlockNumberFor<T> {
		frame_system::Pallet::<T>::block_number()
	}

	/// Awards `c` to the earliest commit that was revealed and whose miner may still compete,
	/// once every earlier commit has revealed or its reveal window has closed. Returns whether
	/// it did (and so wrote `c`). A best reveal whose miner lapsed since (it started leaving,
	/// or raised its price floor on purpose) does not veto the challenge: the next valid
	/// reveal wins, so nobody can throw away the other miners' work for free.
	pub(crate) fn try_award(
		id: ChallengeId,
		c: &mut Challenge<T::AccountId, BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> bool {
		if c.best.is_none() {
			return false;
		}
		let window = T::RevealWindow::get();
		for seq in 0..c.commits {
			let Some(k) = Commits::<T>::get(id, seq) else { continue };
			if !k.revealed {
				// It may still reveal, and would come before every later reveal: wait.
				if now <= k.block.saturating_add(window) {
					return false;
				}
				continue;
			}
			if !T::Eligibility::may_compete(c.context, &k.who) {
				continue;
			}
			c.status = ChallengeStatus::Awarded(k.who.clone());
			c.concluded = Some(now);
			Self::finish_awarded(id, c.clone(), k.who);
			return true;
		}
		false
	}

	/// Stores (or, for hash targets, drops) an awarded challenge, cleans up its commits
	/// and tells the opener.
	pub(crate) fn finish_awarded(
		id: ChallengeId,
		c: Challenge<T::AccountId, BlockNumberFor<T>>,
		winner: T::AccountId,
	) {
		Self::clear_commits(id);
		let context = c.context;
		Self::store_or_drop(id, c);
		Self::deposit_event(Event::Awarded { id, context, winner: winner.clone() });
		T::Outcome::awarded(context, id, &winner);
	}

	/// Factorization challenges stay until their audit; the rest are done.
	pub(crate) fn store_or_drop(id: ChallengeId, c: Challenge<T::AccountId, BlockNumberFor<T>>) {
		if matches!(c.puzzle, Puzzle::Factorization { audit: Audit::Pending, .. }) {
			Challenges::<T>::insert(id, c);
		} else {
			Challenges::<T>::remove(id);
		}
	}

	pub(crate) fn clear_commits(id: ChallengeId) {
		let limit = T::MaxCommits::get();
		// At most MaxCommits entries each: one pass removes them all.
		let commits = Commits::<T>::clear_prefix(id, limit, None);
		let owners = CommitOf::<T>::clear_prefix(id, limit, None);
		debug_assert!(commits.maybe_cursor.is_none() && owners.maybe_cursor.is_none());
	}

	pub(crate) fn void(
		id: ChallengeId,
		c: Challenge<T::AccountId, BlockNumberFor<T>>,
		issuer: T::AccountId,
	) {
		Self::clear_commits(id);
		Challenges::<T>::remove(id);
		Self::deposit_event(Event::Voided { id, context: c.context, issuer: issuer.clone() });
		T::Outcome::voided(c.context, id, &issuer);
	}

	pub(crate) fn do_conclude(id: ChallengeId) -> DispatchResult {
		let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let now = Self::now();
		match c.status {
			ChallengeStatus::AwaitingModulus => {
				ensure!(now > c.deadline, Error::<T>::NotConcludable);
				let issuer = c.issuer.clone().ok_or(Error::<T>::WrongKind)?;
				Self::void(id, c, issuer);
				Ok(())
			},
			ChallengeStatus::Open => {
				if Self::try_award(id, &mut c, now) {
					return Ok(());
				}
				// Nobody won (no reveal, or none whose miner may still compete): expire once the
				// deadline and every reveal window are past.
				let reveals_over =
					c.commits == 0 || now > c.last_commit.saturating_add(T::RevealWindow::get());
				ensure!(now > c.deadline && reveals_over, Error::<T>::NotConcludable);
				c.status = ChallengeStatus::Expired;
				c.concluded = Some(now);
				Self::clear_commits(id);
				let context = c.context;
				Self::store_or_drop(id, c);
				Self::deposit_event(Event::Expired { id, context });
				T::Outcome::expired(context, id);
				Ok(())
			},
			_ => Err(Error::<T>::NotConcludable.into()),
		}
	}
}
