import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { BrokerPolicy } from '../net/brokerPolicy.js';
import { freePort } from '../net/freePort.js';
import { writeMosquittoFiles } from '../net/mosquittoConfig.js';
import type { TlsCredentials } from './credentials/bundle.js';

/**
 * `broker: mosquitto`: `privagg up` runs a Mosquitto of its own with the configuration it
 * generates for the deployment (net/mosquittoConfig.ts) — TLS with client certificates,
 * client ids bound to certificate identities, the deployment's ACL, no anonymous clients —
 * on a free loopback port. It is what an operator would install on a real broker host
 * (`privagg credentials issue` writes the same files), run here so that `up`, the demo
 * and the tests exercise the real thing.
 */
export const MOSQUITTO_BINARIES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'];

export interface ManagedMosquitto {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startManagedMosquitto(o: {
  dir: string;
  policy: BrokerPolicy;
  /** n, for compact ACL lines of fleets that hold whole IANs. */
  devicesPerIan?: number;
  /** The broker's certificate and the deployment's CA. */
  tls?: TlsCredentials;
  host?: string;
}): Promise<ManagedMosquitto> {
  if (!o.tls) {
    throw new Error(
      'broker: mosquitto runs with TLS and client certificates only; an insecure deployment names a broker URL (mqtt://…)',
    );
  }
  const binary = MOSQUITTO_BINARIES.find((b) => existsSync(b));
  if (!binary) {
    throw new Error(
      'broker: mosquitto needs the mosquitto binary (Debian package "mosquitto"); or use broker: embedded',
    );
  }
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const host = o.host ?? '127.0.0.1';
  const port = await freePort();
  const { confFile } = writeMosquittoFiles(o.dir, {
    host,
    port,
    policy: o.policy,
    tls: o.tls,
    ...(o.devicesPerIan !== undefined ? { devicesPerIan: o.devicesPerIan } : {}),
    // Mosquitto drops root before reading its files: let the user it becomes read them.
    ...(process.getuid?.() === 0 ? { user: 'root' } : {}),
  });
  const child = spawn(binary, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString('utf8');
  });
  await untilListening(child, host, port, () => stderr);
  return {
    url: `mqtts://${host}:${port}`,
    port,
    close: () => stop(child),
  };
}

/** Polls the port until Mosquitto accepts a TCP connection (or exits, or 10 s pass). */
async function untilListening(
  child: ChildProcess,
  host: string,
  port: number,
  stderr: () => string,
): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `mosquitto exited at start-up: ${stderr().trim() || `code ${child.exitCode}`}`,
      );
    }
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not listen on ${host}:${port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}
