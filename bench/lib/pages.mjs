// The pages every benchmark serves, at three sizes, with the data their routes load (the React example's own routes,
// examples/shared/app.js, pass loaders returning it):
//   product  the example's product page for the catalog's first product (~1.6 KB)
//   listing  the example's listing `/`, every product of its catalog (listingData(), ~20 KB)
//   large    the same listing component rendered with a synthetic catalog five times as large (~100 KB), served by
//            a bench-only route (GET /large renders url '/' with that data): the example renders the listing for
//            '/' with any { categories, products }
// `path` is what the load generator requests, `renderUrl` and `data()` the URL and data the page is rendered with.
// /products/<unknown id> would be the 404 page, which the plugin never caches, so the id comes from the catalog.

import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { categories, products, listingData, productData } = require('../../examples/shared/catalog.js')

const productId = products[0].id

// Five variants of each of the example's 50 products: 250 products, about 100 KB of HTML (markup and the embedded
// data). Deeply frozen and built once, like the example's own catalog, so a route passes the same object every time.
const variants = ['Classic', 'Compact', 'Large', 'Natural', 'Dark']
const largeProducts = Object.freeze(variants.flatMap((variant, index) => products.map((product) => Object.freeze({
  ...product,
  id: `${product.id}-${variant.toLowerCase()}`,
  name: `${product.name}, ${variant}`,
  price: product.price + index * 500
}))))

/** Data of the ~100 KB listing: the example's categories, 250 products. */
export function largeData () {
  return { categories, products: largeProducts }
}

export const pages = {
  product: {
    name: 'product',
    about: "the React example's product page",
    path: `/products/${encodeURIComponent(productId)}`,
    route: '/products/:id',
    renderUrl: `/products/${encodeURIComponent(productId)}`,
    data: () => productData(productId)
  },
  listing: {
    name: 'listing',
    about: "the React example's listing of its 50 products",
    path: '/',
    route: '/',
    renderUrl: '/',
    data: listingData
  },
  large: {
    name: 'large',
    about: 'the listing with a synthetic catalog of 250 products (bench-only route)',
    path: '/large',
    route: '/large',
    renderUrl: '/',
    data: largeData
  }
}

export const pageNames = Object.keys(pages)

export { productData }
