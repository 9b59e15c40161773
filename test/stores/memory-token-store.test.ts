import { MemoryTokenData, MemoryTokenStore } from '../../lib';
import { describeTokenStoreContract, SECRET } from './token-store.contract';

const data = new MemoryTokenData();
afterAll(() => data.close());

describeTokenStoreContract('MemoryTokenStore', () => ({
  store: new MemoryTokenStore({ secret: SECRET, data }),
  withSecret: (secret) => new MemoryTokenStore({ secret, data }),
}));

describe('MemoryTokenStore options', () => {
  it('throws naming options.secret when the secret is short', () => {
    expect(() => new MemoryTokenStore({ secret: 'short' })).toThrow('options.secret must be at least 32 characters long');
  });

  it('throws naming options.secret[1] when a list entry is not a string', () => {
    expect(() => new MemoryTokenStore({ secret: [SECRET, 42 as unknown as string] })).toThrow('options.secret[1] must be a string');
  });

  it('throws naming options.sweepInterval', () => {
    expect(() => new MemoryTokenStore({ secret: SECRET, sweepInterval: -1 })).toThrow('options.sweepInterval');
  });
});
