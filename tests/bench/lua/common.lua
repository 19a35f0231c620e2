-- Shared by every wrk script of the Keygate load benchmark: numbers each thread, and
-- prints one machine-readable RESULT line when the run is done (read by run.sh).
--
-- A scenario script sets the global `sums` (names of per-thread numeric counters to add
-- up) and `samples` (names of per-thread strings to join) before wrk calls done().
local M = {}

local threads = {}

function M.setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

function M.done(summary, latency, _)
  local e = summary.errors
  local out = {
    "RESULT",
    "requests=" .. summary.requests,
    "duration_us=" .. summary.duration,
    "status_errors=" .. e.status,
    "sock_errors=" .. (e.connect + e.read + e.write + e.timeout),
    "p50_us=" .. latency:percentile(50),
    "p99_us=" .. latency:percentile(99),
  }
  for _, name in ipairs(sums or {}) do
    local n = 0
    for _, t in ipairs(threads) do n = n + (t:get(name) or 0) end
    out[#out + 1] = string.format("%s=%d", name, n)
  end
  io.write(table.concat(out, " "), "\n")
  for _, name in ipairs(samples or {}) do
    for _, t in ipairs(threads) do
      for s in string.gmatch(t:get(name) or "", "%S+") do
        io.write("SAMPLE ", name, " ", s, "\n")
      end
    end
  end
end

return M
