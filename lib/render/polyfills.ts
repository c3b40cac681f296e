/**
 * The sandbox's globals. By default only the web-standard ones a Node server also has (timers, streams, encoders,
 * URL, crypto, …), so that libraries which probe `typeof window` or `typeof document` take their server code paths
 * (emotion then collects critical CSS instead of writing to a DOM). With `browserGlobals: true`, inert browser
 * objects are added for code written for the browser (Rusty-SSR bundles): nothing here reaches the network, the file
 * system or a real DOM.
 */

/** An in-memory Web Storage; a fresh one per render, so nothing leaks from one user's page to the next. */
export class MemoryStorage {
  #items = new Map<string, string>()
  get length (): number { return this.#items.size }
  key (index: number): string | null { return [...this.#items.keys()][index] ?? null }
  getItem (key: string): string | null { return this.#items.get(String(key)) ?? null }
  setItem (key: string, value: unknown): void { this.#items.set(String(key), String(value)) }
  removeItem (key: string): void { this.#items.delete(String(key)) }
  clear (): void { this.#items.clear() }
}

const noop = (): void => {}

class InertObserver {
  observe (): void {}
  unobserve (): void {}
  disconnect (): void {}
  takeRecords (): unknown[] { return [] }
}

class InertEventTarget {
  addEventListener (): void {}
  removeEventListener (): void {}
  dispatchEvent (): boolean { return true }
}

class InertElement extends InertEventTarget {
  readonly style: Record<string, string> = {}
  readonly dataset: Record<string, string> = {}
  readonly childNodes: InertElement[] = []
  readonly children: InertElement[] = []
  textContent = ''
  innerHTML = ''
  constructor (readonly tagName = 'DIV') { super() }
  get nodeName (): string { return this.tagName }
  setAttribute (): void {}
  getAttribute (): null { return null }
  removeAttribute (): void {}
  hasAttribute (): boolean { return false }
  appendChild<T> (child: T): T { return child }
  removeChild<T> (child: T): T { return child }
  insertBefore<T> (child: T): T { return child }
  querySelector (): null { return null }
  querySelectorAll (): InertElement[] { return [] }
  getElementsByTagName (): InertElement[] { return [] }
  getBoundingClientRect () { return { x: 0, y: 0, top: 0, left: 0, right: 0, bottom: 0, width: 0, height: 0 } }
}

class InertImage extends InertElement {
  src = ''
  alt = ''
  constructor () { super('IMG') }
}

function createDocument () {
  const documentElement = new InertElement('HTML')
  const head = new InertElement('HEAD')
  const body = new InertElement('BODY')
  return Object.assign(new InertEventTarget(), {
    nodeType: 9,
    readyState: 'loading',
    title: '',
    cookie: '',
    referrer: '',
    documentElement,
    head,
    body,
    createElement: (tag: string) => new InertElement(String(tag).toUpperCase()),
    createElementNS: (_ns: string, tag: string) => new InertElement(String(tag).toUpperCase()),
    createTextNode: (text: string) => ({ nodeType: 3, textContent: String(text) }),
    createComment: (text: string) => ({ nodeType: 8, textContent: String(text) }),
    createDocumentFragment: () => new InertElement('#document-fragment'),
    getElementById: () => null,
    getElementsByClassName: () => [],
    getElementsByTagName: () => [],
    querySelector: () => null,
    querySelectorAll: () => []
  })
}

function matchMedia (query: string) {
  return { matches: false, media: String(query), onchange: null, addListener: noop, removeListener: noop, addEventListener: noop, removeEventListener: noop, dispatchEvent: () => false }
}

/** A read-only Location for the URL being rendered; `origin` is fixed, since the Host header is the client's to forge. */
export function createLocation (url: string, origin: string) {
  // Appended to the origin rather than resolved against it: a path such as `//x/y` must stay a path, not a host.
  const parsed = new URL(url.startsWith('/') ? origin + url : url, origin)
  return Object.freeze({
    href: parsed.href,
    origin: parsed.origin,
    protocol: parsed.protocol,
    host: parsed.host,
    hostname: parsed.hostname,
    port: parsed.port,
    pathname: parsed.pathname,
    search: parsed.search,
    hash: parsed.hash,
    assign: noop,
    replace: noop,
    reload: noop,
    toString: () => parsed.href
  })
}

/** The globals every sandbox starts with: standard web globals a modern renderer needs, from the worker's realm. */
export function createWebGlobals (): Record<string, unknown> {
  return {
    console,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    AbortController,
    AbortSignal,
    Event,
    EventTarget,
    MessageChannel,
    MessagePort,
    ReadableStream,
    WritableStream,
    TransformStream,
    Blob,
    // Body helpers only (new Response(stream).text()); fetch stays out, the sandbox reaches no network.
    Response,
    Request,
    Headers,
    TextEncoderStream,
    TextDecoderStream,
    DOMException,
    atob,
    btoa,
    structuredClone,
    queueMicrotask,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    setImmediate,
    clearImmediate,
    performance,
    crypto: globalThis.crypto
  }
}

/**
 * With `threads: 0` the bundle runs in the server's own thread, where a handle it keeps would hold the process open
 * after `close()`: React's server renderer opens a MessageChannel as it loads, a bundle may start an interval. These
 * replacements make what they make unref'd, as the pool unrefs an idle worker (a render in progress is kept alive by
 * its deadline timer). Messages and timers still arrive as usual.
 */
export function createServerThreadGlobals (): Record<string, unknown> {
  class ServerThreadMessageChannel extends MessageChannel {
    constructor () {
      super()
      // Node refs a port when a 'message' listener is added, by calling its ref(): made a no-op on these two.
      for (const port of [this.port1, this.port2]) port.ref = () => port
    }
  }
  return {
    MessageChannel: ServerThreadMessageChannel,
    setTimeout: (...args: Parameters<typeof setTimeout>) => setTimeout(...args).unref(),
    setInterval: (...args: Parameters<typeof setInterval>) => setInterval(...args).unref()
  }
}

/**
 * Browser-only objects, inert, added with `browserGlobals: true`; `window`/`self` are pointed at the context's own
 * global afterwards, and `location` and the storages are replaced at every render.
 */
export function createBrowserGlobals (): Record<string, unknown> {
  let frame = 0
  const frames = new Map<number, ReturnType<typeof setTimeout>>()
  return {
    document: createDocument(),
    navigator: Object.freeze({ userAgent: 'fastify-ssr-engine', language: 'en-US', languages: ['en-US'], onLine: true, platform: 'server', cookieEnabled: false }),
    location: createLocation('/', 'http://localhost'),
    localStorage: new MemoryStorage(),
    sessionStorage: new MemoryStorage(),
    history: { length: 1, state: null, pushState: noop, replaceState: noop, back: noop, forward: noop, go: noop },
    matchMedia,
    getComputedStyle: () => ({ getPropertyValue: () => '' }),
    requestAnimationFrame: (callback: (time: number) => void) => {
      const id = ++frame
      frames.set(id, setTimeout(() => { frames.delete(id); callback(performance.now()) }, 16))
      return id
    },
    cancelAnimationFrame: (id: number) => { clearTimeout(frames.get(id)); frames.delete(id) },
    MutationObserver: InertObserver,
    ResizeObserver: InertObserver,
    IntersectionObserver: InertObserver,
    Image: InertImage,
    HTMLElement: InertElement,
    Element: InertElement,
    Node: InertElement,
    addEventListener: noop,
    removeEventListener: noop,
    dispatchEvent: () => true,
    scrollTo: noop,
    innerWidth: 1024,
    innerHeight: 768,
    devicePixelRatio: 1
  }
}
