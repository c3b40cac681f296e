import { test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, get } from 'node:http'
import { join } from 'node:path'

// SIGTERM under keep-alive load used to reset connections: Node's server.close() closed every connection that
// looked idle, some of which already held the client's next request, unread. The client here is Node's own, which
// honours `Connection: close` as RFC 9112 asks (autocannon does not: it writes on regardless, so its reset count
// says nothing about the server).
const root = join(__dirname, '..', '..')
const server = `
  const Fastify = require('fastify')
  const ssrPlugin = require(${JSON.stringify(root)})
  const app = Fastify()
  app.register(ssrPlugin, { bundle: ${JSON.stringify(join(root, 'test', 'fixtures', 'bundles', 'rusty.js'))}, threads: 1, browserGlobals: true })
  app.get('/*', (request, reply) => reply.ssr(request.url))
  process.once('SIGTERM', () => app.close())
  app.listen({ host: '127.0.0.1', port: 0 }).then(() => console.log(app.server.address().port))`

type Outcome = { status: number, close: boolean } | { error: string }

/** One keep-alive connection sending requests back to back, until a response says close or the request fails. */
async function client (port: number, responses: { count: number, onResponse: () => void }): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const outcomes: Outcome[] = []
  for (let i = 0; ; i++) {
    const outcome = await new Promise<Outcome>((resolve) => {
      const request = get({ host: '127.0.0.1', port, path: `/page/${i % 20}`, agent }, (res) => {
        res.resume()
        res.once('end', () => resolve({ status: res.statusCode ?? 0, close: res.headers.connection === 'close' }))
        res.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
      })
      request.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
    })
    outcomes.push(outcome)
    responses.count++
    responses.onResponse()
    if ('error' in outcome || outcome.close) break
  }
  agent.destroy()
  return outcomes
}

test('SIGTERM with 20 keep-alive clients: every connection gets an answer that says close, none is reset', async (t) => {
  const child = spawn(process.execPath, ['-e', server], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await once(child.stdout, 'data') as [Buffer]
  const port = Number(line.toString().trim())
  const exited = once(child, 'exit')
  let loaded: () => void = () => {}
  const underLoad = new Promise<void>((resolve) => { loaded = resolve })
  const responses = { count: 0, onResponse: () => { if (responses.count >= 400) loaded() } }
  const clients = Array.from({ length: 20 }, async () => await client(port, responses))
  await underLoad
  child.kill('SIGTERM')
  const outcomes = (await Promise.all(clients)).flat()
  const [code] = await exited
  t.equal(code, 0, 'the server exited by itself')
  const failed = outcomes.filter((outcome) => 'error' in outcome)
  t.same(failed, [], 'no connection was reset or dropped')
  const last = outcomes.filter((outcome) => !('error' in outcome) && outcome.close)
  t.equal(last.length, 20, 'each connection ended with a response saying Connection: close')
  const statuses = [...new Set(outcomes.map((outcome) => 'status' in outcome ? outcome.status : 0))].sort()
  t.ok(statuses.every((status) => status === 200 || status === 503), `pages, then 503 while closing (${statuses.join(', ')})`)
})
