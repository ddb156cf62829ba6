import { MAX_NOTE_BYTES } from '../operatorNotes.js';

/**
 * Every route's body limit: the exact size of its message as the deployment's parameters
 * fix it (base64 JSON included), so a larger body is 413 before it is read. The limits of
 * the two submissions depend on the parameters; server.ts computes them with bodyLimitFor.
 */

/** Room for `{"partial":"…"}` around a base64 message. */
const JSON_ENVELOPE_BYTES = 64;
/** The largest body a message of `bytes` can arrive in: raw, or base64 in its JSON envelope. */
export const bodyLimitFor = (bytes: number): number =>
  Math.ceil(bytes / 3) * 4 + JSON_ENVELOPE_BYTES;
/** POST /v1/restore and /v1/epoch take one or two integers. */
export const SMALL_BODY_LIMIT = 256;
/**
 * POST /v1/notes: `{"note":"…"}` around a note of MAX_NOTE_BYTES, every byte of it as a
 * JSON escape at worst (\u0041: 6 bytes for 1); a larger body is 413 before it is read.
 */
export const NOTE_BODY_LIMIT = 6 * MAX_NOTE_BYTES + JSON_ENVELOPE_BYTES;
/** Every other route takes no body. */
export const NO_BODY_LIMIT = 1024;
