import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { test } from 'tap'
import { bundle } from './helpers/app'

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')

/** The README's code block that starts with `// <name>`. */
function snippet (name: string): string {
  const block = new RegExp('```js\\n(// ' + name.replace('.', '\\.') + '\\n[\\s\\S]*?)```').exec(readme)
  if (block === null) throw new Error(`README has no block starting with "// ${name}"`)
  return block[1]
}

for (const name of ['server.mjs', 'server.cjs']) {
  test(`the README's Usage snippet ${name} runs as written`, async (t) => {
    const code = snippet(name)
    t.match(code, 'port: 3000', 'the snippet listens where the README says')
    // In a directory inside the package, so `fastify-ssr-engine` resolves to this package as it would once installed;
    // only the port differs, so that tests never collide.
    const dir = t.testdir()
    writeFileSync(join(dir, name), code.replace('port: 3000', 'port: 0'))
    mkdirSync(join(dir, 'dist', 'server'), { recursive: true })
    copyFileSync(bundle('esm/render.mjs'), join(dir, 'dist', 'server', 'entry-server.js'))

    const child = spawn(process.execPath, [name], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
    t.teardown(() => { child.kill() })
    let output = ''
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8')
      child.stdout.on('data', (chunk: string) => {
        output += chunk
        const listening = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(output)
        if (listening !== null) resolve(listening[1])
      })
      child.once('exit', (code) => reject(new Error(`the snippet exited (${code}) before listening:\n${output}`)))
    })
    const response = await fetch(`${address}/hello?user=ada`)
    t.equal(response.status, 200)
    t.equal(await response.text(), '<main>esm /hello?user=ada undefined</main>', 'the page the bundle rendered')
    child.kill()
    await once(child, 'exit')
  })
}
