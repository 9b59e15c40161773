#!lua flags=allow-oom
--[[
  session-end-2: an operator ends one session of a user.

  KEYS[1]  <base>s:<sid>
  KEYS[2]  <base>x        the index of the tag's sessions
  Found through data (same hash tag): the session's pointers.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  username the session must belong to

  Output: {1} ended; {0} no such live session of that user
]]
local base = ARGV[1]
--@include session

if redis.call('HGET', KEYS[1], 'u') ~= ARGV[2] then return {0} end
return {endSession(string.sub(KEYS[1], #base + 3))}
