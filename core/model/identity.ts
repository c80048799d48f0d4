/**
 * Instance identity: an Ed25519 key pair made at `init`. The instance id is derived from the
 * public key alone — never from MAC addresses or machine ids, which change with upgrades and
 * containers (Morango #79).
 */
import nacl from 'tweetnacl'
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'

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

/**
 * An instance id as people read it (`pollen status`, over the phone): the 32 hex digits in
 * eight dash-separated groups of four, like Syncthing's device ids.
 */
export function formatInstanceId(id: string): string {
  return id.replace(/(.{4})(?!$)/g, '$1-')
}

/**
 * Reads an instance id typed by a person: with or without dashes or spaces, any case.
 * Returns the 32 lower-case hex digits, or undefined when it is not one.
 */
export function parseInstanceId(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined
  const id = text.replace(/[-\s]/g, '').toLowerCase()
  return /^[0-9a-f]{32}$/.test(id) ? id : undefined
}

/** The author id for an epoch of an instance. */
export function authorOf(instanceId: string, epoch: number): string {
  return `${instanceId}.${epoch}`
}

// Keys are kept in tweetnacl's format (a 64-byte secret key: seed then public key). Signing
// and verifying go through Node's built-in Ed25519 — the same algorithm and bytes, about a
// hundred times faster than tweetnacl's JavaScript (≈0.1 ms against ≈10 ms per verify here),
// which matters at one signature per chunk on a small board.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
const privateKeys = new Map<string, KeyObject>()
const publicKeys = new Map<string, KeyObject>()

function cached(map: Map<string, KeyObject>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const k = Buffer.from(raw).toString('base64')
  let key = map.get(k)
  if (!key) {
    key = make()
    if (map.size > 1000) map.clear()
    map.set(k, key)
  }
  return key
}

/** Detached Ed25519 signature with a tweetnacl-format secret key. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const key = cached(privateKeys, secretKey, () => createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' }))
  return new Uint8Array(edSign(null, message, key))
}

const publicKeyOf = (raw: Uint8Array): KeyObject => cached(publicKeys, raw, () => createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' }))
const wellFormed = (signature: unknown, publicKey: unknown): boolean => signature instanceof Uint8Array && signature.length === 64 && publicKey instanceof Uint8Array && publicKey.length === 32

/** Verifies a detached Ed25519 signature; false on any malformed input. */
export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!wellFormed(signature, publicKey)) return false
  try {
    return edVerify(null, message, publicKeyOf(publicKey), signature)
  } catch {
    return false
  }
}

/**
 * {@link verify} on libuv's thread pool: the event loop goes on (decompressing, writing the
 * previous chunk) while the signature is checked, which on a receiver bound by one core is
 * most of what checking signatures costs it.
 */
export function verifyAsync(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (!wellFormed(signature, publicKey)) return Promise.resolve(false)
  return new Promise((resolve) => {
    try {
      edVerify(null, message, publicKeyOf(publicKey), signature, (err, ok) => resolve(!err && ok))
    } catch {
      resolve(false)
    }
  })
}
