import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { freePort } from './port'

/**
 * A real redis-server for the shared-tier tests, started on a free port and stopped when the test ends. Without the
 * Debian package the tests are skipped with a message saying so; in CI (`CI` set) they fail instead.
 */

const candidates = ['/usr/bin/redis-server', '/usr/local/bin/redis-server']
const binary = candidates.find((path) => existsSync(path)) ?? null

/** `{ skip }` for tap: false when redis-server exists; otherwise why the tests are skipped (said once on stderr). */
export function redisSkip (): string | false {
  if (binary !== null) return false
  const reason = `redis-server not found (looked in ${candidates.join(', ')}; apt-get install redis-server): shared Redis tier tests skipped`
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${reason} — not allowed in CI, where .ci/run installs it`)
  }
  console.error(`# SKIP ${reason}`)
  return reason
}

export class RedisServer {
  readonly port: number
  #process: ChildProcess | null = null

  private constructor (port: number) {
    this.port = port
  }

  /** Starts one on a free port; stopped when `t` ends. Tries another port if the one chosen was taken meanwhile. */
  static async start (t: Test): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort())
      try {
        await server.restart()
      } catch (error) {
        if (attempt < 5) continue
        throw error
      }
      t.teardown(async () => await server.stop())
      return server
    }
  }

  /** Starts one on `port` (a port a test reserved, for a server that comes up late); stopped when `t` ends. */
  static async startOn (t: Test, port: number): Promise<RedisServer> {
    const server = new RedisServer(port)
    await server.restart()
    t.teardown(async () => await server.stop())
    return server
  }

  /** A port nothing listens on now, for a Redis that is not there yet. */
  static async unusedPort (): Promise<number> {
    return await freePort()
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** A client of the test's own (for inspection), closed when `t` ends. */
  client (t: Test, options: ConstructorParameters<typeof Redis>[1] = {}): Redis {
    const client = new Redis(this.url, { maxRetriesPerRequest: null, ...options })
    client.on('error', () => {})
    t.teardown(() => client.disconnect())
    return client
  }

  /** (Re)starts redis-server on this port and resolves once it answers PING. */
  async restart (): Promise<void> {
    const child = spawn(binary as string, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#process = child
    let output = ''
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`redis-server exited (${String(code)}) before it was ready: ${output.slice(-500)}`)))
    })
    await ready
    const probe = new Redis(this.url, { maxRetriesPerRequest: null, lazyConnect: true })
    try {
      await probe.connect()
      if (await probe.ping() !== 'PONG') throw new Error('redis-server did not answer PING')
    } finally {
      probe.disconnect()
    }
  }

  /** Kills it at once (SIGKILL), as a crash would, and waits until it is gone. */
  async kill (): Promise<void> {
    await this.#signal('SIGKILL')
  }

  async stop (): Promise<void> {
    await this.#signal('SIGTERM')
  }

  async #signal (signal: NodeJS.Signals): Promise<void> {
    const child = this.#process
    this.#process = null
    if (child === null || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill(signal)
    await exited
  }
}
