import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { randomBase64url, sha1Hex, sha256Base64url, sha256Base64url16, sha256Digest } from '../../lib/crypto/fast-crypto';

describe('sha256Base64url16 / sha256Base64url / sha256Digest / sha1Hex', () => {
  it('equal the createHash() forms they replace, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const digest = createHash('sha256').update(text).digest();
        expect(sha256Base64url16(text)).toBe(digest.subarray(0, 16).toString('base64url'));
        expect(sha256Base64url(text)).toBe(digest.toString('base64url'));
        expect(sha256Digest(text).equals(digest)).toBe(true);
        expect(sha1Hex(text)).toBe(createHash('sha1').update(text).digest('hex'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('randomBase64url', () => {
  it('hands out every pooled byte once: 20,000 seeds (many pool refills) are distinct and 32 bytes each', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const seed = randomBase64url(32);
      expect(seed).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(seed, 'base64url')).toHaveLength(32);
      seen.add(seed);
    }
    expect(seen.size).toBe(20_000);
  });

  it('gives odd sizes and sizes beyond the pool too', () => {
    expect(Buffer.from(randomBase64url(12), 'base64url')).toHaveLength(12);
    expect(Buffer.from(randomBase64url(5000), 'base64url')).toHaveLength(5000);
  });

  it('looks random: each bit of 4,000 seeds is set about half the time', () => {
    const counts = new Array<number>(256).fill(0);
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(randomBase64url(32), 'base64url');
      for (let bit = 0; bit < 256; bit++) if (bytes[bit >> 3]! & (1 << (bit & 7))) counts[bit]!++;
    }
    // 6 standard deviations of a fair coin over n draws: a constant or stuck byte fails at once.
    for (const count of counts) expect(Math.abs(count - n / 2)).toBeLessThan(6 * Math.sqrt(n / 4));
  });
});
