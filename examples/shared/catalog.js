'use strict'

// The shop's product data, shared by the three example servers. Routes pass slices of it to the renders, so the
// server bundles never import it: data reaches a page only through `reply.ssr(url, data)`.

// Deeply frozen, like the products: the plugin then serializes this data into cache keys once, not on every hit.
const categories = Object.freeze([
  { id: 'lighting', name: 'Lighting' },
  { id: 'furniture', name: 'Furniture' },
  { id: 'kitchen', name: 'Kitchen' },
  { id: 'desk', name: 'Desk' },
  { id: 'textiles', name: 'Textiles' }
].map((category) => Object.freeze(category)))

// [name, price in cents] per category: ten each, fifty in all.
const namesAndPrices = {
  lighting: [['Oak Desk Lamp', 3900], ['Brass Floor Lamp', 12900], ['Paper Pendant', 4500], ['Glass Wall Sconce', 5900],
    ['Copper Reading Light', 7400], ['Linen Table Lamp', 4900], ['Marble Bedside Lamp', 8900], ['Rattan Ceiling Shade', 3500],
    ['Ceramic Lantern', 2900], ['Walnut Clip Light', 3300]],
  furniture: [['Walnut Side Table', 18900], ['Oak Bench', 24900], ['Cane Lounge Chair', 39900], ['Steel Bookshelf', 21900],
    ['Birch Stool', 6900], ['Cedar Coat Rack', 8900], ['Ash Dining Chair', 14900], ['Velvet Ottoman', 11900],
    ['Pine Shoe Cabinet', 16900], ['Teak Plant Stand', 5900]],
  kitchen: [['Ceramic Serving Bowl', 3400], ['Cast Iron Skillet', 4900], ['Olive Wood Spoon Set', 2400],
    ['Stoneware Mug', 1600], ['Copper Kettle', 7900], ['Glass Storage Jar', 1400], ['Marble Mortar', 3900],
    ['Enamel Colander', 2900], ['Bamboo Cutting Board', 2200], ['Linen Tea Towel', 1200]],
  desk: [['Leather Desk Pad', 5400], ['Brass Pen Tray', 2900], ['Walnut Monitor Stand', 8900], ['Felt Cable Tidy', 1500],
    ['Cork Notice Board', 3200], ['Steel Letter Rack', 2600], ['Oak Pencil Cup', 1800], ['Paper Notebook Trio', 1900],
    ['Glass Paperweight', 2400], ['Canvas Document Bag', 4400]],
  textiles: [['Wool Throw Blanket', 8900], ['Linen Cushion Cover', 3400], ['Cotton Bath Towel', 2900],
    ['Jute Door Mat', 3900], ['Merino Scarf', 5900], ['Linen Bed Sheet', 11900], ['Cotton Table Runner', 2700],
    ['Wool Floor Rug', 19900], ['Velvet Curtain', 9900], ['Waffle Hand Towel', 1400]]
}

function slug (name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
}

const products = Object.freeze(categories.flatMap((category) =>
  namesAndPrices[category.id].map(([name, price]) => Object.freeze({
    id: slug(name),
    name,
    category: category.id,
    price,
    description: `${name}, made in small batches and built to last. Ships in recycled packaging.`
  }))
))

const productsById = new Map(products.map((product) => [product.id, product]))

/** Data for the listing page: every category (for the navigation) and every product. */
function listingData () {
  return { categories, products }
}

/** Data for a product page; `product` is null for an unknown id, and the page then renders as a 404. */
function productData (id) {
  return { categories, product: productsById.get(id) ?? null }
}

/** Data for any other page, the 404: the navigation still lists the categories. */
function notFoundData () {
  return { categories }
}

module.exports = { categories, products, listingData, productData, notFoundData }
