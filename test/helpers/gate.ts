/**
 * The test's end of the `ssr-gate` BroadcastChannel that fixture bundles (gate.js, hang.js) talk on: wait until a
 * render is running in a worker, release a held one. Events, not sleeps.
 */
export class Gate {
  readonly #channel = new BroadcastChannel('ssr-gate')
  readonly #started = new Set<string>()
  readonly #waiting = new Map<string, Array<() => void>>()

  constructor () {
    this.#channel.onmessage = (event: MessageEvent) => {
      const url = (event.data as { started?: unknown }).started
      if (typeof url !== 'string') return
      this.#started.add(url)
      for (const resolve of this.#waiting.get(url) ?? []) resolve()
      this.#waiting.delete(url)
    }
  }

  /** Resolves once a worker has started rendering `url` (at once if it already has). */
  async started (url: string): Promise<void> {
    if (this.#started.has(url)) return
    await new Promise<void>((resolve) => {
      this.#waiting.set(url, [...(this.#waiting.get(url) ?? []), resolve])
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
