// The load generator, in a process of its own pinned away from the server: wrk when it is installed, autocannon
// otherwise. wrk is preferred because autocannon, being JavaScript, saturates its own core first: measured on this
// project's machine, autocannon topped out near 29,000 req/s where wrk drove the same server to about 38,000, so
// autocannon alone would report its own ceiling as the server's. BENCH_LOADGEN=autocannon forces the fallback.

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { findCommand, pinnedCommand } from './machine.mjs'

const wrkScript = fileURLToPath(new URL('wrk-report.lua', import.meta.url))
const autocannonChild = fileURLToPath(new URL('autocannon-child.mjs', import.meta.url))

/** Which load generator runs, its version, and why it was chosen. */
export async function chooseLoadGenerator (forced = process.env.BENCH_LOADGEN) {
  const wrk = findCommand('wrk')
  if (forced !== undefined && forced !== 'wrk' && forced !== 'autocannon') {
    throw new Error(`BENCH_LOADGEN must be "wrk" or "autocannon", not "${forced}"`)
  }
  if (forced === 'wrk' && wrk === null) throw new Error('BENCH_LOADGEN=wrk, but wrk is not on PATH')
  if (wrk !== null && forced !== 'autocannon') {
    // wrk prints its version with its usage and exits 1.
    const { stdout } = await collect(wrk, ['--version'], 10_000, process.env, { anyExitCode: true })
    const version = stdout.match(/^wrk\s+(\S+)/m)?.[1] ?? 'unknown version'
    return { name: 'wrk', path: wrk, version, why: 'wrk is installed; it drives a server further than autocannon, which saturates its own core first' }
  }
  const { createRequire } = await import('node:module')
  const version = createRequire(import.meta.url)('autocannon/package.json').version
  const why = forced === 'autocannon'
    ? 'forced with BENCH_LOADGEN=autocannon'
    : 'wrk is not installed (apt-get install wrk); autocannon may saturate its own core before the server does, so high req/s figures may be its ceiling'
  return { name: 'autocannon', path: process.execPath, version, why }
}

/**
 * The load generator for a fixed number of requests (the memory benchmark): autocannon, which stops after exactly
 * that many; wrk only runs for a duration. Its speed does not matter there.
 */
export async function chooseFixedCountGenerator () {
  const { createRequire } = await import('node:module')
  const version = createRequire(import.meta.url)('autocannon/package.json').version
  return { name: 'autocannon', path: process.execPath, version, why: 'it can send an exact number of requests, which wrk cannot' }
}

/**
 * One load run against `url`: `connections` keep-alive connections for `seconds`, or, with autocannon only, until
 * `requests` responses (bounded in time all the same: the process is stopped past `seconds` + 30 s). Returns req/s,
 * latency percentiles in ms, bytes per response and error counts.
 */
export async function runLoad (generator, plan, { url, connections, seconds, headers = {}, requests }) {
  const timeLimit = (seconds + 30) * 1000
  if (generator.name === 'wrk') {
    if (requests !== undefined) throw new Error('wrk runs for a duration, not a number of requests: use chooseFixedCountGenerator()')
    const threads = Math.min(plan.loadThreads, connections)
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', wrkScript]
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
    args.push(url)
    const { command, args: pinnedArgs } = pinnedCommand(plan, plan.load, generator.path, args)
    const { stdout } = await collect(command, pinnedArgs, timeLimit)
    const line = stdout.split('\n').find((row) => row.startsWith('BENCH_WRK '))
    if (line === undefined) throw new Error(`wrk printed no report:\n${stdout}`)
    const report = JSON.parse(line.slice('BENCH_WRK '.length))
    const runSeconds = report.durationUs / 1e6
    const { connect, read, write, status, timeout } = report.errors
    return {
      requests: report.requests,
      seconds: runSeconds,
      requestsPerSecond: report.requests / runSeconds,
      latencyMs: mapValues(report.latencyUs, (us) => us / 1000),
      bytesPerResponse: report.requests === 0 ? 0 : report.bytes / report.requests,
      errors: { socket: connect + read + write, timeouts: timeout, non2xx: status }
    }
  }
  const job = JSON.stringify({ url, connections, seconds, headers, requests })
  const { command, args } = pinnedCommand(plan, plan.load, process.execPath, [autocannonChild, job])
  const { stdout } = await collect(command, args, timeLimit)
  const line = stdout.split('\n').find((row) => row.startsWith('BENCH_AUTOCANNON '))
  if (line === undefined) throw new Error(`autocannon printed no report:\n${stdout}`)
  const report = JSON.parse(line.slice('BENCH_AUTOCANNON '.length))
  return {
    requests: report.requests,
    seconds: report.seconds,
    requestsPerSecond: report.requests / report.seconds,
    latencyMs: report.latencyMs,
    bytesPerResponse: report.requests === 0 ? 0 : report.bytes / report.requests,
    errors: { socket: report.errors, timeouts: report.timeouts, non2xx: report.non2xx }
  }
}

export function errorCount (result) {
  return result.errors.socket + result.errors.timeouts + result.errors.non2xx
}

function mapValues (object, fn) {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]))
}

/** Runs a command to completion within `timeLimit` ms, collecting stdout; stderr passes through. */
function collect (command, args, timeLimit, env = process.env, { anyExitCode = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} ran past ${timeLimit} ms and was stopped`))
    }, timeLimit)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0 || (anyExitCode && code !== null)) resolve({ stdout })
      else reject(new Error(`${command} exited with ${signal ?? code}:\n${stdout}`))
    })
  })
}
