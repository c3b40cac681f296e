import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './port'

/**
 * A real nginx in front of a test's server, as a same-host reverse proxy with the default `proxy_pass` (no
 * forwarding headers), started on a free port and stopped when the test ends. Without the Debian package the tests
 * are skipped with a message saying so; in CI (`CI` set) they fail instead.
 */

const candidates = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']
const binary = candidates.find((path) => existsSync(path)) ?? null

/** `{ skip }` for tap: false when nginx exists; otherwise why the tests are skipped (said once on stderr). */
export function nginxSkip (): string | false {
  if (binary !== null) return false
  const reason = `nginx not found (looked in ${candidates.join(', ')}; apt-get install nginx): reverse proxy tests skipped`
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${reason} — not allowed in CI, where .ci/run installs it`)
  }
  console.error(`# SKIP ${reason}`)
  return reason
}

function config (dir: string, port: number, upstream: string): string {
  const temp = (name: string): string => `${name}_temp_path ${join(dir, name)};`
  return `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass ${upstream}; }
  }
}
`
}

async function accepting (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Starts nginx proxying everything to `upstream` (`http://127.0.0.1:PORT`); resolves its base URL. */
export async function startNginx (t: Test, upstream: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), config(dir, port, upstream))
  // -e: the error log from the first line on, so nginx never tries /var/log/nginx.
  const child: ChildProcess = spawn(binary as string, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })
  // nginx says nothing when it is ready: it is once its port accepts.
  while (!await accepting(port)) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return `http://127.0.0.1:${port}`
}
