import fc from 'fast-check';
import { infoLineJson, requestLineFields, type RequestLine } from '../../example-gateway/logging';

// The everyday request line is built by hand (it is the gateway's largest cost of its own on its
// busiest paths); it must stay exactly the line pino's JSON would be.
describe('infoLineJson', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 40 });
  const maybe = fc.option(text, { nil: undefined });
  const line: fc.Arbitrary<RequestLine> = fc.record({
    id: text,
    method: text,
    url: text,
    remoteAddress: maybe,
    userAgent: maybe,
    statusCode: fc.integer({ min: 100, max: 599 }),
    responseTime: fc.nat(100_000),
    oauth: fc.option(fc.record({ clientId: text, username: maybe, device: maybe }), { nil: undefined }),
    aborted: fc.boolean(),
  });

  it('is the JSON.stringify of the fields pino would write, for any values (quotes, control characters, Unicode)', () => {
    fc.assert(
      fc.property(line, maybe, text, fc.date({ noInvalidDate: true }), (fields, service, msg, date) => {
        const time = date.toISOString();
        const expected = `${JSON.stringify({ level: 30, time, service, ...requestLineFields(fields), msg })}\n`;
        expect(infoLineJson(time, service, fields, msg)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves out what is unknown, as pino does', () => {
    const bare: RequestLine = {
      id: 'r1',
      method: 'GET',
      url: '/livez',
      remoteAddress: undefined,
      userAgent: undefined,
      statusCode: 200,
      responseTime: 1,
      oauth: undefined,
      aborted: false,
    };
    expect(JSON.parse(infoLineJson('2026-12-02T00:00:00.000Z', 'example-gateway', bare, 'request completed'))).toEqual({
      level: 30,
      time: '2026-12-02T00:00:00.000Z',
      service: 'example-gateway',
      req: { id: 'r1', method: 'GET', url: '/livez' },
      res: { statusCode: 200 },
      responseTime: 1,
      msg: 'request completed',
    });
  });
});
