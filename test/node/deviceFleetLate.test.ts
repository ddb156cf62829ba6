import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MqttLink } from '../../src/net/mqttLink.js';
import { DeviceFleet, warmUpReports } from '../../src/node/deviceFleet.js';
import { RoundClock } from '../../src/node/roundClock.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import type { Workload } from '../../src/sim/workload.js';

/**
 * A fleet that falls behind skips the rounds it can no longer report on time instead of
 * reporting each of them late (which the gateways refuse, and which kept the soak's fleet
 * late for 14 rounds after a slow round 0). The clock is the real one plus an offset the
 * test moves: round 0's report "takes" 1.3 rounds, so round 1 is past its first quarter
 * when the fleet is done, and the next round it reports is 2.
 */
const DURATION = 1000;

function setup() {
  const params = defaultMaasParams({
    deployment: 'late',
    ians: 1,
    devicesPerIan: 2,
    dimensions: ['a'],
    maxReading: [9],
    ldp: null,
  });
  const dep = createMaasDeployment(params, { oems: [], registeredAtMs: Date.now() });
  const workload: Workload = {
    name: 'constant',
    ians: 1,
    devicesPerIan: 2,
    rounds: 10,
    dimensionNames: ['a'],
    maxReading: [9],
    reading: () => [3],
    groundTruth: () => [6],
    groundTruthOver: () => [0],
  };
  const published: string[] = [];
  const link: MqttLink = {
    connected: true,
    reconnects: 0,
    publish: async (topic) => {
      published.push(topic);
    },
    subscribe: async () => undefined,
    close: async () => undefined,
  };
  return { dep, workload, link, published };
}

describe('DeviceFleet: late rounds', () => {
  it('skips a round whose first quarter passed while it was reporting, and counts it', async () => {
    const { dep, workload, link, published } = setup();
    let offset = 0;
    const clock = new RoundClock(Date.now() + 50, DURATION, () => Date.now() + offset);
    const reported: number[] = [];
    const fleet = new DeviceFleet({
      deployment: dep,
      workload,
      devices: [
        { ian: 0, device: 0 },
        { ian: 0, device: 1 },
      ],
      link,
      clock,
      rounds: 3,
      logger: pino({ level: 'silent' }),
      compromised: (d, round, messages) => {
        if (d.device === 0) reported.push(round);
        // Round 0 is slow: when its reports are out, 1.3 rounds have passed.
        if (round === 0 && d.device === 1) offset += 1.3 * DURATION;
        return messages;
      },
    });
    await fleet.finished;
    expect(reported).toEqual([0, 2]);
    expect(fleet.counters.roundsSkipped).toBe(1);
    expect(fleet.counters.roundsDone).toBe(2);
    // Two devices, a report per gateway each, in each of the two rounds reported.
    expect(published.length).toBe(2 * 2 * dep.params.gateways);
  });

  it('warms the report path without publishing anything', () => {
    const { dep, workload, published } = setup();
    const devices = [
      { ian: 0, device: 0 },
      { ian: 0, device: 1 },
    ];
    const w = warmUpReports(dep, workload, devices, { passes: 3 });
    expect(w.reports).toBe(6);
    expect(published).toEqual([]);
  });
});
