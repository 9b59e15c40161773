#!lua
--[[
  issue-7: issue-or-reuse the device session of one identity (client, username, scopes), with
  the password grant's lock check and reset. One atomic step.

  KEYS[1]  <base>i:<identity>        the identity's pointer
  KEYS[2]  <base>x:<index>           the index of this user's sessions with this client
  KEYS[3]  <base>s:<new sid>         the new session, if one is made
  KEYS[4]  <base>a:<hash>            the new access token's pointer
  KEYS[5]  <base>r:<hash>            the new refresh token's pointer (untouched without one)
  KEYS[6]  <base>f:<login key hash>  failed-login counters of the user (untouched unless checked)
  KEYS[7]  <base>xc                  the indexes of this hash tag
  Found through data (same hash tag): the identity's live session s:<sid> and its pointers; the
  least recently used session of the index when the device limit ends it.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  JSON array A of:
  A[1]     new session id
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
  local f = redis.call('HMGET', KEYS[6], '*', ip)
  if tonumber(f[2] or 0) >= tonumber(A[20]) or tonumber(f[1] or 0) >= tonumber(A[21]) then
    return {-1, redis.call('PTTL', KEYS[6])}
  end
end

-- RFC 6749 §4.3.2: a successful login clears what this IP had counted against the user.
local function loggedIn()
  if ip == '' then return end
  local mine = redis.call('HGET', KEYS[6], ip)
  if mine then
    redis.call('HDEL', KEYS[6], ip)
    if redis.call('HINCRBY', KEYS[6], '*', -tonumber(mine)) <= 0 then redis.call('HDEL', KEYS[6], '*') end
    if redis.call('HLEN', KEYS[6]) == 0 then redis.call('DEL', KEYS[6]) end
  end
end

local current = pointee(KEYS[1])
-- With reuse off, every request is a new session and the earlier ones live on (up to the limit).
if current and A[15] == '1' then
  local key = base .. 's:' .. current
  local s = redis.call('HMGET', key, 'as', 'rs', 'k', 'exp', 'ct')
  if s[1] and s[1] ~= '' and usableKey(s[3], A[11]) then
    local left = tonumber(s[4]) - now
    if left > tonumber(A[16]) then
      redis.call('HSET', key, 'lu', now)
      loggedIn()
      return {1, current, s[1], s[2], s[3], left, s[5]}
    end
  end
  -- Too close to expiry, or MACed with a dropped secret: this device's session is replaced,
  -- not duplicated.
  endSession(current)
end

local accessTtl = tonumber(A[13])
local refreshTtl = tonumber(A[14])
local life = math.max(accessTtl, refreshTtl)
local limit = tonumber(A[17])
local ended = ''
if limit > 0 then
  local live = liveSessions(KEYS[2], now)
  if #live >= limit then
    if A[18] == 'refuse' then return {-2} end
    -- Reuse and refresh never count: only a new session ends the least recently used ones.
    local byUse = {}
    for _, sid in ipairs(live) do
      byUse[#byUse + 1] = {sid, tonumber(redis.call('HGET', base .. 's:' .. sid, 'lu') or 0)}
    end
    table.sort(byUse, function(a, b) return a[2] < b[2] end)
    for i = 1, #live - limit + 1 do
      endSession(byUse[i][1])
      ended = byUse[i][1]
    end
  end
end

local sid = A[1]
redis.call('SET', KEYS[4], sid, 'PX', accessTtl)
if A[7] ~= '' then redis.call('SET', KEYS[5], sid, 'PX', refreshTtl) end
redis.call('HSET', KEYS[3],
  'c', A[2], 'u', A[3], 'sc', A[4], 'dv', A[5],
  'ah', A[6], 'rh', A[7], 'as', A[8], 'rs', A[9], 'k', A[10],
  'iat', now, 'exp', now + accessTtl, 'rexp', now + refreshTtl, 'ct', now, 'lu', now,
  'id', string.sub(KEYS[1], #base + 3))
redis.call('PEXPIRE', KEYS[3], life)
redis.call('SET', KEYS[1], sid, 'PX', life)
index(sid, A[2], A[3], now + life, now)
loggedIn()
return {0, sid, ended}
