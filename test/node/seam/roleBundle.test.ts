import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ed25519PublicFromPrivate } from '../../../src/crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../../../src/errors.js';
import { readSchemeAuditorKeys } from '../../../src/ledger/scheme/index.js';
import { seededRandom } from '../../../src/math/random.js';
import { connectMqtt, type LinkLogger, type MqttClientLink } from '../../../src/net/mqttClient.js';
import { loadSeamBundle, type SeamRoleBundle } from '../../../src/node/seam/roleBundle.js';
import { type SeamBroker, startSeamBroker } from '../../../src/node/seam/seamBroker.js';
import { issueSeamPki } from '../../../src/node/seam/seamPki.js';
import { seamPolicy } from '../../../src/node/seam/seamPolicy.js';
import { type IssuedSeamRun, issueSeamRun } from '../../../src/node/seam/seamTa.js';
import { envelopeTopic, inboxFilter } from '../../../src/node/seam/seamTopics.js';
import { configureScheme } from '../../../src/schemes/registry.js';
import {
  type Address,
  addressKey,
  aggregatorAt,
  CENTER,
  deviceAt,
  type Population,
} from '../../../src/schemes/scheme.js';

/**
 * What the TA of a networked scheme run writes (one bundle per process, each with only the
 * key blobs of the addresses that process speaks for) and what each piece refuses: a
 * bundle that is no longer private or not a bundle, a role's blob used as another role,
 * and — over the run's real TLS broker — a process that sends or listens as someone else,
 * or that brings a certificate of another run.
 */
const POP: Population = { groups: 2, devicesPerGroup: 3, dimensions: [{ name: 'a', max: 5 }] };
const SCHEMES: readonly [string, unknown][] = [
  ['plain-sum', {}],
  ['tree-test', { leaves: 2 }],
  ['joye-libert', { modulusBits: 512 }],
  ['maas', { ldp: 'off' }],
];
const silent: LinkLogger = { info() {}, warn() {}, error() {} };

/** Issued once per (scheme, run) and only read by the tests (edits go to copies). */
const issuedRuns = new Map<string, ReturnType<typeof issueNow>>();
afterAll(() => {
  for (const r of issuedRuns.values()) rmSync(r.root, { recursive: true, force: true });
  issuedRuns.clear();
});

function issue(id: string, params: unknown, run = 'rb') {
  const key = `${id}/${run}`;
  if (!issuedRuns.has(key)) issuedRuns.set(key, issueNow(id, params, run, `seed-${key}`));
  return issuedRuns.get(key)!;
}

function issueNow(id: string, params: unknown, run: string, seed: string) {
  const root = mkdtempSync(join(tmpdir(), 'privagg-bundle-'));
  const dir = join(root, 'seam');
  const issued = issueSeamRun({
    deployment: 'dep',
    run,
    scheme: { id, params },
    population: POP,
    dir,
    ledgerFile: join(root, 'ledger.db'),
    rng: seededRandom(seed),
  });
  // The same seed gives the same setup: what every address should have been issued.
  const setup = configureScheme(id, params, POP).setup(seededRandom(seed));
  return { root, dir, issued, setup };
}

function bundleOf(issued: IssuedSeamRun, name: string): SeamRoleBundle {
  const file = issued.bundles.get(name);
  if (!file) throw new Error(`no bundle for ${name}`);
  return loadSeamBundle(file);
}

/** The addresses a run has, from the topology alone. */
function allAddresses(issued: IssuedSeamRun): Address[] {
  const t = issued.config.topology;
  const out: Address[] = [CENTER];
  for (let g = 0; g < t.groups; g++) {
    out.push(...t.aggregators(g));
    for (let i = 0; i < t.devices(g); i++) out.push(deviceAt(g, i));
  }
  return out;
}

