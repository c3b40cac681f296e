// The app both builds share: React Router routes, styled with emotion. The server renders it with StaticRouter,
// the browser hydrates it with BrowserRouter.
import { useEffect, useState } from 'react'
import styled from '@emotion/styled'
import { Link, useRoutes } from 'react-router'

const Page = styled.main`
  font-family: system-ui, sans-serif;
  max-width: 40rem;
  margin: 2rem auto;
  padding: 0 1rem;
`

const Nav = styled.nav`
  display: flex;
  gap: 1rem;
  border-bottom: 1px solid #ddd;
  padding-bottom: 0.5rem;
`

const Button = styled.button`
  background: rebeccapurple;
  color: white;
  border: 0;
  border-radius: 4px;
  padding: 0.5rem 1rem;
  cursor: pointer;
`

function Counter () {
  const [count, setCount] = useState(0)
  return <Button className='counter' onClick={() => setCount(count + 1)}>Clicked {count} times</Button>
}

function Home ({ data }) {
  return (
    <>
      <h1>Hello {data.name}</h1>
      <p>This page was rendered by fastify-ssr-engine from Vite's SSR build, and hydrated by Vite's client build.</p>
      <Counter />
    </>
  )
}

function About () {
  return <><h1>About</h1><p>Routes by React Router, styles by emotion, critical CSS in the server HTML.</p></>
}

function NotFound () {
  return <h1>Page not found</h1>
}

/** The routes, shared with the server entry, which answers 404 when only the catch-all matches. */
export function routes (data) {
  return [
    { path: '/', element: <Home data={data} /> },
    { path: '/about', element: <About /> },
    { path: '*', element: <NotFound /> }
  ]
}

export function App ({ data }) {
  // Effects run only once hydration has committed: the attribute tells a person (and the browser test) that the
  // page is interactive. It sits on <html>, outside React's markup, so it cannot cause a mismatch.
  useEffect(() => { document.documentElement.dataset.hydrated = 'vite-react' }, [])
  return (
    <Page>
      <Nav><Link to='/'>Home</Link><Link to='/about'>About</Link></Nav>
      {useRoutes(routes(data))}
    </Page>
  )
}
