-- wrk script for bench/ack_latency.py: POST one signed Slack request and count the answers.
--
-- The request comes from the environment, written by the benchmark just before wrk starts
-- (Bolt refuses a signature whose timestamp is more than five minutes old):
--   BENCH_BODY_FILE     file holding the form body, exactly as signed
--   BENCH_CONTENT_TYPE  its Content-Type
--   BENCH_TIMESTAMP     X-Slack-Request-Timestamp
--   BENCH_SIGNATURE     X-Slack-Signature
--   BENCH_VARIANTS_FILE (optional) more requests, one "signature body" line each, same timestamp:
--                       each connection sends the first request and these in turn
--   BENCH_AUTHORIZATION (optional) an Authorization header (a webhook's bearer token): sent instead
--                       of the two Slack headers, and the signatures in the variants file are "-"
-- `done` prints one line, "BENCH_RESPONSES ok=N non2xx=M first_bad=S", that the benchmark
-- parses: wrk's own "Non-2xx or 3xx responses" line only counts statuses above 399.

local function required(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("wrk_request.lua: environment variable " .. name .. " is not set")
  end
  return value
end

local file = assert(io.open(required("BENCH_BODY_FILE"), "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = required("BENCH_CONTENT_TYPE")
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
else
  wrk.headers["X-Slack-Request-Timestamp"] = required("BENCH_TIMESTAMP")
  wrk.headers["X-Slack-Signature"] = required("BENCH_SIGNATURE")
end

local variants_path = os.getenv("BENCH_VARIANTS_FILE")
local requests = nil
local next_request = 0

-- Built in init, per thread: by then wrk.init has added the Host header to wrk.headers.
local function load_variants()
  requests = { wrk.format() }
  for line in io.lines(variants_path) do
    local signature, variant = line:match("^(%S+) (.*)$")
    local headers = {}
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
    if signature ~= "-" then
      headers["X-Slack-Signature"] = signature
    end
    table.insert(requests, wrk.format(nil, nil, headers, variant))
  end
end

if variants_path ~= nil and variants_path ~= "" then
  function request()
    next_request = next_request % #requests + 1
    return requests[next_request]
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if variants_path ~= nil and variants_path ~= "" then
    load_variants()
  end
  answered_ok = 0
  answered_bad = 0
  first_bad = 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    answered_ok = answered_ok + 1
  else
    answered_bad = answered_bad + 1
    if first_bad == 0 then
      first_bad = status
    end
  end
end

function done(summary, latency, requests)
  local ok, bad, first = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("answered_ok")
    bad = bad + thread:get("answered_bad")
    local status = thread:get("first_bad")
    if first == 0 and status ~= 0 then
      first = status
    end
  end
  io.write(string.format("BENCH_RESPONSES ok=%d non2xx=%d first_bad=%d\n", ok, bad, first))
end
