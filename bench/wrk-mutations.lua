-- wrk script for bench/wrk.sh: issue 14's two ordinary mutations, each on a uniformly random one of
-- CUSTOMERS (the bench_ent_<i> customers kassa-bench's `entitlements` scenario creates).
--   OP=put_customer   PUT /v1/customers/{id} that changes a field (a new metadata value each time; 200)
--   OP=credit_grant   POST /v1/credit_grants of 10 api_calls credits (a bucket, a movement, an audit record
--                     and an event per request; 201)
-- Any other status is counted as refused, so bench/wrk.sh reports it as an error.
local key = os.getenv("KEY")
local op = os.getenv("OP")
local customers = tonumber(os.getenv("CUSTOMERS") or "10000")
local expected = op == "credit_grant" and 201 or 200

wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

-- done() runs in wrk's main Lua state, not the threads': it sums what each thread counted.
local threads = {}
function setup(thread)
  thread:set("seed", math.random(1, 2147483647))
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed or os.time())
end

refused = 0

request = function()
  local c = math.random(0, customers - 1)
  if op == "credit_grant" then
    return wrk.format("POST", "/v1/credit_grants", nil,
      '{"customer_id":"bench_ent_' .. c .. '","feature_id":"api_calls","amount":10,"category":"paid"}')
  end
  return wrk.format("PUT", "/v1/customers/bench_ent_" .. c, nil,
    '{"name":"Bench ' .. c .. '","metadata":{"n":"' .. math.random(1, 2147483647) .. '"}}')
end

-- wrk counts only 4xx/5xx as non-2xx; a 201 where 200 was expected (a customer created, not updated)
-- would measure the wrong thing.
response = function(status, headers, body)
  if status ~= expected and status < 400 then
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("refused") end
  io.write(string.format("[wrk-extra] refused=%d\n", total))
end
