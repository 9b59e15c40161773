--[[
  session (include): what every script needs to know about a device session.

  Needs `base` (the `<prefix>{<tag>}:` of the caller's keys, from ARGV[1]) in scope.
  Keys it finds through stored data, all under `base` (so in the caller's hash tag):
    s:<sid>             the session hash (glossary in lib/stores/keys.ts)
    a:<hash>, r:<hash>  its access and refresh token pointers
    x                   the index of the tag's sessions (every script that changes it has it in KEYS too;
                        its entries: see LRU below)
]]

-- The session a token pointer (a:<hash> or r:<hash>) names, and the fields of that session asked
-- for; nil when the pointer is dead or stale: its session is gone, or holds that kind of token
-- with another hash now (a session ended and made again for the same identity has the same id).
local function follow(key, ...)
  local sid = redis.call('GET', key)
  if not sid then return nil end
  local field = string.sub(key, #base + 1, #base + 2) == 'a:' and 'ah' or 'rh'
  local s = redis.call('HMGET', base .. 's:' .. sid, field, ...)
  if s[1] ~= string.sub(key, #base + 3) then return nil end
  table.remove(s, 1)
  return sid, s
end

-- The identity hash of (client, username, scope): lengths in bytes make it injective.
local function identity(client, username, scope)
  return redis.sha1hex(#client .. ':' .. client .. #username .. ':' .. username .. scope)
end

-- The first 3 digits of the session ids of one user with one client. Its TS twin is
-- sessionPrefix() in lib/stores/keys.ts.
local function sessionPrefix(client, username)
  local h = redis.sha1hex('x' .. #client .. ':' .. client .. #username .. ':' .. username)
  return tostring(100 + tonumber(string.sub(h, 1, 6), 16) % 900)
end

-- The session id of an identity while reuse is on. Its TS twin is identitySessionId() in keys.ts.
local function identitySessionId(client, username, scope)
  local digits = tonumber(string.sub(identity(client, username, scope), 1, 12), 16) % 1e13
  return sessionPrefix(client, username) .. string.format('%013.0f', digits)
end

-- The index `x` holds two entries per session, so that the sessions of one user and client, in
-- order of last use, are one range of it and nothing needs reading one by one:
--   `-<sid>`  scored by when the session expires (ms; below LRU until the year 2286)
--   `<sid>`   scored LRU * (its 3-digit id prefix - 99) + when it was last used (ms)
-- and a member `0` scored FLAG once two (client, username) pairs of the tag have sessions under
-- one id prefix: then the sessions' fields decide whose each one is. An index written by the
-- previous layout (a plain `<sid>` scored by expiry, no last-use entry) is read entry by entry.
-- Scores are written with '%.0f' (Lua prints numbers with 14 digits only).
local LRU = 1e13
local FLAG = LRU - 1

local function lruScore(sid, ms)
  return string.format('%.0f', LRU * (tonumber(string.sub(sid, 1, 3)) - 99) + ms)
end

-- Ends one session: its hash, both token pointers and its index entries. Returns 1 when there was
-- a session, 0 otherwise (its index entries are dropped either way).
local function endSession(sid)
  local key = base .. 's:' .. sid
  local s = redis.call('HMGET', key, 'c', 'ah', 'rh')
  redis.call('ZREM', base .. 'x', sid, '-' .. sid)
  if not s[1] then return 0 end
  redis.call('DEL', key, base .. 'a:' .. s[2])
  if s[3] ~= '' then redis.call('DEL', base .. 'r:' .. s[3]) end
  return 1
end

-- Extends a key's TTL to at least `ms` milliseconds (never shortens it).
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

-- Files the session in the index of the tag: when it expires, and that it was used now.
local function index(sid, expiresAt, now)
  local idx = base .. 'x'
  redis.call('ZADD', idx, string.format('%.0f', expiresAt), '-' .. sid, lruScore(sid, now), sid)
  keepFor(idx, expiresAt - now)
end

-- The live session ids of the tag whose ids begin with `prefix` (a 3-digit string; every one for
-- nil), after dropping the expired ones from the index; whether they are in order of last use
-- (least recent first; not for an index of the previous layout); and whether the tag is flagged.
local function liveSessions(now, prefix)
  local idx = base .. 'x'
  local stamp = string.format('%.0f', now)
  for _ = 1, 1000 do
    local expired = redis.call('ZRANGE', idx, '-inf', stamp, 'BYSCORE', 'LIMIT', 0, 1000)
    if #expired == 0 then break end
    local gone = {}
    for _, member in ipairs(expired) do
      gone[#gone + 1] = member
      if string.byte(member) == 45 then gone[#gone + 1] = string.sub(member, 2) end -- its last-use entry
    end
    redis.call('ZREM', idx, unpack(gone))
  end
  local flagged = redis.call('ZSCORE', idx, '0') ~= false
  local lru = string.format('%.0f', LRU)
  if redis.call('ZCOUNT', idx, '(' .. stamp, string.format('(%.0f', FLAG)) == redis.call('ZCOUNT', idx, lru, '+inf') then
    if not prefix then return redis.call('ZRANGE', idx, lru, '+inf', 'BYSCORE'), true, flagged end
    local from = LRU * (tonumber(prefix) - 99)
    return redis.call('ZRANGE', idx, string.format('%.0f', from), string.format('(%.0f', from + LRU), 'BYSCORE'), true, flagged
  end
  local seen, live = {}, {}
  for _, member in ipairs(redis.call('ZRANGE', idx, '(' .. stamp, '+inf', 'BYSCORE')) do
    local sid = string.byte(member) == 45 and string.sub(member, 2) or member
    if member ~= '0' and not seen[sid] and (not prefix or string.sub(sid, 1, 3) == prefix) then
      seen[sid] = true
      live[#live + 1] = sid
    end
  end
  return live, false, flagged
end

-- Whether `kid` is one of the space-separated key ids the caller can still MAC tokens with.
local function usableKey(kid, kids)
  for k in string.gmatch(kids, '%S+') do
    if k == kid then return true end
  end
  return false
end
