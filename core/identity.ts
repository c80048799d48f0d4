/**
 * Instance identity: an Ed25519 key pair made at `init`. The instance id is derived from the
 * public key alone — never from MAC addresses or machine ids, which change with upgrades and
 * containers (Morango #79).
 */
import nacl from 'tweetnacl'
import { createHash } from 'node:crypto'

export interface Identity {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/** A new random identity. */
export function newIdentity(): Identity {
  const kp = nacl.sign.keyPair()
  return { publicKey: kp.publicKey, secretKey: kp.secretKey }
}

/** 32 hex digits of sha256(public key). */
export function instanceIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 32)
}

/** The author id for an epoch of an instance. */
export function authorOf(instanceId: string, epoch: number): string {
  return `${instanceId}.${epoch}`
}

/** Detached Ed25519 signature. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(message, secretKey)
}

/** Verifies a detached Ed25519 signature; false on any malformed input. */
export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
  return nacl.sign.detached.verify(message, signature, publicKey)
}
