import { ConfigError } from '../../example-gateway/config-error';
import { readLogFormat } from '../../example-gateway/log-format';
import { prettyLine } from '../../example-gateway/pretty-log';

describe('readLogFormat()', () => {
  it('is pretty on a terminal and JSON otherwise when LOG_FORMAT is unset or blank', () => {
    expect(readLogFormat({}, true)).toBe('pretty');
    expect(readLogFormat({}, false)).toBe('json');
    expect(readLogFormat({ LOG_FORMAT: ' ' }, true)).toBe('pretty');
  });

  it('follows LOG_FORMAT whatever stdout is', () => {
    expect(readLogFormat({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(readLogFormat({ LOG_FORMAT: 'Pretty' }, false)).toBe('pretty');
  });

  it('throws a ConfigError naming LOG_FORMAT for another value', () => {
    expect(() => readLogFormat({ LOG_FORMAT: 'xml' }, false)).toThrow(ConfigError);
    expect(() => readLogFormat({ LOG_FORMAT: 'xml' }, false)).toThrow('LOG_FORMAT must be one of json, pretty (got "xml")');
  });
});

describe('prettyLine()', () => {
  const time = '2026-01-02T12:00:01.234Z';

  it('tells a request line as method, URL, status and time, then who called', () => {
    const line = JSON.stringify({
      level: 30,
      time,
      service: 'example-gateway',
      req: { id: 'lb-1', method: 'GET', url: '/api/orders', remoteAddress: '::1', userAgent: 'curl/8' },
      res: { statusCode: 200 },
      responseTime: 3,
      oauth: { clientId: 'demo-app', username: 'alice', device: 'device_ipad' },
      msg: 'request completed',
    });
    expect(prettyLine(line)).toBe(
      '12:00:01.234 INFO  GET /api/orders 200 3ms client=demo-app user=alice device=device_ipad id=lb-1 remoteAddress=::1 userAgent=curl/8\n',
    );
  });

  it('tells any other line as its message and fields, and an error with its stack', () => {
    const line = JSON.stringify({
      level: 40,
      time,
      service: 'example-gateway',
      redis: 'redis://127.0.0.1:1',
      err: { message: 'down', stack: 'Error: down\n    at x' },
      msg: 'Redis connection lost',
    });
    expect(prettyLine(line)).toBe('12:00:01.234 WARN  Redis connection lost redis=redis://127.0.0.1:1\n    Error: down\n        at x\n');
  });

  it('quotes values with spaces and colours only when asked', () => {
    const line = JSON.stringify({ level: 50, time, msg: 'x', note: 'two words' });
    expect(prettyLine(line)).toBe('12:00:01.234 ERROR x note="two words"\n');
    expect(prettyLine(line, true)).toContain('\u001b[31mERROR\u001b[0m');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(prettyLine('not json')).toBe('not json\n');
  });
});
