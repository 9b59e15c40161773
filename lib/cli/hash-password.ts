import { hashPassword } from '../crypto/password-hash';

/**
 * The `hash-password` command of the package's CLI: reads a password and prints its
 * `passwordHash` (`scrypt$N$r$p$salt$hash`, see {@link hashPassword}) on stdout.
 *
 * - stdin a terminal: asks twice without echo (prompts on stderr); a mismatch is an error.
 * - stdin a pipe or file (scripts): reads one line, no second prompt.
 *
 * The password is never taken from the command line (it would land in shell history and in
 * `ps`), and never written anywhere but into scrypt.
 */

/** The streams a command runs on: `process.stdin` and friends, or any streams alike. */
export interface CliStreams {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A failure the CLI reports in one line on stderr, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes: 0 done, 1 the passwords differ, 2 a usage error (empty password too), 130 cancelled. */
export const EXIT = { ok: 0, mismatch: 1, usage: 2, cancelled: 130 } as const;

const MAX_PASSWORD_LENGTH = 4096;

/**
 * Lines typed on a terminal put in raw mode, so nothing is echoed. Keeps what was typed after an
 * Enter for the next line (input pasted in one go). Backspace deletes, Ctrl-C cancels, Ctrl-D
 * ends the line.
 */
class HiddenLines {
  private typed = '';
  private readonly lines: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: string | Buffer) => this.take(String(chunk));
  private readonly onEnd = () => this.fail(new CliError('hash-password: no password given (end of input)', EXIT.usage));

  constructor(private readonly input: CliStreams['stdin']) {
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.resume();
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  close(): void {
    this.input.removeListener('data', this.onData);
    this.input.removeListener('end', this.onEnd);
    this.input.setRawMode?.(false);
    this.input.pause();
  }

  private take(chunk: string): void {
    for (const char of chunk) {
      if (char === '\r' || char === '\n' || char === '\u0004') {
        this.lines.push(this.typed);
        this.typed = '';
      } else if (char === '\u0003') {
        return this.fail(new CliError('hash-password: cancelled', EXIT.cancelled));
      } else if (char === '\u007f' || char === '\b') {
        this.typed = [...this.typed].slice(0, -1).join('');
      } else if (this.typed.length > MAX_PASSWORD_LENGTH) {
        return this.fail(new CliError(`hash-password: the password is longer than ${MAX_PASSWORD_LENGTH} characters`, EXIT.usage));
      } else {
        this.typed += char;
      }
    }
    const line = this.lines.length > 0 && this.waiting ? this.lines.shift() : undefined;
    if (line !== undefined && this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(line);
    }
    return undefined;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(error);
    }
  }
}

/**
 * Asks for a password on a terminal without echo, twice. `stdin` must be a TTY (`isTTY`); the
 * prompts go to `stderr`.
 */
export async function promptNewPassword(streams: Pick<CliStreams, 'stdin' | 'stderr'>): Promise<string> {
  const lines = new HiddenLines(streams.stdin);
  try {
    streams.stderr.write('Password: ');
    const first = await lines.next();
    streams.stderr.write('\n');
    if (first === '') throw new CliError('hash-password: the password is empty', EXIT.usage);
    streams.stderr.write('Repeat the password: ');
    const second = await lines.next();
    streams.stderr.write('\n');
    if (first !== second) throw new CliError('hash-password: the passwords do not match', EXIT.mismatch);
    return first;
  } finally {
    lines.close();
  }
}

/** Reads the first line of a piped stdin (without its `\n` or `\r\n`), or all of it when it has none. */
export function readFirstLine(input: CliStreams['stdin']): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      input.pause();
      if (error) reject(error);
      else resolve(text.replace(/\r$/, ''));
    };
    const onData = (chunk: string | Buffer) => {
      text += String(chunk);
      const newline = text.indexOf('\n');
      if (newline !== -1) {
        text = text.slice(0, newline);
        finish();
      } else if (text.length > MAX_PASSWORD_LENGTH) {
        finish(new CliError(`hash-password: the password is longer than ${MAX_PASSWORD_LENGTH} characters`, EXIT.usage));
      }
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}

export const HASH_PASSWORD_USAGE = `usage: express-oauth-device-tokens hash-password

Prints a passwordHash (scrypt) for a user record. On a terminal it asks for the
password twice without echoing it; otherwise it reads the first line of stdin:

  npx express-oauth-device-tokens hash-password
  printf '%s\\n' "$PASSWORD" | npx express-oauth-device-tokens hash-password
`;

/** Runs `hash-password [--help]`; resolves to the exit code. */
export async function hashPasswordCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    streams.stdout.write(HASH_PASSWORD_USAGE);
    return EXIT.ok;
  }
  if (args.length > 0) {
    streams.stderr.write(`hash-password: unexpected argument (the password is read from the terminal or stdin)\n\n${HASH_PASSWORD_USAGE}`);
    return EXIT.usage;
  }
  const password = streams.stdin.isTTY ? await promptNewPassword(streams) : await readFirstLine(streams.stdin);
  if (password === '') throw new CliError('hash-password: the password is empty', EXIT.usage);
  streams.stdout.write(`${await hashPassword(password)}\n`);
  return EXIT.ok;
}
