import { z } from 'zod';

/**
 * The parameters of a Joye–Libert deployment. `params.parse({})` gives the defaults: a
 * 2048-bit modulus (the paper's and NIST's floor for factoring-based schemes through 2030),
 * integer readings, and the freshness window the other schemes use.
 */
export const joyeLibertParams = z
  .object({
    /**
     * |N|: N = p·q with p, q primes of |N|/2 bits each. 512 is the smallest accepted and is
     * for tests only (factorable on a laptop); a multiple of 16 keeps p and q whole bytes.
     */
    modulusBits: z.number().int().min(512).max(4096).multipleOf(16).default(2048),
    /**
     * Readings are encrypted as round(x · scale), rounding to nearest with ties up (Math.round):
     * 1 keeps integer workloads exact, 100 keeps two decimals. The recovered sum is divided
     * by it again.
     */
    scale: z.number().int().min(1).max(1_000_000_000).default(1),
    /** A report's timestamp may differ from the aggregator's clock by at most this. */
    freshnessWindowMs: z.number().int().min(1).default(30_000),
  })
  .strict();

export type JoyeLibertParams = z.infer<typeof joyeLibertParams>;

export const SCHEME_ID = 'joye-libert';
