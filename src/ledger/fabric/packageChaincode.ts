import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Builds the chaincode package that `peer lifecycle chaincode package --lang node` (or the
 * test network's `deployCC -ccl typescript`) takes: a folder with a package.json whose
 * `main` is a CommonJS build of chaincodeIndex.ts and the core it imports, and whose
 * `start` script is `fabric-chaincode-node start`.
 *
 * CommonJS because fabric-shim's bootstrap require()s the main module, and Node 20 cannot
 * require() ES modules. The dependencies are pinned to the versions privagg is tested
 * with, so every endorser runs the same code (a condition of identical write sets).
 *
 *   npx tsx src/ledger/fabric/packageChaincode.ts [outDir]   (default out/chaincode)
 */
const require = createRequire(import.meta.url);

export interface ChaincodePackage {
  dir: string;
  main: string;
  dependencies: Record<string, string>;
}

const MAIN = 'dist/ledger/fabric/chaincodeIndex.js';

function installedVersion(pkg: string): string {
  return (
    JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }
  ).version;
}

export function packageChaincode(outDir: string): ChaincodePackage {
  const dir = resolve(outDir);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tsconfig = fileURLToPath(new URL('./tsconfig.chaincode.json', import.meta.url));
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', tsconfig, '--outDir', join(dir, 'dist')], {
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    throw new Error(`tsc failed (${run.status}):\n${run.stdout}${run.stderr}`);
  }
  const dependencies = {
    'fabric-contract-api': installedVersion('fabric-contract-api'),
    'fabric-shim': installedVersion('fabric-shim'),
  };
  const root = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'),
  ) as { version: string; license: string };
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify(
      {
        name: 'privagg-chaincode',
        version: root.version,
        description:
          'privagg MaaS ledger contract (Add/Verify, Restore, Query) as Fabric chaincode',
        license: root.license,
        main: MAIN,
        engines: { node: '>=18' },
        scripts: {
          start: 'fabric-chaincode-node start',
          // deployCC -ccl typescript runs `npm run build`; the build is already in dist/.
          build: 'echo the CommonJS build is prebuilt in dist/',
        },
        dependencies,
      },
      null,
      2,
    )}\n`,
  );
  return { dir, main: join(dir, MAIN), dependencies };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = packageChaincode(process.argv[2] ?? 'out/chaincode');
  console.log(`chaincode package in ${out.dir} (main ${out.main})`);
}
