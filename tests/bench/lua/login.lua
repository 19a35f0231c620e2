-- The login flood of scenario h: POST /v1/auth/authenticate with a wrong password for a
-- new email every time (so the per-account limit never applies; the per-client limit is
-- set very high for the benchmark). Every attempt costs the gateway a password hash.
local common = require("common")
setup = common.setup
done = common.done

local counter = 0
local nonce = "0"

function init(_)
  nonce = os.getenv("BENCH_NONCE") or "0"
end

function request()
  counter = counter + 1
  local body = string.format('{"emailId":"flood-%s-%d-%d@bench.test","password":"not-the-password"}',
    nonce, tid or 0, counter)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
