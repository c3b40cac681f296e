// Two instances behind the shared Redis tier against two instances without it, in the same run.
//
// What runs: a redis-server on a free loopback port (--save '' --appendonly no), and for each scenario two instance
// processes (child processes of this script, one render thread each), each a Fastify server with the built plugin
// (dist/) and a generated server bundle that spends a fixed amount of CPU per render (RENDER_MS) and returns a page
// of about 20 KB. The scenarios differ only in `cache.shared`; the baseline scenario runs first, then the shared one,
// then both again (A B A B), each with fresh processes and an empty Redis.
// Where the load comes from: this process, with undici, CONCURRENCY requests in flight, each one sent to the two
// instances in turn (a round-robin load balancer), REQUESTS requests per scenario over PAGES distinct URLs drawn
// uniformly, with Accept-Encoding: br. Only 127.0.0.1 is contacted, and every loop is bounded in count.
// What is reported per scenario: requests per second, latency p50/p99, renders across the deployment (from each
// instance's metrics route), where responses came from (x-ssr-cache), and Redis errors.
// The baseline: the same two instances without a shared tier, where each renders every page it has not seen itself.
// On a shared 2-core machine, compare scenarios of one run, not numbers across runs.
//
// Run: npm run build && node bench/shared-tier.mjs [--requests 20000] [--pages 2000] [--concurrency 32] [--render-ms 2]

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'

const here = fileURLToPath(new URL('.', import.meta.url))
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    pages: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    'render-ms': { type: 'string', default: '2' },
    instance: { type: 'string' }
  }
})

if (args.instance !== undefined) {
  await runInstance(JSON.parse(args.instance))
} else {
  await main()
}

/** One instance: the plugin with or without the shared tier; prints its port on stdout, exits on SIGTERM. */
async function runInstance ({ bundle, redis }) {
  const { default: Fastify } = await import('fastify')
  const { default: ssrPlugin } = await import(join(here, '..', 'dist', 'index.js'))
  const app = Fastify()
  await app.register(ssrPlugin, {
    bundle,
    threads: 1,
    // Read by the harness on the instance's own port; a benchmark on 127.0.0.1 only.
    metrics: { auth: () => true },
    cache: { hotEntries: 128, coldEntries: 10_000, ...(redis === null ? {} : { shared: { redis, prefix: 'bench:' } }) }
  })
  app.get('/*', (request, reply) => reply.ssr(request.url))
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`${app.server.address().port}\n`)
  process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
}

async function main () {
  const requests = Number(args.requests)
  const pages = Number(args.pages)
  const concurrency = Number(args.concurrency)
  const renderMs = Number(args['render-ms'])
  const redisBinary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path))
  if (redisBinary === undefined) throw new Error('redis-server not found (apt-get install redis-server)')

  const dir = mkdtempSync(join(tmpdir(), 'ssr-shared-bench-'))
  const bundle = join(dir, 'server.js')
  writeFileSync(bundle, `
    globalThis.renderPage = (url) => {
      const until = performance.now() + ${renderMs}
      let spin = 0
      while (performance.now() < until) spin++
      const rows = Array.from({ length: 200 }, (_, i) => '<li class="item">' + url + ' item ' + i + ' ' + (spin % 7) + '</li>').join('')
      return '<!doctype html><html><body><h1>' + url + '</h1><ul>' + rows + '</ul></body></html>'
    }`)

  console.log(`shared-tier bench: ${requests} requests per scenario, ${pages} pages, concurrency ${concurrency}, ${renderMs} ms per render`)
  const results = []
  try {
    for (const round of [1, 2]) {
      for (const shared of [false, true]) {
        const result = await scenario({ shared, bundle, redisBinary, requests, pages, concurrency })
        results.push({ round, ...result })
        console.log(format(round, result))
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function scenario ({ shared, bundle, redisBinary, requests, pages, concurrency }) {
  let redis = null
  if (shared) redis = await startRedis(redisBinary)
  const instances = await Promise.all([0, 1].map(() => startInstance(bundle, redis === null ? null : redis.url)))
  try {
    const pools = instances.map((instance) => new Pool(`http://127.0.0.1:${instance.port}`, { connections: concurrency }))
    const latencies = []
    const sources = {}
    let next = 0
    let sent = 0
    const started = performance.now()
    async function client () {
      while (sent < requests) {
        sent++
        const url = `/page/${Math.floor(Math.random() * pages)}`
        const pool = pools[next++ % pools.length]
        const begin = performance.now()
        const res = await pool.request({ path: url, method: 'GET', headers: { 'accept-encoding': 'br' } })
        await res.body.dump()
        latencies.push(performance.now() - begin)
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode} for ${url}`)
        const source = res.headers['x-ssr-cache']
        sources[source] = (sources[source] ?? 0) + 1
      }
    }
    await Promise.all(Array.from({ length: concurrency }, client))
    const seconds = (performance.now() - started) / 1000
    const metrics = await Promise.all(pools.map(async (pool) => await (await pool.request({ path: '/_ssr/metrics', method: 'GET' })).body.json()))
    await Promise.all(pools.map((pool) => pool.close()))
    latencies.sort((a, b) => a - b)
    const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    const errors = metrics.reduce((sum, m) => {
      const e = m.cache.shared?.errors
      return sum + (e === undefined ? 0 : e.timeouts + e.errors + e.unavailable)
    }, 0)
    return {
      scenario: shared ? 'shared' : 'baseline',
      rps: Math.round(requests / seconds),
      p50: pick(0.5),
      p99: pick(0.99),
      renders: metrics.reduce((sum, m) => sum + m.renders.total, 0),
      sources,
      redisErrors: errors
    }
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()))
    await redis?.stop()
  }
}

function format (round, r) {
  const sources = Object.entries(r.sources).sort().map(([name, count]) => `${name} ${count}`).join(', ')
  return `round ${round} ${r.scenario.padEnd(8)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ` +
    `renders ${r.renders}  (${sources})  redis errors ${r.redisErrors}`
}

async function startInstance (bundle, redis) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--instance', JSON.stringify({ bundle, redis })], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [chunk] = await once(child.stdout, 'data')
  return {
    port: Number(String(chunk).trim()),
    stop: async () => {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
  }
}

async function startRedis (binary) {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = probe.address().port
  probe.close()
  await once(probe, 'close')
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (data) => {
      output += data
      if (output.includes('Ready to accept connections')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-300)}`)))
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
  }
}
