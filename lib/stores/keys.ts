import { randomBytes } from 'node:crypto';
import { sha1Hex, sha256Base64url16 } from '../crypto/fast-crypto';

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
 *   <prefix>{<tag>}:u:<hash>          rotated-away refresh token -> `<sid>.<g>`      (TTL: what it had left)
 *   <prefix>{<tag>}:x                 sorted set, two entries per session of the tag: `-<sid>` scored by
 *                                     its expiry ms, `<sid>` by 1e13 × (its id prefix − 99) + its last
 *                                     use ms (so one user's sessions with one client, least recently
 *                                     used first, are one range); `0` once two (client, username)
 *                                     pairs share an id prefix (see session.include.lua) (TTL: the longest session)
 *   <prefix>{<tag>}:f:<hash>          failed-login counters of a login key: '*' and per client IP
 *
 * `<hash>` is `seedHash()` of the token's seed.
 *
 * A session id `<sid>` is 16 decimal digits (so base64url characters, and an integer Redis stores
 * in 8 bytes wherever it is a value or an index member): {@link sessionPrefix} of its client and
 * username (3 digits), then 13 digits that are, while reuse is on, a function of its identity
 * (client, username, scopes; {@link identitySessionId}), so that issue() finds an identity's
 * session without an identity key; with reuse off, random ({@link randomSessionId}). It is never
 * a token nor a hash of one. A session ended and made again for the same identity has the same
 * id: every pointer is therefore checked against the session before it counts — `a:`/`r:`
 * against `ah`/`rh`, `u:` against the generation `g` (and then `ph`) — so no token of an earlier
 * session with that id ever reaches the new one. An access token names its session id (see
 * token-codec.ts) and is validated by reading `s:<sid>` directly, checked the same way: its
 * hash against `ah`, and `exp`.
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
 *   g   generation: random, set at the first rotation; every u: pointer of the session names it
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
  index: (base: string) => `${base}x`,
  loginFailures: (base: string, loginKey: string) => `${base}f:${sha256Base64url16(loginKey)}`,
} as const;

/** SHA-1 as hex, as the scripts' `redis.sha1hex`. */
export const sha1 = sha1Hex;

/**
 * The first 3 digits (100 to 999) of the session ids of one user with one client, from the
 * injective encoding of (client, username): the scripts pick that user's sessions out of the
 * tag's index by it (and check the session's `c` and `u` wherever it matters). The Lua twin is
 * `sessionPrefix()` in `lua/session.include.lua`.
 */
export function sessionPrefix(clientId: string, username: string): string {
  const hash = sha1(`x${Buffer.byteLength(clientId)}:${clientId}${Buffer.byteLength(username)}:${username}`);
  return String(100 + (parseInt(hash.slice(0, 6), 16) % 900));
}

/**
 * The session id of an identity while reuse is on: its prefix, then 13 digits of
 * {@link identityHash}. The Lua twin is `identitySessionId()` in `lua/session.include.lua`.
 */
export function identitySessionId(clientId: string, username: string, scope: string): string {
  const digits = parseInt(identityHash(clientId, username, scope).slice(0, 12), 16) % 1e13;
  return sessionPrefix(clientId, username) + String(digits).padStart(13, '0');
}

/** A random session id (reuse off): the prefix of its user and client, then 13 random digits. */
export function randomSessionId(clientId: string, username: string): string {
  const digits = randomBytes(8).readBigUInt64BE() % 10_000_000_000_000n;
  return sessionPrefix(clientId, username) + digits.toString().padStart(13, '0');
}

/**
 * The identity of a session: (client, username, sorted scopes), encoded so that no two different
 * triples collide whatever characters ids contain (byte lengths first; the scopes, which hold no
 * space-free ambiguity, last). The Lua twin is `identity()` in `lua/session.include.lua`.
 */
export function identityHash(clientId: string, username: string, scope: string): string {
  return sha1(`${Buffer.byteLength(clientId)}:${clientId}${Buffer.byteLength(username)}:${username}${scope}`);
}
