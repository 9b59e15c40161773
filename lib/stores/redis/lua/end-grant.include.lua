-- end-grant: deletes a grant and every key that points to it.
-- Needs `base` (the `<prefix>{<tag>}:` of the caller's keys) in scope.
local function endGrant(gid)
  local gKey = base .. 'g:' .. gid
  local g = redis.call('HMGET', gKey, 'at', 'rt', 'idk')
  if g[1] then redis.call('DEL', base .. 'a:' .. g[1]) end
  if g[2] and g[2] ~= '' then redis.call('DEL', base .. 'r:' .. g[2]) end
  if g[3] and redis.call('GET', base .. 'i:' .. g[3]) == gid then
    redis.call('DEL', base .. 'i:' .. g[3])
  end
  redis.call('DEL', gKey)
end
