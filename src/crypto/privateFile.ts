import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * Reads a file that holds secrets (the TA's master.key, a role's credential bundle, the
 * ledger's node key):
 * DATA_UNAVAILABLE when it cannot be opened, BAD_KEY when it is not a regular file or
 * group or others may access it. The mode is checked with fstat on the open descriptor, so
 * the file checked is the file read. Messages name the file, never its content.
 */
export function readPrivateFile(
  path: string,
  o: {
    /** "no <what> at <path>": e.g. 'master secret'. */
    what: string;
    /** How one gets the file, after the errno: e.g. '`privagg up` creates it'. */
    howToGet: string;
    /** Who may do what with a loose file, e.g. 'may access it'. */
    exposure: string;
    /** What to do if it has leaked, e.g. 'start a new deployment'. */
    ifLeaked: string;
  },
): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new PrivaggError(
      ErrorCode.DATA_UNAVAILABLE,
      `no ${o.what} at ${path} (${code}); ${o.howToGet}`,
      { path },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) badKey(path, 'not-a-file', `${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      badKey(
        path,
        'permissions',
        `${path} has mode ${mode}, looser than 0600 (group or others ${o.exposure}); ` +
          `run \`chmod 600 ${path}\` if it has not leaked, otherwise ${o.ifLeaked}`,
        { mode },
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function badKey(
  path: string,
  reason: 'not-a-file' | 'permissions',
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new PrivaggError(ErrorCode.BAD_KEY, message, { path, reason, ...details });
}
