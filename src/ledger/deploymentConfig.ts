import { ErrorCode, PrivaggError } from '../errors.js';
import { PrimeField } from '../math/field.js';
import type { OemGrant } from '../schemes/maas/keys.js';
import { type MaasParams, validateMaasParams } from '../schemes/maas/params.js';
import { canonicalJson } from './canonicalJson.js';

/**
 * The public part of a deployment, stored in the ledger file so that anyone can replay
 * and verify the chain without the TA's secrets: parameters and the OEMs' grants.
 */
export interface DeploymentConfig {
  params: MaasParams;
  oems: readonly OemGrant[];
}

export function encodeDeploymentConfig(c: DeploymentConfig): Buffer {
  const { field, ...rest } = c.params;
  return Buffer.from(
    canonicalJson({ version: 1, params: { ...rest, prime: field.p.toString() }, oems: c.oems }),
  );
}

export function decodeDeploymentConfig(bytes: Buffer): DeploymentConfig {
  try {
    const raw = JSON.parse(bytes.toString('utf8')) as {
      version: number;
      params: Omit<MaasParams, 'field'> & { prime: string };
      oems: OemGrant[];
    };
    if (raw.version !== 1) throw new Error(`config version ${raw.version}`);
    const { prime, ...rest } = raw.params;
    return {
      params: validateMaasParams({ ...rest, field: new PrimeField(BigInt(prime)) }),
      oems: raw.oems,
    };
  } catch (e) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_DATA,
      `ledger deployment config unreadable: ${String(e)}`,
    );
  }
}
