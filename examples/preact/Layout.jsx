import { siteName } from '../shared/shop.mjs'

/** Header (with the cart count), navigation and footer around every page. */
export function Layout ({ categories = [], cartCount, children }) {
  return (
    <>
      <header class='site-header'>
        <a class='brand' href='/'>{siteName}</a>
        <p class='cart'>Cart <span class='cart-count' aria-label='items in cart'>{cartCount}</span></p>
      </header>
      <nav class='site-nav'>
        <a href='/'>All products</a>
        {categories.map((category) => <a key={category.id} href={`/#${category.id}`}>{category.name}</a>)}
      </nav>
      <main>{children}</main>
      <footer class='site-footer'>Server-rendered by fastify-ssr-engine with Preact, then hydrated.</footer>
    </>
  )
}
