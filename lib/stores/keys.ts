import { createHash } from 'node:crypto';

/**
 * Key names of the token stores: the one module that builds them (the Lua scripts and their
 * memory twins build only the keys they find through stored data, from the same base).
 *
 * Every key of one user (the grant's subject, see `userTag()`), of every client, shares the hash
 * tag `{<tag>}`, so any operation on one user is one script in one Redis Cluster slot:
 *
 *   <prefix>{<tag>}:s:<sid>           session hash: one device's live grant          (TTL: its last token)
 *   <prefix>{<tag>}:a:<hash>          access token pointer -> sid                    (TTL: the access token)
 *   <prefix>{<tag>}:r:<hash>          refresh token pointer -> sid                   (TTL: the refresh token)
 *   <prefix>{<tag>}:u:<hash>          rotated-away refresh token -> sid              (TTL: what it had left)
 *   <prefix>{<tag>}:i:<identity>      identity (client, username, scopes) -> sid     (TTL: the session)
 *   <prefix>{<tag>}:x:<index>         sorted set: one user's sessions with one client, scored by expiry
 *   <prefix>{<tag>}:xc                set: the <index> of every such set of the tag   (TTL: the longest)
 *   <prefix>{<tag>}:f:<hash>          failed-login counters of a login key: '*' and per client IP
 *
 * `<hash>` is `seedHash()` of the token's seed; `<identity>` is {@link identityHash}.
 *
 * Fields of a session hash `s:<sid>`:
 *
 *   c   client id                 u    username ('' for client_credentials)
 *   sc  scopes, sorted, space-separated
 *   dv  the device scope, or ''
 *   ah  access token hash         rh   refresh token hash ('' for none)
 *   as  access token seed         rs   refresh token seed ('' when reuse is off: nothing to rebuild)
 *   k   id of the secret the tokens are MACed with
 *   iat access token issued, ms   exp  access token expires, ms    rexp refresh token expires, ms
 *   ct  session created, ms       lu   last used (issued, reused or refreshed), ms
 *   id  identity hash (its i: key)
 *   ph  refresh token hash rotated away last   pt  when, ms (graceful rotation)
 */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  /** `<prefix>{<tag>}:`: what every key of that user starts with (the scripts' ARGV[1]). */
  base(tag: string): string {
    return `${this.prefix}{${tag}}:`;
  }
}

export const key = {
  session: (base: string, sid: string) => `${base}s:${sid}`,
  access: (base: string, hash: string) => `${base}a:${hash}`,
  refresh: (base: string, hash: string) => `${base}r:${hash}`,
  rotated: (base: string, hash: string) => `${base}u:${hash}`,
  identity: (base: string, identity: string) => `${base}i:${identity}`,
  index: (base: string, clientId: string, username: string) => `${base}x:${indexKey(clientId, username)}`,
  clients: (base: string) => `${base}xc`,
  loginFailures: (base: string, loginKey: string) =>
    `${base}f:${createHash('sha256').update(loginKey).digest().subarray(0, 16).toString('base64url')}`,
} as const;

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * The suffix of the index of one user's sessions with one client, injective like
 * {@link identityHash}. The Lua twin is `indexKey()` in `lua/session.include.lua`.
 */
export function indexKey(clientId: string, username: string): string {
  return sha1(`x${Buffer.byteLength(clientId)}:${clientId}${Buffer.byteLength(username)}:${username}`);
}

/**
 * The identity of a session: (client, username, sorted scopes), encoded so that no two different
 * triples collide whatever characters ids contain (byte lengths first; the scopes, which hold no
 * space-free ambiguity, last). The Lua twin is `identity()` in `lua/session.include.lua`.
 */
export function identityHash(clientId: string, username: string, scope: string): string {
  return sha1(`${Buffer.byteLength(clientId)}:${clientId}${Buffer.byteLength(username)}:${username}${scope}`);
}
