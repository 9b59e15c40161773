import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashPassword, isPasswordHash, unmatchablePasswordHash, verifyPassword } from '../crypto/password-hash';
import { OptionError } from '../errors/option-error';
import type { NormalizedRouterOptions } from './option-types';
import { isNonEmptyString, isObject, stringList } from './validate';

/** The users of the password grant: a static list (with equal work on every path) or a function. */

// What an unknown user's password is checked against: hashPassword()'s default parameters with a
// random salt and key made at load (no password matches it), so refusing an unknown user costs
// the same scrypt as refusing a known one, and no constant in the source says what it is.
const DUMMY_HASH = unmatchablePasswordHash();

export function normalizeUsers(users: unknown): NormalizedRouterOptions['authenticateUser'] | undefined {
  if (users === undefined) return undefined;
  if (typeof users === 'function') {
    const authenticate = users as (username: string, password: string) => unknown;
    return async (username, password) => {
      const user: unknown = await authenticate(username, password);
      if (!user) return undefined;
      if (!isObject(user) || !isNonEmptyString(user.username)) {
        throw new OptionError('options.users()', 'must resolve to { username, roles } or nothing');
      }
      return { username: user.username, roles: stringList(user.roles, 'options.users().roles') };
    };
  }
  if (!Array.isArray(users)) throw new OptionError('options.users', 'must be an array of users or an authenticate function');
  const records: { username: string; roles: string[]; password?: string; passwordHash?: string }[] = [];
  const names = new Set<string>();
  users.forEach((record: unknown, index) => {
    const name = `options.users[${index}]`;
    if (!isObject(record)) throw new OptionError(`${name}`, `must be an object`);
    if (!isNonEmptyString(record.username)) throw new OptionError(`${name}.username`, `must be a non-empty string`);
    if (names.has(record.username)) throw new OptionError(`${name}.username`, `"${record.username}" is listed twice`);
    names.add(record.username);
    const { password, passwordHash } = record;
    if ((password === undefined) === (passwordHash === undefined)) {
      throw new OptionError(`${name}`, `must have exactly one of password and passwordHash`);
    }
    if (password !== undefined && !isNonEmptyString(password)) throw new OptionError(`${name}.password`, `must be a non-empty string`);
    if (passwordHash !== undefined && !isPasswordHash(passwordHash)) {
      throw new OptionError(`${name}.passwordHash`, `must have the format scrypt$N$r$p$salt$hash (see hashPassword())`);
    }
    records.push({
      username: record.username,
      roles: stringList(record.roles, `${name}.roles`),
      ...(password === undefined ? { passwordHash: passwordHash as string } : { password }),
    });
  });
  // Equal work on every failure path (an unknown user, a wrong password of a plain-password user
  // and of a hashed user must take the same time): every check costs what the costliest kind of
  // user in the list costs.
  // - Some user has a passwordHash: plain passwords are hashed once, here, with hashPassword()'s
  //   defaults (the parameters of DUMMY_HASH), so every path is one scrypt. scrypt runs on
  //   libuv's thread pool, so building the router stays fast; a login arriving before the hashes
  //   are ready waits for them.
  // - Only plain passwords (demos, benchmarks): each is kept as an HMAC under a key made at load,
  //   and every path, an unknown user's included, is one HMAC and one constant-time compare.
  //   Nothing to hide costs a scrypt, and the plain passwords are not kept.
  if (records.every((record) => record.password !== undefined)) {
    const key = randomBytes(32);
    const digest = (password: string) => createHmac('sha256', key).update(password).digest();
    const byName = new Map(records.map(({ username, roles, password }) => [username, { roles, digest: digest(password!) }]));
    const unmatchable = randomBytes(32);
    return (username, password) => {
      const user = byName.get(username);
      const matches = timingSafeEqual(digest(password), user?.digest ?? unmatchable);
      return user !== undefined && matches ? { username, roles: user.roles } : undefined;
    };
  }
  const directory = Promise.all(
    records.map(async ({ username, roles, password, passwordHash }) => {
      const hash = password === undefined ? passwordHash! : await hashPassword(password);
      return [username, { roles, passwordHash: hash }] as const;
    }),
  ).then((list) => new Map(list));
  // A failure surfaces on the first login (a 500), not as an unhandled rejection at start-up.
  directory.catch(() => undefined);
  return async (username, password) => {
    // Every login, of any user, waits for the directory, so even the first requests after
    // start-up take the same path whoever asks.
    const byName = await directory;
    const user = byName.get(username);
    // Exactly one scrypt verification on every path: unknown user, wrong and right password.
    const matches = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    return user !== undefined && matches ? { username, roles: user.roles } : undefined;
  };
}
