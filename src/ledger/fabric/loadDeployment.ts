import { ShamirParams } from '../../crypto/shamir.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { type MaasParams, shareBytes } from '../../schemes/maas/params.js';
import { ReadingCodec } from '../../schemes/maas/readingCodec.js';
import { type DeploymentConfig, decodeDeploymentConfig } from '../deploymentConfig.js';
import { type ChaincodeConfig, CONFIG_KEY, type StateStub } from './stateLayout.js';

// ── Deployment (config + pure derivations, memoised) ────────────────────────────

export interface LoadedDeployment {
  readonly config: ChaincodeConfig;
  readonly deployment: DeploymentConfig;
  readonly params: MaasParams;
  readonly shamir: ShamirParams;
  readonly codec: ReadingCodec;
  readonly elementBytes: number;
}

let memo: { text: string; loaded: LoadedDeployment } | undefined;

export async function loadDeployment(stub: StateStub): Promise<LoadedDeployment> {
  const raw = await stub.getState(CONFIG_KEY);
  if (!raw || raw.length === 0) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'the ledger is not initialised: submit InitLedger first',
    );
  }
  const text = Buffer.from(raw).toString('utf8');
  if (memo?.text === text) return memo.loaded;
  const config = JSON.parse(text) as ChaincodeConfig;
  const deployment = decodeDeploymentConfig(Buffer.from(JSON.stringify(config.deployment)));
  const { params } = deployment;
  const loaded: LoadedDeployment = {
    config,
    deployment,
    params,
    shamir: new ShamirParams(params.threshold, params.gateways, params.field),
    codec: new ReadingCodec(params),
    elementBytes: shareBytes(params),
  };
  memo = { text, loaded };
  return loaded;
}
