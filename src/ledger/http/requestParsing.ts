import type { z } from 'zod';
import { ErrorCode } from '../../errors.js';
import { ApiError } from './errors.js';

/**
 * Reading a request against its zod schema, and making text safe to log or send. A failure
 * throws an ApiError (the error handler refuses it): the issues' paths and zod's messages,
 * never the values.
 */

/** A JSON body: MALFORMED_MESSAGE when absent or when it does not match `schema`. */
export function parseBody<T extends z.ZodType>(body: unknown, schema: T): z.output<T> {
  if (body === undefined || body === null) {
    throw new ApiError(ErrorCode.MALFORMED_MESSAGE, 'the request has no body');
  }
  const res = schema.safeParse(body);
  if (!res.success) throw new ApiError(ErrorCode.MALFORMED_MESSAGE, describeIssues(res.error));
  return res.data;
}

/** Path parameters or a query string: INVALID_ARGUMENT when they do not match `schema`. */
export function parseParams<T extends z.ZodType>(input: unknown, schema: T): z.output<T> {
  const res = schema.safeParse(input ?? {});
  if (!res.success) throw new ApiError(ErrorCode.INVALID_ARGUMENT, describeIssues(res.error));
  return res.data;
}

/** "ian: Too big…; round: Invalid input…" — paths and zod's messages, never the values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

/** At most `max` characters, control characters replaced: safe for one log line. */
export function printable(s: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
