import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = join(__dirname, '..', '..');

/** The shipped config, as the README's walkthrough uses it. */
export const SHIPPED_CONFIG = join(ROOT, 'example-gateway', 'config.json');

/** The walkthrough's credentials (README "Running the example gateway"). */
export const DEMO = {
  clientId: 'demo-app',
  clientSecret: 'demo-app-secret',
  alice: { username: 'alice', password: 'wonderland' },
  /** Stored as a passwordHash in the shipped config. */
  bob: { username: 'bob', password: 'builder' },
} as const;

/** `Authorization: Basic …` of the demo client, as the seed's curl request sends it. */
export const DEMO_BASIC = `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString('base64')}`;

/** The shipped config file, parsed (to derive variations of it). */
export function shippedConfig(): Record<string, unknown> & { clients: Record<string, unknown>[]; users: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(SHIPPED_CONFIG, 'utf8'));
}

/** A form body, `application/x-www-form-urlencoded`. */
export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
