import { FST_SSR_DATA_FAILED, FST_SSR_RENDER_TIMEOUT } from './errors'

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
 */
export async function loadData (loader: DataLoader, request: unknown, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  try {
    const loading = Promise.resolve().then(() => loader(request)).catch((error: unknown) => { throw new FST_SSR_DATA_FAILED({ cause: error }) })
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
