/**
 * A random salt in every body a resource operation carries. What a purge keeps of an
 * operation — its header and the sha256 of its body, so that it still verifies — would
 * otherwise confirm a guessed text: hash "Jane Doe, HIV positive" and compare. With 128
 * random bits inside the hashed bytes, the hash says nothing once the body (and the salt in
 * it) is gone. Readers ignore the field (core/library/resource.ts reads only known fields),
 * so peers of earlier versions take salted bodies as they are.
 */
import { randomBytes } from 'node:crypto'
import { bodyOf, encodeBody, equalBytes } from '../model/operation.js'

/** The body field that holds the salt; no resource field has this name. */
const SALT = 'salt'

/** `body` with a fresh salt, as the last field. */
export function salted(body: object): object {
  return { ...unsalted(body), [SALT]: randomBytes(16).toString('base64url') }
}

/** A decoded body without its salt (bodies written before salts came are returned as they are). */
export function unsalted<T>(body: T): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !(SALT in body)) return body
  const { [SALT]: _salt, ...rest } = body as Record<string, unknown>
  return rest as T
}

/**
 * True when `held` (stored body bytes) says what `body` says: the same bytes once given the
 * held body's salt, so that putting a resource again unchanged writes nothing.
 */
export function sameBody(held: Uint8Array | null, body: object): boolean {
  if (!held) return false
  const salt = bodyOf<Record<string, unknown>>({ body: held })?.[SALT]
  return equalBytes(held, encodeBody(salt === undefined ? body : { ...body, [SALT]: salt }))
}
