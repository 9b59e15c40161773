import fc from 'fast-check';
import { equalFixedLength, safeEqual } from '../../lib/crypto/safe-compare';

describe('safe comparisons', () => {
  it('equalFixedLength and safeEqual answer what === answers, for any two strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(safeEqual(a, b)).toBe(a === b);
        // Token hashes are base64url (ASCII): latin1 bytes are their characters.
        const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, 'x');
        expect(equalFixedLength(ascii(a), ascii(b))).toBe(ascii(a) === ascii(b));
      }),
    );
    expect(equalFixedLength('alSvLDYRCzrtBu0JdXHKZw', 'alSvLDYRCzrtBu0JdXHKZw')).toBe(true);
    expect(equalFixedLength('alSvLDYRCzrtBu0JdXHKZw', 'alSvLDYRCzrtBu0JdXHKZx')).toBe(false);
    expect(equalFixedLength('alSvLDYRCzrtBu0JdXHKZw', 'alSvLDYRCzrtBu0JdXHKZ')).toBe(false);
    expect(equalFixedLength('', '')).toBe(true);
  });
});
