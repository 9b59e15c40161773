import { execFile } from 'node:child_process';
import { isPasswordHash, verifyPassword } from '../../lib';
import { assertBuilt, HASH_PASSWORD } from '../acceptance/gateway-process';

/** `npm run hash-password` runs this compiled CLI after a build; it is driven here as built. */
function hashPasswordCli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [HASH_PASSWORD, ...args], { timeout: 10_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

describe('hash-password', () => {
  it('prints a passwordHash for a password given as an argument', async () => {
    const { code, stdout } = await hashPasswordCli(['correct horse battery staple']);
    expect(code).toBe(0);
    const hash = stdout.trimEnd();
    expect(stdout).toBe(`${hash}\n`);
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(isPasswordHash(hash)).toBe(true);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
  });

  it('reads the password from stdin without its trailing newline (printf or echo)', async () => {
    const { code, stdout } = await hashPasswordCli([], 'wonderland\n');
    expect(code).toBe(0);
    expect(await verifyPassword('wonderland', stdout.trim())).toBe(true);
    expect(await verifyPassword('wonderland\n', stdout.trim())).toBe(false);
  });

  it('reads only the first line of stdin, as the package CLI (npx express-oauth-device-tokens hash-password) does', async () => {
    const { code, stdout, stderr } = await hashPasswordCli([], 'wonderland\nbuilder\n');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(await verifyPassword('wonderland', stdout.trim())).toBe(true);
  });

  it('--help prints the package CLI usage (exit code 0)', async () => {
    const { code, stdout } = await hashPasswordCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: express-oauth-device-tokens hash-password\n/);
  });

  it('refuses an empty password (exit code 2)', async () => {
    const { code, stdout, stderr } = await hashPasswordCli([], '');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('hash-password: the password is empty\n');
  });
});
