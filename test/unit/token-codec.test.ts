import { seedHash, TokenCodec, userTag } from '../../lib/tokens/token-codec';

const OLD = 'unit-codec-old-secret-0123456789abcdef';
const NEW = 'unit-codec-new-secret-fedcba9876543210';

/** Replaces the character at `index` with another one of the base64url alphabet. */
function swapAt(text: string, index: number): string {
  const c = text[index]!;
  return `${text.slice(0, index)}${c === 'A' ? 'B' : 'A'}${text.slice(index + 1)}`;
}

describe('TokenCodec', () => {
  const codec = new TokenCodec(OLD);
  const tag = userTag('alice');
  const [seed] = codec.seeds(1) as [string];
  const token = codec.token(tag, seed)!;

  it('makes <tag>.<seed>.<mac> tokens that parse back to their tag and seed hash', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
    expect(codec.parse(token)).toEqual({ tag, hash: seedHash(seed) });
  });

  it('makes access tokens <tag>.<sid>.<seed>.<mac> that parse back to their tag, seed hash and session id', () => {
    const sid = '1234567890123456';
    const access = codec.token(tag, seed, codec.keyId, sid)!;
    expect(access).toMatch(/^[A-Za-z0-9_-]{12}\.1234567890123456\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
    expect(codec.parse(access)).toEqual({ tag, hash: seedHash(seed), sessionId: sid });
    // The MAC covers the session id: changed, or dropped to make a 3-part token, it fails.
    const [t, , s, mac] = access.split('.') as [string, string, string, string];
    expect(codec.parse(`${t}.1234567890123457.${s}.${mac}`)).toBeUndefined();
    expect(codec.parse(`${t}.${s}.${mac}`)).toBeUndefined();
    // …and the 3-part token of the same seed is another MAC.
    expect(access.endsWith(token.split('.')[2]!)).toBe(false);
    expect(() => codec.token(tag, seed, codec.keyId, '123')).toThrow(TypeError);
  });

  it('draws fresh 256-bit seeds', () => {
    const seeds = codec.seeds(3);
    expect(new Set(seeds).size).toBe(3);
    for (const s of seeds) expect(Buffer.from(s, 'base64url')).toHaveLength(32);
  });

  it('rejects a wrong MAC, a changed seed or tag', () => {
    const [t, s, mac] = token.split('.') as [string, string, string];
    expect(codec.parse(`${t}.${s}.${swapAt(mac, 0)}`)).toBeUndefined();
    expect(codec.parse(`${t}.${swapAt(s, 5)}.${mac}`)).toBeUndefined();
    expect(codec.parse(`${swapAt(t, 3)}.${s}.${mac}`)).toBeUndefined();
    expect(codec.parse(`${userTag('mallory')}.${s}.${mac}`)).toBeUndefined();
  });

  it('rejects a wrong length or shape', () => {
    for (const bad of [
      `${token}A`,
      token.slice(0, -1),
      token.replace(/\./g, ':'),
      `${token.slice(0, 20)}+${token.slice(21)}`,
      '',
      'a.b.c',
    ]) {
      expect(codec.parse(bad)).toBeUndefined();
    }
  });

  it('rejects a MAC that is not in canonical base64url (one token, one spelling)', () => {
    // 16 bytes are 22 base64url characters whose last one carries 2 bits: the other 4 must be 0.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = token.at(-1)!;
    const variants = [...alphabet].filter((c) => c !== last).map((c) => `${token.slice(0, -1)}${c}`);
    // Counted, not listed: a test never prints a token.
    expect(variants.filter((variant) => codec.parse(variant) !== undefined).length).toBe(0);
  });

  it('rejects a token made under another secret', () => {
    expect(new TokenCodec(NEW).parse(token)).toBeUndefined();
  });

  it('accepts a token made under a previous secret, and makes new ones under the newest', () => {
    const rotated = new TokenCodec([NEW, OLD]);
    expect(rotated.parse(token)).toEqual({ tag, hash: seedHash(seed) });
    expect(rotated.keyIds.split(' ')).toEqual([rotated.keyId, codec.keyId]);
    expect(rotated.token(tag, seed, codec.keyId)).toBe(token);
    const fresh = rotated.token(tag, seed)!;
    expect(fresh).not.toBe(token);
    expect(codec.parse(fresh)).toBeUndefined();
    expect(new TokenCodec(NEW).parse(fresh)).toEqual({ tag, hash: seedHash(seed) });
  });

  it('answers undefined from token() for a key id it does not hold', () => {
    expect(codec.token(tag, seed, new TokenCodec(NEW).keyId)).toBeUndefined();
    expect(codec.token(tag, seed, 'unknown!')).toBeUndefined();
  });

  it('names the key of a secret the same in every process, and differently for another secret', () => {
    expect(new TokenCodec(OLD).keyId).toBe(codec.keyId);
    expect(new TokenCodec(NEW).keyId).not.toBe(codec.keyId);
  });

  it('refuses short or missing secrets, naming the option', () => {
    expect(() => new TokenCodec('short', 'options.secret')).toThrow('options.secret must be at least 32 characters long');
    expect(() => new TokenCodec([], 'options.secret')).toThrow('options.secret');
    expect(() => new TokenCodec([NEW, 'short'], 'options.secret')).toThrow('options.secret[1]');
  });
});

describe('userTag', () => {
  it('folds letter case and compatibility forms, so Alice and alice share a slot', () => {
    expect(userTag('Alice')).toBe(userTag('alice'));
    expect(userTag('ａｌｉｃｅ')).toBe(userTag('alice'));
    expect(userTag('alice')).not.toBe(userTag('bob'));
    expect(userTag('alice')).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });
});
