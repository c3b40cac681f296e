// Before a scenario is measured, one request checks that its server sends what the scenario claims: status 200, the
// expected Content-Encoding and x-ssr-cache, and, decoded, exactly the reference page (and, where the scenario sends
// stored brotli bytes, exactly those bytes). A benchmark of the wrong
// response (a 404 page, an uncompressed body, a cache miss) would be fast and meaningless.

import { request } from 'node:http'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'

export function fetchRaw (url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`${url} did not answer within 30 s`)))
    req.on('error', reject)
    req.end()
  })
}

function decode (response) {
  const encoding = response.headers['content-encoding']
  if (encoding === undefined) return response.body
  if (encoding === 'br') return brotliDecompressSync(response.body)
  if (encoding === 'gzip') return gunzipSync(response.body)
  throw new Error(`unexpected content-encoding ${encoding}`)
}

/**
 * Requests `url` as the load generator will and compares with `expect` ({ encoding, cache, raw }) and the page's
 * `reference` ({ identity, br }): the decoded body must be the reference page byte for byte, and with `raw: 'br'` the
 * body as sent must be the reference brotli body (the bytes the bare br route sends). Returns what was seen; throws
 * when the response is not the scenario's. `warm` first sends one request, for the scenarios whose first request fills
 * the cache.
 */
export async function checkResponse (url, headers, expect, reference, { warm = false } = {}) {
  if (warm) await fetchRaw(url, headers)
  const response = await fetchRaw(url, headers)
  const body = decode(response)
  const encoding = expect.encoding ?? null
  const seen = {
    status: response.status,
    encoding: response.headers['content-encoding'] ?? null,
    cache: response.headers['x-ssr-cache'] ?? null,
    bodyBytes: response.body.length,
    pageBytes: body.length,
    sameAsReference: body.equals(reference.identity),
    sameRawAsReference: expect.raw === 'br' ? reference.br !== null && response.body.equals(reference.br) : null
  }
  const problems = []
  if (seen.status !== 200) problems.push(`status ${seen.status}, expected 200`)
  if (seen.encoding !== encoding) problems.push(`content-encoding ${seen.encoding}, expected ${encoding}`)
  if (expect.cache !== undefined && seen.cache !== expect.cache) problems.push(`x-ssr-cache ${seen.cache}, expected ${expect.cache}`)
  if (!seen.sameAsReference) problems.push(`the page (${seen.pageBytes} bytes) differs from the reference (${reference.identity.length} bytes)`)
  if (seen.sameRawAsReference === false) problems.push(`the brotli body (${seen.bodyBytes} bytes) differs from the reference brotli body (${reference.br?.length} bytes)`)
  if (problems.length > 0) throw new Error(`${url} with ${JSON.stringify(headers)}: ${problems.join('; ')}`)
  return seen
}
