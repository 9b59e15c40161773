/**
 * Prints a `passwordHash` for the gateway's config file:
 *
 *   npm run --silent hash-password                  # asks twice for the password (not echoed)
 *   printf '%s\n' "$PASSWORD" | npm run --silent hash-password
 *   npm run --silent hash-password -- 'the password' # lands in shell history: avoid for real ones
 *
 * The same code as the package's own `npx express-oauth-device-tokens hash-password`
 * (lib/cli), plus the password as an argument for throwaway ones.
 * Output: `scrypt$N$r$p$salt$hash` (see `hashPassword()` in the package).
 */
import { hashPassword } from '../lib';
import { runCli } from '../lib/cli';
import { EXIT } from '../lib/cli/hash-password';

async function main(args: string[]): Promise<number> {
  const password = args.length === 1 && !args[0]!.startsWith('-') ? args[0]! : undefined;
  if (password === undefined) return runCli(['hash-password', ...args], process);
  process.stdout.write(`${await hashPassword(password)}\n`);
  return EXIT.ok;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`hash-password: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
