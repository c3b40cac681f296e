import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { startViteExample, viteExampleBuild } from './helpers/vite'

test('React + Vite example: Vite\'s own SSR build (an ES module) is served, with emotion\'s critical CSS in the HTML', async (t) => {
  const dist = await viteExampleBuild('vite-react')
  const serverBundle = readFileSync(join(dist, 'server', 'entry-server.js'), 'utf8')
  t.match(serverBundle, /^export \{ render \};?$/m, 'the server bundle is Vite\'s default output: an ES module')
  const manifest = JSON.parse(readFileSync(join(dist, 'client', '.vite', 'manifest.json'), 'utf8'))
  const clientFile: string = manifest['src/entry-client.jsx'].file
  t.match(clientFile, /^assets\/entry-client-[\w-]{8}\.js$/, 'the browser bundle has a hashed name')

  const { base } = await startViteExample(t, 'vite-react')
  const home = await fetch(`${base}/`)
  t.equal(home.status, 200)
  t.equal(home.headers.get('content-type'), 'text/html; charset=utf-8')
  const html = await home.text()
  t.match(html, '<h1>Hello <!-- -->Vite</h1>')
  t.match(html, `<script type="module" src="/${clientFile}"></script>`, 'the page links the file the manifest names')

  const style = /<style data-emotion="css ([\w ]+)">(.*?)<\/style>/s.exec(html)
  t.ok(style, 'the critical CSS is in the head')
  const ids = style?.[1].split(' ') ?? []
  t.ok(ids.length >= 3, 'one rule per styled component on the page')
  t.match(style?.[2], /background:rebeccapurple/, 'the button\'s rule')
  const buttonClass = /<button class="counter (css-\w+)">/.exec(html)?.[1]
  t.ok(buttonClass !== undefined && style?.[2].includes(`.${buttonClass}{`), 'the rule is the one of the button\'s class')
  t.notMatch(html.slice(html.indexOf('<body>')), '<style', 'no style elements in the markup React hydrates')
  t.match(html, '<script id="ssr-data" type="application/json">{"name":"Vite"}</script>')

  t.equal((await fetch(`${base}/`)).headers.get('x-ssr-cache'), 'HIT-HOT', 'the page is cached')
  const about = await fetch(`${base}/about`)
  t.equal(about.status, 200)
  t.match(await about.text(), '<h1>About</h1>')

  for (let round = 0; round < 2; round++) {
    const missing = await fetch(`${base}/no/such/page`)
    t.equal(missing.status, 404, 'React Router\'s catch-all route answers 404')
    t.equal(missing.headers.get('x-ssr-cache'), 'MISS', 'and a 404 is never cached')
    t.match(await missing.text(), '<h1>Page not found</h1>')
  }

  const script = await fetch(`${base}/${clientFile}`)
  t.equal(script.status, 200, 'the browser bundle is served')
  t.match(script.headers.get('cache-control'), /immutable/, 'with a long cache lifetime: its name changes with its content')
  await script.arrayBuffer()
})

test('Vue + Vite example: Vue Router, Pinia state for hydration, the client build\'s CSS linked from the manifest', async (t) => {
  const dist = await viteExampleBuild('vite-vue')
  t.match(readFileSync(join(dist, 'server', 'entry-server.js'), 'utf8'), /^export \{ render \};?$/m, 'an ES module')
  const client = JSON.parse(readFileSync(join(dist, 'client', '.vite', 'manifest.json'), 'utf8'))['src/entry-client.js']
  t.equal(client.css?.length, 1, 'the single-file components\' styles, in one hashed file')

  const { base } = await startViteExample(t, 'vite-vue')
  const home = await fetch(`${base}/`)
  t.equal(home.status, 200)
  const html = await home.text()
  t.match(html, /<h1 data-v-\w+>Hello Vite<\/h1>/, 'the data reached the Pinia store the page renders from')
  t.match(html, `<link rel="stylesheet" href="/${client.css[0]}">`)
  t.match(html, `<script type="module" src="/${client.file}"></script>`)
  t.match(html, '<script id="ssr-data" type="application/json">{"page":{"name":"Vite","count":0}}</script>', 'Pinia\'s state, embedded')
  const css = await fetch(`${base}/${client.css[0]}`)
  t.equal(css.status, 200)
  t.match(await css.text(), /\.counter\[data-v-\w+\]\{[^}]*background:/)

  const about = await fetch(`${base}/about`)
  t.equal(about.status, 200)
  t.match(await about.text(), '<h1>About</h1>')
  const missing = await fetch(`${base}/no/such/page`)
  t.equal(missing.status, 404, 'Vue Router\'s catch-all route answers 404')
  t.match(await missing.text(), '<h1>Page not found</h1>')
})
