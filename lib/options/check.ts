import { FST_SSR_INVALID_OPTION } from '../errors'

/** The checks every option resolver uses: each failure is FST_SSR_INVALID_OPTION naming the option by its path. */

export function invalid (name: string, expected: string): never {
  throw new FST_SSR_INVALID_OPTION(name, expected)
}

export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

export function integer (name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(name, `expected an integer from ${min} to ${max}, got ${describe(value)}`)
  }
  return value
}

export function flag (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') invalid(name, `expected true or false, got ${describe(value)}`)
  return value
}

export function optionalPositive (name: string, value: unknown): number | null {
  if (value === undefined) return null
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalid(name, `expected a positive number, got ${describe(value)}`)
  }
  return value
}

export function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}

export function nameList (name: string, value: unknown, fallback: readonly string[], what: string): string[] {
  if (value === undefined) return [...fallback]
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.length > 0)) {
    invalid(name, `expected an array of ${what}, got ${describe(value)}`)
  }
  return value as string[]
}
