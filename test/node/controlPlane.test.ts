import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportRawPublic } from '../../src/crypto/rawKeys.js';
import { topics } from '../../src/net/topics.js';
import { signControl, verifyControl, watchEpoch } from '../../src/node/controlPlane.js';
import { CONTROL_MAX_BYTES } from '../../src/wire/control.js';
import { fakeLink, settle } from './controlPlaneFixtures.js';

/**
 * Finding 3 of issue 9: a forged or stale retained epoch failed every round. The epoch is
 * now a signed control message; `watchEpoch` adopts only one signed by this run's ledger
 * key for this deployment and round duration, and ignores (and counts) everything else.
 */
const DEP = 'cp-epoch';
const ROUND_MS = 800;
const run = generateKeyPairSync('ed25519'); // this `privagg up` run's ledger key
const earlier = generateKeyPairSync('ed25519'); // a killed earlier run's ledger key
const PUB = exportRawPublic(run.publicKey);
const EPOCH = { deployment: DEP, epochMs: 1_900_000_000_000, roundMs: ROUND_MS, issuedAtMs: 1 };

function watcher(link: ReturnType<typeof fakeLink>['link']) {
  const refused: string[] = [];
  const ignored: number[] = [];
  let clock: { epochMs: number; durationMs: number } | undefined;
  const done = watchEpoch(link, {
    deployment: DEP,
    ledgerPublicKey: PUB,
    roundMs: ROUND_MS,
    onInvalid: (code) => refused.push(code),
    onIgnored: (e) => ignored.push(e.epochMs),
  }).then((c) => {
    clock = c;
    return c;
  });
  return { refused, ignored, done, adopted: () => clock };
}

describe('watchEpoch', () => {
  it('ignores forged, stale, foreign, malformed epochs and resolves with the valid one', async () => {
    const f = fakeLink();
    // A stale retained epoch left on the broker by an earlier run (another ledger key).
    f.retained.set(
      topics.epoch(DEP),
      signControl('epoch', { ...EPOCH, epochMs: 5 }, earlier.privateKey),
    );
    const w = watcher(f.link);
    await settle();
    expect(w.refused).toEqual(['BAD_SIGNATURE']);
    const t = topics.epoch(DEP);
    const valid = signControl('epoch', EPOCH, run.privateKey);
    const forged = Buffer.from(valid);
    forged.writeBigUInt64BE(7n, 34); // another epoch under the real signature
    f.deliver(t, forged);
    f.deliver(t, Buffer.from(JSON.stringify({ epochMs: Date.now() }))); // the old unsigned JSON
    f.deliver(t, signControl('epoch', { ...EPOCH, deployment: 'other' }, run.privateKey));
    f.deliver(t, signControl('epoch', { ...EPOCH, roundMs: 1000 }, run.privateKey));
    f.deliver(
      t,
      signControl(
        'outcome',
        { deployment: DEP, epochMs: 0, ian: 0, round: 0, status: 'complete', reasons: [] },
        run.privateKey,
      ),
    );
    f.deliver(t, Buffer.alloc(0));
    f.deliver(t, Buffer.alloc(CONTROL_MAX_BYTES + 1, 1));
    await settle();
    expect(w.adopted()).toBeUndefined();
    expect(w.refused).toEqual([
      'BAD_SIGNATURE',
      'BAD_SIGNATURE',
      'UNSUPPORTED_VERSION',
      'WRONG_RECIPIENT',
      'WRONG_RECIPIENT',
      'MALFORMED_MESSAGE',
      'MALFORMED_MESSAGE',
      'OVERSIZED_MESSAGE',
    ]);
    f.deliver(t, valid);
    const clock = await w.done;
    expect([clock.epochMs, clock.durationMs]).toEqual([EPOCH.epochMs, ROUND_MS]);
  });

  it('a valid retained epoch is adopted at subscribe time', async () => {
    const f = fakeLink();
    f.retained.set(topics.epoch(DEP), signControl('epoch', EPOCH, run.privateKey));
    expect((await watcher(f.link).done).epochMs).toBe(EPOCH.epochMs);
  });

  it('after adoption: a repeat is silent, another valid epoch is logged and ignored, nothing moves the clock', async () => {
    const f = fakeLink();
    const w = watcher(f.link);
    const t = topics.epoch(DEP);
    f.deliver(t, signControl('epoch', EPOCH, run.privateKey));
    const clock = await w.done;
    f.deliver(t, signControl('epoch', { ...EPOCH, issuedAtMs: 99 }, run.privateKey));
    f.deliver(
      t,
      signControl(
        'epoch',
        { ...EPOCH, epochMs: EPOCH.epochMs + 5000, issuedAtMs: 100 },
        run.privateKey,
      ),
    );
    f.deliver(t, signControl('epoch', { ...EPOCH, epochMs: 3 }, earlier.privateKey));
    await settle();
    expect(w.ignored).toEqual([EPOCH.epochMs + 5000]);
    expect(w.refused).toEqual(['BAD_SIGNATURE']);
    expect(clock.epochMs).toBe(EPOCH.epochMs);
  });

  it('no input ends the process: a callback that throws is contained; garbage never throws (fast-check)', async () => {
    const f = fakeLink();
    void watchEpoch(f.link, {
      deployment: DEP,
      ledgerPublicKey: PUB,
      roundMs: ROUND_MS,
      onInvalid: () => {
        throw new Error('a buggy counter');
      },
    }).catch(() => undefined);
    await settle();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(() => f.deliver(topics.epoch(DEP), bytes)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('stops waiting when aborted', async () => {
    const f = fakeLink();
    const abort = new AbortController();
    const p = watchEpoch(f.link, {
      deployment: DEP,
      ledgerPublicKey: PUB,
      roundMs: ROUND_MS,
      signal: abort.signal,
    });
    abort.abort();
    await expect(p).rejects.toThrow(/stopped/);
  });
});

describe('verifyControl', () => {
  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const v = verifyControl(bytes, { deployment: DEP, ledgerPublicKey: PUB });
        expect(v.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
    // Not even for a public key of the wrong length.
    const v = verifyControl(signControl('epoch', EPOCH, run.privateKey), {
      deployment: DEP,
      ledgerPublicKey: new Uint8Array(5),
    });
    expect(v).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(
      verifyControl(signControl('epoch', EPOCH, run.privateKey), {
        deployment: DEP,
        ledgerPublicKey: run.publicKey,
      }),
    ).toMatchObject({ ok: true, message: { kind: 'epoch', epochMs: EPOCH.epochMs } });
  });
});
