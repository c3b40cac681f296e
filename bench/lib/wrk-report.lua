-- Used by bench/lib/loadgen.mjs: reports a wrk run as one JSON line, with latencies in microseconds, because wrk's own
-- text output rounds them. With BENCH_WRK_QUOTA set, each wrk thread stops after that many responses: the memory
-- benchmark needs a fixed number of requests rather than a duration. Without it no response() is defined, so wrk
-- keeps its fast path and never parses bodies.

local quota = tonumber(os.getenv("BENCH_WRK_QUOTA") or "")

if quota then
  local seen = 0
  function response(status, headers, body)
    seen = seen + 1
    if seen >= quota then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
