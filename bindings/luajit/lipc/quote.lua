-- Quoting command-line arguments (lipc_quote_sh/win/cmd).
--
--   quote.sh(s)   -> s unchanged if it has only safe characters, else in
--                    single quotes ('\'' for each '): for a POSIX shell
--   quote.win(s)  -> for a Windows command line (CommandLineToArgvW / the
--                    MSVC runtime rules)
--   quote.cmd(s)  -> for an argument passing through cmd.exe (.bat/.cmd):
--                    the win form with cmd.exe metacharacters and % escaped;
--                    a newline or carriage return fails with EINVAL
--   quote.join(list [, style])  -> the quoted arguments joined by spaces;
--                    style "sh" (default), "win" or "cmd"
--   quote.arg(s [, style])      -> quote[style](s), style "sh"/"unix" (default),
--                    "win"/"windows", "cmd"
--   quote.esc(s [, style])      -> s escaped for use INSIDE double quotes, not
--                    quoted (luapower's proc.esc): style "sh"/"unix" (default)
--                    puts a backslash before $ ` " \ (the characters special
--                    inside "..." of a POSIX shell); "win"/"windows" doubles
--                    the backslashes before a " and at the end and escapes
--                    each " (the CommandLineToArgvW / MSVC rules)
-- Each returns the string, or nil, msg, code, errno; an argument that is not
-- a string (or number) or holds a NUL byte raises.
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local util = require "lipc.util"

local out_string, check_cstring, argerror = util.out_string, errors.check_cstring, errors.argerror
local q_sh, q_win, q_cmd = C.lipc_quote_sh, C.lipc_quote_win, C.lipc_quote_cmd

local quote = {}

function quote.sh(s) return out_string(q_sh, check_cstring(s, 1, "sh", "argument")) end
function quote.win(s) return out_string(q_win, check_cstring(s, 1, "win", "argument")) end
function quote.cmd(s) return out_string(q_cmd, check_cstring(s, 1, "cmd", "argument")) end

local styles = { sh = q_sh, unix = q_sh, posix = q_sh, win = q_win, windows = q_win, cmd = q_cmd }

local function style_fn(style, n, fname)
  local f = styles[style or "sh"]
  if not f then argerror(n, fname, "'sh', 'win' or 'cmd'", tostring(style), 2) end
  return f
end

function quote.arg(s, style)
  local f = style_fn(style, 2, "arg")
  return out_string(f, check_cstring(s, 1, "arg", "argument"))
end

local esc_styles = { sh = "sh", unix = "sh", posix = "sh", win = "win", windows = "win" }

function quote.esc(s, style)
  local st = esc_styles[style or "sh"]
  if not st then argerror(2, "esc", "'sh' or 'win'", tostring(style)) end
  s = check_cstring(s, 1, "esc", "argument")
  if st == "sh" then return (s:gsub('[$`"\\]', "\\%0")) end
  s = s:gsub('(\\*)"', function(bs) return bs .. bs .. '\\"' end)
  return (s:gsub("\\+$", "%0%0"))
end

function quote.join(list, style)
  if type(list) ~= "table" then argerror(1, "join", "table", type(list)) end
  local f = style_fn(style, 2, "join")
  local out = {}
  for i = 1, #list do
    local q, msg, code, e = out_string(f, check_cstring(list[i], 1, "join", "list of strings"))
    if not q then return nil, msg, code, e end
    out[i] = q
  end
  return table.concat(out, " ")
end

return quote
