/**
 * Prints a `passwordHash` for the gateway's config file:
 *
 *   npm run --silent hash-password                  # asks for the password (not echoed)
 *   printf '%s' "$PASSWORD" | npm run --silent hash-password
 *   npm run --silent hash-password -- 'the password' # lands in shell history: avoid for real ones
 *
 * Output: `scrypt$N$r$p$salt$hash` (see `hashPassword()` in the package).
 */
import { hashPassword } from '../lib';

/** Reads a line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(prompt);
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.resume();
    let answer = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
      return undefined;
    };
    input.on('data', onData);
  });
}

/** Reads all of a piped stdin; one trailing newline (from `echo`) is not part of the password. */
async function readPiped(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text.replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length > 1 || args[0] === '-h' || args[0] === '--help') {
    process.stderr.write('usage: npm run --silent hash-password [-- <password>]   (or pipe the password to stdin)\n');
    process.exit(2);
  }
  const password = args[0] ?? (process.stdin.isTTY ? await promptHidden('Password: ') : await readPiped());
  if (password === '') {
    process.stderr.write('hash-password: the password is empty\n');
    process.exit(2);
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`hash-password: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
