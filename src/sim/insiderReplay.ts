import type { Address, Envelope } from '../schemes/scheme.js';
import type { RouterFactory } from './router.js';

/**
 * The device-side attacks every scheme must meet, injected on a compromised device's own
 * connection (an outsider cannot even publish as a device: the broker refuses it): after a
 * chosen device's genuine reports, the same bytes again (a replay) and a copy with one bit
 * flipped (a forgery). Receivers must refuse both with a code and count the genuine one.
 */
export function withDeviceAttacks(
  inner: RouterFactory,
  target: (from: Address) => boolean,
): RouterFactory {
  return async (roles, ctx) => {
    const router = await inner(roles, ctx);
    const send = router.send.bind(router);
    router.send = async (from: Address, envelopes: readonly Envelope[]) => {
      await send(from, envelopes);
      if (from.role !== 'device' || !target(from) || envelopes.length === 0) return;
      const first = envelopes[0]!;
      const forged = Uint8Array.from(first.bytes);
      forged[forged.length - 1]! ^= 0x01;
      await send(from, [first, { ...first, bytes: forged }]);
    };
    return router;
  };
}
