import { describe, expect, it } from 'vitest';
import { parsePairs } from '../../../src/node/demo/faultHooks.js';
import { parseMetrics } from '../../../src/node/demo/metricsScrape.js';

describe('demo plumbing', () => {
  it('reads Prometheus text: names, labels (escaped quotes too), values; skips comments', () => {
    const samples = parseMetrics(
      [
        '# HELP privagg_ledger_rejected_total Submissions refused.',
        '# TYPE privagg_ledger_rejected_total counter',
        'privagg_ledger_rejected_total{code="BAD_MAC"} 3',
        'privagg_gateway_reports_rejected_total{code="REPLAY",ian="0",gateway="2"} 17',
        'privagg_gateway_partials_posted_total 21',
        'weird{note="a \\"quoted\\" word"} 1.5',
        'not a sample line',
        '',
      ].join('\n'),
    );
    expect(samples).toEqual([
      { name: 'privagg_ledger_rejected_total', labels: { code: 'BAD_MAC' }, value: 3 },
      {
        name: 'privagg_gateway_reports_rejected_total',
        labels: { code: 'REPLAY', ian: '0', gateway: '2' },
        value: 17,
      },
      { name: 'privagg_gateway_partials_posted_total', labels: {}, value: 21 },
      { name: 'weird', labels: { note: 'a \\"quoted\\" word' }, value: 1.5 },
    ]);
  });

  it('reads "a:b,…" fault lists and refuses anything else with a typed error', () => {
    expect(parsePairs('0:1,3:5', '--fault-lie')).toEqual([
      [0, 1],
      [3, 5],
    ]);
    expect(parsePairs(undefined, '--fault-lie')).toEqual([]);
    for (const bad of ['0', '0:1:2', 'a:b', '-1:2', '1.5:2'])
      expect(() => parsePairs(bad, '--fault-lie')).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
  });
});
