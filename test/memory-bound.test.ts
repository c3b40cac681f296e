import { test } from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** What the cache may add to RSS beyond its byte bounds: render garbage not yet collected in both threads. */
const overheadMiB = 64

test('160 distinct 2 MB pages keep RSS within the cache\'s byte bounds plus a stated overhead', async (t) => {
  // bench/memory-bound.mjs runs 500 (the figure in bench/RESULTS.md); 160 are enough to pass the 128 hot entries that
  // alone used to bound the hot tier (256 MiB of 2 MB pages), at half the time.
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', join(__dirname, '..', 'bench', 'memory-bound.mjs'), '160', '2000000'], { cwd: join(__dirname, '..') })
  const run = JSON.parse(stdout)
  t.equal(run.boundMiB, 96, 'the default bounds: 32 MiB hot, 64 MiB cold')
  t.ok(run.heldMiB.hot <= 32 && run.heldMiB.cold <= 64, `held ${run.heldMiB.hot} MiB hot, ${run.heldMiB.cold} MiB cold`)
  t.ok(run.entries.hot < 128, `the hot tier was bounded by bytes (${run.entries.hot} entries), not by its count`)
  t.equal(run.entries.hot + run.entries.cold, 160, 'every page stayed cached, most of them compact in cold')
  t.ok(run.growthMiB <= run.boundMiB + overheadMiB, `RSS grew ${run.growthMiB} MiB, within ${run.boundMiB} + ${overheadMiB} MiB`)
})
