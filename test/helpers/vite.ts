import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, watch } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type {} from '../../dist/index.js'

const root = join(__dirname, '..', '..')

export const viteExamples = ['vite-react', 'vite-vue'] as const
export type ViteExample = typeof viteExamples[number]

function filesUnder (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && !relative(dir, join(entry.parentPath, entry.name)).startsWith('dist'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
}

/** What the build depends on: the example's files, the shared ones it imports, and the installed packages. */
function inputsDigest (exampleDir: string): string {
  const hash = createHash('sha256')
  for (const file of [...filesUnder(exampleDir), ...filesUnder(join(root, 'examples', 'shared')), join(root, 'package-lock.json')]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0')
  }
  return hash.digest('hex').slice(0, 12)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const prefix = 'fastify-ssr-engine-build-'

/** Builds of runs that have ended: their runner process is gone. */
async function removeStaleBuilds (): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    const runner = Number(name.slice(prefix.length).split('-', 1)[0])
    if (name.startsWith(prefix) && Number.isInteger(runner) && !alive(runner)) {
      await rm(join(tmpdir(), name), { recursive: true, force: true })
    }
  }
}

/** Resolves once the build in `dir` is done, rejects if it failed; watches the directory rather than polling. */
async function finished (dir: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (existsSync(join(dir, 'built'))) {
        watcher.close()
        resolve()
      } else if (existsSync(join(dir, 'failed'))) {
        watcher.close()
        reject(new Error(`the Vite build failed in another test process: ${readFileSync(join(dir, 'failed'), 'utf8')}`))
      }
    }
    const watcher = watch(dir, check)
    check()
  })
}

const builds = new Map<ViteExample, Promise<string>>()

/**
 * A Vite example built once per test run (tap runs each test file in a process of its own, all children of one
 * runner): the first file to ask builds it into a directory named after the runner's pid, the example and the
 * build's inputs; the others wait for it. A later run, or changed inputs, build again.
 */
export async function viteExampleBuild (example: ViteExample): Promise<string> {
  const exampleDir = join(root, 'examples', example)
  const known = builds.get(example)
  if (known !== undefined) return await known
  const building = (async () => {
    const dir = join(tmpdir(), `${prefix}${process.ppid}-${example}-${inputsDigest(exampleDir)}`)
    const done = join(dir, 'built')
    if (existsSync(done)) return dir
    await removeStaleBuilds()
    try {
      await mkdir(`${dir}.lock`)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      await mkdir(dir, { recursive: true })
      await finished(dir)
      return dir
    }
    const staging = `${dir}.staging`
    const { buildViteExample } = await import(pathToFileURL(join(exampleDir, 'build.mjs')).href)
    try {
      await buildViteExample({ outDir: staging, logLevel: 'error' })
    } catch (error) {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'failed'), String((error as Error).message))
      throw error
    }
    await writeFile(join(staging, 'built'), '')
    // Waiters watch `dir`: it may exist already, empty; then the files move in one by one, the marker last.
    await mkdir(dir, { recursive: true })
    for (const name of ['client', 'server', 'built']) await rename(join(staging, name), join(dir, name))
    await rm(staging, { recursive: true, force: true })
    return dir
  })()
  builds.set(example, building)
  return await building
}

export interface StartedViteExample {
  app: FastifyInstance
  base: string
}

/** Starts examples/<example>/server.js on the shared build, on 127.0.0.1 port 0. Closed when the test ends. */
export async function startViteExample (t: Test, example: ViteExample, ssr: Record<string, unknown> = {}): Promise<StartedViteExample> {
  const dist = await viteExampleBuild(example)
  const { build } = require(join(root, 'examples', example, 'server.js'))
  const app: FastifyInstance = await build({ dist, logger: false, ssr: { threads: 1, ...ssr } })
  t.teardown(async () => {
    const closed = app.close()
    // Chromium keeps a spare connection open that never sends a request; Node counts it as a request in progress,
    // so close() would wait for the headers timeout (about 90 s). The test is over: every connection may go.
    app.server.closeAllConnections()
    await closed
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address !== 'object') throw new Error('the example server has no port')
  return { app, base: `http://127.0.0.1:${address.port}` }
}
