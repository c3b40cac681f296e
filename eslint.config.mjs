import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', 'coverage/**', 'examples/*/dist/**', 'test/fixtures/build/**', '.tap/**', 'node_modules/**', 'test/fixtures/bundles/syntax-error.js', 'test/fixtures/bundles/esm/syntax-error.js']
})
