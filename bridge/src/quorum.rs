//! Agreement among several Ethereum providers (`--eth-rpc a,b,c`, `--eth-quorum K`): a value is
//! believed only when K providers gave it, so that one lying or lagging provider can neither
//! make the relayer attest a deposit that did not happen nor hide one that did. Each function
//! takes one answer per provider, in `--eth-rpc` order, and returns what K of them agree on with
//! the indices of the providers that answered something else (for the operator's log).
//!
//! With one provider and K = 1 every function returns that provider's answer, errors included.

use crate::eth::{Deposit, EthError};
use std::collections::BTreeMap;

/// What K providers agree on, and who answered otherwise.
#[derive(Debug, PartialEq, Eq)]
pub struct Agreed<T> {
	pub value: T,
	/// Providers whose answer differs (an error is no answer, not a dissent).
	pub dissent: Vec<usize>,
}

/// The error when fewer than `k` providers answered: the first provider error when there is
/// one (it says what went wrong), else a missing quorum.
fn too_few(errors: Vec<EthError>, what: &'static str, k: usize, answered: usize) -> EthError {
	errors.into_iter().next().unwrap_or(EthError::NoQuorum { what, k, answered })
}

/// The one value that at least `k` providers answered. Two values each given by `k` providers
/// (possible when `k` is at most half of them) are a disagreement: nothing is believed.
pub fn agreed<T: PartialEq>(
	answers: Vec<Result<T, EthError>>,
	k: usize,
	what: &'static str,
) -> Result<Agreed<T>, EthError> {
	let mut tally: Vec<(T, Vec<usize>)> = Vec::new();
	let mut errors = Vec::new();
	for (i, answer) in answers.into_iter().enumerate() {
		match answer {
			Ok(v) => match tally.iter_mut().find(|(seen, _)| *seen == v) {
				Some((_, who)) => who.push(i),
				None => tally.push((v, vec![i])),
			},
			Err(e) => errors.push(e),
		}
	}
	let answered: usize = tally.iter().map(|(_, who)| who.len()).sum();
	let winners = tally.iter().filter(|(_, who)| who.len() >= k).count();
	if winners > 1 {
		return Err(EthError::ProvidersDisagree { what: what.to_string() });
	}
	if winners == 0 {
		return Err(if answered >= k {
			EthError::ProvidersDisagree { what: what.to_string() }
		} else {
			too_few(errors, what, k, answered)
		});
	}
	let pos = tally.iter().position(|(_, who)| who.len() >= k).unwrap_or_default();
	let (value, _) = tally.swap_remove(pos);
	let mut dissent: Vec<usize> = tally.into_iter().flat_map(|(_, who)| who).collect();
	dissent.sort_unstable();
	Ok(Agreed { value, dissent })
}

/// The highest block number that at least `k` providers have reached: a head one provider
/// reports far ahead (a lie, or a fork) is not followed until `k − 1` others reach it.
pub fn kth_highest(
	answers: Vec<Result<u64, EthError>>,
	k: usize,
	what: &'static str,
) -> Result<u64, EthError> {
	let mut heads = Vec::new();
	let mut errors = Vec::new();
	for answer in answers {
		match answer {
			Ok(h) => heads.push(h),
			Err(e) => errors.push(e),
		}
	}
	heads.sort_unstable_by(|a, b| b.cmp(a));
	match heads.get(k.saturating_sub(1)) {
		Some(h) if k > 0 => Ok(*h),
		_ => Err(too_few(errors, what, k, heads.len())),
	}
}

/// Answers as believed, and the providers whose head went back as `(provider, from, to)`.
pub type TrackedHeads = (Vec<Result<u64, EthError>>, Vec<(usize, u64, u64)>);

/// Moves each provider's last followed head `last` to its new answer. Following finalized
/// blocks (`finalized`), a provider whose head went back is not believed this round: its
/// answer becomes an error, its last head stays, and it is returned as `(provider, from, to)`
/// (finality never goes back on an honest node; `k` of them doing so stops the relayer).
/// Following `latest − N`, a tip moving back is a reorg: the last head follows it.
pub fn track_heads(
	last: &mut [Option<u64>],
	answers: Vec<Result<u64, EthError>>,
	finalized: bool,
) -> TrackedHeads {
	let mut went_back = Vec::new();
	let answers = answers
		.into_iter()
		.enumerate()
		.map(|(i, answer)| {
			let h = answer?;
			match last.get(i).copied().flatten() {
				Some(before) if finalized && h < before => {
					went_back.push((i, before, h));
					Err(EthError::HeadWentBack { from: before, to: h })
				},
				_ => {
					if let Some(slot) = last.get_mut(i) {
						*slot = Some(h);
					}
					Ok(h)
				},
			}
		})
		.collect();
	(answers, went_back)
}

