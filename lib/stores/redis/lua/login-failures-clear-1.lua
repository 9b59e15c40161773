#!lua flags=allow-oom
--[[
  login-failures-clear-1: an operator forgets a user's failed logins (unlocks the user).

  KEYS[1]  <base>f:<login key hash>

  Output: {1} when there were failures, {0} otherwise
]]
return {redis.call('DEL', KEYS[1])}
