import { sha1 } from '../keys';
import type { Reply, ScriptName } from '../scripts';
import type { Keyspace } from './keyspace';

/**
 * The TS twins of the Lua scripts in `../redis/lua/`, statement for statement, on a
 * {@link Keyspace}. Each runs synchronously, so it is atomic on the event loop as a script is in
 * Redis. Read a twin next to its script: the headers there say what KEYS, ARGV and the replies are.
 * Change both together; the contract suite runs on both stores.
 */

type Args = readonly (string | number)[];
type Twin = (db: Keyspace, KEYS: readonly string[], ARGV: readonly string[]) => Reply;

const num = (value: string | undefined): number => Number(value ?? 0);

/** Scores of the index's entries (see LRU in session.include.lua). */
const LRU = 1e13;
const FLAG = LRU - 1;
const lruScore = (sid: string, ms: number) => LRU * (Number(sid.slice(0, 3)) - 99) + ms;

/** session.include.lua */
function session(db: Keyspace, base: string) {
  function follow(key: string, ...fields: string[]): [string, (string | undefined)[]] | undefined {
    const sid = db.get(key);
    if (sid === undefined) return undefined;
    const field = key.slice(base.length, base.length + 2) === 'a:' ? 'ah' : 'rh';
    const s = db.hmget(`${base}s:${sid}`, field, ...fields);
    if (s[0] !== key.slice(base.length + 2)) return undefined;
    s.shift();
    return [sid, s];
  }

  const identity = (client: string, username: string, scope: string) =>
    sha1(`${Buffer.byteLength(client)}:${client}${Buffer.byteLength(username)}:${username}${scope}`);

  function sessionPrefix(client: string, username: string): string {
    const h = sha1(`x${Buffer.byteLength(client)}:${client}${Buffer.byteLength(username)}:${username}`);
    return String(100 + (parseInt(h.slice(0, 6), 16) % 900));
  }

  function identitySessionId(client: string, username: string, scope: string): string {
    const digits = parseInt(identity(client, username, scope).slice(0, 12), 16) % 1e13;
    return sessionPrefix(client, username) + String(digits).padStart(13, '0');
  }

  function endSession(sid: string): number {
    const key = `${base}s:${sid}`;
    const [client, ah, rh] = db.hmget(key, 'c', 'ah', 'rh');
    db.zrem(`${base}x`, sid);
    db.zrem(`${base}x`, `-${sid}`);
    if (client === undefined) return 0;
    db.del(key, `${base}a:${ah}`);
    if (rh !== '') db.del(`${base}r:${rh}`);
    return 1;
  }

  function keepFor(key: string, ms: number): void {
    if (db.pttl(key) < ms) db.pexpire(key, ms);
  }

  function index(sid: string, expiresAt: number, now: number): void {
    const idx = `${base}x`;
    db.zadd(idx, expiresAt, `-${sid}`);
    db.zadd(idx, lruScore(sid, now), sid);
    keepFor(idx, expiresAt - now);
  }

  function liveSessions(now: number, prefix?: string): [string[], boolean, boolean] {
    const idx = `${base}x`;
    for (const member of db.zrangebyscore(idx, -Infinity, now)) {
      db.zrem(idx, member);
      if (member.startsWith('-')) db.zrem(idx, member.slice(1));
    }
    const flagged = db.zscore(idx, '0') !== undefined;
    if (db.zrangebyscore(idx, now, FLAG, true, true).length === db.zrangebyscore(idx, LRU, Infinity).length) {
      if (prefix === undefined) return [db.zrangebyscore(idx, LRU, Infinity), true, flagged];
      const from = LRU * (Number(prefix) - 99);
      return [db.zrangebyscore(idx, from, from + LRU, false, true), true, flagged];
    }
    const seen = new Set<string>();
    const live: string[] = [];
    for (const member of db.zrangebyscore(idx, now, Infinity, true)) {
      const sid = member.startsWith('-') ? member.slice(1) : member;
      if (member !== '0' && !seen.has(sid) && (prefix === undefined || sid.slice(0, 3) === prefix)) {
        seen.add(sid);
        live.push(sid);
      }
    }
    return [live, false, flagged];
  }

  const usableKey = (kid: string | undefined, kids: string) => kid !== undefined && kids.split(' ').includes(kid);

  return { follow, identity, sessionPrefix, identitySessionId, endSession, index, liveSessions, usableKey };
}

