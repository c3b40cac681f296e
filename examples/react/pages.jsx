import { categoryName, formatPrice, sectionsOf } from '../shared/shop.mjs'
import { ProductCard } from './ProductCard.jsx'

export function ListingPage ({ data, onAddToCart }) {
  return sectionsOf(data.categories, data.products).map((section) => (
    <section key={section.id} id={section.id}>
      <h2 className='section-title'>{section.name}</h2>
      <div className='grid'>
        {section.products.map((product) => <ProductCard key={product.id} product={product} onAddToCart={onAddToCart} />)}
      </div>
    </section>
  ))
}

export function ProductPage ({ data, onAddToCart }) {
  const { product } = data
  return (
    <article className='product'>
      <h1>{product.name}</h1>
      <p>{categoryName(data.categories, product.category)}</p>
      <p className='price'>{formatPrice(product.price)}</p>
      <p>{product.description}</p>
      <button type='button' className='add-to-cart' onClick={onAddToCart}>Add to cart</button>
      <p><a href='/'>Back to all products</a></p>
    </article>
  )
}

export function NotFoundPage () {
  return (
    <section className='not-found'>
      <h1>Page not found</h1>
      <p>We have no page at this address. <a href='/'>See all products</a>.</p>
    </section>
  )
}
