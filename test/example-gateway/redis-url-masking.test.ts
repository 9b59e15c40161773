import { maskRedisUrl, readEnvironment } from '../../example-gateway/environment';
import { configErrorMessage } from './config-error-message';

// Issue 10, item 3: a Redis password never appears where REDIS_URL is displayed (the start-up
// log line, the connection-lost warning, configuration errors), whichever of the three ways
// ioredis accepts it is given in: `redis://:pw@host`, `redis://user:pw@host`, `?password=pw`.

const PASSWORD = 'Redis-Pa55word-that-must-not-leak';

const displayOf = (url: string) => {
  const target = readEnvironment({ REDIS_URL: url }).redis;
  if (target?.kind !== 'single') throw new Error('expected a single Redis target');
  return target;
};

describe('REDIS_URL credentials are masked wherever the URL is displayed', () => {
  it.each([
    [`redis://:${PASSWORD}@127.0.0.1:6379/0`, 'redis://:***@127.0.0.1:6379/0'],
    [`redis://gateway:${PASSWORD}@127.0.0.1:6379/0`, 'redis://gateway:***@127.0.0.1:6379/0'],
    [`redis://127.0.0.1:6379/0?password=${PASSWORD}`, 'redis://127.0.0.1:6379/0?password=***'],
    [
      `rediss://redis.internal:6380/2?username=gw&password=${PASSWORD}&family=4`,
      'rediss://redis.internal:6380/2?username=gw&password=***&family=4',
    ],
    [
      `redis://127.0.0.1:6379?sentinelPassword=${PASSWORD}&password=${PASSWORD}&password=${PASSWORD}`,
      'redis://127.0.0.1:6379?sentinelPassword=***&password=***',
    ],
    [
      `redis://:${encodeURIComponent('p@ss:w/rd?&=')}@127.0.0.1:6379/0?PASSWORD=${encodeURIComponent('p@ss w&rd')}`,
      'redis://:***@127.0.0.1:6379/0?PASSWORD=***',
    ],
  ])('shows %s as %s and still connects with the real URL', (url, display) => {
    const target = displayOf(url);
    expect(target.display).toBe(display);
    expect(target.url).toBe(new URL(url).href);
  });

  it('keeps harmless query parameters readable', () => {
    expect(maskRedisUrl(new URL('redis://127.0.0.1:6379/0?family=6&db=1'))).toBe('redis://127.0.0.1:6379/0?family=6&db=1');
  });

  it.each([
    [`http://:${PASSWORD}@127.0.0.1:6379/0`],
    [`redis://user:${PASSWORD}@127.0.0.1:6379/not-a-db`],
    [`redis://127.0.0.1:6379/not-a-db?password=${PASSWORD}`],
    [`redis:///0?password=${PASSWORD}`],
    [`redis://${PASSWORD} @ nowhere:port`],
    [`not a url ?password=${PASSWORD}`],
  ])('never puts the password in a configuration error (%s)', (url) => {
    const message = configErrorMessage(() => readEnvironment({ REDIS_URL: url }));
    expect(message).toMatch(/^REDIS_URL must be/);
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain(encodeURIComponent(PASSWORD));
  });
});
