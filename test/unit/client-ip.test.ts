import express, { type Express } from 'express';
import request from 'supertest';
import { clientIp } from '../../lib/params/client-ip';

/** An app answering what `clientIp()` and Express' own `req.ip` say, with `trust proxy` set to `trust`. */
function app(trust?: unknown): Express {
  const answer = express();
  if (trust !== undefined) answer.set('trust proxy', trust);
  answer.get('/ip', (req, res) => {
    res.json({ clientIp: clientIp(req), expressIp: req.ip });
  });
  return answer;
}

describe('clientIp', () => {
  it.each([
    ['off (the default)', undefined],
    ['false', false],
    ['0 hops', 0],
    ['true', true],
    ['1 hop', 1],
    ['2 hops', 2],
    ['a subnet', 'loopback'],
    ['a function', (address: string) => address === '127.0.0.1' || address === '::ffff:127.0.0.1'],
  ])('answers what req.ip answers with trust proxy %s, X-Forwarded-For or not', async (_name, trust) => {
    for (const forwarded of [undefined, '203.0.113.7', '198.51.100.1, 203.0.113.7', 'not an address']) {
      const call = request(app(trust)).get('/ip');
      const { body } = await (forwarded === undefined ? call : call.set('X-Forwarded-For', forwarded));
      expect(body.clientIp).toBe(body.expressIp);
    }
  });

  it('ignores X-Forwarded-For with trust proxy off, so a client cannot pick its own address', async () => {
    const { body } = await request(app()).get('/ip').set('X-Forwarded-For', '203.0.113.7');
    expect(body.clientIp).toMatch(/127\.0\.0\.1$|^::1$/);
  });

  it("follows the setting a mounted app inherits from its parent's", async () => {
    const parent = express();
    parent.set('trust proxy', true);
    parent.use('/child', app());
    const { body } = await request(parent).get('/child/ip').set('X-Forwarded-For', '203.0.113.7');
    expect(body).toEqual({ clientIp: '203.0.113.7', expressIp: '203.0.113.7' });
  });
});
