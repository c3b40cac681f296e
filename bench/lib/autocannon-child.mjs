// Used by bench/lib/loadgen.mjs when wrk is not installed: runs autocannon in a process of its own (pinned away from
// the server like wrk would be) and prints its figures as one JSON line. Argument: the run as JSON
// ({ url, connections, seconds, headers, requests? }).

import autocannon from 'autocannon'

const { url, connections, seconds, headers, requests } = JSON.parse(process.argv[2])

const result = await autocannon({
  url,
  connections,
  headers,
  // A fixed number of requests when given (the memory benchmark), else a fixed duration. autocannon ignores the
  // duration when given an amount, so the parent bounds that run in time by stopping this process.
  ...(requests === undefined ? { duration: seconds } : { amount: requests }),
  timeout: 10
})

console.log('BENCH_AUTOCANNON ' + JSON.stringify({
  requests: result.requests.total,
  seconds: result.duration,
  bytes: result.throughput.total,
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
  latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, mean: result.latency.mean, max: result.latency.max }
}))
