import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { BrokerPolicy } from '../../src/net/brokerPolicy.js';
import { freePort } from '../../src/net/freePort.js';
import { mosquittoConfig, writeMosquittoFiles } from '../../src/net/mosquittoConfig.js';
import type { TlsCredentials } from '../../src/node/credentials/bundle.js';

/**
 * A Mosquitto of the bench's own, on a free loopback port, with the configuration
 * `privagg up` generates for `broker: mosquitto` (src/net/mosquittoConfig.ts, as
 * src/node/managedMosquitto.ts starts it) — started here rather than by `up` because the
 * bare transport crosses the same broker before the deployment starts, and the bench
 * reads the broker's CPU time and memory by its pid.
 *
 *   secure:    the generated files as they are: TLS 1.2+ with client certificates from
 *              the deployment CA, client id = certificate CN, the deployment's ACL.
 *   plaintext: the same generated configuration without its TLS, identity and ACL lines
 *              (anonymous clients allowed), so the two differ in security only — queue
 *              limits, packet size, persistence and logging are the same.
 *
 * The system instance (1883, default config) keeps at most 1000 queued messages per
 * client and drops QoS 1 messages beyond that, which a 50,000-message round exceeds at
 * once; the generated configuration queues 100,000. Mosquitto's log goes to a file in
 * `dir`.
 */
export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface Mosquitto {
  url: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface MosquittoSecurity {
  policy: BrokerPolicy;
  /** The broker's certificate and key, and the deployment CA (its bundle's `tls`). */
  tls: TlsCredentials;
  /** n: one ACL line per IAN for a fleet holding all of it (as `up` renders it). */
  devicesPerIan: number;
}

/** Lines of the generated configuration that are about TLS, identities and the ACL. */
const SECURITY_DIRECTIVES = [
  'acl_file',
  'cafile',
  'certfile',
  'keyfile',
  'tls_version',
  'require_certificate',
  'use_identity_as_username',
  'use_username_as_clientid',
];

export async function startMosquitto(dir: string, secure?: MosquittoSecurity): Promise<Mosquitto> {
  if (!existsSync(MOSQUITTO)) {
    throw new Error(
      `Mosquitto not found at ${MOSQUITTO} (apt-get install mosquitto, or set MOSQUITTO)`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const host = '127.0.0.1';
  // Mosquitto drops root before reading its files: let the user it becomes read them.
  const user = process.getuid?.() === 0 ? { user: 'root' } : {};
  let conf: string;
  if (secure) {
    conf = writeMosquittoFiles(dir, {
      host,
      port,
      policy: secure.policy,
      tls: secure.tls,
      devicesPerIan: secure.devicesPerIan,
      ...user,
    }).confFile;
  } else {
    // The paths are placeholders: their lines are the ones removed.
    const generated = mosquittoConfig({
      host,
      port,
      caFile: '/unused',
      certFile: '/unused',
      keyFile: '/unused',
      aclFile: '/unused',
      ...user,
    });
    conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      generated
        .split('\n')
        .filter((line) => !SECURITY_DIRECTIVES.includes(line.split(' ')[0]!))
        .map((line) => (line === 'allow_anonymous false' ? 'allow_anonymous true' : line))
        .join('\n'),
    );
  }
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 4096) stderr += b.toString();
  });
  child.stderr!.pipe(createWriteStream(join(dir, 'mosquitto.log')));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited at start: ${stderr.trim()}`);
    if (await listening(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not listen on ${port} within 5 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `${secure ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    pid: child.pid!,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
