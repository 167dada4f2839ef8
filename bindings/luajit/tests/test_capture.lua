-- p:communicate() and proc.run() give back exactly the bytes a child wrote,
-- whatever their size and content: sizes on each side of the boundaries the
-- capture has (an empty stream; the first read of 16 KiB that goes to the
-- stack; the 64 KiB pipe; the 1 MiB reads; the first buffer of 2 MiB; the
-- small output of 256 KiB that is copied out of a kept buffer; the kept
-- buffer's 4 MiB floor; more than 64 MiB), binary bytes (every value, NUL
-- included), stdout and stderr at once, a capture after a bigger one (the
-- kept buffer holds the older bytes), and children that close a stream early
-- or exit without reading their input. The expected bytes are written to a
-- file first and the child is `cat`: what comes back must equal the file.
local ffi = require "ffi"
local bit = require "bit"
local lipc = require "lipc"
local h = require "helpers"
local E, P = lipc.errors, lipc.proc

local T = {}
local KiB, MiB = 1024, 1048576

-- n bytes from xorshift32 seeded with seed: every byte value turns up (NUL
-- too), and no stretch repeats at a power-of-two distance, so a chunk put in
-- the wrong place, lost or read twice changes the bytes.
local function pattern(n, seed)
  if n == 0 then return "" end
  local b = ffi.new("uint8_t[?]", n)
  local x = seed
  for i = 0, n - 1 do
    x = bit.bxor(x, bit.lshift(x, 13))
    x = bit.bxor(x, bit.rshift(x, 17))
    x = bit.bxor(x, bit.lshift(x, 5))
    b[i] = bit.band(bit.rshift(x, 11), 255)
  end
  return ffi.string(b, n)
end

local files = 0
local function file_of(s)
  files = files + 1
  local path = ("%s/capture-%d.bin"):format(h.tmpdir(), files)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
  return path
end

