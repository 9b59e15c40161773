--[[
  Issue-or-reuse a grant for one identity (client, username, scopes).

  Input:
    KEYS[1]  <prefix>{tag}:a:<new access hash>   (its base locates the identity and grant keys)
    ARGV[1]  new access token hash
    ARGV[2]  new refresh token hash, or '' for none
    ARGV[3]  new grant id
    ARGV[4]  client id
    ARGV[5]  subject
    ARGV[6]  username, or '' for client_credentials
    ARGV[7]  granted scopes, sorted, space-separated
    ARGV[8]  device scopes, sorted, space-separated
    ARGV[9]  encrypted access token, or '' when reuse is off
    ARGV[10] encrypted refresh token, or ''
    ARGV[11] now, ms since the epoch
    ARGV[12] access token TTL, ms
    ARGV[13] refresh token TTL, ms (0: no refresh token)
    ARGV[14] '1' to reuse a live grant, '0' to always mint
    ARGV[15] minimum remaining access token lifetime for reuse, ms

  Output:
    {1, grant id, encrypted access, encrypted refresh, access ms left, issued-at ms}  reused
    {0, grant id, '', '', access ms left, issued-at ms}                                minted
]]
local base = string.match(KEYS[1], '^(.*:)a:[^:]+$')
--@include end-grant

local idHash = redis.sha1hex(ARGV[4] .. '\n' .. ARGV[6] .. '\n' .. ARGV[7])
local idKey = base .. 'i:' .. idHash
local now = tonumber(ARGV[11])
local accessTtl = tonumber(ARGV[12])
local refreshTtl = tonumber(ARGV[13])

local oldGid = redis.call('GET', idKey)
if oldGid and ARGV[14] == '1' then
  local g = redis.call('HMGET', base .. 'g:' .. oldGid, 'at', 'ea', 'er', 'iat')
  if g[1] and g[2] and g[2] ~= '' then
    local left = redis.call('PTTL', base .. 'a:' .. g[1])
    if left > tonumber(ARGV[15]) then
      return {1, oldGid, g[2], g[3] or '', left, g[4]}
    end
  end
  -- Too close to expiry (or not reusable): this device's grant is replaced, not duplicated.
  endGrant(oldGid)
end

local gid = ARGV[3]
local life = math.max(accessTtl, refreshTtl)
redis.call('SET', KEYS[1], gid, 'PX', accessTtl)
if ARGV[2] ~= '' then
  redis.call('SET', base .. 'r:' .. ARGV[2], gid, 'PX', refreshTtl)
end
local gKey = base .. 'g:' .. gid
redis.call('HSET', gKey,
  'c', ARGV[4], 's', ARGV[5], 'u', ARGV[6], 'sc', ARGV[7], 'dv', ARGV[8],
  'at', ARGV[1], 'rt', ARGV[2], 'ea', ARGV[9], 'er', ARGV[10],
  'iat', now, 'exp', now + accessTtl, 'rexp', now + refreshTtl, 'idk', idHash)
redis.call('PEXPIRE', gKey, life)
redis.call('SET', idKey, gid, 'PX', life)
return {0, gid, '', '', accessTtl, ARGV[11]}
