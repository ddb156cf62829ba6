/**
 * Where an MQTT link reports what happens to it (reconnects, lost connections, handler
 * exceptions). The link logs structured objects so a role's pino logger can take them
 * as they are; without one, warnings and errors still reach a person on stderr.
 */

/** pino-compatible: a pino Logger fits, so does `console`-backed glue. */
export interface LinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The default: warnings and errors to stderr as one JSON line each; info dropped. */
export const stderrLogger: LinkLogger = {
  info() {},
  warn(obj, msg) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...serialise(obj) })}\n`);
  },
  error(obj, msg) {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...serialise(obj) })}\n`);
  },
};

/** JSON.stringify writes an Error as `{}`; its message is what a reader needs. */
function serialise(obj: object): object {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? { ...obj, err: err.message } : obj;
}
