/**
 * TLS credentials made from an instance's Ed25519 key (docs/protocol.md §10.1): a self-signed
 * X.509 certificate whose subject public key IS the instance key, so the instance id of a
 * TLS peer is `instanceIdOf(certificate key)` — no CA, no name checks, a pin instead
 * (Syncthing's model). Certificates are built by @peculiar/x509 over Node's WebCrypto
 * Ed25519, never by hand-written ASN.1.
 */
import 'reflect-metadata' // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from '@peculiar/x509'
import { createPrivateKey, webcrypto, type X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import type { Identity } from '../core/model/identity.js'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

/** A PEM key and certificate pair for `tls`/`https`. */
export interface TlsCredentials {
  key: string
  cert: string
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
const ED25519 = { name: 'Ed25519' }

/**
 * The instance's self-signed certificate. Its validity spans 1970–9999 on purpose: peers
 * never judge certificate dates (a device with a flat clock battery must still sync), and a
 * checker that does should not be tripped either. The subject names nothing but "pollen":
 * identity is the key.
 */
export async function tlsCredentials(identity: Identity): Promise<TlsCredentials> {
  const pkcs8 = Buffer.concat([PKCS8_ED25519, Buffer.from(identity.secretKey.subarray(0, 32))])
  const subtle = webcrypto.subtle
  const privateKey = await subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign'])
  const publicKey = await subtle.importKey('spki', Buffer.concat([SPKI_ED25519, Buffer.from(identity.publicKey)]), ED25519, true, ['verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=pollen',
    notBefore: new Date(Date.UTC(1970, 0, 1)),
    notAfter: new Date(Date.UTC(9999, 11, 31, 23, 59, 59)),
    keys: { privateKey, publicKey },
    signingAlgorithm: ED25519,
  })
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string
  return { key, cert: cert.toString('pem') }
}

/** The raw 32-byte Ed25519 key a certificate carries, or undefined for any other kind of key. */
export function ed25519KeyOf(cert: X509Certificate | undefined): Uint8Array | undefined {
  if (!cert || cert.publicKey.asymmetricKeyType !== 'ed25519') return undefined
  const spki = cert.publicKey.export({ format: 'der', type: 'spki' })
  if (spki.length !== SPKI_ED25519.length + 32 || !spki.subarray(0, SPKI_ED25519.length).equals(SPKI_ED25519)) return undefined
  return new Uint8Array(spki.subarray(SPKI_ED25519.length))
}

const peerKeys = new WeakMap<TLSSocket, Uint8Array | null>()

/**
 * The Ed25519 key of the certificate the other end of a TLS socket presented (and proved,
 * by its handshake signature), cached per connection; undefined on a plain socket or
 * without a certificate.
 */
export function peerInstanceKey(socket: unknown): Uint8Array | undefined {
  const s = socket as TLSSocket
  if (!s || typeof s.getPeerX509Certificate !== 'function') return undefined
  let k = peerKeys.get(s)
  if (k === undefined) {
    k = ed25519KeyOf(s.getPeerX509Certificate()) ?? null
    peerKeys.set(s, k)
  }
  return k ?? undefined
}
