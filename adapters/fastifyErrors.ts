/**
 * The one mapping from fastify's errors (body limits, content types, parse errors, its own
 * 4xx) to pollen's: both HTTP APIs (the sync API here, the daemon's control API) answer every
 * error as a PollenError with a stable code. What differs between them is a few codes, given
 * as an {@link ErrorEdge}.
 */
import { isPollenError, pollenError, type ErrorCode, type PollenError } from '../core/errors.js'

/** What one API answers for the errors that are not the same everywhere. */
export interface ErrorEdge {
  /** The code of any other 4xx from fastify (a malformed request). */
  badRequest: ErrorCode
  /** The code of a 5xx or an unexpected throw (its message follows "internal error: "). */
  internal: ErrorCode
  /** The message of a 404 from fastify; fastify's own message when not given. */
  notFound?: string
  /**
   * The API takes JSON bodies: a body fastify could not parse as JSON (or a SyntaxError) is
   * POLLEN_INVALID_JSON, and a content type it has no parser for is POLLEN_INVALID_INPUT.
   */
  json?: boolean
}

/** The PollenError an API answers for `err` (a PollenError is itself). */
export function fromFastifyError(err: unknown, edge: ErrorEdge): PollenError {
  if (isPollenError(err)) return err
  const e = err as { code?: string; message?: string; statusCode?: number }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return pollenError('POLLEN_BODY_TOO_LARGE', 'the request body is too large', { cause: err })
  if (edge.json) {
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
      return pollenError('POLLEN_INVALID_JSON', `the request body is not valid JSON: ${e.message ?? ''}`, { cause: err })
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return pollenError('POLLEN_INVALID_INPUT', 'unsupported content type', { cause: err })
  }
  if (e.statusCode === 404) return pollenError('POLLEN_NOT_FOUND', edge.notFound ?? e.message ?? 'not found', { cause: err })
  if (e.statusCode && e.statusCode < 500) return pollenError(edge.badRequest, e.message ?? 'bad request', { cause: err })
  return pollenError(edge.internal, `internal error: ${e.message ?? String(err)}`, { cause: err })
}