const issue: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const A = (JSON.parse(ARGV[1]!) as unknown[]).map(String);
  const { endSession, index, liveSessions, usableKey } = session(db, base);
  const now = num(A[11]);
  const ip = A[18]!;

  if (ip !== '') {
    const [all, mine] = db.hmget(KEYS[4]!, '*', ip);
    if (num(mine) >= num(A[19]) || num(all) >= num(A[20])) return [-1, db.pttl(KEYS[4]!)];
  }

  const loggedIn = () => {
    if (ip === '') return;
    const mine = db.hget(KEYS[4]!, ip);
    if (mine !== undefined) {
      db.hdel(KEYS[4]!, ip);
      if (db.hincrby(KEYS[4]!, '*', -Number(mine)) <= 0) db.hdel(KEYS[4]!, '*');
      if (db.hlen(KEYS[4]!) === 0) db.del(KEYS[4]!);
    }
  };

  const sid = A[0]!;
  const [c, u, sc, as, rs, k, exp, ct, rexp] = db.hmget(KEYS[0]!, 'c', 'u', 'sc', 'as', 'rs', 'k', 'exp', 'ct', 'rexp');
  if (c !== undefined) {
    if (A[14] === '1' && c === A[1] && u === A[2] && sc === A[3] && as !== '' && usableKey(k, A[10]!)) {
      const left = num(exp) - now;
      if (left > num(A[15])) {
        db.hset(KEYS[0]!, { lu: now });
        index(sid, Math.max(num(exp), num(rexp)), now);
        loggedIn();
        return [1, sid, as!, rs!, k!, left, ct!];
      }
    }
    endSession(sid);
  }

  const accessTtl = num(A[12]);
  const refreshTtl = num(A[13]);
  const life = Math.max(accessTtl, refreshTtl);
  const limit = num(A[16]);
  let ended = '';
  const live = liveSessions(now, sid.slice(0, 3));
  const ordered = live[1];
  let [mine, , flagged] = live;
  for (let i = mine.length - 1; i >= 0 && !flagged; i--) {
    const [oc, ou] = db.hmget(`${base}s:${mine[i]}`, 'c', 'u');
    if (oc !== undefined) {
      if (oc !== A[1] || ou !== A[2]) {
        flagged = true;
        db.zadd(KEYS[1]!, FLAG, '0');
      }
      break;
    }
  }
  if (limit > 0 && mine.length >= limit) {
    if (flagged || !ordered) {
      const byUse: (readonly [string, number])[] = [];
      for (const other of mine) {
        const [oc, ou, lu] = db.hmget(`${base}s:${other}`, 'c', 'u', 'lu');
        if (oc === A[1] && ou === A[2]) byUse.push([other, num(lu)]);
      }
      // table.sort is not stable: ties are broken by position here, and there only by chance; the
      // contract allows either (both are equally least recently used).
      byUse.sort((a, b) => a[1] - b[1]);
      mine = byUse.map(([other]) => other);
    }
    if (mine.length >= limit) {
      if (A[17] === 'refuse') return [-2];
      for (let count = mine.length, i = 0; count >= limit; count--, i++) {
        if (endSession(mine[i]!) === 1) ended = mine[i]!;
      }
    }
  }

  db.set(KEYS[2]!, sid, accessTtl);
  if (A[6] !== '') db.set(KEYS[3]!, sid, refreshTtl);
  db.hset(KEYS[0]!, {
    c: A[1]!,
    u: A[2]!,
    sc: A[3]!,
    dv: A[4]!,
    ah: A[5]!,
    rh: A[6]!,
    as: A[7]!,
    rs: A[8]!,
    k: A[9]!,
    iat: now,
    exp: now + accessTtl,
    rexp: now + refreshTtl,
    ct: now,
    lu: now,
  });
  db.pexpire(KEYS[0]!, life);
  index(sid, now + life, now);
  loggedIn();
  return [0, sid, ended];
};

