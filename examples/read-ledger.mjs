// Reading and checking a privagg ledger file from a program: every block's hash chain,
// Merkle root and Ed25519 signature, then (with the auditor's credential bundle) the
// sealed partials and restores opened and replayed and every signature of a gateway or
// an OEM checked. Prints the round statuses the ledger recorded.
//
//   node examples/read-ledger.mjs <ledger.sqlite> [<auditor bundle.json>]
//
// `privagg demo` leaves both: out/privagg-demo.ledger.sqlite and
// out/privagg-demo.state/credentials/<deployment>.auditor.json.
import { auditorKeysOfBundle, loadBundle, SqliteBlockStore, verifyChain } from 'privagg';

const [file, bundleFile] = process.argv.slice(2);
if (!file) {
  console.error('usage: node examples/read-ledger.mjs <ledger.sqlite> [<auditor bundle.json>]');
  process.exit(2);
}
const auditor = bundleFile ? loadBundle(bundleFile, 'auditor') : undefined;
const store = new SqliteBlockStore(file, { readonly: true });
try {
  const report = verifyChain(store, {
    ...(auditor
      ? {
          // The node key from the auditor's bundle, not from the file under check.
          publicKey: Buffer.from(auditor.ledgerPublicKey, 'hex'),
          ...auditorKeysOfBundle(auditor),
        }
      : {}),
  });
  console.log(
    `${report.ok ? 'verified' : `NOT verified (block ${report.firstBad?.height}: ${report.firstBad?.reason})`}: ` +
      `${report.blocks} blocks, ${report.transactions} transactions; ` +
      `contents ${report.contentsChecked ? 'replayed' : 'sealed, not opened'}, ` +
      `signatures ${report.signaturesChecked ? 'checked' : 'not checked'}`,
  );
  for (const liar of report.liars ?? []) {
    console.log(
      `  IAN ${liar.ian} round ${liar.round}: gateway ${liar.gateway} lied (its signed partial is in block ${liar.partialHeight}, named in block ${liar.namedAt})`,
    );
  }
  // Round statuses are recorded in clear (canonical JSON): complete, degraded or failed.
  const counts = new Map();
  for (const block of store.range(0, store.count())) {
    for (const tx of block.transactions) {
      if (tx.kind !== 'round') continue;
      const status = JSON.parse(tx.body.toString('utf8')).status;
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  }
  console.log(
    `IAN-rounds: ${[...counts].map(([status, n]) => `${n} ${status}`).join(', ') || 'none recorded'}`,
  );
  process.exitCode = report.ok ? 0 : 1;
} finally {
  store.close();
}
