import { FST_SSR_DATA_FAILED, FST_SSR_RENDER_TIMEOUT } from './errors'
import { isThenable } from './thenable'

/**
 * Lazy data: `reply.ssr(url, (request) => loadData(request))`. The loader runs only when a render is needed (a miss,
 * a background refresh, a bypass), inside the one render concurrent misses share, so it runs once for all of them.
 */

export type DataLoader = (request?: unknown) => unknown

export function isLoader (data: unknown): data is DataLoader {
  return typeof data === 'function'
}

/**
 * The loader's value, within `timeoutMs` (it shares the render's deadline). Rejects with FST_SSR_DATA_FAILED (the
 * thrown error as its cause only, never in a response) or, past the deadline, FST_SSR_RENDER_TIMEOUT; a loader that
 * misses the deadline is left to finish on its own and its value is dropped.
 *
 * A loader that answers at once (a value, not a promise: an in-memory catalog, a cache of the application's) is
 * answered at once too, with no timer and no race: there is nothing for the deadline to interrupt.
 */
export function loadData (loader: DataLoader, request: unknown, timeoutMs: number): unknown {
  // A native promise when the loader's answer has to be waited for (or failed), the value itself otherwise.
  let value: unknown
  let thenable: boolean
  try {
    value = loader(request)
    // Read inside the try: a `then` getter may throw too.
    thenable = isThenable(value)
  } catch (error) {
    return Promise.reject(new FST_SSR_DATA_FAILED({ cause: error }))
  }
  return thenable ? raceDeadline(value as PromiseLike<unknown>, timeoutMs) : value
}

async function raceDeadline (value: PromiseLike<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  try {
    const loading = Promise.resolve(value).catch((error: unknown) => { throw new FST_SSR_DATA_FAILED({ cause: error }) })
    // It may settle after the deadline, heard by no one.
    loading.catch(() => {})
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new FST_SSR_RENDER_TIMEOUT()), timeoutMs)
    })
    return await Promise.race([loading, deadline])
  } finally {
    clearTimeout(timer)
  }
}
