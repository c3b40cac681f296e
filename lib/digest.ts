import crypto from 'node:crypto'

// One-shot hashing (Node 20.12+) skips the Hash object; older Node 20 releases take the long way.
const oneShot = typeof crypto.hash === 'function'

/** SHA-256 of a string's UTF-8 bytes (or of bytes), base64url: 43 characters. */
export function sha256 (data: string | Buffer): string {
  return oneShot ? crypto.hash('sha256', data, 'base64url') : crypto.createHash('sha256').update(data).digest('base64url')
}
