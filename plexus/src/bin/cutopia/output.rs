//! How results look: one place for rendering, from the typed views of the node's
//! `indenture_*` RPC (`pallet_indenture_rpc::views`; the same JSON `--json` prints, so text
//! and scripts never disagree).

use crate::Cli;
use pallet_indenture_rpc::{InfoView, SlotResultView, SlotView, TaskView};
use plexus::format_cu;
use serde::Serialize;

/// Prints `value` as JSON, or `text` for people.
pub fn out(cli: &Cli, value: impl Serialize, text: impl FnOnce() -> String) {
	if cli.json {
		println!("{}", serde_json::to_value(value).unwrap_or_default());
	} else {
		println!("{}", text());
	}
}

/// `[#####.....] 5/10` for `done` of `total`.
fn bar(done: u64, total: u64) -> String {
	let total = total.max(1);
	let done = done.min(total);
	let filled = (done * 10 / total) as usize;
	format!("[{}{}] {done}/{total}", "#".repeat(filled), ".".repeat(10 - filled))
}

/// A slot's lease progress at block `now`, while its lease runs.
fn progress(slot: &SlotView, now: u64) -> Option<String> {
	if slot.ended.is_some() {
		return None;
	}
	let access = slot.access.as_ref()?;
	Some(bar(now.saturating_sub(access.start), access.end.saturating_sub(access.start)))
}

/// A decimal base-unit string from the RPC as CU.
pub fn cu(amount: &str) -> String {
	format_cu(amount.parse().unwrap_or(0))
}

/// One line about an indenture, from `indenture_get`, with lease progress at block `now`.
pub fn describe(v: &InfoView, now: u64) -> String {
	let i = match v {
		InfoView::Ended { record: r, .. } => {
			return format!(
				"indenture {}: {} — paid to miners {} CU, refunded {} CU",
				r.cid,
				r.status,
				cu(&r.paid_to_miners),
				cu(&r.refunded),
			)
		},
		InfoView::Active(i) => i,
	};
	let slots: Vec<String> = i
		.slots
		.iter()
		.map(|s| {
			let miner = s.miner.as_deref().map(|m| &m[..8.min(m.len())]).unwrap_or("open");
			let lease = progress(s, now).map(|p| format!(" {p}")).unwrap_or_default();
			let ended = match s.ended.map(|e| e.failed) {
				Some(true) => " ended (failed)",
				Some(false) => " ended",
				None => "",
			};
			let result = if s.result.is_none() { "" } else { " result" };
			format!("slot {}: {miner}{lease}{ended}{result}", s.index)
		})
		.collect();
	format!("indenture {}: {} [{}]", i.id, i.status, slots.join(", "))
}

