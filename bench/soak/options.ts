import { parseArgs } from 'node:util';

/** The soak's command line; a bad value ends the process with status 2 and a reason. */
export interface SoakOptions {
  /** Run length; fractional allowed (0.5 for a quick check). */
  minutes: number;
  devices: number;
  ians: number;
  roundMs: number;
  /** Fallback wait for partials after a round ends (restores start as soon as all are in). */
  restoreDelayMs: number;
  sampleS: number;
  out: string | undefined;
  broker: 'embedded' | 'mosquitto';
  /** Keep the deployment's state directory (ledger, logs) even when all went well. */
  keep: boolean;
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    strict: true,
    options: {
      minutes: { type: 'string', default: '60' },
      devices: { type: 'string', default: '1000' },
      ians: { type: 'string', default: '4' },
      'round-ms': { type: 'string', default: '500' },
      'restore-delay-ms': { type: 'string', default: '1000' },
      'sample-s': { type: 'string', default: '10' },
      out: { type: 'string' },
      broker: { type: 'string', default: 'embedded' },
      keep: { type: 'boolean', default: false },
    },
  });

export function parseSoakArgs(argv: string[]): SoakOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    bad(e instanceof Error ? e.message : String(e)); // an unknown or incomplete option
  }
  const { values } = parsed;
  const num = (name: keyof typeof values, min: number, integer: boolean): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v)))
      bad(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${values[name]}`);
    return v;
  };
  const o: SoakOptions = {
    minutes: num('minutes', 0.01, false),
    devices: num('devices', 1, true),
    ians: num('ians', 1, true),
    roundMs: num('round-ms', 50, true),
    restoreDelayMs: num('restore-delay-ms', 0, true),
    sampleS: num('sample-s', 0.5, false),
    out: values.out,
    broker: values.broker as SoakOptions['broker'],
    keep: values.keep === true,
  };
  if (o.broker !== 'embedded' && o.broker !== 'mosquitto')
    bad(`--broker must be embedded or mosquitto, got ${values.broker}`);
  if (o.devices % o.ians !== 0)
    bad(`--devices (${o.devices}) must be a multiple of --ians (${o.ians})`);
  if (Math.round((o.minutes * 60_000) / o.roundMs) < 1) bad('the run must hold at least one round');
  return o;
}

function bad(msg: string): never {
  console.error(`bench:soak: ${msg}`);
  process.exit(2);
}
