import { useState } from 'preact/hooks'
import { Layout } from './Layout.jsx'
import { ListingPage, NotFoundPage, ProductPage } from './pages.jsx'

const pages = { listing: ListingPage, product: ProductPage, 'not-found': NotFoundPage }

/** The whole app: the page chosen by matchPage, inside the layout. The cart count is its only client state. */
export function App ({ page, data }) {
  const [cartCount, setCartCount] = useState(0)
  const addToCart = () => setCartCount((count) => count + 1)
  const Page = pages[page.name]
  return (
    <Layout categories={data.categories} cartCount={cartCount}>
      <Page data={data} onAddToCart={addToCart} />
    </Layout>
  )
}
