--[[
  session (include): what every script needs to know about a device session.

  Needs `base` (the `<prefix>{<tag>}:` of the caller's keys, from ARGV[1]) in scope.
  Keys it finds through stored data, all under `base` (so in the caller's hash tag):
    s:<sid>          the session hash (glossary in lib/stores/keys.ts)
    a:<hash>, r:<hash>  its access and refresh token pointers
    i:<identity>     its identity pointer
    x:<index>        the index of the user's sessions with one client (see indexKey)
]]

-- The session id the pointer names, or false.
local function pointee(key)
  return redis.call('GET', key)
end

-- The suffix of the index of one user's sessions with one client (x:<suffix>); lengths in bytes
-- make it injective. Its TS twin is key.index() in lib/stores/keys.ts.
local function indexKey(client, username)
  return redis.sha1hex('x' .. #client .. ':' .. client .. #username .. ':' .. username)
end

-- Ends one session: its hash, both token pointers, its identity pointer (while it names this
-- session) and its index entry. Returns 1 when there was a session, 0 otherwise.
local function endSession(sid)
  local key = base .. 's:' .. sid
  local s = redis.call('HMGET', key, 'c', 'ah', 'rh', 'id', 'u')
  if not s[1] then return 0 end
  redis.call('DEL', key, base .. 'a:' .. s[2])
  if s[3] ~= '' then redis.call('DEL', base .. 'r:' .. s[3]) end
  local idKey = base .. 'i:' .. s[4]
  if redis.call('GET', idKey) == sid then redis.call('DEL', idKey) end
  redis.call('ZREM', base .. 'x:' .. indexKey(s[1], s[5]), sid)
  return 1
end

-- Extends a key's TTL to at least `ms` milliseconds (never shortens it).
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

-- Files the session in the index of its user and client, scored by when it expires.
local function index(sid, client, username, expiresAt, now)
  local suffix = indexKey(client, username)
  local idx = base .. 'x:' .. suffix
  redis.call('ZADD', idx, expiresAt, sid)
  keepFor(idx, expiresAt - now)
  local clients = base .. 'xc'
  redis.call('SADD', clients, suffix)
  keepFor(clients, expiresAt - now)
end

-- The live session ids of the index, after dropping the expired ones.
local function liveSessions(idx, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  return redis.call('ZRANGE', idx, 0, -1)
end

-- Whether `kid` is one of the space-separated key ids the caller can still MAC tokens with.
local function usableKey(kid, kids)
  for k in string.gmatch(kids, '%S+') do
    if k == kid then return true end
  end
  return false
end

-- The identity hash of (client, username, scope): lengths in bytes make it injective.
local function identity(client, username, scope)
  return redis.sha1hex(#client .. ':' .. client .. #username .. ':' .. username .. scope)
end
