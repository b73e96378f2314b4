-- wrk script for bench/wrk.sh: the entitlement calls and issue 14's two ordinary mutations, on one hot
-- customer or on a uniformly random one of CUSTOMERS, with the bench key. The customers, feature and
-- product are the ones kassa-bench's `entitlements` scenario creates (bench_ent_<i>, api_calls, bench_free).
--   OP=check           POST /v1/check with send_event (OP=check_readonly: without it; reads only)
--   OP=track           POST /v1/track of 1
--   OP=put_customer    PUT /v1/customers/{id} that changes a field (a new metadata value each time; 200)
--   OP=credit_grant    POST /v1/credit_grants of 10 api_calls credits (a bucket, a credit transaction, an
--                      audit record and an event per request; 201)
local key = os.getenv("KEY")
local op = os.getenv("OP")
local hot = os.getenv("HOT") == "1"
local customers = tonumber(os.getenv("CUSTOMERS") or "10000")
local readonly = op == "check_readonly"
if readonly then op = "check" end
-- OP=check_without_storage: the same check body on the bench-only route that parses, validates and answers it
-- without storage or group commit (KASSA_BENCH_ROUTES=1): the ceiling the real check can reach on this machine.
-- OP=check_queued / check_committed: the same decided check carried through the balance engine's queue and writer
-- loop, and also through a batch transaction that writes only its marker and waits for a durable COMMIT.
local check_path = "/v1/check"
if op == "check_without_storage" or op == "check_queued" or op == "check_committed" then
  check_path = "/v1/bench_baseline/" .. op; op = "check"
end

wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

-- Each wrk thread runs its own Lua state: seed each differently so the threads do not walk one sequence.
-- done() runs in wrk's main Lua state, not the threads': it sums what each thread counted.
local threads = {}
function setup(thread)
  thread:set("seed", math.random(1, 2147483647))
  table.insert(threads, thread)
end

-- The request of customer c. A check, track or grant is the same request every time for a customer, so each thread
-- formats them all once in init() and request() only picks one: wrk shares the two cores with the server, and what
-- its Lua spends a request is taken from the server's share (/healthz, the ratios' baseline, runs no Lua at all).
-- A PUT changes a field each time (a new metadata value), so it is made for every request.
local function format(c)
  if op == "check" then
    return wrk.format("POST", check_path, nil, '{"customer_id":"bench_ent_' .. c .. '","feature_id":"api_calls","required_balance":1,"send_event":'
      .. (readonly and 'false' or 'true') .. '}')
  elseif op == "track" then
    return wrk.format("POST", "/v1/track", nil, '{"customer_id":"bench_ent_' .. c .. '","feature_id":"api_calls","value":1}')
  elseif op == "credit_grant" then
    return wrk.format("POST", "/v1/credit_grants", nil,
      '{"customer_id":"bench_ent_' .. c .. '","feature_id":"api_calls","amount":10,"category":"paid"}')
  end
  return wrk.format("PUT", "/v1/customers/bench_ent_" .. c, nil,
    '{"name":"Bench ' .. c .. '","metadata":{"n":"' .. math.random(1, 2147483647) .. '"}}')
end

local formatted = {}

function init(args)
  math.randomseed(seed or os.time())
  if op ~= "put_customer" then
    for c = 0, (hot and 0 or customers - 1) do formatted[c] = format(c) end
  end
end

denied = 0

request = function()
  local c = hot and 0 or math.random(0, customers - 1)
  return formatted[c] or format(c)
end

-- Counted as refused, so bench/wrk.sh reports the figure with errors: a check answered "allowed":false
-- (it did nothing), and a mutation answered with a 2xx/3xx other than its own (a customer created, not
-- updated, would measure the wrong thing; wrk counts 4xx and 5xx itself).
local expected = op == "credit_grant" and 201 or 200
response = function(status, headers, body)
  if op == "check" then
    if status == 200 and string.find(body, '"allowed":false', 1, true) then denied = denied + 1 end
  elseif status ~= expected and status < 400 then
    denied = denied + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("denied") end
  io.write(string.format("[wrk-extra] denied=%d\n", total))
end
