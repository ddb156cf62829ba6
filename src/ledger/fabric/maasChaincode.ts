import type { Context } from 'fabric-contract-api';
import fabricContractApi from 'fabric-contract-api';
import { canonicalJson } from '../canonicalJson.js';
import {
  addPartial,
  getConfig,
  getOutcome,
  health,
  initLedger,
  query,
  restore,
} from './maasWorldState.js';
import { MAAS_CONTRACT_NAME } from './stateLayout.js';

// fabric-contract-api attaches its decorators with Object.assign, which Node's ESM loader
// cannot see as named exports: take them from the CommonJS module object.
const { Contract, Info, Param, Returns, Transaction } = fabricContractApi;

export { MAAS_CONTRACT_NAME };

/**
 * The MaaS ledger contract as Fabric chaincode (fabric-contract-api 2.5): the same
 * Add/Verify, Restore and Query as the embedded ledger, over the same core code, with
 * state in world state (maasWorldState.ts, stateLayout.ts).
 *
 * Arguments are strings: message bytes in base64, IAN and round as decimal numbers.
 * Results are canonical JSON strings of the core's AddResult, RestoreOutcome and
 * QueryResult, so the answers are byte-identical on every endorser. Bad input is answered
 * with { ok: false, code } and writes nothing; only setup mistakes (not initialised,
 * InitLedger twice, a caller without the operator role) fail the transaction.
 *
 * Decorator order matters when no design-time type metadata is emitted (esbuild, and our
 * build, which leaves emitDecoratorMetadata off): @Transaction, nearest the method, runs
 * first and would reset the parameter list; @Param above it then declares each parameter.
 * Decorators run bottom-up, so parameters are listed last-first (round above ian).
 */
@Info({
  title: 'privagg MaaS ledger',
  description: 'Add/Verify, Restore and Query of the MaaS LDP + Shamir scheme',
})
export class MaasContract extends Contract {
  constructor() {
    super(MAAS_CONTRACT_NAME);
  }

  @Param('argsJson', 'string', 'InitLedger JSON (encodeInitLedgerArgs); master secret in transient')
  @Returns('string')
  @Transaction()
  async InitLedger(ctx: Context, argsJson: string): Promise<string> {
    return initLedger(ctx.stub, argsJson);
  }

  @Param('partialBase64', 'string', 'a gateway partial (wire bytes, base64)')
  @Returns('string')
  @Transaction()
  async Add(ctx: Context, partialBase64: string): Promise<string> {
    return canonicalJson(await addPartial(ctx.stub, partialBase64));
  }

  @Param('round', 'number', 'round number (u32)')
  @Param('ian', 'number', 'industrial area network index')
  @Returns('string')
  @Transaction()
  async Restore(ctx: Context, ian: number, round: number): Promise<string> {
    return restore(ctx.stub, ian, round, ctx.clientIdentity.getMSPID());
  }

  @Param('queryBase64', 'string', 'an OEM query (wire bytes, base64)')
  @Returns('string')
  @Transaction()
  async Query(ctx: Context, queryBase64: string): Promise<string> {
    return canonicalJson(await query(ctx.stub, queryBase64));
  }

  @Param('round', 'number', 'round number (u32)')
  @Param('ian', 'number', 'industrial area network index')
  @Returns('string')
  @Transaction(false)
  async GetOutcome(ctx: Context, ian: number, round: number): Promise<string> {
    return getOutcome(ctx.stub, ian, round, ctx.clientIdentity.getMSPID());
  }

  @Returns('string')
  @Transaction(false)
  async GetConfig(ctx: Context): Promise<string> {
    return getConfig(ctx.stub);
  }

  @Returns('string')
  @Transaction(false)
  async Health(ctx: Context): Promise<string> {
    return health(ctx.stub);
  }
}
