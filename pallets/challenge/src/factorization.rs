//! Factorization challenges: the issuer posts `C`, miners commit in the commit window and
//! reveal after it, each holding a deposit until it reveals; the issuer's audit proves `C`
//! was fair.

use super::*;

impl<T: Config> Pallet<T> {
	/// The `post_modulus` call, after its origin is checked.
	pub(crate) fn do_post_modulus(
		who: T::AccountId,
		id: ChallengeId,
		modulus: Number,
		factor_commitment: H256,
	) -> DispatchResult {
		let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		ensure!(c.issuer.as_ref() == Some(&who), Error::<T>::NotIssuer);
		ensure!(c.status == ChallengeStatus::AwaitingModulus, Error::<T>::NotAwaitingModulus);
		let now = Self::now();
		ensure!(now <= Self::posting_deadline(&c), Error::<T>::DeadlinePassed);
		ensure!(math::is_canonical(&modulus), Error::<T>::NonCanonicalNumber);
		let Puzzle::Factorization { bits, .. } = c.puzzle else {
			return Err(Error::<T>::WrongKind.into());
		};
		ensure!(math::bit_len(&modulus) == bits, Error::<T>::WrongModulusSize);
		c.puzzle = Puzzle::Factorization {
			bits,
			modulus: modulus.clone(),
			factor_commitment,
			audit: Audit::Pending,
		};
		c.status = ChallengeStatus::Open;
		c.posted = Some(now);
		let commits_until = now.saturating_add(T::CommitWindow::get());
		Challenges::<T>::insert(id, c);
		Self::deposit_event(Event::ModulusPosted { id, bits, modulus, commits_until });
		Ok(())
	}

	/// The last block the issuer may post `C` in: `CommitWindow` blocks after the challenge
	/// opened, or its deadline if that comes first. A challenge not posted by then is voided,
	/// so a silent issuer cannot hold a slot until its award deadline.
	pub fn posting_deadline(c: &ChallengeOf<T>) -> BlockNumberFor<T> {
		c.opened.saturating_add(T::CommitWindow::get()).min(c.deadline)
	}

	/// `(first, last)` block commits are accepted in, once `C` is posted.
	pub fn commit_window(c: &ChallengeOf<T>) -> Option<(BlockNumberFor<T>, BlockNumberFor<T>)> {
		c.posted.map(|p| (p.saturating_add(One::one()), p.saturating_add(T::CommitWindow::get())))
	}

	/// The last block reveals are accepted in, once `C` is posted.
	pub fn reveals_until(c: &ChallengeOf<T>) -> Option<BlockNumberFor<T>> {
		Self::commit_window(c).map(|(_, last)| last.saturating_add(T::RevealWindow::get()))
	}

	/// What each commit of a challenge deciding work worth `value` holds until it is
	/// revealed: `value / MaxCommits` rounded up, at least `MinCommitDeposit`. Filling every
	/// commit with junk that is never revealed then costs at least what the work is worth,
	/// paid to its buyer.
	pub fn commit_deposit(value: u128) -> BalanceOf<T> {
		let max = u128::from(T::MaxCommits::get().max(1));
		let share: BalanceOf<T> = value.div_ceil(max).saturated_into();
		share.max(T::MinCommitDeposit::get())
	}

