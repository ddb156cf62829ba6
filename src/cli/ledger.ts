import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { PrivaggError } from '../errors.js';
import { ChainCipher, SEALED_KINDS } from '../ledger/chainCipher.js';
import { decodeDeploymentConfig } from '../ledger/deploymentConfig.js';
import { checkChainAgainstHead, type HeadCheck, readHeadFile } from '../ledger/headFile.js';
import {
  readSchemeAuditorKeys,
  readSchemeRecord,
  verifySchemeChain,
} from '../ledger/scheme/index.js';
import { SqliteBlockStore } from '../ledger/sqliteStore.js';
import { verifyChain } from '../ledger/verifyChain.js';
import { auditorKeysOfBundle } from '../node/credentials/auditorKeys.js';
import { loadBundle } from '../node/credentials/bundle.js';
import type { MaasParams } from '../schemes/maas/params.js';
import { decodePartialOf } from '../schemes/maas/partialCodec.js';
import { evidenceTagBytes } from '../schemes/maas/tags.js';
import { decodeQuery } from '../wire/maas.js';
import { formatTable } from './table.js';

/** `privagg ledger verify|show <file>`: check and inspect an embedded ledger file. */
export function registerLedgerCommands(program: Command): Command {
  const ledger = program
    .command('ledger')
    .description('Inspect and verify an embedded ledger file (SQLite block store)');

  ledger
    .command('verify <file>')
    .description(
      'Re-check the whole chain (heights, hashes, Merkle roots, Ed25519 signatures, contract replay); exit 1 naming the first bad block',
    )
    .option(
      '--public-key <hex>',
      "the node's Ed25519 public key (default: the one stored in the file, which proves consistency only)",
    )
    .option(
      '--head <file>',
      'a signed chain head kept by a gateway, an OEM, an auditor or the ledger (<ledger file>.head): exit 1 if the chain is shorter, holds another block at its height, or the head is not signed by the node key',
    )
    .option(
      '--bundle <file>',
      "the auditor's credential bundle: open the sealed partials and restores and replay them, check every partial's and query's signature with the senders' public keys, list each named liar with its signed partial, and take the node key from it",
    )
    .option(
      '--scheme-keys <file>',
      "a scheme ledger's auditor keys (demo --scheme writes privagg-demo.<id>.auditor.json): open every sealed body and replay it through a fresh center of the recorded scheme",
    )
    .option('--json', 'print the report as JSON')
    .action(
      (
        file: string,
        opts: {
          publicKey?: string;
          head?: string;
          bundle?: string;
          schemeKeys?: string;
          json?: boolean;
        },
      ) => {
        if (isSchemeLedger(file)) return verifySchemeLedger(file, opts);
        const auditor = opts.bundle ? loadBundle(opts.bundle, 'auditor') : undefined;
        // With a signed head, an empty file is a verdict (rolled back: a copy made without
        // its WAL holds nothing), not a refusal.
        const store = openExisting(file, opts.head !== undefined);
        const publicKey = opts.publicKey
          ? Buffer.from(opts.publicKey, 'hex')
          : auditor
            ? Buffer.from(auditor.ledgerPublicKey, 'hex')
            : undefined;
        if (publicKey && publicKey.length !== 32)
          throw new PrivaggError('BAD_KEY', '--public-key must be 32 bytes of hex');
        const stored = store.getMeta('node_public_key');
        const report = verifyChain(store, {
          ...(publicKey ? { publicKey } : {}),
          ...(auditor ? auditorKeysOfBundle(auditor) : {}),
        });
        let head: HeadCheck | undefined;
        if (opts.head !== undefined) {
          const signed = readHeadFile(opts.head);
          if (!signed) throw new PrivaggError('DATA_UNAVAILABLE', `no head file at ${opts.head}`);
          const key = publicKey ?? stored;
          const config = store.getMeta('deployment');
          if (key && config) {
            head = checkChainAgainstHead(store, signed, {
              publicKey: key,
              deployment: decodeDeploymentConfig(config).params.deployment,
            });
          } else if (signed.height > 0) {
            // A file copied without its WAL may hold nothing at all yet.
            head = {
              ok: false,
              problem: 'behind',
              message: `the file holds no chain but the signed head says ${signed.height} block(s) were acknowledged`,
            };
          } else head = { ok: true };
        }
        store.close();
        const ok = report.ok && (head?.ok ?? true);
        if (opts.json) {
          console.log(
            JSON.stringify(
              {
                file,
                nodePublicKey: stored?.toString('hex'),
                ...report,
                ...(head ? { head } : {}),
              },
              null,
              2,
            ),
          );
        } else {
          if (report.ok) {
            console.log(
              `${file}: OK — ${report.blocks} blocks, ${report.transactions} transactions verified in ${report.elapsedMs.toFixed(0)} ms` +
                `\n  node key ${stored?.toString('hex')}${publicKey ? (opts.publicKey ? ' (as given)' : ' (from the auditor bundle)') : ' (from the file: compare it with the node you trust)'}`,
            );
            if (!report.contentsChecked)
              console.log(
                '  partials and restores are sealed: structure and signatures checked, contents not replayed (give --bundle <auditor bundle> to open them)',
              );
            if (report.signaturesChecked)
              console.log("  every partial and query carries its sender's valid Ed25519 signature");
            else if (auditor)
              console.log(
                '  signatures not checked: the deployment runs the paper mode (no signatures)',
              );
            if (report.liars?.length) {
              console.log(
                `  ${report.liars.length} gateway partial(s) named as lies, each signed by its gateway (evidence):`,
              );
              console.log(
                formatTable(
                  [
                    'IAN',
                    'round',
                    'gateway',
                    'attempt',
                    'partial in block',
                    'named in block',
                    'signature',
                  ],
                  report.liars.map((l) => [
                    l.ian,
                    l.round,
                    l.gateway,
                    l.attempt,
                    l.partialHeight,
                    l.namedAt,
                    `${l.signature.slice(0, 16)}…`,
                  ]),
                ),
              );
            }
          } else {
            console.error(
              `${file}: TAMPERED — block ${report.firstBad!.height}: ${report.firstBad!.reason}`,
            );
            console.error(`  ${report.blocks} block(s) before it verified`);
          }
          if (head?.ok)
            console.log(`  head ${opts.head}: held — the chain contains the signed head's block`);
          else if (head) {
            const what = {
              behind: 'ROLLED BACK',
              fork: 'FORKED',
              signature: 'BAD HEAD',
              deployment: 'FOREIGN HEAD',
            }[head.problem];
            console.error(`${file}: ${what} — ${head.message}`);
          }
        }
        if (!ok) process.exitCode = 1;
      },
    );

  ledger
    .command('show <file>')
    .description('Print the deployment, and the blocks (or one block with its transactions)')
    .option('--height <h>', 'show one block in full')
    .option('--limit <n>', 'blocks to list', '30')
    .option(
      '--bundle <file>',
      "the auditor's credential bundle: open the sealed partials and restores (shown as sealed otherwise)",
    )
    .action((file: string, opts: { height?: string; limit: string; bundle?: string }) => {
      for (const [flag, value] of [
        ['--height', opts.height],
        ['--limit', opts.limit],
      ] as const) {
        if (value !== undefined && !/^\d{1,9}$/.test(value))
          throw new PrivaggError(
            'INVALID_ARGUMENT',
            `${flag} must be a non-negative integer, got "${value}"`,
          );
      }
      const auditor = opts.bundle ? loadBundle(opts.bundle, 'auditor') : undefined;
      const cipher = auditor
        ? new ChainCipher(Buffer.from(auditor.keys.contentKey, 'hex'))
        : undefined;
      const store = openExisting(file);
      const config = store.getMeta('deployment');
      const decoded = config ? decodeDeploymentConfig(config) : undefined;
      const params = decoded?.params;
      if (config) {
        const { params, oems } = decodeDeploymentConfig(config);
        console.log(
          `deployment ${params.deployment}: ${params.ians} IANs × ${params.devicesPerIan} devices, m = ${params.gateways}, k = ${params.threshold}, ` +
            `dimensions ${params.dimensions.join(',')}, LDP ${params.ldp ? `ε = ${params.ldp.epsilon}, δ = ${params.ldp.delta}` : 'off'}; OEMs ${oems.map((o) => o.name).join(', ') || 'none'}`,
        );
      }
      if (opts.height !== undefined) {
        const b = store.block(Number(opts.height));
        if (!b) throw new PrivaggError('INVALID_ARGUMENT', `no block ${opts.height}`);
        console.log(
          `block ${b.height}  time ${new Date(b.time).toISOString()}  hash ${b.hash.toString('hex')}`,
        );
        console.log(
          `  previous ${b.previousHash.toString('hex')}\n  merkle   ${b.merkleRoot.toString('hex')}`,
        );
        console.log(
          formatTable(
            ['#', 'kind', 'time', 'IAN', 'round', 'gateway', 'bytes', 'summary'],
            b.transactions.map((t, i) => [
              i,
              t.kind,
              new Date(t.time).toISOString(),
              t.ian ?? '—',
              t.round ?? '—',
              t.gateway ?? '—',
              t.body.length,
              SEALED_KINDS.has(t.kind) && !cipher
                ? `sealed (${t.body.length} bytes)`
                : summarise(t.kind, (cipher ? cipher.open(t) : t).body, params, decoded?.oems),
            ]),
          ),
        );
      } else {
        const blocks = store.range(
          Math.max(0, store.count() - Number(opts.limit)),
          Number(opts.limit),
        );
        console.log(
          formatTable(
            ['height', 'time', 'txs', 'kinds', 'hash'],
            blocks.map((b) => [
              b.height,
              new Date(b.time).toISOString(),
              b.transactions.length,
              countKinds(b.transactions.map((t) => t.kind)),
              `${b.hash.toString('hex').slice(0, 16)}…`,
            ]),
          ),
        );
      }
      store.close();
    });
  return ledger;
}

