-- wrk script for bench/wrk.sh's ingest target: POST /v1/meter_events/batch with BATCH events (default
-- 1,000) of the metering scenario's shape (event bench_llm, a model of 4, 1-5,000 tokens, a user of 50, a
-- region, a flag; ~200 bytes each), over CUSTOMERS customers, stamped within the last SPREAD seconds (300:
-- live traffic). Every fifth event repeats an id this thread already sent, which the server counts as a
-- duplicate. The meters are those kassa-bench's `metering` scenario creates.
-- RATE (events offered per second, all threads together; unset: as fast as the answers come) paces the
-- batches on a fixed schedule instead, for the roller-lag phase of bench/wrk.sh: each thread sends a
-- batch every THREADS * BATCH / RATE seconds of the monotonic clock, whatever the answers' latency.
local key = os.getenv("KEY")
local batch = tonumber(os.getenv("BATCH") or "1000")
local customers = tonumber(os.getenv("CUSTOMERS") or "10000")
local spread = tonumber(os.getenv("SPREAD") or "300")
local models = { "gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-70b" }
local regions = { "eu", "us", "ap" }
local rate = tonumber(os.getenv("RATE") or "0")
local threads_n = tonumber(os.getenv("THREADS") or "2")

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } kassa_timespec;
  int clock_gettime(int clock, kassa_timespec *ts);
]]
local clock = ffi.new("kassa_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

wrk.method = "POST"
wrk.path = "/v1/meter_events/batch"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

local counter = 1
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local prefix, seq
function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  -- Unique per thread and per run, so repeated runs against one server store new events.
  prefix = string.format("wrk_%d_%d_", os.time(), tid or 0)
  seq = 0
end

-- The paced schedule: the next batch of this thread is due at next_at; a late one goes at once and the
-- schedule continues from then (no burst to catch up).
local next_at = nil
if rate > 0 then
  delay = function()
    local now = now_ms()
    if next_at == nil or next_at < now then next_at = now end
    local wait = next_at - now
    next_at = next_at + threads_n * batch * 1000 / rate
    return math.floor(wait)
  end
end

local sent = 0
request = function()
  local now = os.time()
  local parts = {}
  for i = 1, batch do
    local id
    if i % 5 == 0 and seq > 0 then
      id = prefix .. math.random(1, seq)
    else
      seq = seq + 1
      id = prefix .. seq
    end
    local ts = os.date("!%Y-%m-%dT%H:%M:%SZ", now - math.random(0, spread))
    parts[i] = string.format(
      '{"id":"%s","event_name":"bench_llm","customer_id":"bench_mtr_%d","timestamp":"%s","properties":{"model":"%s","tokens":%d,"user":"user_%d","region":"%s","stream":%s}}',
      id, math.random(0, customers - 1), ts, models[math.random(1, 4)], math.random(1, 5000), math.random(0, 49),
      regions[math.random(1, 3)], math.random(0, 1) == 1 and "true" or "false")
  end
  sent = sent + batch
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end

accepted_total, duplicates_total, refused_total = 0, 0, 0
response = function(status, headers, body)
  local a = string.match(body, '"accepted":(%d+)')
  local d = string.match(body, '"duplicates":(%d+)')
  if a then accepted_total = accepted_total + tonumber(a) end
  if d then duplicates_total = duplicates_total + tonumber(d) end
  -- A refused event (an entry in "rejected") or an answer other than 200/202 makes the figure worthless: counted.
  if (status ~= 200 and status ~= 202) or string.find(body, '"index":', 1, true) then refused_total = refused_total + 1 end
end

function done(summary, latency, requests)
  local accepted, duplicates, refused = 0, 0, 0
  for _, t in ipairs(threads) do
    accepted = accepted + t:get("accepted_total")
    duplicates = duplicates + t:get("duplicates_total")
    refused = refused + t:get("refused_total")
  end
  io.write(string.format("[wrk-extra] accepted=%d duplicates=%d refused=%d\n", accepted, duplicates, refused))
end
