#!lua flags=allow-oom
--[[
  devices-3: the self-service device endpoints, authenticated by the caller's own access token,
  in one atomic step: list the caller's sessions, end one, or end all the others.

  KEYS[1]  <base>a:<hash>   the caller's access token pointer
  KEYS[2]  <base>s:<sid>    the session to end ('end'); unused otherwise
  KEYS[3]  <base>x          the index of the tag's sessions
  Found through data (same hash tag): the caller's session and the sessions it lists or ends.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  now, ms
  ARGV[3]  'list', 'end' or 'end-others'

  Output:
    {0}   the caller's token is not live
    {-3}  the caller's token has no user (client_credentials)
    list:        {1, caller sid, client, username, then per session: sid, device, scopes, created ms, last used ms, expires ms}
    end:         {1} ended; {-4} not a live session of the caller's user and client
    end-others:  {1, number ended}
]]
local base = ARGV[1]
--@include session

local now = tonumber(ARGV[2])
local caller, me = follow(KEYS[1], 'c', 'u')
if not caller then return {0} end
if me[2] == '' then return {-3} end

local op = ARGV[3]
if op == 'end' then
  local t = redis.call('HMGET', KEYS[2], 'c', 'u')
  if t[1] ~= me[1] or t[2] ~= me[2] then return {-4} end
  endSession(string.sub(KEYS[2], #base + 3))
  return {1}
end

-- The prefix picks the caller's user and client out of the tag; the fields decide.
local live = liveSessions(now, sessionPrefix(me[1], me[2]))
if op == 'end-others' then
  local ended = 0
  for _, sid in ipairs(live) do
    local o = redis.call('HMGET', base .. 's:' .. sid, 'c', 'u')
    if sid ~= caller and o[1] == me[1] and o[2] == me[2] then
      ended = ended + endSession(sid)
    end
  end
  return {1, ended}
end

local out = {1, caller, me[1], me[2]}
for _, sid in ipairs(live) do
  local s = redis.call('HMGET', base .. 's:' .. sid, 'c', 'u', 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp')
  if s[1] == me[1] and s[2] == me[2] then
    out[#out + 1] = sid
    out[#out + 1] = s[3]
    out[#out + 1] = s[4]
    out[#out + 1] = s[5]
    out[#out + 1] = s[6]
    out[#out + 1] = math.max(tonumber(s[7]), tonumber(s[8]))
  end
end
return out
