--[[
  Find the live token among candidate keys and return its grant (validation, introspection).

  Input:
    KEYS[1..n] candidate keys <prefix>{tag}:a:<hash> / <prefix>{tag}:r:<hash>, in the order to try

  Output:
    {index of the key found (1-based), grant id, client, subject, username, scopes,
     device scopes, issued-at ms, access expiry ms, refresh expiry ms}
    {0}  nothing live
]]
local base = string.match(KEYS[1], '^(.*:)[ar]:[^:]+$')
for index, key in ipairs(KEYS) do
  local gid = redis.call('GET', key)
  if gid then
    local g = redis.call('HMGET', base .. 'g:' .. gid, 'c', 's', 'u', 'sc', 'dv', 'iat', 'exp', 'rexp')
    if not g[1] then return {0} end
    return {index, gid, g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8]}
  end
end
return {0}
