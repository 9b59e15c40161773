import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { killAllGateways, spawnGateway, startGateway, type ListeningGateway } from './gateway-process';
import { request } from './http';

/** HTTPS with the operator's certificate (TLS_CERT/TLS_KEY), and the self-signed default. */

const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), otherKey: join(dir, 'other-key.pem') };
let cert: string;
let withFiles: ListeningGateway;
let selfSigned: ListeningGateway;

function localhostCertificate() {
  return generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
}

beforeAll(async () => {
  const [pems, other] = await Promise.all([localhostCertificate(), localhostCertificate()]);
  cert = pems.cert;
  writeFileSync(files.cert, pems.cert);
  writeFileSync(files.key, pems.private);
  writeFileSync(files.otherKey, other.private);
  [withFiles, selfSigned] = await Promise.all([
    startGateway({ PORT: 'off', TLS_CERT: files.cert, TLS_KEY: files.key }),
    startGateway({ PORT: 'off' }),
  ]);
});

afterAll(() => {
  killAllGateways();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS', () => {
  it('serves the TLS_CERT certificate, which a client trusting it verifies', async () => {
    const answer = await request(`${withFiles.urls.https}/healthz`, { ca: cert });
    expect(answer.status).toBe(200);
    expect(answer.peerCertificate?.fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
    expect(withFiles.urls.http).toBeUndefined(); // PORT=off
    expect(withFiles.output).not.toContain('self-signed');
  });

  it('makes a self-signed localhost certificate at start-up when none is given, and says so', async () => {
    await expect(request(`${selfSigned.urls.https}/healthz`)).rejects.toThrow(/self[- ]signed/);
    const answer = await request(`${selfSigned.urls.https}/healthz`, { insecure: true });
    expect(answer.status).toBe(200);
    expect(answer.peerCertificate?.subject.CN).toBe('localhost');
    expect(selfSigned.logLines.some((line) => /self-signed certificate/.test(line.msg ?? ''))).toBe(true);
  });

  it('refuses to start with a key that does not belong to the certificate', async () => {
    const gateway = spawnGateway({ PORT: 'off', HTTPS_PORT: '0', TLS_CERT: files.cert, TLS_KEY: files.otherKey });
    expect(await gateway.waitForExit()).toEqual({ code: 78, signal: null });
    expect(gateway.stderr).toMatch(/^config error: TLS_CERT and TLS_KEY must be a PEM certificate and its PEM private key .*\n$/);
  });
});
