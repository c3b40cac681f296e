import type { PageHeaders } from '../page'

/**
 * The one place that decides whether a rendered page may be stored and shared: only plain 200 pages meant for
 * everyone. A Set-Cookie or a private/no-store Cache-Control means the page belongs to one user.
 */
export function isCacheable (status: number, headers: PageHeaders): boolean {
  if (status !== 200) return false
  if (headers['set-cookie'] !== undefined) return false
  const cacheControl = headers['cache-control']
  if (cacheControl !== undefined) {
    const directives = String(cacheControl).toLowerCase()
    if (/(^|[\s,])(private|no-store)([\s,=]|$)/.test(directives)) return false
  }
  return true
}
