#!lua
--[[
  refresh-5: rotate a refresh token (refresh_token grant): replay detection and the graceful
  retry of a rotation whose answer was lost. One atomic step.

  KEYS[1]  <base>r:<hash>      the presented refresh token's pointer, while it is current
  KEYS[2]  <base>u:<hash>      the same token's pointer once it has been rotated away
  KEYS[3]  <base>a:<new hash>  the new access token's pointer
  KEYS[4]  <base>r:<new hash>  the new refresh token's pointer
  KEYS[5]  <base>x             the index of the tag's sessions
  Found through data (same hash tag): the session s:<sid>, its current token pointers, and the
  session of the narrowed identity (s:<its sid>) when a narrower scope moves the session there.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  JSON array A of:
  A[1]     client id of the authenticated client
  A[2]     requested scopes, sorted, space-separated; '' keeps the session's scopes
  A[3]     new access token hash      A[4]     new refresh token hash
  A[5]     new access seed            A[6]     new refresh seed (both '' when reuse is off)
  A[7]     key id the new tokens are MACed with
  A[8]     key ids the caller can still MAC with, space-separated
  A[9]     now, ms                    A[10]    access TTL, ms     A[11]    refresh TTL, ms
  A[12]    grace period, ms (0: strict)
  A[13]    deadline, ms since the epoch: the caller has answered 503 once Redis' clock is past it
  A[14]    a fresh generation, for a session rotated for the first time

  Output:
    {0, sid, client, username, scopes, device, access ms left, created ms}      rotated: the new tokens
    {1, sid, client, username, scopes, device, access ms left, created ms, access seed,
     refresh seed, key id}                                                      retry in the grace period: the current tokens
    {-1}  unknown, expired or another client's refresh token; nothing changed
    {-2, sid}  replayed: a rotated-away refresh token; its session has been ended
    {-4}  requested scope wider than the session's; nothing changed
    {-5}  too late: the caller has given up on this call; nothing changed
]]
local base = ARGV[1]
-- One JSON array instead of twenty arguments: far less work for the client that sends them.
local A = cjson.decode(ARGV[2])
--@include session

local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(A[13]) then
  return {-5}
end

local function words(s)
  local list = {}
  for w in string.gmatch(s, '%S+') do list[#list + 1] = w end
  return list
end

local now = tonumber(A[9])
local presented = string.sub(KEYS[1], #base + 3)
local fields = {'c', 'u', 'sc', 'dv', 'ah', 'rh', 'ct', 'as', 'rs', 'k', 'exp', 'g', 'ph', 'pt', 'rexp'}

local sid, s = follow(KEYS[1], unpack(fields))
local retry = false
if not sid then
  -- `<sid>.<generation>`: a pointer of an earlier session with the same id names another generation.
  local rotated = redis.call('GET', KEYS[2])
  if not rotated then return {-1} end
  local dot = string.find(rotated, '.', 1, true)
  if not dot then return {-1} end
  sid = string.sub(rotated, 1, dot - 1)
  s = redis.call('HMGET', base .. 's:' .. sid, unpack(fields))
  if not s[1] or s[12] ~= string.sub(rotated, dot + 1) then return {-1} end
  -- Only the client the session belongs to learns anything, or changes anything.
  if s[1] ~= A[1] then return {-1} end
  if s[13] ~= presented or now - tonumber(s[14]) >= tonumber(A[12]) then
    -- OAuth 2.0 Security BCP §4.14.2: a replayed refresh token ends that device's session.
    endSession(sid)
    return {-2, sid}
  end
  retry = true
end
if s[1] ~= A[1] then return {-1} end

local key = base .. 's:' .. sid
if retry and s[8] ~= '' and usableKey(s[10], A[8]) and tonumber(s[11]) > now then
  -- The answer of the rotation was lost: the same pair again, never a third one (while its access
  -- token lives; a dead one is rotated again below, as with reuse off).
  redis.call('HSET', key, 'lu', now)
  index(sid, math.max(tonumber(s[11]), tonumber(s[15])), now)
  return {1, sid, s[1], s[2], s[3], s[4], tonumber(s[11]) - now, s[7], s[8], s[9], s[10]}
end

local scope = s[3]
if A[2] ~= '' then
  local granted, chosen, list = {}, {}, {}
  for _, w in ipairs(words(s[3])) do granted[w] = true end
  for _, w in ipairs(words(A[2])) do
    if not granted[w] then return {-4} end
    chosen[w] = true
  end
  -- The device scope is the session's identity, not a permission: it always stays.
  if s[4] ~= '' then chosen[s[4]] = true end
  for w in pairs(chosen) do list[#list + 1] = w end
  table.sort(list)
  scope = table.concat(list, ' ')
end

local accessTtl = tonumber(A[10])
local refreshTtl = tonumber(A[11])
local life = math.max(accessTtl, refreshTtl)
local generation = s[12] or A[14]

-- With reuse on, a session lives at the id of its identity: a narrower scope moves it there,
-- replacing a session that identity may have had.
local target = sid
if A[5] ~= '' then target = identitySessionId(s[1], s[2], scope) end

-- The current pair ends; its refresh token is remembered for as long as it would have lived,
-- so presenting it again is recognised (grace period, then replay).
redis.call('DEL', base .. 'a:' .. s[5])
local current = base .. 'r:' .. s[6]
local left = redis.call('PTTL', current)
redis.call('DEL', current)
if left > 0 then redis.call('SET', base .. 'u:' .. s[6], target .. '.' .. generation, 'PX', left) end

if target ~= sid then
  endSession(target)
  redis.call('RENAME', key, base .. 's:' .. target)
  redis.call('ZREM', KEYS[5], sid, '-' .. sid)
  key = base .. 's:' .. target
end

redis.call('SET', KEYS[3], target, 'PX', accessTtl)
redis.call('SET', KEYS[4], target, 'PX', refreshTtl)
redis.call('HSET', key, 'sc', scope, 'ah', A[3], 'rh', A[4], 'as', A[5], 'rs', A[6],
  'k', A[7], 'iat', now, 'exp', now + accessTtl, 'rexp', now + refreshTtl, 'lu', now, 'g', generation)
-- A retry rotates again (nothing recoverable is stored) but keeps the window of the first rotation.
if not retry then redis.call('HSET', key, 'ph', s[6], 'pt', now) end
redis.call('PEXPIRE', key, life)
index(target, now + life, now)
return {0, target, s[1], s[2], scope, s[4], accessTtl, s[7]}
