-- Shared by the wrk scripts of `python -m loadtest --capacity` (loadtest/wrk.py runs them).
-- Loaded with dofile() from each script. Configuration comes from the environment (WRK_*),
-- set by the Python runner:
--   WRK_API_KEY   the service's API key (sent as "Authorization: ApiKey ..."; the anchor ignores it)
--   WRK_NONCE     random hex per wrk run, part of every event id (ids of two runs never collide)
-- Each wrk thread has its own Lua state. setup() (main state) numbers the threads; init() (the
-- thread's state) seeds math.random with the thread number and the monotonic clock in ns, so
-- threads never share a random sequence. Event ids are v4-shaped UUIDs made of random bits, the
-- run nonce, the thread number and a per-thread counter: unique within a run by construction,
-- random in their leading bits like any client's v4 ids (index inserts are not sequential).
-- done() prints one line "WRK_JSON {...}" with wrk's summary and latency percentiles (µs), and
-- with WRK_HISTOGRAM=1 every distinct latency with its count.
-- This file defines wrk's setup() and done() for every script; a script defines init() (calling
-- common.init()) and request().

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } wrk_timespec;
int clock_gettime(int clk_id, wrk_timespec *tp);
]])

local M = {}
local threads = {}
local numbered = 0

function M.monotonic_ns()
  local ts = ffi.new("wrk_timespec")
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end

function M.env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    if default == nil then
      error(name .. " is required")
    end
    return default
  end
  return value
end

-- The non-empty lines of file `name`; with `keep`, only those whose 0-based index n passes keep(n).
function M.lines(name, keep)
  local lines, n = {}, 0
  for line in io.lines(name) do
    if #line > 0 then
      if keep == nil or keep(n) then
        table.insert(lines, line)
      end
      n = n + 1
    end
  end
  return lines
end

-- setup() runs once per thread in the main Lua state, before the threads start.
-- wrk starts each thread right after its setup() and init(), before the next thread's setup(),
-- so the number of threads comes from WRK_THREADS (set by loadtest/wrk.py), not from counting here.
function setup(thread)
  numbered = numbered + 1
  thread:set("thread_no", numbered)
  table.insert(threads, thread)
end

-- Call from the script's init() (each thread's state; thread_no was set by setup()).
function M.init()
  math.randomseed((thread_no or 0) * 1000003 + (M.monotonic_ns() % 2147483647))
  for _ = 1, 10 do
    math.random() -- the first values after seeding are poorly mixed in some Lua versions
  end
  thread_count = tonumber(M.env("WRK_THREADS", "1"))
  M.nonce = tonumber(M.env("WRK_NONCE", "0"), 16) % 4096
  M.counter = 0
  sent = 0 -- read back by done() through thread:get("sent")
  wrk.headers["Authorization"] = "ApiKey " .. M.env("WRK_API_KEY", "none")
  wrk.headers["Content-Type"] = "application/json"
end

-- wrk calls the first thread's request() once right after its init(), to see how many requests
-- the returned string holds, and throws the result away. Scripts start request() with
--   if common.dry_run() then return wrk.format("GET", "/") end
-- so that call consumes no prepared body and counts nothing.
local dry_run_done = false
function M.dry_run()
  if dry_run_done or thread_no ~= 1 then
    return false
  end
  dry_run_done = true
  return true
end

local function hex(n, width)
  return string.format("%0" .. width .. "x", n)
end

-- A v4-shaped UUID: 48 random bits, version 4, thread number (12 bits), variant + run nonce,
-- per-thread counter (48 bits).
function M.event_id()
  M.counter = M.counter + 1
  return hex(math.random(0, 0xffff), 4)
    .. hex(math.random(0, 0xffff), 4)
    .. "-"
    .. hex(math.random(0, 0xffff), 4)
    .. "-4"
    .. hex((thread_no or 0) % 4096, 3)
    .. "-"
    .. hex(0x8000 + math.random(0, 3) * 0x1000 + M.nonce, 4)
    .. "-"
    .. hex(M.counter, 12)
end

local function json_number(x)
  if x ~= x or x == math.huge or x == -math.huge then
    return "0"
  end
  return string.format("%.3f", x)
end

-- done() runs once in the main state after the threads stopped.
function done(summary, latency, requests)
  local sent, exhausted, late, finished = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    sent = sent + (t:get("sent") or 0)
    late = late + (t:get("late") or 0)
    finished = math.max(finished, t:get("finished_us") or 0)
    if t:get("exhausted") then
      exhausted = exhausted + 1
    end
  end
  local e = summary.errors
  local parts = {
    string.format('"duration_us": %d', summary.duration),
    string.format('"requests": %d', summary.requests),
    string.format('"bytes": %d', summary.bytes),
    string.format('"sent": %d', sent),
    string.format('"threads": %d', #threads),
    string.format('"exhausted_threads": %d', exhausted),
    string.format('"late": %d', late),
    string.format('"finished_us": %d', exhausted == #threads and finished or 0),
    string.format(
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
      e.connect,
      e.read,
      e.write,
      e.status,
      e.timeout
    ),
  }
  local pct = {}
  for _, p in ipairs({ 50, 90, 95, 99, 99.9 }) do
    table.insert(pct, string.format('"%s": %d', tostring(p), latency:percentile(p)))
  end
  table.insert(
    parts,
    string.format(
      '"latency_us": {"min": %d, "max": %d, "mean": %s, "stdev": %s, "percentiles": {%s}}',
      latency.min,
      latency.max,
      json_number(latency.mean),
      json_number(latency.stdev),
      table.concat(pct, ", ")
    )
  )
  if os.getenv("WRK_HISTOGRAM") == "1" then
    -- Every distinct latency (µs) with its count, so the runner can merge several wrk runs exactly.
    local pairs_ = {}
    for i = 1, #latency do
      local value, count = latency(i)
      table.insert(pairs_, string.format("[%d, %d]", value, count))
    end
    table.insert(parts, '"histogram": [' .. table.concat(pairs_, ", ") .. "]")
  end
  io.write("\nWRK_JSON {" .. table.concat(parts, ", ") .. "}\n")
end

return M
