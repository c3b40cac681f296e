import { test } from 'tap'
import { BodyRing, RingWriter, ringBytes, ringMemory } from '../dist/render/body-ring.js'

// The ring a worker writes pages sent once into and the main thread sends them from (lib/render/body-ring.ts), both
// ends in this thread. The HTTP side, with real workers and sockets, is in test/ring-http.test.ts.

/** A page of `bytes` UTF-8 bytes (some outside ASCII), told apart by `tag`. */
function html (tag: string, bytes: number): string {
  const text = `<p>${tag} é € </p>`.repeat(Math.ceil(bytes / 10))
  return Buffer.from(text).subarray(0, bytes).toString().replace(/\uFFFD/g, '')
}

test('a body comes out of the ring as the UTF-8 bytes written, and its memory is free again once released', async (t) => {
  const memory = ringMemory(4096)
  const writer = new RingWriter(memory)
  const ring = new BodyRing(memory)
  const page = html('a', 1000)
  const region = writer.write(page)
  if (region === null) throw new Error('expected room')
  const { body, lease } = ring.take(region)
  t.same(body, Buffer.from(page), 'the same bytes, multi-byte characters included')
  t.equal(ring.held, 1)
  // 4,096 bytes, a quarter at most per body: three more of 1,000 fit (8-byte aligned), a fifth does not.
  const more = [writer.write(html('b', 1000)), writer.write(html('c', 1000)), writer.write(html('d', 1000))]
  t.ok(more.every((r) => r !== null), 'the ring takes bodies up to its size')
  t.equal(writer.write(html('e', 1000)), null, 'full: the next one is refused (it goes transferred)')
  const leases = more.map((r) => ring.take(r as [number, number]).lease)
  lease.release()
  lease.release()
  t.equal(ring.held, 3, 'released once; a second release changes nothing')
  t.not(writer.write(html('f', 1000)), null, 'the first body\'s memory is written again')
  for (const l of leases) l.release()
})

test('memory is freed in the order it was written: a body held keeps those after it from being overwritten', async (t) => {
  const memory = ringMemory(4096)
  const writer = new RingWriter(memory)
  const ring = new BodyRing(memory)
  const pages = ['a', 'b', 'c', 'd'].map((tag) => html(tag, 1000))
  const taken = pages.map((page) => ring.take(writer.write(page) as [number, number]))
  // b, c and d are sent; a is still on its way to a slow client.
  for (const { lease } of taken.slice(1)) lease.release()
  t.equal(ring.held, 4, 'freed behind one still held: not yet free')
  t.equal(writer.write(html('e', 1000)), null, 'so nothing is written over them')
  t.same(taken[0].body, Buffer.from(pages[0]), 'the held body is intact')
  taken[0].lease.release()
  t.equal(ring.held, 0)
  const again = [0, 1, 2, 3].map((i) => writer.write(html(`again${i}`, 1000)))
  t.ok(again.every((r) => r !== null), 'all four regions are free once the oldest is')
})

test('a body never wraps around the end of the ring: it starts at the beginning, and the gap is freed with it', async (t) => {
  const memory = ringMemory(4096)
  const writer = new RingWriter(memory)
  const ring = new BodyRing(memory)
  const [first, second, third, fourth] = ['a', 'b', 'c', 'd'].map((tag) => ring.take(writer.write(html(tag, 1000)) as [number, number]))
  first.lease.release()
  second.lease.release()
  // 4,000 bytes are taken and 2,000 of them free at the start: 1,000 more do not fit in the 96 left at the end.
  const page = html('e', 1000)
  const region = writer.write(page)
  if (region === null) throw new Error('expected room at the start')
  const fifth = ring.take(region)
  t.same(fifth.body, Buffer.from(page), 'written whole at the start of the ring')
  t.equal(fifth.body.byteOffset, first.body.byteOffset, 'where the first body was')
  t.same(fourth.body, Buffer.from(html('d', 1000)), 'the body before the gap is untouched')
  const sixth = ring.take(writer.write(html('f', 1000)) as [number, number])
  t.equal(sixth.body.byteOffset, second.body.byteOffset, 'the next one where the second was')
  t.equal(writer.write(html('g', 1000)), null, 'one more fits nowhere: the gap is freed only with the body after it')
  for (const { lease } of [third, fourth, fifth, sixth]) lease.release()
  t.equal(ring.held, 0)
  for (let i = 0; i < 4; i++) t.not(writer.write(html(`g${i}`, 1000)), null, 'the gap came back with the body after it')
})

test('counts wrap past 2³¹ as Int32 counts do, and bodies still come out whole', async (t) => {
  const memory = ringMemory(4096, 2 ** 31 - 1500)
  const writer = new RingWriter(memory)
  const ring = new BodyRing(memory)
  for (let i = 0; i < 20; i++) {
    const page = html(`w${i}`, 700 + i * 7)
    const region = writer.write(page)
    if (region === null) throw new Error(`no room at ${i}`)
    const { body, lease } = ring.take(region)
    t.same(body, Buffer.from(page), `body ${i}`)
    lease.release()
  }
  t.equal(ring.held, 0)
})

test('bodies a ring should not hold are refused: empty, or over a quarter of it', async (t) => {
  const writer = new RingWriter(ringMemory(4096))
  t.equal(writer.write(''), null)
  t.equal(writer.write('x'.repeat(1025)), null)
  t.not(writer.write('x'.repeat(1024)), null)
  t.equal(ringBytes & (ringBytes - 1), 0, 'the default size is a power of two')
  t.throws(() => ringMemory(3000), RangeError)
  t.throws(() => ringMemory(512), RangeError)
})
