--[[
  Revoke a token (RFC 7009): ends the one grant the token belongs to.

  Input:
    KEYS[1..n] candidate keys <prefix>{tag}:a:<hash> / <prefix>{tag}:r:<hash>, in the order to try
    ARGV[1]  client id of the authenticated client

  Output:
    {1}   revoked
    {0}   unknown (expired, already revoked, never issued)
    {-1}  the token belongs to another client; nothing was changed
]]
local base = string.match(KEYS[1], '^(.*:)[ar]:[^:]+$')
--@include end-grant

for _, key in ipairs(KEYS) do
  local gid = redis.call('GET', key)
  if gid then
    local client = redis.call('HGET', base .. 'g:' .. gid, 'c')
    if not client then return {0} end
    if client ~= ARGV[1] then return {-1} end
    endGrant(gid)
    return {1}
  end
end
return {0}
