import type { BodyLease } from '../page'

/**
 * Memory shared by one worker and the main thread that a page sent once (BodyForm.once) is written into, instead of
 * each page's bytes crossing as an ArrayBuffer of its own. A transferred ArrayBuffer is fresh memory on both sides:
 * malloc'd by the worker, written cold, registered with the main thread's heap, written to the socket cold, and
 * freed only by a later GC; at thousands of pages a second those buffers made the main thread's V8 run a full
 * collection every ~200 ms (its helper threads marking ~28 ms each time) and the socket writes cost more. Reused
 * ring memory stays warm and costs the heap nothing (bench/RESULTS.md has the figures).
 *
 * One writer (the worker, in the order it renders) and one reader (the main thread, which gets the replies in the
 * same order). Positions are byte counts since the start that wrap as Int32 counts do; the ring's size is a power
 * of two, so a count's place in the ring is `count & (size - 1)`. A body never wraps around the end: the worker
 * skips the rest of the ring instead, and that gap is freed with the body after it. The main thread frees a body by
 * its lease (BodyLease) once the socket has it; the ring's `released` count moves past every body freed in order,
 * and the worker writes only into what lies between its own count and that one. A body that does not fit goes as
 * before, transferred: a slow client holding one region never stops a page from being sent.
 */

/** Bytes of page bodies one ring holds: about 100 pages of 20 KB, or 20 of 100 KB, on their way to sockets. */
export const ringBytes = 2 * 1024 * 1024

/** Bodies larger than this share of the ring always go transferred: a few of them would fill it. */
const largestShare = 4

/** Where the ring's shared count sits: bytes released by the main thread, ahead of the bodies (own cache line). */
const header = 64

/** A body's place in the ring, as the worker reports it: its start (a byte count, see above) and its length. */
export type RingRegion = [start: number, length: number]

/**
 * The shared memory of one ring (given to the worker in WorkerData). `start`: the count both sides begin at (tests
 * start near 2³¹ to see the counts wrap).
 */
export function ringMemory (size = ringBytes, start = 0): SharedArrayBuffer {
  if (size < 1024 || (size & (size - 1)) !== 0) throw new RangeError(`a ring's size is a power of two of at least 1024 bytes, not ${size}`)
  const memory = new SharedArrayBuffer(header + size)
  new Int32Array(memory, 0, 1)[0] = start | 0
  return memory
}

function sizeOf (memory: SharedArrayBuffer): number {
  return memory.byteLength - header
}

/**
 * Where a body of `length` bytes written at `start` ends, as both sides count: each body starts on an 8-byte
 * boundary, so that its bytes are aligned as freshly allocated ones would be.
 */
function endOf (start: number, length: number): number {
  return (start + ((length + 7) & ~7)) | 0
}

/** The worker's side: writes a page's UTF-8 bytes into free ring memory. */
export class RingWriter {
  readonly #released: Int32Array
  readonly #bytes: Buffer
  readonly #size: number
  /** Bytes handed out so far (gaps at the end included), a wrapping count. */
  #written = 0

  constructor (memory: SharedArrayBuffer) {
    this.#released = new Int32Array(memory, 0, 1)
    this.#size = sizeOf(memory)
    this.#bytes = Buffer.from(memory, header, this.#size)
    // Nothing is held yet: the writer starts where the released count stands.
    this.#written = Atomics.load(this.#released, 0)
  }

  /** Writes `html` as UTF-8 and says where; null when it does not fit in the free memory (send it another way). */
  write (html: string): RingRegion | null {
    const length = Buffer.byteLength(html)
    const size = this.#size
    if (length === 0 || length > size / largestShare) return null
    const free = size - ((this.#written - Atomics.load(this.#released, 0)) | 0)
    const offset = this.#written & (size - 1)
    const gap = offset + length > size ? size - offset : 0
    if (gap + length > free) return null
    const start = (this.#written + gap) | 0
    this.#written = endOf(start, length)
    this.#bytes.write(html, start & (size - 1), length, 'utf8')
    return [start, length]
  }
}

/** The main thread's side: the bodies the worker wrote, as Buffers over the ring, each with its lease. */
export class BodyRing {
  readonly #released: Int32Array
  readonly #memory: SharedArrayBuffer
  readonly #size: number
  /** The oldest lease not yet passed by `released`, and the newest: a list in the order the bodies were written. */
  #oldest: RingLease | null = null
  #newest: RingLease | null = null
  #held = 0

  constructor (memory: SharedArrayBuffer) {
    this.#memory = memory
    this.#released = new Int32Array(memory, 0, 1)
    this.#size = sizeOf(memory)
  }

  /** The body the worker reported at `region`, and its lease. */
  take ([start, length]: RingRegion): { body: Buffer, lease: BodyLease } {
    const lease = new RingLease(this, endOf(start, length))
    if (this.#newest === null) this.#oldest = lease
    else this.#newest.next = lease
    this.#newest = lease
    this.#held++
    return { body: Buffer.from(this.#memory, header + (start & (this.#size - 1)), length), lease }
  }

  /** Bodies taken and not yet passed by `released` (a body freed behind one still held counts too). */
  get held (): number {
    return this.#held
  }

  /** Called by a lease: the shared count moves past every body freed in order from the oldest. */
  freed (): void {
    let end: number | null = null
    while (this.#oldest !== null && this.#oldest.released) {
      const passed: RingLease = this.#oldest
      end = passed.end
      this.#oldest = passed.next
      // A lease someone still holds (a closed response's listener) keeps no later ones alive.
      passed.next = null
      this.#held--
    }
    if (this.#oldest === null) this.#newest = null
    if (end !== null) Atomics.store(this.#released, 0, end)
  }
}

class RingLease implements BodyLease {
  readonly #ring: BodyRing
  /** Where the body ends in the ring (padding included): what the ring's count moves to once it is freed. */
  readonly end: number
  released = false
  /** The lease of the body written next, while this one is not passed. */
  next: RingLease | null = null

  constructor (ring: BodyRing, end: number) {
    this.#ring = ring
    this.end = end
  }

  release (): void {
    if (this.released) return
    this.released = true
    this.#ring.freed()
  }
}
