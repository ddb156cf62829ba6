import type { TLSSocket } from 'node:tls';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCode } from '../../errors.js';
import { callerOf, mayCall } from './access.js';
import { ApiError, HttpErrorCode } from './errors.js';
import type { HttpMetrics } from './metrics.js';
import { type Refuse, routeOf } from './refusal.js';

/**
 * What runs around every route: the content types the API reads, the error and not-found
 * handlers that turn every failure into a refusal, the response hook that counts and logs
 * what was served, and (HTTPS) the access check before the body is read.
 */

/**
 * Only JSON (fastify's parser, safe against __proto__ poisoning) and raw bytes; any other
 * media type is 415 before the handler runs.
 */
export function installContentTypes(app: FastifyInstance): void {
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonParser);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
}

/**
 * Bad input never yields a 500: parser errors and ApiErrors become a 4xx with a code;
 * anything else thrown is 500 INTERNAL. An unknown route is 404 NOT_FOUND.
 */
export function installErrorHandlers(app: FastifyInstance, refuse: Refuse): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) return refuse(request, reply, err.code, err.reason);
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return refuse(request, reply, ErrorCode.OVERSIZED_MESSAGE, 'request body is too large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return refuse(
          request,
          reply,
          HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
          'send application/octet-stream or application/json',
        );
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return refuse(request, reply, ErrorCode.MALFORMED_MESSAGE, 'body is not valid JSON');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return refuse(
          request,
          reply,
          ErrorCode.MALFORMED_MESSAGE,
          'body size does not match Content-Length',
        );
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Any other client error fastify detects (bad URL encoding, …): still a 4xx with a code.
      return refuse(request, reply, ErrorCode.INVALID_ARGUMENT, 'the request cannot be parsed');
    }
    return refuse(request, reply, HttpErrorCode.INTERNAL, 'unexpected error', err);
  });

  app.setNotFoundHandler((request, reply) =>
    refuse(request, reply, HttpErrorCode.NOT_FOUND, `no route ${request.method} for this path`),
  );
}

/** Every response is counted; one accepted is logged at debug level (a refusal logged itself). */
export function installResponseLog(app: FastifyInstance, metrics: HttpMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.method, routeOf(request), reply.statusCode, reply.elapsedTime / 1000);
    if (!request.privaggRefused) {
      request.log.debug(
        { status: reply.statusCode, method: request.method, route: routeOf(request) },
        'request served',
      );
    }
    done();
  });
}

/**
 * Who is calling, and may it call this route (access.ts): before the body is read or
 * parsed. HTTPS only; the caller is kept on the request for the routes' own checks.
 */
export function installAccessCheck(app: FastifyInstance, refuse: Refuse, deployment: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const caller = callerOf(request.raw.socket as TLSSocket, deployment);
    if (caller === 'anonymous') {
      return refuse(request, reply, HttpErrorCode.UNAUTHORIZED, 'no verified client certificate');
    }
    if (caller === 'unknown') {
      return refuse(
        request,
        reply,
        ErrorCode.ACCESS_DENIED,
        'the client certificate names no identity of this deployment',
      );
    }
    request.privaggCaller = caller;
    const template = request.routeOptions.url;
    // No route: the not-found handler answers 404 to any authenticated caller.
    if (template !== undefined && !mayCall(caller, request.method, template)) {
      return refuse(
        request,
        reply,
        ErrorCode.ACCESS_DENIED,
        `role ${caller.role} may not call ${request.method} ${template}`,
      );
    }
  });
}
