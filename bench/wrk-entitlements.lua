-- wrk script for bench/wrk.sh: POST /v1/check (send_event) or /v1/track on one hot customer or on a
-- uniformly random one of CUSTOMERS, with the bench key. The customers, feature and product are the
-- ones kassa-bench's `entitlements` scenario creates (bench_ent_<i>, api_calls, bench_free).
local key = os.getenv("KEY")
local op = os.getenv("OP")
local hot = os.getenv("HOT") == "1"
local customers = tonumber(os.getenv("CUSTOMERS") or "10000")
-- OP=check_readonly: a check without send_event (reads the balance, changes nothing).
local readonly = op == "check_readonly"
if readonly then op = "check" end
local path = "/v1/" .. op

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

-- Each wrk thread runs its own Lua state: seed each differently so the threads do not walk one sequence.
-- done() runs in wrk's main Lua state, not the threads': it sums what each thread counted.
local threads = {}
function setup(thread)
  thread:set("seed", math.random(1, 2147483647))
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed or os.time())
end

denied = 0

request = function()
  local c = hot and 0 or math.random(0, customers - 1)
  local body
  if op == "check" then
    body = '{"customer_id":"bench_ent_' .. c .. '","feature_id":"api_calls","required_balance":1,"send_event":' .. (readonly and 'false' or 'true') .. '}'
  else
    body = '{"customer_id":"bench_ent_' .. c .. '","feature_id":"api_calls","value":1}'
  end
  return wrk.format(nil, path, nil, body)
end

-- A check that answers "allowed":false did nothing; count it so the script can refuse the figure.
response = function(status, headers, body)
  if status == 200 and op == "check" and string.find(body, '"allowed":false', 1, true) then
    denied = denied + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("denied") end
  io.write(string.format("[wrk-extra] denied=%d\n", total))
end
