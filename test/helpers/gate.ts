/**
 * The test's end of the `ssr-gate` BroadcastChannel that fixture bundles (gate.js, hang.js) talk on: wait until a
 * render is running in a worker, release a held one. Events, not sleeps.
 */
export class Gate {
  readonly #channel = new BroadcastChannel('ssr-gate')
  /** Renders started so far, per URL. */
  readonly #started = new Map<string, number>()
  readonly #waiting = new Map<string, Array<{ times: number, resolve: () => void }>>()

  constructor () {
    this.#channel.onmessage = (event: MessageEvent) => {
      const url = (event.data as { started?: unknown }).started
      if (typeof url !== 'string') return
      const count = (this.#started.get(url) ?? 0) + 1
      this.#started.set(url, count)
      const waiters = this.#waiting.get(url) ?? []
      for (const waiter of waiters) if (waiter.times <= count) waiter.resolve()
      this.#waiting.set(url, waiters.filter((waiter) => waiter.times > count))
    }
  }

  /** Resolves once workers have started rendering `url` `times` times (at once if they already have). */
  async started (url: string, times = 1): Promise<void> {
    if ((this.#started.get(url) ?? 0) >= times) return
    await new Promise<void>((resolve) => {
      this.#waiting.set(url, [...(this.#waiting.get(url) ?? []), { times, resolve }])
    })
  }

  /** Lets a held `/hold/…` render finish. */
  release (url: string): void {
    this.#channel.postMessage({ release: url })
  }

  close (): void {
    this.#channel.close()
  }
}