	/// The `commit` call, after its origin is checked.
	pub(crate) fn do_commit(who: T::AccountId, id: ChallengeId, hash: H256) -> DispatchResult {
		let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		ensure!(matches!(c.puzzle, Puzzle::Factorization { .. }), Error::<T>::WrongKind);
		ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
		let now = Self::now();
		let (first, last) = Self::commit_window(&c).ok_or(Error::<T>::NotOpen)?;
		// In the block `C` is posted in only the issuer has seen it: its own sock puppet
		// could otherwise commit alongside it before anyone else could factor.
		ensure!(now >= first, Error::<T>::CommitWindowNotOpen);
		ensure!(now <= last, Error::<T>::CommitWindowClosed);
		ensure!(!CommitOf::<T>::contains_key(id, &who), Error::<T>::AlreadyCommitted);
		ensure!(c.commits < T::MaxCommits::get(), Error::<T>::TooManyCommits);
		ensure!(T::Eligibility::may_compete(c.context, id, &who), Error::<T>::NotEligible);
		T::Currency::hold(&HoldReason::CommitDeposit.into(), &who, c.deposit)
			.map_err(|_| Error::<T>::CannotHoldDeposit)?;
		let seq = c.commits;
		Commits::<T>::insert(
			id,
			seq,
			Commit { who: who.clone(), hash, block: now, revealed: false },
		);
		CommitOf::<T>::insert(id, &who, seq);
		c.commits = seq.saturating_add(1);
		let deposit = c.deposit;
		Challenges::<T>::insert(id, c);
		Self::deposit_event(Event::Committed { id, who, seq, deposit });
		Ok(())
	}

	/// The `reveal` call, after its origin is checked. Valid factors qualify the miner and
	/// return its deposit, whether or not it may still compete: its eligibility is the
	/// award's question (a miner that won another slot of the same work did the work
	/// honestly and is not fined for it).
	/// Returns the challenge's bits, its commits, and whether this reveal decided it.
	pub(crate) fn do_reveal(
		who: T::AccountId,
		id: ChallengeId,
		p: Number,
		q: Number,
		salt: [u8; 32],
	) -> Result<(u32, u32, bool), DispatchError> {
		let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let Puzzle::Factorization { bits, ref modulus, .. } = c.puzzle else {
			return Err(Error::<T>::WrongKind.into());
		};
		ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
		let seq = CommitOf::<T>::get(id, &who).ok_or(Error::<T>::NoCommit)?;
		let mut commit = Commits::<T>::get(id, seq).ok_or(Error::<T>::NoCommit)?;
		ensure!(!commit.revealed, Error::<T>::AlreadyRevealed);
		let now = Self::now();
		let (_, last) = Self::commit_window(&c).ok_or(Error::<T>::NotOpen)?;
		// Reveals wait for the commit window to close, so a factor seen in a reveal cannot
		// be copied into a commit of one's own.
		ensure!(now > last, Error::<T>::RevealTooEarly);
		ensure!(now <= last.saturating_add(T::RevealWindow::get()), Error::<T>::RevealWindowClosed);
		ensure!(math::is_canonical(&p) && math::is_canonical(&q), Error::<T>::NonCanonicalNumber);
		ensure!(math::bit_len(&p) <= bits && math::bit_len(&q) <= bits, Error::<T>::NumberTooLong);
		ensure!(
			factor_commitment(&p, &q, &who, &salt) == commit.hash,
			Error::<T>::CommitmentMismatch
		);
		let (pn, qn) = (math::from_be(&p), math::from_be(&q));
		ensure!(pn > num_bigint::BigUint::from(1u32), Error::<T>::FactorTooSmall);
		ensure!(pn <= qn, Error::<T>::FactorsOutOfOrder);
		ensure!(pn * qn == math::from_be(modulus), Error::<T>::WrongFactors);

		commit.revealed = true;
		Commits::<T>::insert(id, seq, commit);
		T::Currency::release(
			&HoldReason::CommitDeposit.into(),
			&who,
			c.deposit,
			Precision::BestEffort,
		)?;
		c.revealed = c.revealed.saturating_add(1);
		Self::deposit_event(Event::Revealed { id, who, seq });
		// The last commit's reveal decides the challenge: nobody is left to wait for.
		let (commits, decided) = (c.commits, c.revealed == c.commits);
		if decided {
			Self::decide(id, c, now);
		} else {
			Challenges::<T>::insert(id, c);
		}
		Ok((bits, commits, decided))
	}

