import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Directory of the PEM fixtures. */
export const KEYS_DIR = join(__dirname, '..', 'fixtures', 'keys')

/** Reads a PEM fixture by file name. */
export function pem(name: string): string {
  return readFileSync(join(KEYS_DIR, name), 'utf8')
}

/** Key pairs per algorithm family, as PEM text. */
export const KEYS = {
  rsa: { privateKey: pem('rsa-private.pem'), publicKey: pem('rsa-public.pem') },
  rsaOther: { privateKey: pem('rsa-other-private.pem') },
  p256: { privateKey: pem('ec-p256-private.pem'), publicKey: pem('ec-p256-public.pem') },
  p384: { privateKey: pem('ec-p384-private.pem'), publicKey: pem('ec-p384-public.pem') },
  p521: { privateKey: pem('ec-p521-private.pem'), publicKey: pem('ec-p521-public.pem') },
} as const

/** The key pair each asymmetric algorithm needs. */
export function keysFor(algorithm: string): { privateKey: string; publicKey: string } {
  if (algorithm.startsWith('RS') || algorithm.startsWith('PS')) return KEYS.rsa
  if (algorithm === 'ES256') return KEYS.p256
  if (algorithm === 'ES384') return KEYS.p384
  if (algorithm === 'ES512') return KEYS.p521
  throw new Error(`no fixture for ${algorithm}`)
}
