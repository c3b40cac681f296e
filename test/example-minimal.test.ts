import { test } from 'tap'

test('the minimal demo renders its home page, a product and a 404', async (t) => {
  const { build } = require('../examples/minimal/server.js')
  const app = await build({ logger: false })
  t.teardown(() => app.close())
  const home = await app.inject('/')
  t.equal(home.statusCode, 200)
  t.match(home.body, '<a href="/products/3">Product 3</a>')
  const product = await app.inject('/products/2')
  t.match(product.body, '<h1>Product 2</h1>')
  const missing = await app.inject('/products/99')
  t.equal(missing.statusCode, 404)
  t.match(missing.body, 'Not found')
})
