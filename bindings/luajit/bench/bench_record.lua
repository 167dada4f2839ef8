-- The machine-readable side of the LuaJIT benchmarks: one JSON object per
-- printed figure, appended as a line to the file LIPC_BENCH_JSONL names
-- (scripts/bench.sh sets it and assembles build/bench.json from every
-- language's lines). Without the variable nothing is written.
--   local record = dofile(arg[0]:match("^(.*/)") .. "bench_record.lua")
--   record(name, value, unit[, baseline_name, baseline_value])

local function jstring(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    return ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function jnumber(v)
  v = tonumber(v)
  if v == nil or v ~= v or v == math.huge or v == -math.huge then return "null" end
  return ("%.6g"):format(v)
end

return function(name, value, unit, base_name, base_value)
  local path = os.getenv("LIPC_BENCH_JSONL")
  if not path or path == "" then return end
  local has_base = base_name ~= nil
  local ratio = (has_base and base_value and base_value ~= 0) and value / base_value or nil
  local line = ('{"language":"luajit","name":%s,"value":%s,"unit":%s,"baseline_name":%s,'
    .. '"baseline_value":%s,"ratio":%s}\n'):format(jstring(name), jnumber(value), jstring(unit),
    has_base and jstring(base_name) or "null", has_base and jnumber(base_value) or "null", jnumber(ratio))
  -- append: several benchmarks (and languages) share the file
  local f = assert(io.open(path, "a"))
  assert(f:write(line))
  assert(f:close())
end
