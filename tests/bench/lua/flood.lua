-- Scenario f: every request carries a new random API key that is invalid. Half are
-- well-formed (the right shape and a valid CRC-32 checksum, so the gateway must look
-- them up: one store query at most per distinct key), half malformed in turns (a wrong
-- checksum, one character short, a wrong prefix, a character outside base62), which
-- the gateway must reject without any lookup.
--
-- Every well-formed key is distinct: its body starts with a per-run nonce
-- (env BENCH_NONCE), the thread number and a counter, then random characters.
-- Key format (authcore/keys.go): "kg_" + 40 base62 characters + the CRC-32 (IEEE) of
-- everything before it as 6 base62 digits, most significant first.
local common = require("common")
local bit = require("bit")
setup = common.setup
done = common.done
sums = { "wellformed", "malformed" }
samples = { "sample_wellformed", "sample_malformed" }

local ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local digit = {}
for i = 1, 62 do digit[i - 1] = ALPHABET:sub(i, i) end

local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if bit.band(c, 1) == 1 then c = bit.bxor(0xEDB88320, bit.rshift(c, 1)) else c = bit.rshift(c, 1) end
  end
  crc_table[i] = c
end

local function crc32(s)
  local c = bit.bnot(0)
  for i = 1, #s do
    c = bit.bxor(crc_table[bit.band(bit.bxor(c, s:byte(i)), 0xff)], bit.rshift(c, 8))
  end
  c = bit.bnot(c)
  if c < 0 then c = c + 4294967296 end -- LuaJIT's bit ops are signed 32-bit
  return c
end

local function base62(n, width)
  local out = {}
  for i = width, 1, -1 do
    out[i] = digit[n % 62]
    n = math.floor(n / 62)
  end
  return table.concat(out)
end

local function random_base62(n)
  local out = {}
  for i = 1, n do out[i] = digit[math.random(0, 61)] end
  return table.concat(out)
end

local function checksum(s) return base62(crc32(s), 6) end

-- Per-thread state (each wrk thread runs its own copy of this script).
wellformed, malformed = 0, 0
sample_wellformed, sample_malformed = "", ""
local prefix, counter = "", 0
local SAMPLES = 4

function init(_)
  local nonce = tonumber(os.getenv("BENCH_NONCE") or "0")
  math.randomseed(nonce * 1000 + (tid or 0))
  prefix = base62(nonce % (62 ^ 6), 6) .. base62(tid or 0, 2)
end

local function next_key()
  counter = counter + 1
  local body = prefix .. base62(counter, 8) .. random_base62(24) -- 40 characters
  local head = "kg_" .. body
  local sum = checksum(head)
  if counter % 2 == 0 then
    wellformed = wellformed + 1
    if wellformed <= SAMPLES then sample_wellformed = sample_wellformed .. " " .. head .. sum end
    return head .. sum
  end
  malformed = malformed + 1
  local key
  local kind = counter % 8 -- 1, 3, 5, 7
  if kind == 1 then -- right shape, wrong checksum: the costliest malformed key
    local last = sum:sub(6, 6)
    local i = ALPHABET:find(last, 1, true) % 62
    key = head .. sum:sub(1, 5) .. digit[i]
  elseif kind == 3 then -- one character short
    key = head .. sum:sub(1, 5)
  elseif kind == 5 then -- wrong prefix
    key = "kx_" .. body .. sum
  else -- a character outside base62 (with a checksum that would match it)
    local bad = "kg_" .. body:sub(1, 20) .. "-" .. body:sub(22)
    key = bad .. checksum(bad)
  end
  if malformed <= SAMPLES then sample_malformed = sample_malformed .. " " .. key end
  return key
end

function request()
  return wrk.format(nil, nil, { ApiKey = next_key() })
end
