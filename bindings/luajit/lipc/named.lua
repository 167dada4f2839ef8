-- What every named object's open() shares (mutexes, events, shared memory;
-- lipc.sem predates it and spells the same thing out): the options table
-- and its flags, and the NUL check of the name. The name rule itself is
-- checked in one place, the library (EINVAL / ENAMETOOLONG with a message
-- saying which rule was broken).
--   opts.create          create if missing
--   opts.exclusive       with create: fail with EEXIST if it exists
--   opts.unlink_on_close unlink the name when this object closes, if it created it
--   opts.mode            permission bits of a new object (0 or nil: 0600; the
--                        umask applies, as for io.open and sem_open)
--   opts.trust_foreign   open an existing object even if another user owns it.
--                        Without it such an object fails with EPERM: anyone
--                        can create a file under any name in /dev/shm first.
--                        An object that is not a valid one of its kind fails
--                        with EINVAL either way.
local errors = require "lipc.errors"

local check_type, check_uint32, check_name = errors.check_type, errors.check_uint32, errors.check_name

local CREATE, EXCL, UNLINK_ON_CLOSE, TRUST_FOREIGN = 1, 2, 4, 8

local named = { CREATE = CREATE, EXCL = EXCL, UNLINK_ON_CLOSE = UNLINK_ON_CLOSE, TRUST_FOREIGN = TRUST_FOREIGN }

-- Checks name and opts of fname(name, opts) and returns name, opts (a table,
-- perhaps empty), flags, mode. Misuse raises at the caller of fname.
function named.args(name, opts, fname)
  check_name(name, 1, fname, 2)
  if opts ~= nil then check_type(opts, "table", 2, fname, 2) end
  opts = opts or {}
  local flags = (opts.create and CREATE or 0) + (opts.exclusive and EXCL or 0)
              + (opts.unlink_on_close and UNLINK_ON_CLOSE or 0) + (opts.trust_foreign and TRUST_FOREIGN or 0)
  local mode = check_uint32(opts.mode or 0, 2, fname .. " (opts.mode)", 2)
  return name, opts, flags, mode
end

return named
