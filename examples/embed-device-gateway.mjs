// Embedding privagg's MaaS roles in a program of your own: four devices, three gateways
// and the ledger's contract of one IAN, in one process, without any network. Each role is
// an object that takes bytes and returns bytes and verdicts; how the bytes travel (MQTT,
// HTTP, a radio link) is the program's business. Run: node examples/embed-device-gateway.mjs
import { createMaasDeployment, defaultMaasParams, systemRandom } from 'privagg';

// One IAN of 4 devices, 3 gateways, any 2 of which restore (f = 1 liar tolerated, so all
// 3 partials are needed); two dimensions of readings in 0..100, sent exactly (no LDP).
// Range proofs are on by default: a device can only report values in 0..100.
const params = defaultMaasParams({
  deployment: 'embedded-example',
  ians: 1,
  devicesPerIan: 4,
  gateways: 3,
  threshold: 2,
  dimensions: ['temperature', 'load'],
  maxReading: [100, 100],
  ldp: null,
});
// The TA's step: every role's keys from one master secret (drawn here; a real deployment
// issues one credential bundle per role instead: `privagg credentials issue`).
const deployment = createMaasDeployment(params, { oems: [], registeredAtMs: Date.now() });

const readings = [
  [21, 3],
  [35, 7],
  [50, 1],
  [12, 9],
];
const round = 0;
const now = Date.now();

// Gateways: one per share index. Each opens only the reports addressed to it.
const gateways = [1, 2, 3].map((l) => deployment.gateway(0, l));
for (const g of gateways) g.beginRound(round);

// Devices: each reading becomes one sealed, authenticated message per gateway.
for (const [device, reading] of readings.entries()) {
  for (const message of deployment.device(0, device).report(round, reading, now, systemRandom)) {
    const verdict = gateways[message.gateway - 1].ingest(message.bytes, now);
    if (!verdict.ok)
      throw new Error(`gateway ${message.gateway}: ${verdict.code} ${verdict.reason}`);
  }
}

// Each gateway closes the round with a signed partial: its share of each dimension's sum.
const { contract } = deployment.ledger();
for (const g of gateways) {
  const added = contract.add(g.closeRound(now).partial, now);
  if (!added.ok) throw new Error(`ledger refused a partial: ${added.code}`);
}

// The ledger restores the IAN's totals from the partials (and would name a lying gateway).
const outcome = contract.restore(0, round);
if (outcome.status !== 'restored') throw new Error(`not restored: ${JSON.stringify(outcome)}`);
const truth = params.dimensions.map((_, j) => readings.reduce((s, r) => s + r[j], 0));
for (const [j, name] of params.dimensions.entries()) {
  console.log(`${name}: restored ${outcome.estimates[j].estimate}, true ${truth[j]}`);
}
console.log(`devices ${outcome.contributors.join(', ')}; gateways ${outcome.gateways.join(', ')}`);
