import { describe, expect, it } from 'vitest';
import { isPrivaggError } from '../../src/errors.js';
import { type BrokerGrant, BrokerPolicy } from '../../src/net/brokerPolicy.js';
import { parseTopic, topics } from '../../src/net/topics.js';
import { samplePolicy } from './securityFixture.js';

const DEP = 'dep';

describe('topics', () => {
  it('per-device report topics and the gateway filter, parsed back', () => {
    expect(topics.deviceReport(DEP, 0, 2, 17)).toBe('privagg/v1/dep/ian/0/gw/2/reports/17');
    expect(topics.gatewayReports(DEP, 0, 2)).toBe('privagg/v1/dep/ian/0/gw/2/reports/+');
    expect(topics.deviceOfReportTopic('privagg/v1/dep/ian/0/gw/2/reports/17')).toBe(17);
    expect(topics.deviceOfReportTopic(topics.deviceReport(DEP, 4_000_000, 1, 4_294_967_295))).toBe(
      4_294_967_295,
    );
    expect(parseTopic(topics.deviceReport(DEP, 3, 2, 1))).toEqual({
      deployment: DEP,
      kind: 'report',
      ian: 3,
      gateway: 2,
      device: 1,
    });
    expect(parseTopic(topics.epoch(DEP))).toEqual({ deployment: DEP, kind: 'epoch' });
    expect(parseTopic(topics.outcome(DEP, 5))).toEqual({
      deployment: DEP,
      kind: 'outcome',
      ian: 5,
    });
    expect(parseTopic(topics.reconcile(DEP, 5))).toEqual({
      deployment: DEP,
      kind: 'reconcile',
      ian: 5,
    });
  });

  it('deviceOfReportTopic refuses anything but a canonical per-device report topic', () => {
    for (const t of [
      'privagg/v1/dep/ian/0/gw/2/reports', // the old layout
      'privagg/v1/dep/ian/0/gw/2/reports/+',
      'privagg/v1/dep/ian/0/gw/2/reports/#',
      'privagg/v1/dep/ian/0/gw/2/reports/017',
      'privagg/v1/dep/ian/0/gw/2/reports/-1',
      'privagg/v1/dep/ian/0/gw/2/reports/1.5',
      'privagg/v1/dep/ian/0/gw/2/reports/4294967296',
      'privagg/v1/dep/ian/0/gw/2/reports/1e3',
      'privagg/v1/dep/ian/0/gw/2/reports/',
      'privagg/v1/dep/ian/0/gw/2/reports/1/x',
      'privagg/v1/dep/ian/00/gw/2/reports/1',
      'privagg/v1/d+p/ian/0/gw/2/reports/1',
      'privagg/v2/dep/ian/0/gw/2/reports/1',
      '/privagg/v1/dep/ian/0/gw/2/reports/1',
      'privagg/v1/dep/ian/0/gw/2/reports/ 1',
      '',
    ]) {
      expect(topics.deviceOfReportTopic(t), t).toBeNull();
    }
  });

  it('builders refuse indices that are not topic-safe integers', () => {
    expect(() => topics.deviceReport(DEP, 0, 1, -1)).toThrow(/not an integer/);
    expect(() => topics.deviceReport(DEP, 0, 1.5, 1)).toThrow(/not an integer/);
    expect(() => topics.gatewayReports(DEP, Number.NaN, 1)).toThrow(/not an integer/);
    expect(() => topics.epoch('a/#')).toThrow(/deployment name/);
  });
});

