// The registry's participants with their terms and RepChain scores.
export async function participants(api) {
  const entries = await api.query.repChain.registrations.entries();
  const list = entries.map(([key, reg]) => {
    const [who, role] = key.args;
    const r = reg.unwrap();
    return { who: who.toString(), role: role.type, reg: r, leaving: r.unbondingUntil.isSome };
  });
  const scores = await Promise.all(list.map((p) => api.call.repChainApi.score(p.who)));
  list.forEach((p, i) => (p.score = scores[i].toNumber() / 10_000));
  return list;
}

export const services = (list, role) => list.filter((p) => p.role === role && p.reg.profile.isService && !p.leaving);