	/// The `reveal_factor` call, after its origin is checked. Returns whether `C` was fair.
	pub(crate) fn do_reveal_factor(
		who: T::AccountId,
		id: ChallengeId,
		p: Number,
		salt: [u8; 32],
	) -> Result<bool, DispatchError> {
		let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		ensure!(c.issuer.as_ref() == Some(&who), Error::<T>::NotIssuer);
		let Puzzle::Factorization { bits, ref modulus, factor_commitment, audit } = c.puzzle else {
			return Err(Error::<T>::WrongKind.into());
		};
		ensure!(audit == Audit::Pending, Error::<T>::AuditNotPending);
		ensure!(
			matches!(c.status, ChallengeStatus::Awarded(_) | ChallengeStatus::Expired),
			Error::<T>::AuditNotPending
		);
		let concluded = c.concluded.unwrap_or(c.deadline);
		ensure!(
			Self::now() <= concluded.saturating_add(T::AuditWindow::get()),
			Error::<T>::AuditWindowClosed
		);
		ensure!(math::is_canonical(&p), Error::<T>::NonCanonicalNumber);
		ensure!(math::bit_len(&p) <= bits, Error::<T>::NumberTooLong);
		ensure!(audit_commitment(&p, &salt) == factor_commitment, Error::<T>::CommitmentMismatch);
		let fair = Self::is_fair_semiprime(&math::from_be(modulus), &math::from_be(&p), bits);
		if fair {
			Self::drop_challenge(id, &c);
			Self::deposit_event(Event::AuditPassed { id, p });
		} else {
			Self::void(id, c, who);
		}
		Ok(fair)
	}

	/// The `report_unaudited` call, after its origin is checked.
	pub(crate) fn do_report_unaudited(id: ChallengeId) -> DispatchResult {
		let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let Puzzle::Factorization { audit, .. } = c.puzzle else {
			return Err(Error::<T>::WrongKind.into());
		};
		ensure!(
			audit == Audit::Pending
				&& matches!(c.status, ChallengeStatus::Awarded(_) | ChallengeStatus::Expired),
			Error::<T>::AuditNotPending
		);
		let concluded = c.concluded.unwrap_or(c.deadline);
		ensure!(
			Self::now() > concluded.saturating_add(T::AuditWindow::get()),
			Error::<T>::AuditWindowOpen
		);
		let issuer = c.issuer.clone().ok_or(Error::<T>::WrongKind)?;
		Self::void(id, c, issuer);
		Ok(())
	}

	/// Bits of `C` for work of `work` compute units:
	/// `MinFactorBits + FactorBitsPerDoubling · ⌊log2(work)⌋`, rounded down to even and
	/// clamped to `[MinFactorBits, MaxFactorBits]`.
	pub fn factor_bits_for(work: u64) -> u32 {
		let log = work.max(1).ilog2();
		let bits = T::MinFactorBits::get()
			.saturating_add(T::FactorBitsPerDoubling::get().saturating_mul(log));
		(bits & !1).clamp(T::MinFactorBits::get(), T::MaxFactorBits::get())
	}

	/// Whether `c = p · (c / p)` with both factors probable primes whose bit lengths are
	/// within 2 of `bits / 2`.
	pub fn is_fair_semiprime(c: &num_bigint::BigUint, p: &num_bigint::BigUint, bits: u32) -> bool {
		use num_traits::Zero;
		if p.is_zero() || !(c % p).is_zero() {
			return false;
		}
		let q = c / p;
		let half = u64::from(bits / 2);
		let balanced = |x: &num_bigint::BigUint| x.bits().abs_diff(half) <= 2;
		if !balanced(p) || !balanced(&q) {
			return false;
		}
		let entropy = frame_system::Pallet::<T>::parent_hash();
		let entropy: [u8; 32] = entropy.as_ref().try_into().unwrap_or([0u8; 32]);
		let rounds = T::AuditPrimalityRounds::get();
		math::is_probable_prime(p, &entropy, rounds)
			&& math::is_probable_prime(&q, &entropy, rounds)
	}
}