describe('BrokerPolicy', () => {
  const p = samplePolicy();

  it('a device fleet publishes only its own devices’ reports, to gateways 1..m', () => {
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 0, 1, 0))).toBe(true);
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 0, 3, 2))).toBe(true);
    // Another fleet's device, another IAN, a device of no fleet.
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 1, 1, 0))).toBe(false);
    expect(p.canPublish('dep.devices-1', topics.deviceReport(DEP, 0, 1, 0))).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 0, 1, 3))).toBe(false);
    // Gateways outside 1..m.
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 0, 0, 0))).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 0, 4, 0))).toBe(false);
    // The old device-less topic, control topics, retained reports, another deployment.
    expect(p.canPublish('dep.devices-0', topics.reports(DEP, 0, 1))).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.epoch(DEP))).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.reconcile(DEP, 0))).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.outcome(DEP, 0))).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.deviceReport(DEP, 0, 1, 0), true)).toBe(false);
    expect(p.canPublish('dep.devices-0', topics.deviceReport('other', 0, 1, 0))).toBe(false);
  });

  it('only the ledger publishes control topics (and retains); gateways and readers publish nothing', () => {
    for (const t of [topics.epoch(DEP), topics.reconcile(DEP, 0), topics.outcome(DEP, 1)]) {
      expect(p.canPublish('dep.ledger', t), t).toBe(true);
      expect(p.canPublish('dep.ledger', t, true), t).toBe(true);
      for (const who of [
        'dep.gw-0-1',
        'dep.devices-0',
        'dep.oem-1',
        'dep.operator',
        'dep.auditor',
      ]) {
        expect(p.canPublish(who, t), `${who} → ${t}`).toBe(false);
      }
    }
    expect(p.canPublish('dep.ledger', topics.deviceReport(DEP, 0, 1, 0))).toBe(false);
    expect(p.canPublish('dep.ledger', topics.epoch('other'))).toBe(false);
    expect(p.canPublish('dep.gw-0-1', topics.deviceReport(DEP, 0, 1, 0))).toBe(false);
  });

  it('a gateway subscribes exactly its own report filter and its IAN’s control topics', () => {
    const gw = 'dep.gw-0-1';
    for (const f of [
      topics.gatewayReports(DEP, 0, 1),
      topics.reconcile(DEP, 0),
      topics.outcome(DEP, 0),
      topics.epoch(DEP),
    ]) {
      expect(p.canSubscribe(gw, f), f).toBe(true);
    }
    for (const f of [
      topics.gatewayReports(DEP, 0, 2), // another gateway's reports
      topics.gatewayReports(DEP, 1, 1), // another IAN's
      topics.deviceReport(DEP, 0, 2, 0),
      topics.deviceReport(DEP, 0, 1, 0), // a single topic under its own filter: exact filter only
      'privagg/v1/dep/ian/0/gw/+/reports/+',
      'privagg/v1/dep/ian/0/gw/1/reports/#',
      'privagg/v1/dep/ian/0/gw/1/#',
      'privagg/v1/dep/#',
      '#',
      '+/+/+/+/+/+/+/+/+',
      topics.reconcile(DEP, 1),
      topics.outcome(DEP, 1),
      '$SYS/#',
    ]) {
      expect(p.canSubscribe(gw, f), f).toBe(false);
    }
  });

  it('devices and readers subscribe only epoch and outcomes; nobody subscribes wildcards', () => {
    expect(p.canSubscribe('dep.devices-0', topics.epoch(DEP))).toBe(true);
    expect(p.canSubscribe('dep.devices-0', topics.outcome(DEP, 0))).toBe(true);
    expect(p.canSubscribe('dep.devices-0', topics.outcome(DEP, 1))).toBe(false); // not its IAN
    expect(p.canSubscribe('dep.devices-0', topics.reconcile(DEP, 0))).toBe(false);
    expect(p.canSubscribe('dep.devices-0', topics.gatewayReports(DEP, 0, 1))).toBe(false);
    for (const who of ['dep.oem-1', 'dep.operator', 'dep.auditor']) {
      expect(p.canSubscribe(who, topics.epoch(DEP))).toBe(true);
      expect(p.canSubscribe(who, topics.outcome(DEP, 7))).toBe(true);
      expect(p.canSubscribe(who, topics.reconcile(DEP, 0))).toBe(false);
      expect(p.canSubscribe(who, topics.gatewayReports(DEP, 0, 1))).toBe(false);
      expect(p.canSubscribe(who, 'privagg/v1/dep/ian/+/outcome')).toBe(false);
    }
    expect(p.canSubscribe('dep.ledger', topics.reconcile(DEP, 0))).toBe(true);
    for (const who of [...[...p.entries()].map(([name]) => name), 'stranger', '']) {
      for (const f of ['#', 'privagg/#', topics.all(DEP), '+/v1/dep/epoch', 'privagg/v1/dep/+']) {
        expect(p.canSubscribe(who, f), `${who} ${f}`).toBe(false);
      }
    }
  });

  it('an unknown identity may do nothing', () => {
    expect(p.canPublish('dep.gw-9-9', topics.deviceReport(DEP, 0, 1, 0))).toBe(false);
    expect(p.canSubscribe('dep.gw-9-9', topics.epoch(DEP))).toBe(false);
    expect(p.canPublish('__proto__', topics.epoch(DEP))).toBe(false);
    expect(p.grant('constructor')).toBeUndefined();
  });

  it('refuses inconsistent grants', () => {
    const bad = (grants: [string, BrokerGrant][], m = 3) => {
      try {
        new BrokerPolicy(DEP, m, new Map(grants));
      } catch (e) {
        return isPrivaggError(e, 'INVALID_ARGUMENT');
      }
      return false;
    };
    expect(bad([['a', { role: 'gateway', ian: 0, gateway: 4 }]])).toBe(true);
    expect(bad([['a', { role: 'gateway', ian: 0, gateway: 0 }]])).toBe(true);
    expect(bad([['a', { role: 'gateway', gateway: 1 }]])).toBe(true);
    expect(
      bad([
        ['a', { role: 'gateway', ian: 0, gateway: 1 }],
        ['b', { role: 'gateway', ian: 0, gateway: 1 }],
      ]),
    ).toBe(true);
    expect(
      bad([
        ['a', { role: 'devices', devices: [{ ian: 0, device: 1 }] }],
        ['b', { role: 'devices', devices: [{ ian: 0, device: 1 }] }],
      ]),
    ).toBe(true);
    expect(bad([['a', { role: 'devices', devices: [] }]])).toBe(true);
    expect(bad([['a', { role: 'devices', devices: [{ ian: -1, device: 1 }] }]])).toBe(true);
    expect(bad([['a b', { role: 'ledger' }]])).toBe(true);
    expect(bad([['a', { role: 'root' as never }]])).toBe(true);
    expect(bad([['a', { role: 'ledger' }]], 0)).toBe(true);
    expect(bad([['a', { role: 'ledger' }]])).toBe(false);
  });
});
