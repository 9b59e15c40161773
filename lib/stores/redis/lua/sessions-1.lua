#!lua flags=allow-oom
--[[
  sessions-1: operators' view of one user's device sessions: list them (one client or all) or
  end them all, across every client (after a password change). Bounded by that user's own
  sessions; never a scan.

  KEYS[1]  <base>xc   the indexes of this hash tag (its users' sessions, one index per user and client)
  Found through data (same hash tag): the indexes x:<index> it names and their sessions.

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
-- The hash tag folds letter case: other users' indexes may be listed too, hence the check of u.
local clients = ARGV[4] ~= '' and {indexKey(ARGV[4], ARGV[3])} or redis.call('SMEMBERS', KEYS[1])
local out, ended = {}, 0
for _, clientKey in ipairs(clients) do
  for _, sid in ipairs(liveSessions(base .. 'x:' .. clientKey, now)) do
    local s = redis.call('HMGET', base .. 's:' .. sid, 'u', 'c', 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp')
    if s[1] == ARGV[3] then
      if ARGV[5] == 'end' then
        ended = ended + endSession(sid)
      else
        out[#out + 1] = sid
        for i = 2, 6 do out[#out + 1] = s[i] end
        out[#out + 1] = math.max(tonumber(s[7]), tonumber(s[8]))
      end
    end
  end
end
if ARGV[5] == 'end' then return {ended} end
return out