/// A table of an indenture and its slots, from `indenture_get`, at block `now`.
pub fn table(v: &InfoView, now: u64) -> String {
	let i = match v {
		InfoView::Ended { record: r, .. } => {
			return format!(
				"{}\nclient   {}\nsellers  {}\nended at block {} after {} blocks",
				describe(v, now),
				r.client,
				r.sellers.join(", "),
				r.time,
				r.duration,
			)
		},
		InfoView::Active(i) => i,
	};
	let spec = &i.spec;
	let task = match spec.task {
		TaskView::Wasm { .. } => "wasm",
		TaskView::Container { .. } => "container",
		TaskView::Inline(_) => "inline",
	};
	let mut out = format!(
		"indenture {}  {}  (block {now})\nbuyer     {}\nincentive {} CU + fees {} CU (exchange) {} CU (escrow)\ntask      {} {} on {}, {} blocks, {} replica(s), {} challenge\n",
		i.id,
		i.status,
		i.buyer,
		cu(&spec.incentive),
		cu(&i.exchange_fee),
		cu(&i.escrow_fee),
		spec.task_type,
		task,
		spec.executor,
		spec.duration,
		spec.replicas,
		spec.challenge,
	);
	out +=
		&format!("{:<5} {:<49} {:<22} {:<18} {}\n", "slot", "miner", "endpoint", "lease", "result");
	for s in &i.slots {
		let result = match &s.result {
			Some(SlotResultView::Sealed(_)) => "sealed".to_string(),
			Some(SlotResultView::Revealed(h)) => format!("revealed {}…", &h[..h.len().min(12)]),
			None => "-".to_string(),
		};
		out += &format!(
			"{:<5} {:<49} {:<22} {:<18} {}\n",
			s.index,
			s.miner.as_deref().unwrap_or("(open)"),
			s.access.as_ref().map(|a| a.endpoint.as_str()).unwrap_or("-"),
			progress(s, now).unwrap_or_else(|| "-".into()),
			result
		);
	}
	for (index, service) in
		i.slots.iter().filter_map(|s| Some((s.index, s.access.as_ref()?.service.as_ref()?)))
	{
		out += &format!("service of slot {index}: {}", service.service);
		if let Some(ssh) = &service.ssh {
			out += &format!(", ssh {ssh} (cutopia client ssh {} --slot {index})", i.id);
		}
		out += "\n";
	}
	out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
	use super::*;
	use pallet_indenture_rpc::{
		AccessView, IndentureView, ResourcesView, ServiceAccessView, SpecView,
	};

	#[test]
	fn status_is_a_table_with_lease_progress() {
		assert_eq!(bar(5, 10), "[#####.....] 5/10");
		assert_eq!(bar(15, 10), "[##########] 10/10");
		assert_eq!(bar(0, 0), "[..........] 0/1");
		let v = InfoView::Active(IndentureView {
			id: 3,
			buyer: "5Grw".into(),
			spec: SpecView {
				task: TaskView::Inline("0x00".into()),
				task_type: "Batch".into(),
				executor: "Wasm".into(),
				resources: ResourcesView::default(),
				nodes: 1,
				public_ip: "None".into(),
				duration: 10,
				incentive: "2000000000000000000".into(),
				priority: 0,
				min_reputation: 0,
				exchange: "5FHn".into(),
				escrow_operator: "5FLS".into(),
				challenge: "HashTarget".into(),
				replicas: 1,
				ssh_key: None,
			},
			compute_units: 10,
			exchange_fee: "100".into(),
			escrow_fee: "20".into(),
			submitted: 90,
			award_deadline: 190,
			status: "Leased".into(),
			results_deadline: None,
			result: None,
			slots: vec![SlotView {
				index: 0,
				challenge: 0,
				miner: Some("5DAA".into()),
				lease: Some(0),
				access: Some(AccessView {
					start: 100,
					end: 110,
					endpoint: "127.0.0.1:7070".into(),
					service: Some(ServiceAccessView {
						service: "127.0.0.1:40001".into(),
						ssh: Some("127.0.0.1:40002".into()),
						host_key: Some("ssh-ed25519 AAAA".into()),
					}),
				}),
				ended: None,
				result: Some(SlotResultView::Sealed("0xab".into())),
				rounds_paid: 0,
				rounds_held: 1,
			}],
		});
		let t = table(&v, 104);
		assert!(t.contains("indenture 3  Leased"), "{t}");
		assert!(t.contains("incentive 2 CU"), "{t}");
		assert!(t.contains("task      Batch inline on Wasm, 10 blocks"), "{t}");
		assert!(
			t.contains("[####......] 4/10") && t.contains("sealed") && t.contains("127.0.0.1:7070"),
			"{t}"
		);
		assert!(
			t.contains(
				"service of slot 0: 127.0.0.1:40001, ssh 127.0.0.1:40002 (cutopia client ssh 3 --slot 0)"
			),
			"{t}"
		);
		assert!(
			describe(&v, 104).contains("slot 0: 5DAA [####......] 4/10 result"),
			"{}",
			describe(&v, 104)
		);
	}
}
