#!lua
--[[
  issue-5: issue-or-reuse the device session of one identity (client, username, scopes), with
  the password grant's lock check and reset. One atomic step.

  KEYS[1]  <base>s:<sid>             the identity's session (reuse on), or the new random one (reuse off)
  KEYS[2]  <base>x                   the index of the tag's sessions
  KEYS[3]  <base>a:<hash>            the new access token's pointer
  KEYS[4]  <base>r:<hash>            the new refresh token's pointer (untouched without one)
  KEYS[5]  <base>f:<login key hash>  failed-login counters of the user (untouched unless checked)
  Found through data (same hash tag): the pointers of the session it replaces; the most recent
  other session of the id prefix (read to keep the index's promise); the least recently used
  sessions of this user and client when the device limit ends them.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  JSON array A of:
  A[1]     session id (of KEYS[1])
  A[2]     client id            A[3]     username ('' for client_credentials)
  A[4]     scopes, sorted, space-separated
  A[5]     the device scope, or ''
  A[6]     access token hash    A[7]     refresh token hash ('' for none)
  A[8]     access seed          A[9]     refresh seed ('' for none; both '' when reuse is off)
  A[10]    key id the new tokens are MACed with
  A[11]    key ids the caller can still MAC with, space-separated
  A[12]    now, ms              A[13]    access TTL, ms      A[14]    refresh TTL, ms (0: none)
  A[15]    '1' to reuse a live session, '0' to always make a new one
  A[16]    reuse only while more than this many ms are left
  A[17]    device limit (live sessions of this user with this client; 0: none)
  A[18]    'end-oldest' or 'refuse' at the limit
  A[19]    client IP ('' : no lock check)
  A[20]    failed logins from one IP that lock the user there
  A[21]    failed logins from all IPs that lock the user everywhere

  Output:
    {1, sid, access seed, refresh seed, key id, access ms left, created ms}   reused
    {0, sid, id of the session the limit ended or ''}                          issued
    {-1, ms until the lock ends}                                               locked
    {-2}                                                                       refused: device limit
]]
local base = ARGV[1]
-- One JSON array instead of twenty arguments: far less work for the client that sends them.
local A = cjson.decode(ARGV[2])
--@include session

local now = tonumber(A[12])
local ip = A[19]

if ip ~= '' then
  local f = redis.call('HMGET', KEYS[5], '*', ip)
  if tonumber(f[2] or 0) >= tonumber(A[20]) or tonumber(f[1] or 0) >= tonumber(A[21]) then
    return {-1, redis.call('PTTL', KEYS[5])}
  end
end

-- RFC 6749 §4.3.2: a successful login clears what this IP had counted against the user.
local function loggedIn()
  if ip == '' then return end
  local mine = redis.call('HGET', KEYS[5], ip)
  if mine then
    redis.call('HDEL', KEYS[5], ip)
    if redis.call('HINCRBY', KEYS[5], '*', -tonumber(mine)) <= 0 then redis.call('HDEL', KEYS[5], '*') end
    if redis.call('HLEN', KEYS[5]) == 0 then redis.call('DEL', KEYS[5]) end
  end
end

local sid = A[1]
local s = redis.call('HMGET', KEYS[1], 'c', 'u', 'sc', 'as', 'rs', 'k', 'exp', 'ct', 'rexp')
if s[1] then
  -- With reuse off the id is random: a session already there is a collision, ended below.
  if A[15] == '1' and s[1] == A[2] and s[2] == A[3] and s[3] == A[4] and s[4] ~= '' and usableKey(s[6], A[11]) then
    local left = tonumber(s[7]) - now
    if left > tonumber(A[16]) then
      redis.call('HSET', KEYS[1], 'lu', now)
      index(sid, math.max(tonumber(s[7]), tonumber(s[9])), now)
      loggedIn()
      return {1, sid, s[4], s[5], s[6], left, s[8]}
    end
  end
  -- Too close to expiry, or MACed with a dropped secret: this device's session is replaced,
  -- not duplicated.
  endSession(sid)
end

local accessTtl = tonumber(A[13])
local refreshTtl = tonumber(A[14])
local life = math.max(accessTtl, refreshTtl)
local limit = tonumber(A[17])
local ended = ''
-- The sessions of this user and client: those whose ids have its prefix. One of them is read to
-- keep the index's promise (see LRU in the include): unless the tag is flagged, every session
-- under a prefix belongs to one (client, username).
local mine, ordered, flagged = liveSessions(now, string.sub(sid, 1, 3))
for i = #mine, 1, -1 do
  if flagged then break end
  local o = redis.call('HMGET', base .. 's:' .. mine[i], 'c', 'u')
  if o[1] then
    if o[1] ~= A[2] or o[2] ~= A[3] then
      flagged = true
      redis.call('ZADD', KEYS[2], string.format('%.0f', FLAG), '0')
    end
    break
  end
end
if limit > 0 and #mine >= limit then
  if flagged or not ordered then
    -- The fields decide whose each session is, and when it was last used.
    local byUse = {}
    for _, other in ipairs(mine) do
      local o = redis.call('HMGET', base .. 's:' .. other, 'c', 'u', 'lu')
      if o[1] == A[2] and o[2] == A[3] then byUse[#byUse + 1] = {other, tonumber(o[3])} end
    end
    table.sort(byUse, function(a, b) return a[2] < b[2] end)
    mine = {}
    for i, entry in ipairs(byUse) do mine[i] = entry[1] end
  end
  if #mine >= limit then
    if A[18] == 'refuse' then return {-2} end
    -- Reuse and refresh never count: only a new session ends the least recently used ones. One
    -- whose hash is already gone (expired by Redis' clock a moment before the index says) was
    -- counted wrongly, and ending it makes room all the same.
    local count, i = #mine, 1
    while count >= limit do
      if endSession(mine[i]) == 1 then ended = mine[i] end
      count = count - 1
      i = i + 1
    end
  end
end

redis.call('SET', KEYS[3], sid, 'PX', accessTtl)
if A[7] ~= '' then redis.call('SET', KEYS[4], sid, 'PX', refreshTtl) end
redis.call('HSET', KEYS[1],
  'c', A[2], 'u', A[3], 'sc', A[4], 'dv', A[5],
  'ah', A[6], 'rh', A[7], 'as', A[8], 'rs', A[9], 'k', A[10],
  'iat', now, 'exp', now + accessTtl, 'rexp', now + refreshTtl, 'ct', now, 'lu', now)
redis.call('PEXPIRE', KEYS[1], life)
index(sid, now + life, now)
loggedIn()
return {0, sid, ended}
