// Reads V8 .cpuprofile files (as `node --cpu-prof` writes them, one per thread) and says where the time went: self time
// by package and the functions with the most self time. Used to explain a missed target with evidence rather than a
// guess.

import { readdir, readFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'

const special = new Set(['(idle)', '(program)', '(garbage collector)', '(root)'])

function pathOf (url) {
  return url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url
}

function packageOf (url, root, labels) {
  if (url === '') return 'V8/native builtins'
  if (url.startsWith('node:')) return 'node (internal)'
  const path = pathOf(url)
  for (const [prefix, label] of labels) if (path.startsWith(prefix)) return label
  const marker = `${sep}node_modules${sep}`
  const at = path.lastIndexOf(marker)
  if (at !== -1) {
    const parts = path.slice(at + marker.length).split(sep)
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  const inProject = relative(root, path)
  if (!inProject.startsWith('..')) {
    if (inProject.startsWith(`dist${sep}`)) return 'fastify-ssr-engine (dist/)'
    return inProject.split(sep)[0]
  }
  return 'other'
}

/**
 * Self time by package and the top functions of one profile, in shares of its sampled time. `labels` names files
 * outside node_modules and the project: [[path prefix, label]], e.g. the temporary build of the server bundle.
 */
export async function summarizeProfile (path, root, { top = 12, labels = [] } = {}) {
  const profile = JSON.parse(await readFile(path, 'utf8'))
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  let total = 0
  const byPackage = new Map()
  const byFunction = new Map()
  const specials = {}
  for (const [id, us] of selfUs) {
    total += us
    const { functionName, url, lineNumber } = nodes.get(id).callFrame
    if (special.has(functionName)) {
      specials[functionName] = (specials[functionName] ?? 0) + us
      continue
    }
    const pkg = packageOf(url, root, labels)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us)
    const label = labels.find(([prefix]) => pathOf(url).startsWith(prefix))
    const file = url === '' ? '' : url.startsWith('node:') ? url : label !== undefined ? `(${label[1]})` : relative(root, pathOf(url))
    const name = `${functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`
    const entry = byFunction.get(name) ?? { name, package: pkg, us: 0 }
    entry.us += us
    byFunction.set(name, entry)
  }
  // Inclusive time: a sample counts for every package with a frame anywhere on its stack, so the time a package's
  // functions spent calling into others (Node, Fastify) is counted as its own too.
  const parents = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const stackPackages = new Map()
  const packagesOnStack = (id) => {
    let found = stackPackages.get(id)
    if (found !== undefined) return found
    const parent = parents.get(id)
    found = new Set(parent === undefined ? [] : packagesOnStack(parent))
    const { functionName, url } = nodes.get(id).callFrame
    if (!special.has(functionName)) found.add(packageOf(url, root, labels))
    stackPackages.set(id, found)
    return found
  }
  const inclusiveUs = new Map()
  for (const [id, us] of selfUs) for (const pkg of packagesOnStack(id)) inclusiveUs.set(pkg, (inclusiveUs.get(pkg) ?? 0) + us)
  const share = (us) => (total === 0 ? 0 : us / total)
  return {
    sampledMs: total / 1000,
    idle: share(specials['(idle)'] ?? 0),
    garbageCollector: share(specials['(garbage collector)'] ?? 0),
    program: share(specials['(program)'] ?? 0),
    packages: [...byPackage].map(([name, us]) => ({ name, share: share(us), inclusive: share(inclusiveUs.get(name) ?? 0) })).sort((a, b) => b.share - a.share),
    functions: [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top).map(({ name, package: pkg, us }) => ({ name, package: pkg, share: share(us) }))
  }
}

/**
 * Every profile `node --cpu-prof --cpu-prof-dir=<dir>` wrote, one per thread (CPU.<date>.<time>.<pid>.<thread id>.<n>
 * .cpuprofile, the main thread's id 0), summarized, main thread first.
 */
export async function summarizeProfileDir (dir, root, options = {}) {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))
  const threadOf = (name) => Number(name.split('.')[4])
  const summaries = []
  for (const name of files.sort((a, b) => threadOf(a) - threadOf(b))) {
    summaries.push({ thread: threadOf(name) === 0 ? 'main thread' : `worker thread ${threadOf(name)}`, ...await summarizeProfile(join(dir, name), root, options) })
  }
  return summaries
}