const refresh: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const A = (JSON.parse(ARGV[1]!) as unknown[]).map(String);
  const { follow, endSession, index, usableKey, identitySessionId } = session(db, base);

  if (Date.now() > num(A[12])) return [-5];

  const now = num(A[8]);
  const presented = KEYS[0]!.slice(base.length + 2);
  const fields = ['c', 'u', 'sc', 'dv', 'ah', 'rh', 'ct', 'as', 'rs', 'k', 'exp', 'g', 'ph', 'pt', 'rexp'];

  const found = follow(KEYS[0]!, ...fields);
  let sid = found?.[0];
  let s = found?.[1] ?? [];
  let retry = false;
  if (sid === undefined) {
    const rotated = db.get(KEYS[1]!);
    if (rotated === undefined) return [-1];
    const dot = rotated.indexOf('.');
    if (dot < 0) return [-1];
    sid = rotated.slice(0, dot);
    s = db.hmget(`${base}s:${sid}`, ...fields);
    if (s[0] === undefined || s[11] !== rotated.slice(dot + 1)) return [-1];
    if (s[0] !== A[0]) return [-1];
    if (s[12] !== presented || now - num(s[13]) >= num(A[11])) {
      endSession(sid);
      return [-2, sid];
    }
    retry = true;
  }
  if (s[0] !== A[0]) return [-1];
  const [client, username, granted, device, ah, rh, ct, as, rs, k, exp, g, , , rexp] = s as string[];

  let key = `${base}s:${sid}`;
  if (retry && as !== '' && usableKey(k, A[7]!) && num(exp) > now) {
    db.hset(key, { lu: now });
    index(sid, Math.max(num(exp), num(rexp)), now);
    return [1, sid, client!, username!, granted!, device!, num(exp) - now, ct!, as!, rs!, k!];
  }

  let scope = granted!;
  if (A[1] !== '') {
    const have = new Set(granted!.split(' ').filter(Boolean));
    const chosen = new Set<string>();
    for (const w of A[1]!.split(' ').filter(Boolean)) {
      if (!have.has(w)) return [-4];
      chosen.add(w);
    }
    if (device !== '') chosen.add(device!);
    // Lua's table.sort on strings: byte order, which is code unit order for ASCII scope tokens.
    scope = [...chosen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(' ');
  }

  const accessTtl = num(A[9]);
  const refreshTtl = num(A[10]);
  const life = Math.max(accessTtl, refreshTtl);
  const generation = g ?? A[13]!;

  let target = sid;
  if (A[4] !== '') target = identitySessionId(client!, username!, scope);

  db.del(`${base}a:${ah}`);
  const currentKey = `${base}r:${rh}`;
  const left = db.pttl(currentKey);
  db.del(currentKey);
  if (left > 0) db.set(`${base}u:${rh}`, `${target}.${generation}`, left);

  if (target !== sid) {
    endSession(target);
    db.rename(key, `${base}s:${target}`);
    db.zrem(KEYS[4]!, sid);
    db.zrem(KEYS[4]!, `-${sid}`);
    key = `${base}s:${target}`;
  }

  db.set(KEYS[2]!, target, accessTtl);
  db.set(KEYS[3]!, target, refreshTtl);
  db.hset(key, {
    sc: scope,
    ah: A[2]!,
    rh: A[3]!,
    as: A[4]!,
    rs: A[5]!,
    k: A[6]!,
    iat: now,
    exp: now + accessTtl,
    rexp: now + refreshTtl,
    lu: now,
    g: generation,
  });
  if (!retry) db.hset(key, { ph: rh!, pt: now });
  db.pexpire(key, life);
  index(target, now + life, now);
  return [0, target, client!, username!, scope, device!, accessTtl, ct!];
};

const revoke: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { follow, endSession } = session(db, base);
  for (let i = 0; i < 2; i++) {
    const found = follow(KEYS[i]!, 'c');
    if (found !== undefined) {
      const [sid, [client]] = found;
      if (client !== ARGV[1]) return [-1];
      endSession(sid);
      return [1, sid];
    }
  }
  return [0];
};

