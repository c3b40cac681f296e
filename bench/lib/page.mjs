// The page every benchmark serves: the React example's product page for the catalog's first product, with the
// data the example's own route passes to it (examples/shared/app.js). /products/<unknown id> would be the 404 page,
// which the plugin never caches, so the id comes from the catalog.

import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { products, productData } = require('../../examples/shared/catalog.js')

export const productId = products[0].id
export const pageUrl = `/products/${encodeURIComponent(productId)}`

/** A fresh copy of the route's data, as each request of the example server builds it. */
export function pageData () {
  return productData(productId)
}

export { productData }
