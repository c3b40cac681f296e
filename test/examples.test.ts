import { test } from 'tap'
import { frameworks, startExample } from './helpers/examples'

const catalog = require('../examples/shared/catalog.js')

const frameworkNames = { react: 'React', preact: 'Preact', vue: 'Vue' }

// The text of the script element that carries the hydration data, as the HTML parser will see it.
function embeddedJson (html: string): string {
  const match = /<script id="ssr-data" type="application\/json">(.*?)<\/script>/s.exec(html)
  if (match === null) throw new Error('no embedded data in the page')
  return match[1]
}

function embeddedData (html: string): unknown {
  return JSON.parse(embeddedJson(html))
}

for (const framework of frameworks) {
  test(`${framework} example: listing, product page and 404 through the plugin`, async (t) => {
    const { base } = await startExample(t, framework)

    const home = await fetch(`${base}/`)
    t.equal(home.status, 200)
    t.equal(home.headers.get('content-type'), 'text/html; charset=utf-8')
    const listing = await home.text()
    t.match(listing, '<title>All products · Fastify Shop</title>')
    t.match(listing, '<header class="site-header">')
    t.match(listing, '<a href="/#kitchen">Kitchen</a>', 'the navigation lists the categories')
    t.match(listing, `Server-rendered by fastify-ssr-engine with ${frameworkNames[framework]}`, 'the footer names the framework')
    t.equal(listing.match(/<article class="card">/g)?.length, 50, 'one card per product')
    for (const product of catalog.products) {
      t.ok(listing.includes(`<a href="/products/${product.id}">${product.name}</a>`), `card for ${product.name}`)
    }
    t.match(listing, '<span class="cart-count" aria-label="items in cart">0</span>')
    t.same(embeddedData(listing), catalog.listingData(), 'the page embeds the data it was rendered with')

    const product = catalog.products[11]
    const productResponse = await fetch(`${base}/products/${product.id}`)
    t.equal(productResponse.status, 200)
    const productPage = await productResponse.text()
    t.match(productPage, `<title>${product.name} · Fastify Shop</title>`)
    t.match(productPage, `<h1>${product.name}</h1>`)
    t.match(productPage, '<p class="price">$249.00</p>')
    t.match(productPage, product.description)

    for (const path of ['/products/no-such-product', '/no/such/page']) {
      const first = await fetch(`${base}${path}`)
      t.equal(first.status, 404, `${path} is a 404`)
      t.match(await first.text(), '<h1>Page not found</h1>')
      const second = await fetch(`${base}${path}`)
      t.equal(second.status, 404)
      t.equal(second.headers.get('x-ssr-cache'), 'MISS', `${path}: a 404 is rendered again, never cached`)
      await second.arrayBuffer()
    }

    const script = await fetch(`${base}/assets/client.js`)
    t.equal(script.status, 200, 'the browser bundle is served')
    t.match(script.headers.get('content-type'), /javascript/)
    await script.arrayBuffer()
    const styles = await fetch(`${base}/assets/client.css`)
    t.equal(styles.status, 200, 'the stylesheet is served')
    await styles.arrayBuffer()
  })

  test(`${framework} example: data cannot break out of the hydration script`, async (t) => {
    const { app } = await startExample(t, framework)
    const hostileName = '</script><script>alert(1)</script><!-- \u2028\u2029 & "quotes"'
    const data = {
      categories: [{ id: 'odd', name: 'Odd' }],
      products: [{ id: 'odd-one', name: hostileName, category: 'odd', price: 100, description: '</SCRIPT>' }]
    }
    const { html, status } = await app.ssr.render('/', data)
    t.equal(status, 200)
    t.same(embeddedData(html), data, 'the embedded JSON parses back to the same data')
    const scripts = html.match(/<script\b/gi) ?? []
    const closings = html.match(/<\/script/gi) ?? []
    t.equal(scripts.length, 2, 'only the data and client scripts open')
    t.equal(closings.length, 2, 'and nothing in the data closes a script early')
    t.notMatch(embeddedJson(html), /[<>\u2028\u2029]/, 'no markup characters or line separators left raw in the data')
    // Frameworks differ on escaping ">" in text, which is harmless; "<" is what must never appear raw.
    t.match(html, /&lt;\/script(&gt;|>)&lt;script(&gt;|>)alert\(1\)/, 'the name is escaped as text in the markup')
    t.notMatch(html, '<script>alert', 'the name never becomes an element')
  })
}