const lookup: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { follow } = session(db, base);
  for (const [i, key] of KEYS.entries()) {
    const found = follow(key, 'c', 'u', 'sc', 'dv', 'iat', 'exp', 'rexp');
    if (found !== undefined) {
      const [sid, s] = found;
      return [i + 1, sid, ...(s as string[])];
    }
  }
  return [0];
};

const devices: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { follow, endSession, liveSessions, sessionPrefix } = session(db, base);
  const now = num(ARGV[1]);
  const found = follow(KEYS[0]!, 'c', 'u');
  if (found === undefined) return [0];
  const [caller, [client, user]] = found;
  if (user === '') return [-3];

  const op = ARGV[2];
  if (op === 'end') {
    const [c, u] = db.hmget(KEYS[1]!, 'c', 'u');
    if (c !== client || u !== user) return [-4];
    endSession(KEYS[1]!.slice(base.length + 2));
    return [1];
  }

  const [live] = liveSessions(now, sessionPrefix(client!, user!));
  if (op === 'end-others') {
    let ended = 0;
    for (const sid of live) {
      const [c, u] = db.hmget(`${base}s:${sid}`, 'c', 'u');
      if (sid !== caller && c === client && u === user) ended += endSession(sid);
    }
    return [1, ended];
  }

  const out: (string | number)[] = [1, caller, client!, user!];
  for (const sid of live) {
    const [c, u, dv, sc, ct, lu, exp, rexp] = db.hmget(`${base}s:${sid}`, 'c', 'u', 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp');
    if (c === client && u === user) out.push(sid, dv!, sc!, ct!, lu!, Math.max(num(exp), num(rexp)));
  }
  return out;
};

const sessions: Twin = (db, _KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { endSession, liveSessions, sessionPrefix } = session(db, base);
  const now = num(ARGV[1]);
  const prefix = ARGV[3] !== '' ? sessionPrefix(ARGV[3]!, ARGV[2]!) : undefined;
  const out: (string | number)[] = [];
  let ended = 0;
  for (const sid of liveSessions(now, prefix)[0]) {
    const s = db.hmget(`${base}s:${sid}`, 'u', 'c', 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp');
    if (s[0] === ARGV[2] && (ARGV[3] === '' || s[1] === ARGV[3])) {
      if (ARGV[4] === 'end') {
        ended += endSession(sid);
      } else {
        out.push(sid, ...(s.slice(1, 6) as string[]), Math.max(num(s[6]), num(s[7])));
      }
    }
  }
  if (ARGV[4] === 'end') return [ended];
  return out;
};

const sessionEnd: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { endSession } = session(db, base);
  if (db.hget(KEYS[0]!, 'u') !== ARGV[1]) return [0];
  return [endSession(KEYS[0]!.slice(base.length + 2))];
};

const loginFailure: Twin = (db, KEYS, ARGV) => {
  const total = db.hincrby(KEYS[0]!, '*', 1);
  let mine = 0;
  if (db.hexists(KEYS[0]!, ARGV[0]!) || db.hlen(KEYS[0]!) <= num(ARGV[2])) mine = db.hincrby(KEYS[0]!, ARGV[0]!, 1);
  let left = db.pttl(KEYS[0]!);
  if (left < 0) {
    db.pexpire(KEYS[0]!, num(ARGV[1]));
    left = num(ARGV[1]);
  }
  return [total, mine, left];
};

const loginFailuresClear: Twin = (db, KEYS) => [db.del(KEYS[0]!)];

const TWINS: Readonly<Record<ScriptName, Twin>> = {
  issue,
  refresh,
  revoke,
  lookup,
  devices,
  sessions,
  sessionEnd,
  loginFailure,
  loginFailuresClear,
};

/** Runs the twin of a script: the same KEYS and ARGV as the Lua script, the same reply. */
export function runTwin(db: Keyspace, name: ScriptName, keys: readonly string[], args: Args): Reply {
  return TWINS[name](db, keys, args.map(String));
}
