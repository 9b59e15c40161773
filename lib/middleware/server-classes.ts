import { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';

/** What `http.createServer()` and `https.createServer()` take to make each request's objects. */
export interface ServerClasses {
  readonly IncomingMessage: typeof IncomingMessage;
  readonly ServerResponse: typeof ServerResponse;
}

/**
 * Request and response classes for the HTTP server of an Express `app` (built on `node`, Node's
 * own), whose objects are made with the app's Express prototypes (`app.request`, `app.response`)
 * from the start. Served the usual way (`app.listen()`, `http.createServer(app)`), Express gives
 * every request's two objects those prototypes in `app.handle()` with `Object.setPrototypeOf()`,
 * and an object whose prototype changes after it was made throws V8 off its fast paths: the
 * property accesses of every handler that touches it, and the garbage collector, which then
 * promotes megabytes a second and takes ~7 ms a scavenge instead of ~0.6 (a bare Express route on
 * Redis: 7,560 → 19,000 req/s on the bench's machine; expressjs/express#5998). Express still
 * makes the call, which then changes nothing. A sub-app mounted in `app` still switches to its own
 * prototypes and back, as Express does. Nothing here is about tokens: it serves the whole app.
 *
 * The objects are initialised by Node's own constructors, called on them (`IncomingMessage` and
 * `ServerResponse` are plain functions in Node), so they are what Node makes in every other
 * respect, `instanceof` included. (`Reflect.construct()` with a new target would also take a
 * class, but measured slower than Express' own way.) Were Node's constructors ever classes, that
 * cannot be called so, Node's own classes are returned and Express does as it always has.
 *
 * @example
 * http.createServer(serverClassesFor(app), app).listen(3000);
 * https.createServer({ cert, key, ...serverClassesFor(app) }, app).listen(3443);
 */
export function serverClassesFor(app: Express, node: ServerClasses = { IncomingMessage, ServerResponse }): ServerClasses {
  if (isClass(node.IncomingMessage) || isClass(node.ServerResponse)) return node;
  const initRequest = node.IncomingMessage as unknown as (
    this: IncomingMessage,
    ...args: ConstructorParameters<typeof IncomingMessage>
  ) => void;
  // Node passes the response its options too (`highWaterMark` …), which its declarations leave out.
  const initResponse = node.ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: unknown) => void;
  function AppRequest(this: IncomingMessage, socket: ConstructorParameters<typeof IncomingMessage>[0]): void {
    initRequest.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    initResponse.call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return {
    IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
    ServerResponse: AppResponse as unknown as typeof ServerResponse,
  };
}

/** True for a constructor written as an ES class (which throws when called without `new`). */
function isClass(constructor: unknown): boolean {
  return /^class\b/.test(Function.prototype.toString.call(constructor));
}
