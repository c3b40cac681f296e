import { formatPrice, productPathFor } from '../shared/shop.mjs'

export function ProductCard ({ product, onAddToCart }) {
  return (
    <article class='card'>
      <h3><a href={productPathFor(product)}>{product.name}</a></h3>
      <p class='price'>{formatPrice(product.price)}</p>
      <button type='button' class='add-to-cart' onClick={onAddToCart}>Add to cart</button>
    </article>
  )
}
