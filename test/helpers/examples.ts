import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
// The plugin's types augment FastifyInstance with `ssr`, which the tests use on the example apps.
import type {} from '../../dist/index.js'

export const frameworks = ['react', 'preact', 'vue'] as const
export type Framework = typeof frameworks[number]

export interface StartedExample {
  app: FastifyInstance
  base: string
}

const examplesDir = join(__dirname, '..', '..', 'examples')

/**
 * Builds one example into the test's own directory (so test files running in parallel never share a build) and
 * starts its server, as examples/<framework>/server.js builds it, on 127.0.0.1 port 0. Closed when the test ends.
 */
export async function startExample (t: Test, framework: Framework): Promise<StartedExample> {
  // build.mjs is an ES module; import() loads it from this CommonJS test.
  const { buildExample } = await import(pathToFileURL(join(examplesDir, 'build.mjs')).href)
  const dist: string = await buildExample(framework, { outdir: t.testdir() })
  const { build } = require(join(examplesDir, framework, 'server.js'))
  const app: FastifyInstance = await build({ dist, logger: false, ssr: { threads: 1 } })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address !== 'object') throw new Error('the example server has no port')
  return { app, base: `http://127.0.0.1:${address.port}` }
}