/** A ledger written by the scheme seam's SchemeLedger (any scheme), not the MaaS ledger. */
function isSchemeLedger(file: string): boolean {
  // Only looks at the meta: an empty file is not refused here (verify --head judges it).
  const store = openExisting(file, true);
  try {
    return readSchemeRecord(store) !== undefined;
  } finally {
    store.close();
  }
}

function verifySchemeLedger(
  file: string,
  opts: { publicKey?: string; schemeKeys?: string; json?: boolean },
): void {
  const keys = opts.schemeKeys ? readSchemeAuditorKeys(opts.schemeKeys) : undefined;
  const given = opts.publicKey ? Buffer.from(opts.publicKey, 'hex') : keys?.ledgerPublicKey;
  if (given && given.length !== 32)
    throw new PrivaggError('BAD_KEY', '--public-key must be 32 bytes of hex');
  const store = openExisting(file);
  const record = readSchemeRecord(store)!;
  store.close();
  const report = verifySchemeChain(file, {
    ...(keys ? { contentKey: keys.contentKey, centerKeys: keys.centerKeys } : {}),
    ...(given ? { ledgerPublicKey: given } : {}),
  });
  if (opts.json) {
    console.log(JSON.stringify({ file, scheme: record.schemeId, ...report }, null, 2));
  } else if (report.ok) {
    console.log(
      `${file}: OK — scheme ${record.schemeId}, ${report.blocks} blocks, ${report.transactions} transactions, ${report.recoveries} recoveries verified in ${report.elapsedMs.toFixed(0)} ms` +
        (report.replayed
          ? '\n  every body opened and replayed through a fresh center: every recovery recomputed equal'
          : '\n  bodies are sealed: structure and signatures checked, contents not replayed (give --scheme-keys <auditor keys> to replay them)'),
    );
  } else {
    console.log(`${file}: BAD — block ${report.firstBad?.height}: ${report.firstBad?.reason}`);
  }
  if (!report.ok) process.exitCode = 1;
}

