import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config-error';
import type { GatewayEnvironment } from './environment';

/** A certificate chain and its private key, PEM-encoded. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  /** Where they came from, for the start-up log. */
  readonly source: 'files' | 'self-signed';
}

function readPem(variable: 'TLS_CERT' | 'TLS_KEY', file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${variable} file ${file} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * A self-signed certificate for `localhost`, made in memory at start-up (never written to disk):
 * enough for `curl -k` and for trying HTTPS out, never for production.
 */
export async function selfSignedCredentials(): Promise<TlsCredentials> {
  // Loaded only when needed: most deployments give TLS_CERT/TLS_KEY or terminate TLS in front.
  const { generate } = await import('selfsigned');
  const notAfter = new Date();
  notAfter.setDate(notAfter.getDate() + 30);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, source: 'self-signed' };
}

/**
 * The HTTPS certificate: the `TLS_CERT`/`TLS_KEY` files, checked to be a usable pair, or a
 * self-signed one when neither is set.
 * @throws ConfigError for an unreadable file or a certificate and key that do not fit.
 */
export async function loadTlsCredentials(env: Pick<GatewayEnvironment, 'tls'>): Promise<TlsCredentials> {
  if (env.tls === undefined) return selfSignedCredentials();
  const cert = readPem('TLS_CERT', env.tls.certFile);
  const key = readPem('TLS_KEY', env.tls.keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(
      `TLS_CERT and TLS_KEY must be a PEM certificate and its PEM private key (${env.tls.certFile}, ${env.tls.keyFile}): ${(error as Error).message}`,
    );
  }
  return { cert, key, source: 'files' };
}
