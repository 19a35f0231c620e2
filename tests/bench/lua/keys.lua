-- Scenario g: each request carries one of many valid keys (env BENCH_KEYS_FILE, one per
-- line), chosen uniformly at random: with more keys than the cache holds, most requests
-- take the miss path (a store query) and evict another entry.
local common = require("common")
setup = common.setup
done = common.done

local requests = {}

function init(_)
  math.randomseed(tonumber(os.getenv("BENCH_NONCE") or "0") * 1000 + (tid or 0))
  local path = assert(os.getenv("BENCH_KEYS_FILE"), "BENCH_KEYS_FILE is not set")
  for key in io.lines(path) do
    if key ~= "" then requests[#requests + 1] = wrk.format(nil, nil, { ApiKey = key }) end
  end
  assert(#requests > 0, "no keys in " .. path)
end

function request()
  return requests[math.random(#requests)]
end
