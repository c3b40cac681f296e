/**
 * Frameworks pick their development builds when `process.env.NODE_ENV` is not replaced with "production" at build
 * time (esbuild does that unminified): React's is half as large again and much slower, and nothing fails, so it is
 * said at load. Seen by the files such builds come from (`react.development.js`, …), which unminified bundles name
 * in their module comments and source maps name in their sources.
 */
const developmentFile = /\b((?:@[\w.-]+\/)?[\w.-]+)\/(?:[\w.-]+\/)*[\w.-]+\.development\.[cm]?js\b/

/** A warning for a bundle that contains a framework's development build, or null. */
export function developmentBuildWarning (texts: string[]): string | null {
  for (const text of texts) {
    const match = developmentFile.exec(text)
    if (match !== null) {
      return `the bundle contains a development build (${match[0]}): define process.env.NODE_ENV as "production" ` +
        'when you build it (Vite and esbuild: define: { \'process.env.NODE_ENV\': \'"production"\' }) for the fast production builds'
    }
  }
  return null
}
