-- The login flood of scenario h: POST /v1/auth/authenticate with a wrong password for a
-- new email every time, each from a new address in X-Forwarded-For (site h trusts the
-- loopback as a proxy), as a flood through a CDN arrives: neither the per-account nor
-- the per-client limit applies. Logins within the hashing budget (login_cpu_share) are
-- checked (401); the rest are refused at once (503 LoginBusy). Both are counted.
local common = require("common")
setup = common.setup
done = common.done
sums = { "checked", "busy" }

local counter = 0
local nonce = "0"
local pause = 0
checked, busy = 0, 0

function init(_)
  nonce = os.getenv("BENCH_NONCE") or "0"
  pause = tonumber(os.getenv("BENCH_LOGIN_DELAY_MS") or "0") or 0
end

-- Each connection waits this long before each login: the flood's rate, at most
-- connections / pause. 0: as fast as the gateway answers (a closed loop).
function delay()
  return pause
end

function request()
  counter = counter + 1
  local body = string.format('{"emailId":"flood-%s-%d-%d@bench.test","password":"not-the-password"}',
    nonce, tid or 0, counter)
  local from = string.format("10.%d.%d.%d", (tid or 0) % 256, math.floor(counter / 256) % 256, counter % 256)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = from }, body)
end

function response(status, _, _)
  if status == 401 then
    checked = checked + 1
  elseif status == 503 then
    busy = busy + 1
  end
end
