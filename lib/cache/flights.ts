/**
 * Single-flight rendering: every concurrent miss of a key waits for the one render of it. A flight counts its
 * waiters, and is cancelled when the last one's client leaves (only a render still queued is then dropped; see
 * pool.ts). An invalidation, clear or reload that runs during the render marks the flight discarded: its page is
 * sent to those who waited, and never stored.
 */

export class Flight<P> {
  /** Aborted when the last waiter's client leaves. */
  readonly controller = new AbortController()
  /** Settles with the render; set once, by Flights.start. */
  promise!: Promise<P>
  waiters: number
  /** Set when an invalidation, clear or reload ran during the render: its result must not be stored. */
  discard = false

  /** `refresh`: started to refresh a stale page; it counts as one waiter of its own, so leaving clients never cancel it. */
  constructor (readonly key: string, readonly url: string, readonly refresh: boolean) {
    this.waiters = refresh ? 1 : 0
  }
}

export interface FlightEnd<P> {
  /** The render's page, before any waiter sees it (the place to store it). */
  page (flight: Flight<P>, page: P): void
  error (flight: Flight<P>, error: unknown): void
}

export class Flights<P> {
  readonly #flights = new Map<string, Flight<P>>()

  get (key: string): Flight<P> | undefined {
    return this.#flights.get(key)
  }

  has (key: string): boolean {
    return this.#flights.has(key)
  }

  /** Starts the one render of `key`: `run` gets the flight (its controller is aborted when the last client leaves). */
  start (key: string, url: string, refresh: boolean, run: (flight: Flight<P>) => Promise<P>, end: FlightEnd<P>): Flight<P> {
    const flight = new Flight<P>(key, url, refresh)
    flight.promise = run(flight).then((page) => {
      end.page(flight, page)
      return page
    }, (error: unknown) => {
      end.error(flight, error)
      throw error
    }).finally(() => {
      this.#flights.delete(key)
    })
    // Waiters may all leave before it settles; the rejection is theirs to see, not an unhandled one.
    flight.promise.catch(() => {})
    this.#flights.set(key, flight)
    return flight
  }

  /** Waits for a flight's page; when the last waiter's client leaves (`signal`), the render is cancelled. */
  async join (flight: Flight<P>, signal: AbortSignal | undefined): Promise<P> {
    flight.waiters++
    if (signal === undefined) return await flight.promise
    if (signal.aborted) {
      this.#leave(flight)
      throw signal.reason
    }
    return await new Promise<P>((resolve, reject) => {
      const onAbort = (): void => {
        this.#leave(flight)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      flight.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** Marks the flight of `key`, if any, so its page is not stored. */
  discardKey (key: string): void {
    const flight = this.#flights.get(key)
    if (flight !== undefined) flight.discard = true
  }

  /** Marks the flights that `selects` (by key and URL) so their pages are not stored. */
  discard (selects: (flight: Flight<P>) => boolean): void {
    for (const flight of this.#flights.values()) if (selects(flight)) flight.discard = true
  }

  #leave (flight: Flight<P>): void {
    // Only a render still queued is dropped (see pool.ts); one already running finishes and is stored, and a request
    // arriving meanwhile joins it. A dropped flight settles within the same turn of the event loop; a request that
    // joins it before then (in that turn) renders anew (see SsrEngine.fill).
    if (--flight.waiters === 0) flight.controller.abort(new Error('no client waits for this render'))
  }
}

/**
 * Whether a flight failed because it was dropped when its last waiter left (its controller's own reason). A caller
 * that joined it in that same turn still waits, and renders anew; its own flight is dropped only if it leaves too.
 */
export function dropped (flight: Flight<unknown>, error: unknown): boolean {
  return flight.controller.signal.aborted && error === flight.controller.signal.reason
}
