import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (`undefined` when it is not JSON). */
  readonly json: any;
  /** HTTPS only: the certificate the server presented. */
  readonly peerCertificate?: PeerCertificate | undefined;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Sent as `application/x-www-form-urlencoded` unless a content-type header is given. */
  readonly body?: string;
  /** HTTPS: trust only this CA/certificate (full verification). */
  readonly ca?: string;
  /** HTTPS: accept any certificate, as `curl -k` does. */
  readonly insecure?: boolean;
}

/**
 * One request over a fresh connection (no keep-alive, so a test never holds a gateway's
 * shutdown up by accident).
 */
export function request(url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const headers: Record<string, string> = { connection: 'close', ...options.headers };
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(options.body));
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers,
        agent: false,
        ...(target.protocol === 'https:' ? { ca: options.ca, rejectUnauthorized: options.insecure !== true } : {}),
      },
      (res) => {
        const peerCertificate = target.protocol === 'https:' ? (res.socket as TLSSocket).getPeerCertificate() : undefined;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, peerCertificate });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
