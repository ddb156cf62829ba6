import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicFromPrivate } from '../../crypto/ed25519.js';
import { writeSchemeAuditorKeys } from '../../ledger/scheme/index.js';
import { type RandomSource, systemRandom } from '../../math/random.js';
import { configureScheme } from '../../schemes/registry.js';
import {
  type Address,
  aggregatorAt,
  CENTER,
  deviceAt,
  type Population,
  type SchemeConfig,
  sameAddress,
} from '../../schemes/scheme.js';
import { SEAM_BUNDLE_FORMAT, type SeamRoleBundle, writeSeamBundle } from './roleBundle.js';
import { issueSeamPki, type SeamPki } from './seamPki.js';
import { seamPolicy } from './seamPolicy.js';
import { checkRunName, type SeamIdentity } from './seamTopics.js';

/**
 * The TA of a networked scheme run (`privagg up` with a scheme on the seam): configures the
 * scheme, runs its setup once with fresh randomness, issues the run's certificates, and
 * writes one bundle per process — the center's, each aggregator's, each group's device
 * fleet's — each holding only the key blobs of the addresses that process speaks for. The
 * auditor's file (content key, center blob, ledger public key) goes beside the ledger.
 * The TA keeps nothing: once the bundles are written the setup is gone from memory.
 */
export interface IssuedSeamRun {
  run: string;
  config: SchemeConfig;
  identities: readonly SeamIdentity[];
  pki: SeamPki;
  /** Bundle file by identity name. */
  bundles: ReadonlyMap<string, string>;
  auditorKeysFile: string;
}

export function issueSeamRun(o: {
  deployment: string;
  run: string;
  scheme: { id: string; params: unknown };
  population: Population;
  /** The scheme configured from `scheme` and `population`, when the caller has it already. */
  config?: SchemeConfig;
  dir: string;
  ledgerFile: string;
  rng?: RandomSource;
}): IssuedSeamRun {
  const run = checkRunName(o.run);
  const config = o.config ?? configureScheme(o.scheme.id, o.scheme.params, o.population);
  const rng = o.rng ?? systemRandom;
  const setup = config.setup(rng);
  const { identities } = seamPolicy(run, config.topology);
  const pki = issueSeamPki(run, identities);
  const random32 = () => {
    const k = new Uint8Array(32);
    rng.fill(k);
    return k;
  };
  const ledger = { signingKey: random32(), contentKey: random32() };
  // Old bundles are another run's keys: removed, never mixed with this run's.
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const bundles = new Map<string, string>();
  for (const id of identities) {
    const tls = pki.credentials.get(id.name)!;
    const addresses = addressesOf(id, config);
    const bundle: SeamRoleBundle = {
      format: SEAM_BUNDLE_FORMAT,
      deployment: o.deployment,
      run,
      scheme: { id: o.scheme.id, params: o.scheme.params ?? {} },
      population: o.population,
      identity: id,
      publicSetup: setup.publicSetup,
      keys: addresses.map((address) => ({ address, blob: setup.keysOf(address) })),
      tls: { ca: pki.ca, ...tls },
      ...(id.role === 'ledger' ? { ledger } : {}),
    };
    const file = join(o.dir, `${id.name}.json`);
    writeSeamBundle(file, bundle);
    bundles.set(id.name, file);
  }
  const auditorKeysFile = `${o.ledgerFile}.auditor.json`;
  rmSync(auditorKeysFile, { force: true });
  writeSchemeAuditorKeys(auditorKeysFile, {
    contentKey: ledger.contentKey,
    centerKeys: setup.keysOf(CENTER),
    ledgerPublicKey: ed25519PublicFromPrivate(ledger.signingKey),
  });
  return { run, config, identities, pki, bundles, auditorKeysFile };
}

/** The addresses a process speaks for: the center, one aggregator, or a group's devices. */
export function addressesOf(id: SeamIdentity, config: SchemeConfig): Address[] {
  if (id.role === 'ledger') return [CENTER];
  if (id.role === 'gateway') {
    const at = aggregatorAt(id.group, id.index);
    return config.topology.aggregators(id.group).some((a) => sameAddress(a, at)) ? [at] : [];
  }
  return Array.from({ length: config.topology.devices(id.group) }, (_, i) => deviceAt(id.group, i));
}
