import { MaasContract } from './maasChaincode.js';

/**
 * The chaincode's entry point for `fabric-chaincode-node start`, which require()s the
 * package's `main` and registers `contracts` with `serializers` (see packageChaincode.ts
 * for the CommonJS build and canonicalSerializer.ts for why a serializer of our own).
 */
export { serializers } from './canonicalSerializer.js';
export { MaasContract } from './maasChaincode.js';
export const contracts = [MaasContract];
