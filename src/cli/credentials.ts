import { join } from 'node:path';
import type { Command } from 'commander';
import { BrokerPolicy } from '../net/brokerPolicy.js';
import { writeMosquittoFiles } from '../net/mosquittoConfig.js';
import { loadBundle } from '../node/credentials/bundle.js';
import { identityOf } from '../node/credentials/identities.js';
import { issueCredentials } from '../node/credentials/issue.js';
import { loadDeploymentFile, type ParsedDeploymentSpec } from '../node/deploymentFile.js';
import { acquireStateDirLock, assertLedgerFileFree } from '../node/stateLock.js';
import { formatTable } from './table.js';

/**
 * `privagg credentials issue <deployment>`: the TA's job for a deployment spread over
 * several hosts — one bundle per identity to copy to the host that runs it, and the
 * Mosquitto configuration (TLS, client ids bound to certificates, ACL) for the broker host.
 */
/** The flags of `credentials issue`, as commander gives them. */
interface IssueFlags {
  fleetSize?: string;
  keepLedgerKey?: boolean;
  mosquittoPort: string;
  mosquittoHost: string;
  mosquittoUser?: string;
}

export function registerCredentialsCommands(program: Command): void {
  const credentials = program
    .command('credentials')
    .description('The TA: issue per-role credential bundles and the broker configuration');
  credentials
    .command('issue <deployment>')
    .description(
      'Write one credential bundle per identity (mode 0600) under <stateDir>/credentials and a Mosquitto configuration under <stateDir>/mosquitto',
    )
    .option('--fleet-size <n>', 'devices per fleet bundle (default: every device in one fleet)')
    .option('--keep-ledger-key', 'keep the ledger signing key of an earlier issue (same chain)')
    .option('--mosquitto-port <n>', 'listener port written into mosquitto.conf', '8883')
    .option('--mosquitto-host <host>', 'listener address written into mosquitto.conf', '127.0.0.1')
    .option(
      '--mosquitto-user <name>',
      "the user Mosquitto runs as when started as root (its `user`; default: Mosquitto's own, which must be able to read <stateDir>/mosquitto)",
    )
    .action((file: string, o: IssueFlags) => {
      const spec = loadDeploymentFile(file);
      // Not under a running deployment: re-issuing replaces every identity's certificate
      // (and, without --keep-ledger-key, the ledger's key) under live processes.
      const lock = acquireStateDirLock(spec.stateDir);
      try {
        assertLedgerFileFree(spec.ledger.file);
        issueAndReport(spec, o);
      } finally {
        lock.release();
      }
    });
}

function issueAndReport(spec: ParsedDeploymentSpec, o: IssueFlags): void {
  const issued = issueCredentials(spec, {
    tls: !spec.security.insecure,
    rotateLedgerKey: !o.keepLedgerKey,
    ...(o.fleetSize !== undefined ? { fleetSize: Number(o.fleetSize) } : {}),
  });
  const broker = loadBundle(issued.bundles.get(identityOf.broker(spec.name))!, 'broker');
  const dir = join(spec.stateDir, 'mosquitto');
  const confFile = broker.tls
    ? writeMosquittoFiles(dir, {
        host: o.mosquittoHost,
        port: Number(o.mosquittoPort),
        policy: new BrokerPolicy(spec.name, spec.scheme.gateways, issued.grants),
        tls: broker.tls,
        devicesPerIan: spec.scheme.devicesPerIan,
        ...(o.mosquittoUser !== undefined ? { user: o.mosquittoUser } : {}),
      }).confFile
    : undefined;
  const rows = [...issued.bundles].map(([identity, path]) => [
    identity,
    issued.grants.get(identity)?.role ?? (identity.endsWith('.broker') ? 'broker' : ''),
    path,
  ]);
  console.log(formatTable(['identity', 'role', 'bundle (copy to its host, keep 0600)'], rows));
  console.log(`\nledger public key: ${issued.ledgerPublicKey.toString('hex')}`);
  if (confFile) console.log(`Mosquitto configuration: ${confFile} (run: mosquitto -c ${confFile})`);
  if (spec.security.insecure)
    console.log('INSECURE: security.insecure is set — bundles carry no TLS credentials');
}
