import fabricContractApi from 'fabric-contract-api';
import { canonicalJson } from '../canonicalJson.js';

const { JSONSerializer } = fabricContractApi;

/**
 * fabric-contract-api's JSONSerializer, except that objects are written as canonical JSON
 * (sorted keys, no whitespace) instead of through class-transformer's classToPlain.
 *
 * Why: fabric-contract-api 2.5.7 depends on class-transformer ^0.4.0, which npm resolves
 * to 0.4.1 — a release that renamed classToPlain to instanceToPlain — so the stock
 * serializer throws "classToPlain is not a function" for any object result, including
 * the system contract's GetMetadata. Our own transactions return strings (canonical JSON
 * already), which both serializers pass through unchanged.
 */
export class CanonicalJsonSerializer extends JSONSerializer {
  override toBuffer(result: unknown, schema: unknown = {}, loggerPrefix?: string): Buffer {
    if (result !== null && typeof result === 'object' && !Buffer.isBuffer(result)) {
      return Buffer.from(canonicalJson(result));
    }
    return super.toBuffer(result, schema, loggerPrefix);
  }
}

/** The serializer configuration `fabric-chaincode-node start` reads from the package's main. */
export const serializers = {
  transaction: 'privaggCanonicalJson',
  serializers: { privaggCanonicalJson: CanonicalJsonSerializer },
};
