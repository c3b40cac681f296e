/**
 * A Buffer that owns its whole ArrayBuffer: it can be transferred to another thread, and it holds no more memory
 * than its own bytes. Small Buffers made by Buffer.from or zlib may be slices of a shared pool (zlib's are views
 * into 16 KiB chunks); transferring one would detach the pool under other users, and keeping one keeps the chunk.
 */
export function ownedBuffer (source: Buffer): Buffer {
  if (source.byteOffset === 0 && source.buffer.byteLength === source.byteLength) return source
  const copy = Buffer.allocUnsafeSlow(source.byteLength)
  source.copy(copy)
  return copy
}