function openExisting(file: string, emptyIsAVerdict = false): SqliteBlockStore {
  if (!existsSync(file)) throw new PrivaggError('DATA_UNAVAILABLE', `no ledger file at ${file}`);
  // Read-only: checking a file must not change it (not even create its tables).
  try {
    const store = new SqliteBlockStore(file, { readonly: true });
    // An empty file, or another SQLite database, opens as an empty chain: say what it is
    // rather than "OK — 0 blocks".
    if (!emptyIsAVerdict && store.count() === 0 && store.getMeta('deployment') === undefined) {
      store.close();
      throw new PrivaggError(
        'MALFORMED_DATA',
        `${file} holds no privagg ledger (no blocks, no deployment): not a ledger file, or a copy made without its -wal file`,
      );
    }
    return store;
  } catch (e) {
    // better-sqlite3's own error ("file is not a database", a locked or unreadable file).
    if (e instanceof Error && e.name === 'SqliteError') {
      throw new PrivaggError(
        'MALFORMED_DATA',
        `${file} is not a privagg ledger file (SQLite: ${e.message})`,
      );
    }
    throw e;
  }
}

function countKinds(kinds: string[]): string {
  const m = new Map<string, number>();
  for (const k of kinds) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m].map(([k, n]) => `${n} ${k}`).join(', ');
}

