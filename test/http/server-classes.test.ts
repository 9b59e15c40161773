import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { serverClassesFor } from '../../lib';

/** A server of `app` made with serverClassesFor(app); `seen` gets each request's prototypes before Express touches them. */
async function serve(app: Express, seen?: (req: IncomingMessage, res: ServerResponse) => void) {
  const server: Server = createServer(serverClassesFor(app), app);
  if (seen) server.prependListener('request', seen);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('serverClassesFor(app)', () => {
  it("makes each request's objects with the app's Express prototypes, still Node's IncomingMessage and ServerResponse", async () => {
    const app = express();
    app.set('trust proxy', true);
    app.post('/echo', express.json(), (req, res) => void res.status(201).json({ path: req.path, ip: req.ip, got: req.body as unknown }));
    const prototypes: boolean[] = [];
    const kinds: boolean[] = [];
    const { url, close } = await serve(app, (req, res) => {
      prototypes.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
      kinds.push(req instanceof IncomingMessage, res instanceof ServerResponse);
    });
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await fetch(`${url}/echo?x=${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
          body: JSON.stringify({ n: i }),
        });
        expect(answer.status).toBe(201);
        expect(await answer.json()).toEqual({ path: '/echo', ip: '203.0.113.9', got: { n: i } });
      }
      const head = await fetch(`${url}/echo`, { method: 'HEAD' });
      expect(head.status).toBe(404); // Express' own answer: only POST is routed
    } finally {
      await close();
    }
    expect(prototypes).toEqual(Array(8).fill(true));
    expect(kinds).toEqual(Array(8).fill(true));
  });

  it('lets a mounted sub-app switch to its own prototypes and back, as Express does', async () => {
    const inner = express();
    inner.get('/who', (req, res) => void res.json({ app: req.app === inner ? 'inner' : 'other' }));
    const outer = express();
    outer.use('/inner', inner);
    outer.use(
      (req, res) =>
        void res.status(404).json({ app: req.app === outer ? 'outer' : 'other', protoOk: Object.getPrototypeOf(res) === outer.response }),
    );
    const { url, close } = await serve(outer);
    try {
      expect(await (await fetch(`${url}/inner/who`)).json()).toEqual({ app: 'inner' });
      // Through the sub-app and out again: the outer app's prototypes are back.
      expect(await (await fetch(`${url}/inner/nothing`)).json()).toEqual({ app: 'outer', protoOk: true });
    } finally {
      await close();
    }
  });

  it("gives back Node's classes as they are when they are ES classes (which cannot be called without new)", () => {
    class Request extends IncomingMessage {}
    class Response extends ServerResponse {}
    const node = { IncomingMessage: Request, ServerResponse: Response as typeof ServerResponse };
    expect(serverClassesFor(express(), node)).toBe(node);
  });

  it("makes new classes for Node's own (plain constructor functions)", () => {
    const classes = serverClassesFor(express());
    expect(classes.IncomingMessage).not.toBe(IncomingMessage);
    expect(classes.ServerResponse).not.toBe(ServerResponse);
  });
});
