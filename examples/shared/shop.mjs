// View logic shared by the React, Preact and Vue apps, on the server and in the browser alike, so the three apps
// differ only in how their framework renders it.

export const siteName = 'Fastify Shop'

const productPath = /^\/products\/([^/]+)\/?$/

/**
 * Which page a URL shows, given the data its route passed. The server render and the client hydration both call it,
 * so they agree on the page; an unknown product, or any unknown path, is the 404 page.
 */
export function matchPage (url, data) {
  const { pathname } = new URL(url, 'http://localhost')
  if (pathname === '/' && Array.isArray(data?.products)) {
    return { name: 'listing', status: 200, title: `All products · ${siteName}` }
  }
  if (productPath.test(pathname) && data?.product) {
    return { name: 'product', status: 200, title: `${data.product.name} · ${siteName}` }
  }
  return { name: 'not-found', status: 404, title: `Not found · ${siteName}` }
}

export function formatPrice (cents) {
  return `$${(cents / 100).toFixed(2)}`
}

export function productPathFor (product) {
  return `/products/${encodeURIComponent(product.id)}`
}

/** The listing's sections: one per category, in the catalog's order, with that category's products. */
export function sectionsOf (categories = [], products = []) {
  return categories.map((category) => ({
    ...category,
    products: products.filter((product) => product.category === category.id)
  }))
}

export function categoryName (categories = [], id) {
  return categories.find((category) => category.id === id)?.name ?? id
}
