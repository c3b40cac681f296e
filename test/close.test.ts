import { test } from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { once } from 'node:events'

test('a process with the plugin registered exits by itself after app.close()', async (t) => {
  const script = `
    const Fastify = require('fastify')
    const ssrPlugin = require(${JSON.stringify(join(__dirname, '..'))})
    const app = Fastify()
    app.register(ssrPlugin, { bundle: ${JSON.stringify(join(__dirname, 'fixtures', 'bundles', 'rusty.js'))}, threads: 2 })
    app.get('/', (request, reply) => reply.ssr('/'))
    app.listen({ host: '127.0.0.1', port: 0 }).then(async () => {
      const res = await app.inject('/')
      console.log('status', res.statusCode)
      await app.close()
      console.log('closed')
    })`
  // If a worker or a handle stayed alive the child would never exit: the test runner's timeout catches that.
  const child = spawn(process.execPath, ['-e', script], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk) => { out += chunk })
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
  t.match(out, 'status 200')
  t.match(out, 'closed')
})