-- got must be want, byte for byte; a failure says where they part, not the
-- whole (megabytes of) strings.
local function same_bytes(got, want, what)
  if got == want then return end
  if type(got) ~= "string" then error(("%s: got %s, want %d bytes"):format(what, tostring(got), #want), 2) end
  local n = math.min(#got, #want)
  local a, b = ffi.cast("const uint8_t *", got), ffi.cast("const uint8_t *", want)
  local at = n
  for i = 0, n - 1 do
    if a[i] ~= b[i] then at = i break end
  end
  error(("%s: got %d bytes, want %d; they differ from byte %d"):format(what, #got, #want, at), 2)
end

-- `cat` of the stdout bytes (and of the stderr bytes onto fd 2, at the same
-- time) captured with communicate: both must come back exactly.
local function check_capture(out_bytes, err_bytes, what)
  local cmd = "exec cat " .. h.q(file_of(out_bytes))
  local opts = { stdout = true, autokill = true }
  if err_bytes then
    cmd = ("cat %s >&2 & cat %s; wait"):format(h.q(file_of(err_bytes)), h.q(file_of(out_bytes)))
    opts.stderr = true
  end
  local p = assert(P.spawn(cmd, opts))
  local out, err = p:communicate(nil, 120)
  h.ok(out, ("%s: communicate: %s"):format(what, tostring(err)))
  same_bytes(out, out_bytes, what .. ": stdout")
  if err_bytes then same_bytes(err, err_bytes, what .. ": stderr") else h.eq(err, "", what .. ": stderr not a pipe") end
  h.eq(p:wait(10), 0, what .. ": exit")
  p:close()
end

local BOUNDARIES = {
  0, 1, 2, 4095, 4096, 4097, 16383, 16384, 16385, 65535, 65536, 65537,
  256 * KiB - 1, 256 * KiB, 256 * KiB + 1, MiB - 1, MiB, MiB + 1,
  2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1,
}

function T.every_boundary_size_comes_back_exactly()
  for i, n in ipairs(BOUNDARIES) do check_capture(pattern(n, i), nil, n .. " bytes") end
end

-- Downwards after a big capture: each smaller output is read into the buffer
-- a bigger one left behind (still holding its bytes), or copied out of it.
function T.smaller_captures_after_a_bigger_one_come_back_exactly()
  check_capture(pattern(6 * MiB + 5, 99), nil, "6 MiB + 5 bytes")
  for i = #BOUNDARIES, 1, -1 do
    local n = BOUNDARIES[i]
    check_capture(pattern(n, 1000 + i), nil, n .. " bytes after a bigger capture")
  end
end

function T.more_than_64_mib_comes_back_exactly()
  local n = 64 * MiB + 4099
  check_capture(pattern(n, 7), nil, "64 MiB + 4099 bytes")
  -- then less, into the buffer that one leaves behind, and a small one
  -- copied out of it
  check_capture(pattern(5 * MiB + 3, 8), nil, "5 MiB + 3 bytes after 64 MiB")
  check_capture(pattern(200000, 9), nil, "200000 bytes after 64 MiB")
end

function T.binary_bytes_come_back_exactly()
  local all = {}
  for c = 0, 255 do all[#all + 1] = string.char(c) end
  local every = table.concat(all)
  check_capture(every, nil, "every byte value once")
  check_capture(string.rep(every, 4097) .. "\0", nil, "every byte value, 4097 times, then NUL")
  check_capture(string.rep("\0", 70000), nil, "70000 NULs")
  check_capture("\r\n\0\255\r", "\0", "CR, LF, NUL, 0xff; NUL on stderr")
end

function T.stdout_and_stderr_at_once_come_back_exactly()
  check_capture(pattern(3 * MiB + 7, 11), pattern(2 * MiB + 3, 12), "3 MiB + 7 and 2 MiB + 3")
  check_capture(pattern(16385, 13), pattern(5 * MiB + 1, 14), "16385 and 5 MiB + 1")
  check_capture("", pattern(MiB + 1, 15), "nothing and 1 MiB + 1")
  check_capture(pattern(MiB + 1, 16), "", "1 MiB + 1 and nothing")
end

-- A child that closes stdout long before it exits: communicate goes on with
-- stderr and the exit, and returns both streams whole.
function T.a_child_closing_stdout_early_keeps_both_streams()
  local a, b = pattern(MiB + 17, 21), pattern(300000, 22)
  local cmd = ("cat %s; exec 1>&-; sleep 0.2; cat %s >&2"):format(h.q(file_of(a)), h.q(file_of(b)))
  local p = assert(P.spawn(cmd, { stdout = true, stderr = true, autokill = true }))
  local out, err = p:communicate(nil, 60)
  h.ok(out, "communicate: " .. tostring(err))
  same_bytes(out, a, "stdout, closed early")
  same_bytes(err, b, "stderr, written after stdout closed")
  h.eq(p:wait(0), 0, "exited already")
  p:close()
end

-- A child that exits without reading its input: the rest of the input is
-- dropped (no error), and its output comes back whole.
function T.a_child_exiting_without_reading_its_input_keeps_its_output()
  local a = pattern(2 * MiB + 1, 31)
  local cmd = ("head -c 10 >/dev/null; exec cat %s"):format(h.q(file_of(a)))
  local p = assert(P.spawn(cmd, { stdin = true, stdout = true, stderr = true, autokill = true }))
  local out, err = p:communicate(pattern(8 * MiB, 32), 60)
  h.ok(out, "communicate: " .. tostring(err))
  same_bytes(out, a, "stdout")
  h.eq(err, "", "stderr")
  h.eq(p:wait(0), 0, "exited already")
  p:close()
end

-- What a cap keeps is the first max_output bytes, exactly.
function T.a_cap_keeps_exactly_the_first_bytes()
  local a = pattern(3 * MiB + 9, 41)
  local path = file_of(a)
  local p = assert(P.spawn("exec cat " .. h.q(path), { stdout = true, autokill = true }))
  local out = p:communicate(nil, 60, #a)
  same_bytes(out, a, "a cap of exactly the output")
  p:wait(10); p:close()
  p = assert(P.spawn("exec cat " .. h.q(path), { stdout = true, autokill = true }))
  local r, msg, code, _, kept = p:communicate(nil, 60, 2 * MiB + 1)
  h.eq(r, nil, "past the cap: " .. tostring(msg))
  h.eq(code, E.ERANGE, "ERANGE")
  same_bytes(kept, a:sub(1, 2 * MiB + 1), "what the cap keeps")
  p:kill(); p:wait(10); p:close()
end

-- proc.run captures through communicate: the same bytes.
function T.run_captures_exactly()
  local a, b = pattern(4 * MiB + 1, 51), pattern(70001, 52)
  local res = assert(P.run(("cat %s >&2 & cat %s; wait"):format(h.q(file_of(b)), h.q(file_of(a)))))
  same_bytes(res.stdout, a, "run: stdout")
  same_bytes(res.stderr, b, "run: stderr")
  h.eq(res.code, 0, "run: code")
  local input = pattern(MiB + 3, 53)
  res = assert(P.run({ "cat" }, { input = input }))
  same_bytes(res.stdout, input, "run: input through cat")
end

return h.posix_only_file(T, "POSIX programs (sh, cat, head); Windows captures are in test_windows.lua")