/// The deposits of a range that `k` providers agree on, by nonce: a deposit is taken when `k`
/// providers report it identically, left out when `k` providers report no deposit of its
/// nonce, and otherwise (providers split between versions, or between having and not having
/// it) the range is undecided and scanned again. So a lying provider cannot add, change or
/// hide a deposit, and a lagging one costs nothing while `k` others answer.
pub fn agreed_deposits(
	answers: Vec<Result<Vec<Deposit>, EthError>>,
	k: usize,
) -> Result<Agreed<Vec<Deposit>>, EthError> {
	const WHAT: &str = "the vault's deposits";
	let mut lists = Vec::new();
	let mut errors = Vec::new();
	for (i, answer) in answers.into_iter().enumerate() {
		match answer {
			Ok(list) => lists.push((i, list)),
			Err(e) => errors.push(e),
		}
	}
	if lists.len() < k || k == 0 {
		return Err(too_few(errors, WHAT, k, lists.len()));
	}
	// Per nonce, each distinct version with the providers that reported it.
	let mut by_nonce: BTreeMap<u64, Vec<(Deposit, Vec<usize>)>> = BTreeMap::new();
	for (i, list) in &lists {
		for d in list {
			let versions = by_nonce.entry(d.nonce).or_default();
			match versions.iter_mut().find(|(v, _)| v == d) {
				Some((_, who)) if who.contains(i) => {},
				Some((_, who)) => who.push(*i),
				None => versions.push((d.clone(), vec![*i])),
			}
		}
	}
	let mut taken = Vec::new();
	let mut dissent = Vec::new();
	for (nonce, versions) in by_nonce {
		let mut reporters: Vec<usize> = versions.iter().flat_map(|(_, who)| who.clone()).collect();
		reporters.sort_unstable();
		reporters.dedup();
		let silent: Vec<usize> =
			lists.iter().map(|(i, _)| *i).filter(|i| !reporters.contains(i)).collect();
		let winners: Vec<&(Deposit, Vec<usize>)> =
			versions.iter().filter(|(_, who)| who.len() >= k).collect();
		match winners.as_slice() {
			[(d, who)] => {
				taken.push(d.clone());
				dissent.extend(silent);
				dissent.extend(reporters.into_iter().filter(|i| !who.contains(i)));
			},
			[] if silent.len() >= k => dissent.extend(reporters),
			_ => {
				return Err(EthError::ProvidersDisagree { what: format!("vault deposit {nonce}") })
			},
		}
	}
	dissent.sort_unstable();
	dissent.dedup();
	Ok(Agreed { value: taken, dissent })
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloy::primitives::{Address, B256};

	fn deposit(nonce: u64, amount: u128) -> Deposit {
		Deposit {
			block: 10 + nonce,
			nonce,
			from: Address::repeat_byte(0x33),
			recipient: [0xaa; 32],
			amount,
			tx_hash: B256::repeat_byte(nonce as u8),
			refund_of: None,
		}
	}

	fn rpc_down() -> EthError {
		EthError::MissingReceipt
	}

	#[test]
	fn one_provider_is_believed_as_before() {
		assert_eq!(agreed(vec![Ok(7u64)], 1, "x").unwrap(), Agreed { value: 7, dissent: vec![] });
		assert!(matches!(
			agreed::<u64>(vec![Err(rpc_down())], 1, "x"),
			Err(EthError::MissingReceipt)
		));
		assert_eq!(kth_highest(vec![Ok(9)], 1, "head").unwrap(), 9);
		let list = vec![deposit(1, 5), deposit(2, 6)];
		assert_eq!(agreed_deposits(vec![Ok(list.clone())], 1).unwrap().value, list);
	}

	#[test]
	fn a_value_needs_k_providers() {
		// Two of three agree: believed, the third named.
		let a = agreed(vec![Ok(1u64), Ok(2), Ok(1)], 2, "x").unwrap();
		assert_eq!(a, Agreed { value: 1, dissent: vec![1] });
		// A provider down does not count against the others.
		let a = agreed(vec![Err(rpc_down()), Ok(4u64), Ok(4)], 2, "x").unwrap();
		assert_eq!(a, Agreed { value: 4, dissent: vec![] });
		// Too few answers: the provider's error says why.
		assert!(matches!(
			agreed(vec![Err(rpc_down()), Ok(4u64), Err(rpc_down())], 2, "x"),
			Err(EthError::MissingReceipt)
		));
		// All answered, none agree.
		assert!(matches!(
			agreed(vec![Ok(1u64), Ok(2), Ok(3)], 2, "x"),
			Err(EthError::ProvidersDisagree { .. })
		));
		// With k at most half, two camps that each reach k are a disagreement, not a pick.
		assert!(matches!(
			agreed(vec![Ok(1u64), Ok(1), Ok(2), Ok(2)], 2, "x"),
			Err(EthError::ProvidersDisagree { .. })
		));
		assert!(matches!(
			agreed(vec![Ok(1u64), Ok(2)], 1, "x"),
			Err(EthError::ProvidersDisagree { .. })
		));
	}

	#[test]
	fn the_followed_head_is_one_k_providers_have_reached() {
		// One provider claims a far head: the second highest is followed.
		assert_eq!(kth_highest(vec![Ok(1_000), Ok(20), Ok(19)], 2, "head").unwrap(), 20);
		assert_eq!(kth_highest(vec![Ok(20), Err(rpc_down()), Ok(19)], 2, "head").unwrap(), 19);
		assert!(kth_highest(vec![Ok(20), Err(rpc_down()), Err(rpc_down())], 2, "head").is_err());
		assert!(matches!(
			kth_highest(vec![Ok(20)], 2, "head"),
			Err(EthError::NoQuorum { k: 2, answered: 1, .. })
		));
	}

	#[test]
	fn a_provider_whose_finality_goes_back_is_not_believed() {
		let mut last = vec![Some(100), Some(100), None];
		let (answers, back) = track_heads(&mut last, vec![Ok(101), Ok(95), Err(rpc_down())], true);
		assert_eq!(back, vec![(1, 100, 95)]);
		assert!(matches!(answers[1], Err(EthError::HeadWentBack { from: 100, to: 95 })));
		assert_eq!(last, vec![Some(101), Some(100), None], "the one that went back keeps its last");
		// The followed head is what the others agree on, never the one that went back.
		assert_eq!(kth_highest(answers, 1, "head").unwrap(), 101);
		// Following latest − N, a tip moving back is a reorg: followed.
		let (answers, back) = track_heads(&mut last, vec![Ok(90), Ok(99), Ok(7)], false);
		assert!(back.is_empty());
		assert_eq!(answers.into_iter().map(Result::unwrap).collect::<Vec<_>>(), vec![90, 99, 7]);
		assert_eq!(last, vec![Some(90), Some(99), Some(7)]);
	}

	#[test]
	fn a_lying_provider_cannot_add_change_or_hide_a_deposit() {
		let honest = vec![deposit(1, 5), deposit(2, 6)];
		// Inflated amount of deposit 2, a made-up deposit 3.
		let lie = vec![deposit(1, 5), deposit(2, 6_000), deposit(3, 1)];
		let a = agreed_deposits(vec![Ok(lie), Ok(honest.clone()), Ok(honest.clone())], 2).unwrap();
		assert_eq!(a, Agreed { value: honest.clone(), dissent: vec![0] });
		// Left out: the others still carry it.
		let a = agreed_deposits(
			vec![Ok(honest.clone()), Ok(vec![deposit(1, 5)]), Ok(honest.clone())],
			2,
		)
		.unwrap();
		assert_eq!(a, Agreed { value: honest.clone(), dissent: vec![1] });
		// Duplicates within one answer count once.
		let doubled = vec![deposit(1, 5), deposit(1, 5), deposit(2, 6)];
		let a = agreed_deposits(vec![Ok(doubled), Ok(vec![]), Ok(vec![])], 2).unwrap();
		assert_eq!(a, Agreed { value: vec![], dissent: vec![0] });
	}

	#[test]
	fn a_split_range_is_undecided_and_scanned_again() {
		// One says deposit 2 is 6, one says 7, the third has none: no two agree either way.
		let r =
			agreed_deposits(vec![Ok(vec![deposit(2, 6)]), Ok(vec![deposit(2, 7)]), Ok(vec![])], 2);
		assert!(
			matches!(r, Err(EthError::ProvidersDisagree { what }) if what == "vault deposit 2")
		);
		// Two of three answered, one has the deposit and one has not.
		let r = agreed_deposits(vec![Ok(vec![deposit(2, 6)]), Err(rpc_down()), Ok(vec![])], 2);
		assert!(matches!(r, Err(EthError::ProvidersDisagree { .. })));
		// Fewer than k answered.
		let r = agreed_deposits(vec![Ok(vec![deposit(2, 6)]), Err(rpc_down()), Err(rpc_down())], 2);
		assert!(matches!(r, Err(EthError::MissingReceipt)));
	}
}
