import { encodeBodies, type CompressionSettings } from './encode'
import { BodyForm, type RenderFailure, type RenderOutcome, type RenderTask } from './protocol'
import { InvalidResultError, normalizeRenderResult } from './result'
import type { Sandbox } from './sandbox'
import { isThenable, type Maybe } from '../thenable'

/**
 * One render task from its arrival to its outcome, the same wherever it runs: in a worker (worker.ts) or in the
 * main thread (inline.ts, `threads: 0`). Errors become failures by shape, since they come from the bundle's realm.
 */

export function failure (reason: RenderFailure['reason'], error: unknown): RenderFailure {
  // Errors from the bundle belong to another realm: read them by shape, not with instanceof.
  const { message, stack } = (error !== null && typeof error === 'object') ? error as { message?: unknown, stack?: unknown } : {}
  return {
    ok: false,
    reason,
    message: typeof message === 'string' ? message : String(error),
    stack: typeof stack === 'string' ? stack : undefined
  }
}

/**
 * A task's outcome: at once when the bundle's render returns its page at once (then nothing here waits), else a
 * promise of it. What the bundle does wrong is an outcome, never a throw.
 */
export function performTask (sandbox: Sandbox, [, url, data, deadline, form]: RenderTask, compression: CompressionSettings | null): Maybe<RenderOutcome> {
  // A task that waited past its deadline is answered without running bundle code: a request that waited too long
  // is never rendered.
  if (Date.now() >= deadline) {
    return { ok: false, reason: 'expired', message: 'the render deadline passed while the task waited for a thread' }
  }
  let value: unknown
  try {
    value = sandbox.render(url, data)
    // Read inside the try: a `then` getter is bundle code too.
    if (isThenable(value)) {
      return Promise.resolve(value).then((resolved) => outcomeOf(resolved, form, compression), (error: unknown) => failure('render', error))
    }
  } catch (error) {
    return failure('render', error)
  }
  return outcomeOf(value, form, compression)
}

function outcomeOf (value: unknown, form: BodyForm, compression: CompressionSettings | null): RenderOutcome {
  let result
  try {
    result = normalizeRenderResult(value)
  } catch (error) {
    return failure(error instanceof InvalidResultError ? 'result' : 'render', error)
  }
  const { html, status, headers } = result
  // A page sent once stays a string here: worker.ts turns it into bytes for the trip to the main thread.
  if (form === BodyForm.text || form === BodyForm.once) return { ok: true, status, headers, body: html, br: null, gzip: null, etag: null }
  // Compressed once, off the request path where a worker renders, and only for pages that may be cached and served again.
  const { identity, br, gzip, etag } = encodeBodies(html, form === BodyForm.compressed ? compression : null)
  return { ok: true, status, headers, body: identity, br, gzip, etag }
}
