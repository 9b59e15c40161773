--[[
  session (include): what every script needs to know about a device session.

  Needs `base` (the `<prefix>{<tag>}:` of the caller's keys, from ARGV[1]) in scope.
  Keys it finds through stored data, all under `base` (so in the caller's hash tag):
    s:<sid>             the session hash (glossary in lib/stores/keys.ts)
    a:<hash>, r:<hash>  its access and refresh token pointers
    x                   the index of the tag's sessions (every script that changes it has it in KEYS too)
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

-- Ends one session: its hash, both token pointers and its index entry. Returns 1 when there was
-- a session, 0 otherwise.
local function endSession(sid)
  local key = base .. 's:' .. sid
  local s = redis.call('HMGET', key, 'c', 'ah', 'rh')
  if not s[1] then return 0 end
  redis.call('DEL', key, base .. 'a:' .. s[2])
  if s[3] ~= '' then redis.call('DEL', base .. 'r:' .. s[3]) end
  redis.call('ZREM', base .. 'x', sid)
  return 1
end

-- Extends a key's TTL to at least `ms` milliseconds (never shortens it).
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

-- Files the session in the index of the tag, scored by when it expires.
local function index(sid, expiresAt, now)
  local idx = base .. 'x'
  redis.call('ZADD', idx, expiresAt, sid)
  keepFor(idx, expiresAt - now)
end

-- The live session ids of the tag whose ids begin with `prefix` (every one for nil), after
-- dropping the expired ones from the index.
local function liveSessions(now, prefix)
  local idx = base .. 'x'
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local all = redis.call('ZRANGE', idx, 0, -1)
  if not prefix then return all end
  local mine = {}
  for _, sid in ipairs(all) do
    if string.sub(sid, 1, #prefix) == prefix then mine[#mine + 1] = sid end
  end
  return mine
end

-- Whether `kid` is one of the space-separated key ids the caller can still MAC tokens with.
local function usableKey(kid, kids)
  for k in string.gmatch(kids, '%S+') do
    if k == kid then return true end
  end
  return false
end
