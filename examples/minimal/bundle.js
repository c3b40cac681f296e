// The smallest real server bundle: a script (as esbuild or Vite emit with format 'iife') that sets
// globalThis.renderPage, exactly as a Rusty-SSR bundle would. No framework, so it runs as written.
(function () {
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

  function layout (title, body) {
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>` +
      `<body><header><a href="/">Home</a> · <a href="/about">About</a></header><main>${body}</main></body></html>`
  }

  globalThis.renderPage = async function renderPage (url, data) {
    const { pathname } = new URL(url, 'http://localhost')
    if (pathname === '/') {
      const items = data.products.map((p) => `<li><a href="/products/${p.id}">${escape(p.name)}</a> — ${escape(p.price)}</li>`).join('')
      return layout('Shop', `<h1>Products</h1><ul>${items}</ul><p>Rendered at ${escape(data.renderedAt)}</p>`)
    }
    if (pathname === '/about') return layout('About', '<h1>About</h1><p>Rendered by fastify-ssr-engine in a worker thread.</p>')
    const match = /^\/products\/(\d+)$/.exec(pathname)
    const product = match && data.products.find((p) => p.id === Number(match[1]))
    if (product) return layout(product.name, `<h1>${escape(product.name)}</h1><p>${escape(product.price)}</p>`)
    return { html: layout('Not found', '<h1>Not found</h1>'), status: 404 }
  }
})()