function summarise(
  kind: string,
  body: Buffer,
  params?: MaasParams,
  oems?: readonly { name: string }[],
): string {
  if (kind === 'restore') {
    const o = JSON.parse(body.toString('utf8')) as {
      status: string;
      reason?: string;
      liars?: number[];
      contributors?: number[];
    };
    return o.status === 'restored'
      ? `restored over ${o.contributors?.length} devices${o.liars?.length ? `, liars ${o.liars.join(',')}` : ''}`
      : `${o.status}${o.reason ? `: ${o.reason}` : ''}`;
  }
  if (kind === 'round') {
    const r = JSON.parse(body.toString('utf8')) as {
      status: string;
      reasons: string[];
      notes?: string[];
    };
    return `${r.status}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''}${r.notes?.length ? ` [operator notes: ${r.notes.join('; ')}]` : ''}`;
  }
  if (kind === 'answer') {
    const a = JSON.parse(body.toString('utf8')) as {
      oem: string;
      number: number;
      startRound: number;
      endRound: number;
    };
    return `${a.oem}: number = ${a.number}, rounds ${a.startRound}..${a.endRound}`;
  }
  if (kind === 'partial' && params) {
    // A partial's header and contributor set; its sums are Shamir shares, not values.
    try {
      const p = decodePartialOf(params, body);
      return (
        `attempt ${p.attempt}, ${p.contributors.length} of ${p.rosterSize} devices, ${p.width} sum shares` +
        `${p.verifiers ? ', verifier shares' : ''}, sent ${new Date(p.timestamp).toISOString()}`
      );
    } catch {
      // Not decodable under this deployment: fall through to the raw bytes.
    }
  }
  if (kind === 'query' && params) {
    try {
      const q = decodeQuery(body, evidenceTagBytes(params.modes.mac));
      const name = oems?.[q.oem]?.name;
      return `${name ?? `OEM ${q.oem}`}: number = ${q.number}, rounds ${q.startRound}..${q.endRound}`;
    } catch {
      // fall through
    }
  }
  return `${body.subarray(0, 8).toString('hex')}… (${body.length} bytes)`;
}
