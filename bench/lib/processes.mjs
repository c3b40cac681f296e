// Starts a benchmark server (bench/server.mjs) in a process of its own, pinned to the server's CPUs (or not, for the
// scenarios that let the server use every CPU), and talks to it over the IPC channel: the server reports its port (it
// listens on 127.0.0.1, port 0) and answers requests for its counters and memory. The channel passes through taskset,
// which execs node in place. A server whose plugin lacks a feature the scenario needs reports it as unavailable.

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pinnedCommand } from './machine.mjs'

const serverScript = fileURLToPath(new URL('../server.mjs', import.meta.url))

/**
 * @param {object} plan         cpuPlan()
 * @param {string} kind         a server kind of bench/server.mjs
 * @param {object} config       passed to the server as JSON (build paths, plugin options …)
 * @param {object} [options]
 * @param {string[]} [options.execArgv]  Node flags for the server (--expose-gc, --cpu-prof)
 * @param {boolean} [options.pinned]     false: the server may use every CPU (default: the plan's server CPUs)
 */
export async function startServer (plan, kind, config, { execArgv = [], pinned = true } = {}) {
  const { command, args } = pinnedCommand(plan, pinned ? plan.server : null, process.execPath, [...execArgv, serverScript, kind, JSON.stringify(config)])
  // Production mode, as a deployed server runs: React's and others' development checks are off.
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } })
  const pending = new Map()
  let lastId = 0
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))

  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the ${kind} server did not start within 60 s`))
    }, 60_000)
    child.once('message', (message) => {
      clearTimeout(timer)
      resolve(message)
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`the ${kind} server exited with ${signal ?? code} before it was ready`))
    })
  })
  if (ready.unavailable !== undefined) {
    await exited
    return { kind, info: ready, unavailable: ready.unavailable, stop: async () => {} }
  }
  // A server that dies answers nothing: fail whatever waits for it rather than hang.
  exited.then(({ code, signal }) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the ${kind} server exited with ${signal ?? code}`))
    pending.clear()
  })
  child.on('message', (message) => {
    const waiter = pending.get(message.id)
    if (waiter === undefined) return
    pending.delete(message.id)
    if (message.error !== undefined) waiter.reject(new Error(message.error))
    else waiter.resolve(message.result)
  })

  return {
    kind,
    pid: child.pid,
    port: ready.port,
    url: (path) => `http://127.0.0.1:${ready.port}${path}`,
    info: ready,
    /** Asks the server for something (see onCommand in bench/server.mjs). */
    ask (command, args = {}) {
      return new Promise((resolve, reject) => {
        const id = ++lastId
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`the ${kind} server did not answer "${command}" within 60 s`))
        }, 60_000)
        const settle = (fn) => (value) => {
          clearTimeout(timer)
          fn(value)
        }
        pending.set(id, { resolve: settle(resolve), reject: settle(reject) })
        child.send({ id, command, ...args })
      })
    },
    /** Closes the server gracefully, and kills it if it does not end in 20 s. */
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.send({ id: 0, command: 'close' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const result = await exited
      clearTimeout(timer)
      return result
    }
  }
}
