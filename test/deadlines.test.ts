import { test } from 'tap'
import { Deadlines } from '../lib/render/deadlines'

// The one timer behind threads: 0's render deadlines (render/deadlines.ts).

function expiry (deadlines: Deadlines, inMs: number): { pending: ReturnType<Deadlines['add']>, deadline: number, expired: Promise<number>, fired: () => boolean } {
  let fired = false
  let settle: (at: number) => void = () => {}
  const expired = new Promise<number>((resolve) => { settle = resolve })
  const deadline = Date.now() + inMs
  const pending = deadlines.add(deadline, () => { fired = true; settle(Date.now() - deadline) })
  return { pending, deadline, expired, fired: () => fired }
}

test('each deadline expires once, not before it is due; a removed one never does', async (t) => {
  const deadlines = new Deadlines()
  const removed = expiry(deadlines, 20)
  const first = expiry(deadlines, 30)
  const second = expiry(deadlines, 60)
  deadlines.remove(removed.pending)
  t.ok(await first.expired >= 0, 'the first expired at or after its deadline')
  // A stalled event loop may find both due in one firing; a later one that fired must have been due.
  t.ok(!second.fired() || Date.now() >= second.deadline, 'the later one did not expire before its deadline')
  t.ok(await second.expired >= 0, 'the later one expired at or after its deadline, from the timer set again')
  t.notOk(removed.fired(), 'the removed one never expired, though its deadline passed first')
})

test('a deadline earlier than any known sets the timer earlier', async (t) => {
  const deadlines = new Deadlines()
  const late = expiry(deadlines, 60_000)
  const early = expiry(deadlines, 20)
  await early.expired
  t.notOk(late.fired())
  deadlines.remove(late.pending)
})
