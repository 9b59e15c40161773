--[[
  Rotate a refresh token (refresh_token grant), replay detection included.

  Input:
    KEYS[1..n] <prefix>{tag}:r:<hash>, one per server secret, newest first
    ARGV[1]  client id of the authenticated client
    ARGV[2]  requested scopes, sorted, space-separated; '' keeps the grant's scopes
    ARGV[3]  new access token hash
    ARGV[4]  new refresh token hash
    ARGV[5]  new encrypted access token, or '' when reuse is off
    ARGV[6]  new encrypted refresh token, or ''
    ARGV[7]  now, ms since the epoch
    ARGV[8]  access token TTL, ms
    ARGV[9]  refresh token TTL, ms

  Output:
    {0, grant id, client, subject, username, scopes, device scopes, access ms left}  rotated
    {-1}  unknown, expired or another client's refresh token
    {-2}  replayed: an already-rotated refresh token; its grant has been ended
    {-4}  requested scope wider than the grant's
]]
local base = string.match(KEYS[1], '^(.*:)r:[^:]+$')
--@include end-grant

local function words(s)
  local list = {}
  for w in string.gmatch(s, '%S+') do list[#list + 1] = w end
  return list
end

local gid, rKey
for _, key in ipairs(KEYS) do
  gid = redis.call('GET', key)
  if gid then rKey = key break end
end

if not gid then
  for _, key in ipairs(KEYS) do
    local victim = redis.call('GET', base .. 'u:' .. string.match(key, ':r:([^:]+)$'))
    if victim then
      endGrant(victim)
      return {-2}
    end
  end
  return {-1}
end

local gKey = base .. 'g:' .. gid
local g = redis.call('HMGET', gKey, 'c', 's', 'u', 'sc', 'dv', 'at', 'idk')
if not g[1] or g[1] ~= ARGV[1] then return {-1} end

local scope = g[4]
if ARGV[2] ~= '' then
  local granted, chosen, list = {}, {}, {}
  for _, w in ipairs(words(g[4])) do granted[w] = true end
  for _, w in ipairs(words(ARGV[2])) do
    if not granted[w] then return {-4} end
    chosen[w] = true
  end
  -- The device scopes are the grant's identity, not a permission: they always stay.
  for _, w in ipairs(words(g[5])) do chosen[w] = true end
  for w in pairs(chosen) do list[#list + 1] = w end
  table.sort(list)
  scope = table.concat(list, ' ')
end

local now = tonumber(ARGV[7])
local accessTtl = tonumber(ARGV[8])
local refreshTtl = tonumber(ARGV[9])
local life = math.max(accessTtl, refreshTtl)

-- The old refresh token is remembered for as long as it would have lived.
local left = redis.call('PTTL', rKey)
redis.call('DEL', rKey, base .. 'a:' .. g[6])
if left > 0 then
  redis.call('SET', base .. 'u:' .. string.match(rKey, ':r:([^:]+)$'), gid, 'PX', left)
end

local idHash = redis.sha1hex(g[1] .. '\n' .. g[3] .. '\n' .. scope)
if idHash ~= g[7] then
  if redis.call('GET', base .. 'i:' .. g[7]) == gid then redis.call('DEL', base .. 'i:' .. g[7]) end
  local other = redis.call('GET', base .. 'i:' .. idHash)
  if other and other ~= gid then endGrant(other) end
end

redis.call('SET', base .. 'a:' .. ARGV[3], gid, 'PX', accessTtl)
redis.call('SET', base .. 'r:' .. ARGV[4], gid, 'PX', refreshTtl)
redis.call('HSET', gKey, 'sc', scope, 'at', ARGV[3], 'rt', ARGV[4], 'ea', ARGV[5], 'er', ARGV[6],
  'iat', now, 'exp', now + accessTtl, 'rexp', now + refreshTtl, 'idk', idHash)
redis.call('PEXPIRE', gKey, life)
redis.call('SET', base .. 'i:' .. idHash, gid, 'PX', life)
return {0, gid, g[1], g[2], g[3], scope, g[5], accessTtl}
