-- wrk reporter: one machine-readable line with the percentiles the benchmark prints.
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT p50=%.1f p95=%.1f p99=%.1f rps=%.0f errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / seconds, e.connect + e.read + e.write + e.status + e.timeout))
end
