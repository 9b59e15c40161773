#!lua flags=allow-oom
--[[
  sessions-1: operators' view of one user's device sessions: list them (one client or all) or
  end them all, across every client (after a password change). Bounded by the sessions of that
  user's hash tag; never a scan.

  KEYS[1]  <base>x   the index of the tag's sessions
  Found through data (same hash tag): the sessions it names.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  now, ms
  ARGV[3]  username
  ARGV[4]  client id, or '' for every client
  ARGV[5]  'list' or 'end'

  Output:
    list: {per session: sid, client, device, scopes, created ms, last used ms, expires ms}
    end:  {number ended}
]]
local base = ARGV[1]
--@include session

local now = tonumber(ARGV[2])
local prefix = ARGV[4] ~= '' and sessionPrefix(ARGV[4], ARGV[3]) or nil
local out, ended = {}, 0
for _, sid in ipairs(liveSessions(now, prefix)) do
  local s = redis.call('HMGET', base .. 's:' .. sid, 'u', 'c', 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp')
  -- The hash tag folds letter case, and the prefix is short: the fields decide.
  if s[1] == ARGV[3] and (ARGV[4] == '' or s[2] == ARGV[4]) then
    if ARGV[5] == 'end' then
      ended = ended + endSession(sid)
    else
      out[#out + 1] = sid
      for i = 2, 6 do out[#out + 1] = s[i] end
      out[#out + 1] = math.max(tonumber(s[7]), tonumber(s[8]))
    end
  end
end
if ARGV[5] == 'end' then return {ended} end
return out
