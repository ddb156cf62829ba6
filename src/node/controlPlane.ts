import type { Logger } from 'pino';
import { ErrorCode, isPrivaggError } from '../errors.js';
import type { MqttLink } from '../net/mqttLink.js';
import { topics } from '../net/topics.js';
import {
  type ControlBodies,
  type ControlContext,
  type ControlKind,
  type ControlMessage,
  type ControlSigningKey,
  type EpochBody,
  encodeSignedControl,
  openControl,
} from '../wire/control.js';
import { RoundClock } from './roundClock.js';

/**
 * The control plane as the role processes use it: the ledger signs epoch, reconcile and
 * outcome messages (src/wire/control.ts) with its Ed25519 key; every other process checks
 * them against the ledger's public key from its credential bundle before acting. Forged,
 * foreign (another deployment), malformed and stale (an earlier run's ledger key) messages
 * are refused with a code and counted; none can end a process.
 */
export type ControlVerdict =
  | { ok: true; message: ControlMessage }
  | { ok: false; code: ErrorCode; reason: string };

/** The ledger's side: a signed control message of `kind`. Throws INVALID_ARGUMENT on a bad body. */
export function signControl<K extends ControlKind>(
  kind: K,
  body: ControlBodies[K],
  ledgerPrivateKey: ControlSigningKey,
): Buffer {
  return encodeSignedControl(kind, body, ledgerPrivateKey);
}

/** Decodes and authenticates a control message. Never throws. */
export function verifyControl(bytes: Uint8Array, ctx: ControlContext): ControlVerdict {
  try {
    return { ok: true, message: openControl(bytes, ctx) };
  } catch (e) {
    if (isPrivaggError(e)) return { ok: false, code: e.code, reason: e.message };
    // A bug, not bad input: still refused, never thrown into an MQTT handler.
    return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: `unexpected: ${String(e)}` };
  }
}

export interface EpochWatchOptions {
  deployment: string;
  /** The ledger's Ed25519 public key (32 raw bytes or a KeyObject), from the bundle. */
  ledgerPublicKey: ControlContext['ledgerPublicKey'];
  /** This deployment's round duration: an epoch for another duration is WRONG_RECIPIENT. */
  roundMs: number;
  /** Called (and counted) for every refused epoch message. */
  onInvalid?: (code: ErrorCode, reason: string) => void;
  /**
   * Called with a valid epoch that differs from the one already adopted (a process follows
   * one epoch for its lifetime; a newer one is logged and ignored: restart to follow it).
   */
  onIgnored?: (epoch: EpochBody) => void;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** The clock's time source (default Date.now). */
  now?: () => number;
  /** Aborting rejects the promise if no epoch was adopted yet. */
  signal?: AbortSignal;
}

/**
 * Subscribes to the deployment's retained epoch topic and resolves with the round clock
 * of the first valid signed epoch: right version, this deployment, this round duration,
 * signed by this deployment's ledger key. Anything else is refused (onInvalid) and the
 * wait goes on — a forged epoch (anyone can publish on an open broker), a foreign one, or
 * a stale retained one left by an earlier `privagg up` (it issued another ledger key, so
 * the signature fails).
 *
 * After that the process keeps its epoch: a repeat of the same epoch (re-delivery, the
 * ledger re-announcing it) is ignored silently; a different valid one is logged and
 * ignored (`onIgnored`). A running gateway that jumped epochs mid-round would close rounds
 * it never opened and post partials the ledger refuses; restarting it is the sound way.
 */
export async function watchEpoch(link: MqttLink, o: EpochWatchOptions): Promise<RoundClock> {
  let adopted: EpochBody | undefined;
  let resolve!: (clock: RoundClock) => void;
  let reject!: (e: Error) => void;
  const clock = new Promise<RoundClock>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const onAbort = () => {
    if (!adopted) reject(new Error('stopped before an epoch arrived'));
  };
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const refuse = (code: ErrorCode, reason: string) => {
    o.logger?.warn({ code, reason }, 'epoch message refused');
    o.onInvalid?.(code, reason);
  };
  const handle = (payload: Buffer) => {
    const v = verifyControl(payload, {
      deployment: o.deployment,
      ledgerPublicKey: o.ledgerPublicKey,
    });
    if (!v.ok) return refuse(v.code, v.reason);
    const m = v.message;
    if (m.kind !== 'epoch')
      return refuse(ErrorCode.MALFORMED_MESSAGE, `a ${m.kind} message on the epoch topic`);
    if (m.roundMs !== o.roundMs) {
      return refuse(
        ErrorCode.WRONG_RECIPIENT,
        `epoch for rounds of ${m.roundMs} ms, this deployment's are ${o.roundMs} ms`,
      );
    }
    const epoch: EpochBody = {
      deployment: m.deployment,
      epochMs: m.epochMs,
      roundMs: m.roundMs,
      issuedAtMs: m.issuedAtMs,
    };
    if (adopted) {
      if (epoch.epochMs === adopted.epochMs) return;
      o.logger?.warn(
        { adoptedEpochMs: adopted.epochMs, epochMs: epoch.epochMs, issuedAtMs: epoch.issuedAtMs },
        'another signed epoch arrived after this process started: ignored (restart to follow it)',
      );
      o.onIgnored?.(epoch);
      return;
    }
    adopted = epoch;
    resolve(new RoundClock(epoch.epochMs, epoch.roundMs, o.now));
    o.signal?.removeEventListener('abort', onAbort);
    o.logger?.info(
      { epochMs: epoch.epochMs, issuedAtMs: epoch.issuedAtMs },
      'signed epoch adopted',
    );
  };
  await link.subscribe(topics.epoch(o.deployment), (_topic, payload) => {
    // No input ends a process: whatever happens in here — callbacks included — stays here.
    try {
      handle(payload);
    } catch (e) {
      try {
        o.logger?.warn({ err: String(e) }, 'epoch handler failed');
      } catch {
        // a logger that throws: nothing left to tell
      }
    }
  });
  return clock;
}
