import { ShamirParams } from '../../crypto/shamir.js';
import { PrivacyAccountant } from '../../dp/accountant.js';
import type { RandomSource } from '../../math/random.js';
import { type AddressedMessage, deviceReport } from './device.js';
import { MaasGateway } from './gateway.js';
import { type MaasRegistry, type OemGrant, registerDeployment } from './keys.js';
import { MaasLedgerContract } from './ledgerContract.js';
import { type MaasParams, validateMaasParams } from './params.js';
import { ensurePartialsFit } from './partialCodec.js';
import { MaasQueryEngine } from './query.js';
import { ReadingCodec } from './readingCodec.js';

/**
 * One MaaS deployment's roles, wired from one set of parameters. Everything here is
 * sans-I/O: the in-process runner, the networked runtime and the ledger stores all
 * build their roles through this and feed them bytes, clocks and randomness.
 */
export interface MaasDeployment {
  params: MaasParams;
  /** The OEMs registered with the TA and their grants (public). */
  oems: readonly OemGrant[];
  registry: MaasRegistry;
  shamir: ShamirParams;
  codec: ReadingCodec;
  device(ian: number, device: number): MaasDevice;
  gateway(ian: number, gateway: number): MaasGateway;
  ledger(accountant?: PrivacyAccountant): {
    contract: MaasLedgerContract;
    queries: MaasQueryEngine;
  };
}

export interface MaasDevice {
  ian: number;
  device: number;
  report(
    round: number,
    reading: readonly number[],
    nowMs: number,
    rng: RandomSource,
  ): AddressedMessage[];
}

export function createMaasDeployment(
  params: MaasParams,
  opts: {
    oems: readonly OemGrant[];
    registeredAtMs: number;
    masterSecret?: Uint8Array;
    rng?: RandomSource;
    /**
     * The keys a role process holds (built from its credential bundle): roles whose keys
     * are not in it fail when asked for. Default: the TA's full registration.
     */
    registry?: MaasRegistry;
  },
): MaasDeployment {
  // The validated object: parameters spread into the paper's modes come back without
  // validity, and every role must see the same thing (reportValidityFor reads this one).
  params = validateMaasParams(params);
  ensurePartialsFit(params);
  const registry = opts.registry ?? registerDeployment(params, opts);
  const shamir = new ShamirParams(params.threshold, params.gateways, params.field);
  const codec = new ReadingCodec(params);
  return {
    params,
    oems: opts.oems,
    registry,
    shamir,
    codec,
    device(ian, device) {
      const ctx = { key: registry.deviceKey(ian, device), params, shamir, codec };
      return {
        ian,
        device,
        report: (round, reading, nowMs, rng) => deviceReport(ctx, round, reading, nowMs, rng),
      };
    },
    gateway(ian, gateway) {
      return new MaasGateway(registry.gatewayKey(ian, gateway), params);
    },
    ledger(accountant = new PrivacyAccountant()) {
      const key = registry.ledgerKey();
      const contract = new MaasLedgerContract(key, params, shamir, codec);
      return { contract, queries: new MaasQueryEngine(contract, key, params, accountant) };
    },
  };
}
