import { ChainCipher } from '../../ledger/chainCipher.js';
import type { LedgerTransaction } from '../../ledger/service.js';
import {
  httpGet,
  httpPostBinary as postBinary,
  type TlsClientCredentials,
} from '../../net/httpPost.js';
import type { MaasDeployment } from '../../schemes/maas/deployment.js';
import type { MaasParams } from '../../schemes/maas/params.js';
import { decodePartialOf } from '../../schemes/maas/partialCodec.js';
import { buildQuery, dimensionMask, type QueryAnswer } from '../../schemes/maas/query.js';
import type { AttackKind } from '../../sim/maasFaults.js';

/**
 * What the demo does to and asks of the ledger over its HTTP(S) API, each as the role
 * that may (or may not) do it, with that role's client certificate: read the chain as the
 * auditor, post forged and replayed partials as a compromised gateway (and once as the
 * compromised device, which may not post at all), query as the OEM. In an insecure
 * deployment `tls` is absent and the same requests go in plaintext.
 */

/** One transaction as GET /v1/blocks shows it, body decoded. */
export type ChainTransaction = Pick<
  LedgerTransaction,
  'kind' | 'time' | 'ian' | 'round' | 'gateway'
> & {
  body: Buffer;
};

interface BlocksPage {
  height: number;
  blocks: {
    transactions: {
      kind: ChainTransaction['kind'];
      time: number;
      body: string;
      ian?: number;
      round?: number;
      gateway?: number;
    }[];
  }[];
}

/**
 * Every transaction of the chain, in order, paging through GET /v1/blocks (as the auditor),
 * with the sealed partials and restores opened under the auditor's content key.
 */
export async function fetchChain(
  ledgerUrl: string,
  contentKey: Uint8Array,
  tls?: TlsClientCredentials,
): Promise<ChainTransaction[]> {
  const cipher = new ChainCipher(contentKey);
  const out: ChainTransaction[] = [];
  for (let from = 0; ; ) {
    const res = await httpGet(`${ledgerUrl}/v1/blocks?from=${from}&limit=64`, tls ? { tls } : {});
    if (res.status !== 200)
      throw new Error(`GET /v1/blocks?from=${from}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    const page = res.body as BlocksPage;
    for (const b of page.blocks)
      for (const t of b.transactions)
        out.push(cipher.open({ ...t, body: Buffer.from(t.body, 'base64') }));
    from += page.blocks.length;
    if (page.blocks.length === 0 || from >= page.height) return out;
  }
}

export interface PostTally {
  posted: number;
  /** Accepted by the ledger: must stay 0 for forged and replayed submissions. */
  accepted: number;
  refused: Record<string, number>;
}

function tally(t: PostTally, res: Awaited<ReturnType<typeof postBinary>>): void {
  t.posted++;
  if (res.ok) t.accepted++;
  else t.refused[res.code] = (t.refused[res.code] ?? 0) + 1;
}

const deadline = () => Date.now() + 10_000;
const as = (tls: TlsClientCredentials | undefined) => ({
  deadlineMs: deadline(),
  ...(tls ? { tls } : {}),
});

/**
 * The ledger-side partial attacks, once per IAN-round: a genuine partial read off the
 * chain, posted again (replayed-partial) and with its tag's last byte flipped
 * (forged-partial), each by the gateway that sent it (`gatewayTls`: a compromised gateway
 * holds its own certificate, nobody else's; an outsider could not connect at all). Once
 * more as the compromised device (`deviceTls`), whose role may not post partials.
 */
export async function partialAttacks(
  ledgerUrl: string,
  chain: readonly ChainTransaction[],
  attacks: ReadonlySet<AttackKind>,
  params: MaasParams,
  gatewayTls: (ian: number, gateway: number) => TlsClientCredentials | undefined = () => undefined,
  deviceTls?: TlsClientCredentials,
): Promise<PostTally> {
  const t: PostTally = { posted: 0, accepted: 0, refused: {} };
  if (!attacks.has('forged-partial') && !attacks.has('replayed-partial')) return t;
  const seen = new Set<string>();
  const url = `${ledgerUrl}/v1/partials`;
  for (const tx of chain) {
    if (tx.kind !== 'partial') continue;
    const p = decodePartialOf(params, tx.body);
    const key = `${p.ian}/${p.round}`;
    if (p.attempt !== 0 || seen.has(key)) continue;
    const tls = gatewayTls(p.ian, p.gateway);
    if (seen.size === 0 && deviceTls) tally(t, await postBinary(url, tx.body, as(deviceTls)));
    seen.add(key);
    if (attacks.has('forged-partial')) {
      const forged = Buffer.from(tx.body);
      forged[forged.length - 1]! ^= 0xff;
      tally(t, await postBinary(url, forged, as(tls)));
    }
    if (attacks.has('replayed-partial')) tally(t, await postBinary(url, tx.body, as(tls)));
  }
  return t;
}

export interface OemQueryRun {
  number: number;
  ok: boolean;
  code?: string;
  answer?: QueryAnswer;
}

/**
 * The OEM: number = 1..z over every round (all dimensions), then the query attacks —
 * the last query replayed, a forged one, one for a dimension it has no right to, and
 * distinct windows until its budget is spent.
 */
export async function oemQueries(
  ledgerUrl: string,
  dep: MaasDeployment,
  attacks: ReadonlySet<AttackKind>,
  rounds: number,
  tls?: TlsClientCredentials,
): Promise<{ runs: OemQueryRun[]; attacks: PostTally }> {
  const params = dep.params;
  const key = dep.registry.oemKey(0);
  const url = `${ledgerUrl}/v1/queries`;
  const all = params.dimensions.map((_, j) => j);
  const ask = (number: number, startRound: number, endRound: number, mask = dimensionMask(all)) =>
    buildQuery(params, key, {
      number,
      startRound,
      endRound,
      dimensionMask: mask,
      timestamp: Date.now(),
    });
  const runs: OemQueryRun[] = [];
  const t: PostTally = { posted: 0, accepted: 0, refused: {} };
  let last: Buffer | undefined;
  for (let number = 1; number <= params.ians; number++) {
    last = ask(number, 0, rounds - 1);
    const res = await postBinary(url, last, as(tls));
    runs.push(
      res.ok
        ? { number, ok: true, answer: (res.body as { answer: QueryAnswer }).answer }
        : { number, ok: false, code: res.code },
    );
  }
  if (attacks.has('replayed-query') && last) tally(t, await postBinary(url, last, as(tls)));
  if (attacks.has('forged-query')) {
    const forged = ask(params.ians, 0, rounds - 1);
    forged[forged.length - 5]! ^= 0x10;
    tally(t, await postBinary(url, forged, as(tls)));
  }
  if (attacks.has('unauthorised-query'))
    tally(t, await postBinary(url, ask(params.ians, 0, rounds - 1, 0x80), as(tls)));
  if (attacks.has('over-budget-query')) {
    // Distinct windows (a repeated one is answered from cache, free) until one is refused.
    outer: for (let start = 0; start < rounds; start++) {
      for (let end = start; end < rounds; end++) {
        const res = await postBinary(url, ask(1, start, end), as(tls));
        if (!res.ok) {
          tally(t, res);
          break outer;
        }
      }
    }
  }
  return { runs, attacks: t };
}