/** The addresses identity `name` should hold, from the topology alone (not from seamTa). */
function expectedAddresses(issued: IssuedSeamRun, name: string): string[] {
  const run = issued.run;
  if (name === `${run}.center`) return [addressKey(CENTER)];
  const agg = new RegExp(`^${run}\\.agg\\.(\\d+)\\.(\\d+)$`).exec(name);
  if (agg) return [addressKey(aggregatorAt(Number(agg[1]), Number(agg[2])))];
  const dev = new RegExp(`^${run}\\.dev\\.(\\d+)$`).exec(name);
  if (!dev) throw new Error(`unexpected identity ${name}`);
  const g = Number(dev[1]);
  return Array.from({ length: POP.devicesPerGroup }, (_, i) => addressKey(deviceAt(g, i))).sort();
}

function refusal(f: () => unknown): PrivaggError {
  try {
    f();
  } catch (e) {
    if (e instanceof PrivaggError) return e;
    throw new Error(`expected a PrivaggError, got ${String(e)}`);
  }
  throw new Error('expected a refusal, but it was accepted');
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const mode = (path: string) => statSync(path).mode & 0o777;

describe('seam role bundles: what the TA writes', () => {
  for (const [id, params] of SCHEMES) {
    it(`${id}: one private bundle per identity, each with exactly its own addresses' blobs`, () => {
      const { dir, issued, setup } = issue(id, params);
      const run = issued.run;
      const t = issued.config.topology;
      const names = [`${run}.center`];
      for (let g = 0; g < t.groups; g++) {
        names.push(`${run}.dev.${g}`);
        for (const a of t.aggregators(g)) names.push(`${run}.agg.${g}.${a.index}`);
      }
      expect([...issued.bundles.keys()].sort()).toEqual([...names].sort());
      // Nothing else in the directory (no temporary file left behind), all of it private.
      expect(readdirSync(dir).sort()).toEqual(names.map((n) => `${n}.json`).sort());
      expect(mode(dir)).toBe(0o700);
      for (const file of issued.bundles.values()) expect(mode(file)).toBe(0o600);
      expect(mode(issued.auditorKeysFile)).toBe(0o600);

      const every = allAddresses(issued);
      let center: SeamRoleBundle | undefined;
      for (const name of names) {
        const file = issued.bundles.get(name)!;
        const b = loadSeamBundle(file);
        expect(b.run).toBe(run);
        expect(b.deployment).toBe('dep');
        expect(b.scheme).toEqual({ id, params });
        expect(b.population).toEqual(POP);
        expect(b.identity.name).toBe(name);
        expect(hex(b.publicSetup)).toBe(hex(setup.publicSetup));
        expect(b.tls.ca).toBe(issued.pki.ca);
        expect(b.tls.cert).toBe(issued.pki.credentials.get(name)!.cert);
        expect(b.tls.key).toBe(issued.pki.credentials.get(name)!.key);
        const held = b.keys.map((k) => addressKey(k.address)).sort();
        expect(held).toEqual(expectedAddresses(issued, name));
        for (const k of b.keys) expect(hex(k.blob)).toBe(hex(setup.keysOf(k.address)));
        // No other address's blob is anywhere in the file.
        const text = readFileSync(file, 'utf8');
        for (const a of every) {
          expect(text.includes(hex(setup.keysOf(a))), `${name} and ${addressKey(a)}`).toBe(
            held.includes(addressKey(a)),
          );
        }
        if (name === `${run}.center`) center = b;
        else expect(b.ledger, name).toBeUndefined();
      }
      // The center's bundle alone has the ledger's keys; the auditor's file matches them.
      expect(center?.ledger).toBeDefined();
      const ledger = center!.ledger!;
      expect(ledger.signingKey).toHaveLength(32);
      expect(ledger.contentKey).toHaveLength(32);
      expect(hex(ledger.signingKey)).not.toBe(hex(ledger.contentKey));
      for (const name of names.filter((n) => n !== `${run}.center`)) {
        const text = readFileSync(issued.bundles.get(name)!, 'utf8');
        expect(text.includes(hex(ledger.signingKey))).toBe(false);
        expect(text.includes(hex(ledger.contentKey))).toBe(false);
      }
      const auditor = readSchemeAuditorKeys(issued.auditorKeysFile);
      expect(hex(auditor.contentKey)).toBe(hex(ledger.contentKey));
      expect(hex(auditor.centerKeys)).toBe(hex(setup.keysOf(CENTER)));
      expect(hex(auditor.ledgerPublicKey)).toBe(hex(ed25519PublicFromPrivate(ledger.signingKey)));
      expect(readFileSync(issued.auditorKeysFile, 'utf8').includes(hex(ledger.signingKey))).toBe(
        false,
      );
    });

    it(`${id}: a role's blob does not make another role (BAD_KEY)`, () => {
      const { issued } = issue(id, params);
      const run = issued.run;
      const centerB = bundleOf(issued, `${run}.center`);
      const agg0 = issued.config.topology.aggregators(0).at(-1)!;
      const aggB = bundleOf(issued, `${run}.agg.0.${agg0.index}`);
      const fleet0 = bundleOf(issued, `${run}.dev.0`);
      // Configured from the bundle, as the role's process does.
      const config = configureScheme(aggB.scheme.id, aggB.scheme.params, aggB.population);
      const roles = config.roles(aggB.publicSetup);
      const aggBlob = aggB.keys[0]!.blob;
      const deviceBlob = fleet0.keys.find((k) => addressKey(k.address) === 'device/0/0')!.blob;
      const centerBlob = centerB.keys[0]!.blob;

      // Each blob makes its own role …
      expect(() => roles.center(centerBlob)).not.toThrow();
      expect(roles.aggregator(agg0, aggBlob).address).toEqual(agg0);
      expect(roles.device(0, 0, deviceBlob).address).toEqual(deviceAt(0, 0));
      // … and no other: an aggregator's or a device's blob as the center,
      expect(refusal(() => roles.center(aggBlob)).code).toBe(ErrorCode.BAD_KEY);
      expect(refusal(() => roles.center(deviceBlob)).code).toBe(ErrorCode.BAD_KEY);
      // group 0's device blob as group 1's device (or as another device of its own group),
      expect(refusal(() => roles.device(1, 0, deviceBlob)).code).toBe(ErrorCode.BAD_KEY);
      expect(refusal(() => roles.device(0, 1, deviceBlob)).code).toBe(ErrorCode.BAD_KEY);
      // group 0's aggregator blob as group 1's same aggregator, a device's as an aggregator,
      expect(refusal(() => roles.aggregator(aggregatorAt(1, agg0.index), aggBlob)).code).toBe(
        ErrorCode.BAD_KEY,
      );
      expect(refusal(() => roles.aggregator(agg0, deviceBlob)).code).toBe(ErrorCode.BAD_KEY);
      // and the center's blob as an aggregator or a device.
      expect(refusal(() => roles.aggregator(agg0, centerBlob)).code).toBe(ErrorCode.BAD_KEY);
      expect(refusal(() => roles.device(0, 0, centerBlob)).code).toBe(ErrorCode.BAD_KEY);
    });
  }
});

describe('loadSeamBundle refuses a bundle that is not private, not JSON or not this format', () => {
  function centerBundleText() {
    const { root, issued } = issue('plain-sum', {});
    const file = issued.bundles.get(`${issued.run}.center`)!;
    return { root, file, text: readFileSync(file, 'utf8') };
  }
  let n = 0;
  function writeBundle(root: string, body: string): string {
    const file = join(root, `edited-${n++}.json`);
    writeFileSync(file, body, { mode: 0o600 });
    return file;
  }
  function edited(root: string, text: string, edit: (o: Record<string, unknown>) => void) {
    const o = JSON.parse(text) as Record<string, unknown>;
    edit(o);
    return writeBundle(root, JSON.stringify(o));
  }

  it('a bundle group or others may read: BAD_KEY, and fine again once chmod 600', () => {
    const { root, text } = centerBundleText();
    const file = writeBundle(root, text);
    expect(loadSeamBundle(file).identity.role).toBe('ledger');
    for (const loose of [0o644, 0o640, 0o604, 0o610]) {
      chmodSync(file, loose);
      const e = refusal(() => loadSeamBundle(file));
      expect(e.code).toBe(ErrorCode.BAD_KEY);
      expect(e.message).toContain(file);
    }
    chmodSync(file, 0o600);
    expect(loadSeamBundle(file).identity.role).toBe('ledger');
    chmodSync(file, 0o400);
    expect(loadSeamBundle(file).identity.role).toBe('ledger');
  });

  it('no file: DATA_UNAVAILABLE; not JSON: MALFORMED_DATA', () => {
    const { root, text } = centerBundleText();
    expect(refusal(() => loadSeamBundle(join(root, 'absent.json'))).code).toBe(
      ErrorCode.DATA_UNAVAILABLE,
    );
    for (const garbage of ['', 'not json', text.slice(0, text.length / 2), '\u0000\u0001']) {
      const e = refusal(() => loadSeamBundle(writeBundle(root, garbage)));
      expect(e.code).toBe(ErrorCode.MALFORMED_DATA);
    }
    // JSON, but not an object.
    for (const other of ['[]', 'null', '42', '"privagg/seam-role/1"']) {
      expect(refusal(() => loadSeamBundle(writeBundle(root, other))).code, other).toBe(
        ErrorCode.MALFORMED_DATA,
      );
    }
  });

  it('another format (or none): UNSUPPORTED_VERSION', () => {
    const { root, text } = centerBundleText();
    for (const format of ['privagg/seam-role/2', 'privagg/seam-role/0', 'privagg/maas/keys/1', 1]) {
      const e = refusal(() =>
        loadSeamBundle(
          edited(root, text, (o) => {
            o.format = format;
          }),
        ),
      );
      expect(e.code).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(e.message).toContain('format');
    }
    const e = refusal(() =>
      loadSeamBundle(
        edited(root, text, (o) => {
          delete o.format;
        }),
      ),
    );
    expect(e.code).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('a field removed, added or of the wrong kind: MALFORMED_DATA naming the field', () => {
    const { root, text } = centerBundleText();
    // biome-ignore lint/suspicious/noExplicitAny: edits of a bundle's parsed JSON
    const cases: [string, (o: any) => void][] = [
      ['deployment', (o) => delete o.deployment],
      ['run', (o) => delete o.run],
      ['scheme', (o) => delete o.scheme],
      ['scheme.id', (o) => delete o.scheme.id],
      ['population', (o) => delete o.population],
      ['population.groups', (o) => delete o.population.groups],
      ['population.dimensions', (o) => (o.population.dimensions = [])],
      ['identity', (o) => delete o.identity],
      ['identity.role', (o) => (o.identity.role = 'root')],
      ['publicSetup', (o) => delete o.publicSetup],
      ['publicSetup', (o) => (o.publicSetup = 'abc')],
      ['keys', (o) => delete o.keys],
      ['keys.0.blob', (o) => delete o.keys[0].blob],
      ['keys.0.blob', (o) => (o.keys[0].blob = 'zz')],
      ['keys.0.address.role', (o) => (o.keys[0].address.role = 'querier')],
      ['keys.0.address', (o) => (o.keys[0].address.extra = 1)],
      ['tls', (o) => delete o.tls],
      ['tls.key', (o) => delete o.tls.key],
      ['ledger.signingKey', (o) => delete o.ledger.signingKey],
      ['ledger.contentKey', (o) => (o.ledger.contentKey = 42)],
    ];
    for (const [field, edit] of cases) {
      const e = refusal(() => loadSeamBundle(edited(root, text, edit)));
      expect(e.code, field).toBe(ErrorCode.MALFORMED_DATA);
      expect(e.message, field).toContain(`: ${field}`);
    }
    // A field no bundle has is refused too (the schema is strict).
    const extra = refusal(() =>
      loadSeamBundle(
        edited(root, text, (o) => {
          o.masterKey = '00';
        }),
      ),
    );
    expect(extra.code).toBe(ErrorCode.MALFORMED_DATA);
    expect(extra.message).toContain('masterKey');
    // The untouched text still loads: each refusal above is the edit's.
    expect(loadSeamBundle(writeBundle(root, text)).keys).toHaveLength(1);
  });
});

describe("seam role bundles over the run's broker: a process is only who its certificate says", () => {
  const links: MqttClientLink[] = [];
  let broker: SeamBroker | undefined;
  afterEach(async () => {
    await Promise.all(links.splice(0).map((l) => l.close()));
    await broker?.close();
    broker = undefined;
  });

  async function start() {
    const { issued } = issue('plain-sum', {}, 'atk');
    broker = await startSeamBroker({ run: issued.run, config: issued.config, pki: issued.pki });
    return { issued, broker, run: issued.run };
  }
  async function connectAs(b: SeamRoleBundle, clientId = b.identity.name) {
    const link = await connectMqtt(broker!.url, {
      clientId,
      tls: b.tls,
      logger: silent,
      connectTimeoutMs: 5000,
    });
    links.push(link);
    return link;
  }
  async function inbox(link: MqttClientLink, filter: string) {
    const got: string[] = [];
    await link.subscribe(filter, (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    return got;
  }
  const text = (s: string) => new TextEncoder().encode(s);

  it('a fleet sending as another group’s device, an aggregator or the center: acknowledged, dropped, counted', async () => {
    const { issued, run } = await start();
    const fleet0 = await connectAs(bundleOf(issued, `${run}.dev.0`));
    const fleet1 = await connectAs(bundleOf(issued, `${run}.dev.1`));
    const agg1 = await connectAs(bundleOf(issued, `${run}.agg.1.0`));
    const center = await connectAs(bundleOf(issued, `${run}.center`));
    const agg1Inbox = await inbox(agg1, inboxFilter(run, aggregatorAt(1, 0)));
    const centerInbox = await inbox(center, inboxFilter(run, CENTER));
    const device1Inbox = await inbox(fleet0, inboxFilter(run, deviceAt(0, 1)));

    // Group 0's fleet as group 1's device 0, as its own group's aggregator, as the center.
    await fleet0.publish(
      envelopeTopic(run, aggregatorAt(1, 0), 'report', deviceAt(1, 0)),
      text('forged'),
    );
    await fleet0.publish(envelopeTopic(run, CENTER, 'partial', aggregatorAt(0, 0)), text('forged'));
    await fleet0.publish(envelopeTopic(run, deviceAt(0, 1), 'announce', CENTER), text('forged'));
    // Another run's topic, with its own device as the sender.
    await fleet0.publish(
      envelopeTopic('other', aggregatorAt(0, 0), 'report', deviceAt(0, 0)),
      text('forged'),
    );
    expect(broker!.stats()).toMatchObject({ rejectedPublish: 4, published: 0 });
    expect(fleet0.connected).toBe(true);

    // The genuine senders of the same topics get through, on the same links.
    await fleet1.publish(
      envelopeTopic(run, aggregatorAt(1, 0), 'report', deviceAt(1, 0)),
      text('genuine'),
    );
    await agg1.publish(envelopeTopic(run, CENTER, 'partial', aggregatorAt(1, 0)), text('genuine'));
    await center.publish(envelopeTopic(run, deviceAt(0, 1), 'announce', CENTER), text('genuine'));
    await vi.waitFor(() => {
      expect(agg1Inbox.length + centerInbox.length + device1Inbox.length).toBe(3);
    });
    expect(agg1Inbox).toEqual([
      `${envelopeTopic(run, aggregatorAt(1, 0), 'report', deviceAt(1, 0))} genuine`,
    ]);
    expect(centerInbox).toEqual([
      `${envelopeTopic(run, CENTER, 'partial', aggregatorAt(1, 0))} genuine`,
    ]);
    expect(device1Inbox).toEqual([
      `${envelopeTopic(run, deviceAt(0, 1), 'announce', CENTER)} genuine`,
    ]);
    expect(broker!.stats()).toMatchObject({ rejectedPublish: 4, published: 3 });
  }, 20_000);

  it("a fleet listening on the center's (or anyone else's) inbox: SUBACK refused, nothing delivered", async () => {
    const { issued, run } = await start();
    const fleet0 = await connectAs(bundleOf(issued, `${run}.dev.0`));
    const center = await connectAs(bundleOf(issued, `${run}.center`));
    const agg0 = await connectAs(bundleOf(issued, `${run}.agg.0.0`));
    const overheard: string[] = [];
    const listen = (topic: string, payload: Buffer) => overheard.push(`${topic} ${payload}`);
    const foreign = [
      inboxFilter(run, CENTER),
      `privagg/s1/${run}/c/#`,
      inboxFilter(run, deviceAt(1, 0)),
      inboxFilter(run, aggregatorAt(0, 0)),
      `privagg/s1/${run}/+/+/+`,
      '#',
    ];
    for (const filter of foreign) {
      await expect(fleet0.subscribe(filter, listen), filter).rejects.toThrow(/refused by broker/);
    }
    expect(broker!.stats().rejectedSubscribe).toBe(foreign.length);
    expect(fleet0.connected).toBe(true);

    // A partial for the center reaches the center and nobody else.
    const centerInbox = await inbox(center, inboxFilter(run, CENTER));
    await agg0.publish(envelopeTopic(run, CENTER, 'partial', aggregatorAt(0, 0)), text('partial'));
    await vi.waitFor(() => expect(centerInbox).toHaveLength(1));
    // The fleet's own inbox still works: what it is sent after the partial arrives after it.
    const own = await inbox(fleet0, inboxFilter(run, deviceAt(0, 2)));
    await center.publish(envelopeTopic(run, deviceAt(0, 2), 'announce', CENTER), text('own'));
    await vi.waitFor(() => expect(own).toHaveLength(1));
    expect(overheard).toEqual([]);
    expect(broker!.stats().rejectedSubscribe).toBe(foreign.length);
  }, 20_000);

  it("a fleet's certificate under the center's client id: CONNACK refused", async () => {
    const { issued, run } = await start();
    const fleet0 = bundleOf(issued, `${run}.dev.0`);
    const e = await connectAs(fleet0, `${run}.center`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(PrivaggError);
    expect((e as PrivaggError).code).toBe(ErrorCode.BROKER_REFUSED);
    expect(broker!.stats()).toMatchObject({ rejectedConnect: 1, rejectedHandshake: 0, clients: 0 });
  }, 20_000);

  it("another run's certificate, even for the same run name and identity: refused at the TLS handshake", async () => {
    const { issued, run } = await start();
    // Another TA's issue for a run of the same name: same identities, another CA.
    const other = issueSeamPki(run, seamPolicy(run, issued.config.topology).identities);
    const stolen = other.credentials.get(`${run}.dev.0`)!;
    const genuine = issued.pki.credentials.get(`${run}.dev.0`)!;
    expect(stolen.cert).not.toBe(genuine.cert);
    const e = await connectMqtt(broker!.url, {
      clientId: `${run}.dev.0`,
      tls: { ca: issued.pki.ca, ...stolen },
      logger: silent,
      connectTimeoutMs: 5000,
    }).then(
      (link) => {
        links.push(link);
        return undefined;
      },
      (err: unknown) => err,
    );
    // The client sees the broker close the connection after its handshake (TLS 1.3 checks
    // the client's certificate last): refused, said to be about the certificate.
    expect(e).toBeInstanceOf(PrivaggError);
    expect((e as PrivaggError).code).toBe(ErrorCode.BROKER_REFUSED);
    expect((e as Error).message).toMatch(/certificate/);
    await vi.waitFor(() => expect(broker!.stats().rejectedHandshake).toBe(1));
    expect(broker!.stats()).toMatchObject({ rejectedConnect: 0, clients: 0, published: 0 });
    // The genuine certificate of the same identity still connects.
    await connectAs(bundleOf(issued, `${run}.dev.0`));
    expect(broker!.stats()).toMatchObject({ rejectedHandshake: 1, clients: 1 });
  }, 20_000);
});
