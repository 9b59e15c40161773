import fc from 'fast-check';
import { safeDescription } from '../../lib/errors/render-error';

// RFC 6749 §5.2 / RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const ALLOWED = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;

describe('safeDescription', () => {
  it('keeps text that is already allowed as it is', () => {
    const text = "the scope 'orders:read' is not allowed (RFC 6749 3.3) [x] {y} ~!#$%&()*+,-./;<=>?@^_`|";
    expect(safeDescription(text)).toBe(text);
  });

  it('spells out section signs, turns double quotes and backslashes into allowed look-alikes', () => {
    expect(safeDescription('RFC 6749 §4.3.2')).toBe('RFC 6749 section 4.3.2');
    expect(safeDescription('"device_ipad" is bad')).toBe("'device_ipad' is bad");
    expect(safeDescription('a\\b')).toBe('a/b');
  });

  it('replaces control characters, DEL and non-ASCII with ?', () => {
    expect(safeDescription('a\nb\r\tc\u0000d\u007fe')).toBe('a?b??c?d?e');
    expect(safeDescription('café 日本')).toBe('caf? ??');
    expect(safeDescription('key 🔑')).toBe('key ??'); // one character, two UTF-16 code units
  });

  it('never answers a character outside the RFC set, whatever it is given', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(safeDescription(text)).toMatch(ALLOWED);
      }),
      { numRuns: 500 },
    );
  });
});
