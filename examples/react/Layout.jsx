import { siteName } from '../shared/shop.mjs'

/** Header (with the cart count), navigation and footer around every page. */
export function Layout ({ categories = [], cartCount, children }) {
  return (
    <>
      <header className='site-header'>
        <a className='brand' href='/'>{siteName}</a>
        <p className='cart'>Cart <span className='cart-count' aria-label='items in cart'>{cartCount}</span></p>
      </header>
      <nav className='site-nav'>
        <a href='/'>All products</a>
        {categories.map((category) => <a key={category.id} href={`/#${category.id}`}>{category.name}</a>)}
      </nav>
      <main>{children}</main>
      <footer className='site-footer'>Server-rendered by fastify-ssr-engine with React, then hydrated.</footer>
    </>
  )
}
