// Checks a subject's RepChain history in the browser: every kept record must link to the one
// before by `root = blake2_256(previous root ‖ SCALE(record))` (the SCALE bytes come from the
// metadata-typed record itself), and the newest root must be the subject's history root.
import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { ZERO_HASH } from './chain.js';

export async function verifyHistory(api, who) {
  const [o, recent] = await Promise.all([api.query.repChain.reputations(who), api.query.repChain.recentRecords(who)]);
  const rep = o.unwrapOr(null);
  const total = rep ? rep.records.toNumber() : 0;
  const root = rep ? rep.root.toHex() : ZERO_HASH;
  const kept = recent.map(([record, stored]) => ({ record, stored: stored.toHex() }));
  // With the whole history kept, the first link starts from the zero root; otherwise the
  // first kept record's own root is taken as the anchor and the links after it are checked.
  const complete = kept.length === total;
  let prev = complete ? ZERO_HASH : null;
  const links = kept.map(({ record, stored }, i) => {
    let ok = null;
    let computed = null;
    if (prev !== null) {
      computed = u8aToHex(blake2AsU8a(u8aConcat(prev, record.toU8a()), 256));
      ok = computed === stored;
    }
    prev = stored;
    return { index: total - kept.length + i, record, stored, computed, ok };
  });
  const headOk = kept.length ? kept[kept.length - 1].stored === root : root === ZERO_HASH;
  const broken = links.find((l) => l.ok === false);
  return {
    total,
    root,
    complete,
    links,
    headOk,
    verified: !broken && headOk,
    problem: broken
      ? `record ${broken.index + 1}'s hash link does not match: it or its root was altered`
      : headOk
        ? null
        : 'the newest record does not end at the subject\'s history root',
  };
}
