import { PassThrough } from 'node:stream';
import { isPasswordHash, verifyPassword } from '../../lib';
import { runCli, USAGE } from '../../lib/cli';
import { CliError, EXIT, promptNewPassword, readFirstLine } from '../../lib/cli/hash-password';

// The CLI's code on real streams: PassThrough pairs, one of them marked as a terminal (isTTY and
// setRawMode, as process.stdin has on a TTY). The packed package's `npx … hash-password` is run on
// a real pseudo-terminal and with a real pipe in packed-package.test.ts.

class Terminal extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

function streams(stdin: PassThrough = new PassThrough()) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdin, stdout, stderr, out: () => out, err: () => err };
}

/** Types each answer once its prompt has shown (the way a person does). */
function typeAfterPrompts(io: ReturnType<typeof streams>, answers: string[]): void {
  let answered = 0;
  io.stderr.on('data', () => {
    const prompts = io.err().match(/Password: |Repeat the password: /g)?.length ?? 0;
    while (answered < prompts && answered < answers.length) io.stdin.write(answers[answered++]!);
  });
}

describe('promptNewPassword on a terminal', () => {
  it('asks twice in raw mode (no echo), prompts on stderr, and leaves raw mode', async () => {
    const terminal = new Terminal();
    const io = streams(terminal);
    typeAfterPrompts(io, ['s3cret\r', 's3cret\r']);
    await expect(promptNewPassword(io)).resolves.toBe('s3cret');
    expect(terminal.rawModes).toEqual([true, false]);
    expect(io.err()).toBe('Password: \nRepeat the password: \n');
    expect(io.out()).toBe('');
  });

  it('takes both answers typed (or pasted) in one go, and honours backspace', async () => {
    const io = streams(new Terminal());
    io.stdin.write('s3crex\u007ft\rs3cret\n');
    await expect(promptNewPassword(io)).resolves.toBe('s3cret');
  });

  it('two different answers: a CliError with exit code 1, and the password in no message', async () => {
    const io = streams(new Terminal());
    typeAfterPrompts(io, ['first-secret\r', 'second-secret\r']);
    const error = await promptNewPassword(io).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ exitCode: EXIT.mismatch, message: 'hash-password: the passwords do not match' });
    expect(io.err()).not.toMatch(/secret/);
  });

  it('Ctrl-C cancels (exit code 130) and an empty first answer is refused without a second prompt (2)', async () => {
    const cancelled = streams(new Terminal());
    cancelled.stdin.write('abc\u0003');
    await expect(promptNewPassword(cancelled)).rejects.toMatchObject({ exitCode: EXIT.cancelled });
    const empty = streams(new Terminal());
    empty.stdin.write('\r');
    await expect(promptNewPassword(empty)).rejects.toMatchObject({ exitCode: EXIT.usage, message: 'hash-password: the password is empty' });
    expect(empty.err()).toBe('Password: \n');
  });

  it('the end of input before an answer is an error, not a hang', async () => {
    const io = streams(new Terminal());
    io.stdin.end('half');
    await expect(promptNewPassword(io)).rejects.toMatchObject({ exitCode: EXIT.usage });
  });
});

describe('readFirstLine on a pipe', () => {
  it('reads up to the first newline (\\n or \\r\\n), or all of an input without one', async () => {
    const lines = new PassThrough();
    lines.end('wonderland\r\nnext line\n');
    await expect(readFirstLine(lines)).resolves.toBe('wonderland');
    const noNewline = new PassThrough();
    noNewline.end('builder');
    await expect(readFirstLine(noNewline)).resolves.toBe('builder');
  });
});

describe('runCli', () => {
  it('hash-password on a pipe prints one hash on stdout and nothing on stderr', async () => {
    const io = streams();
    io.stdin.end('wonderland\n');
    expect(await runCli(['hash-password'], io)).toBe(EXIT.ok);
    const hash = io.out().trimEnd();
    expect(io.out()).toBe(`${hash}\n`);
    expect(isPasswordHash(hash)).toBe(true);
    expect(await verifyPassword('wonderland', hash)).toBe(true);
    expect(io.err()).toBe('');
  });

  it('hash-password on a terminal with two different answers exits 1 and prints no hash', async () => {
    const io = streams(new Terminal());
    typeAfterPrompts(io, ['one\r', 'two\r']);
    expect(await runCli(['hash-password'], io)).toBe(EXIT.mismatch);
    expect(io.out()).toBe('');
    expect(io.err()).toBe('Password: \nRepeat the password: \nhash-password: the passwords do not match\n');
  });

  it('--help, -h and help print the usage on stdout (exit 0); hash-password --help its own', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const io = streams();
      expect(await runCli([flag], io)).toBe(EXIT.ok);
      expect(io.out()).toBe(USAGE);
    }
    const io = streams();
    expect(await runCli(['hash-password', '--help'], io)).toBe(EXIT.ok);
    expect(io.out()).toMatch(/^usage: express-oauth-device-tokens hash-password\n/);
  });

  it('no command, an unknown one or a stray argument: the usage on stderr, exit 2; a password-like word is not repeated', async () => {
    const none = streams();
    expect(await runCli([], none)).toBe(EXIT.usage);
    expect(none.err()).toBe(`no command given\n\n${USAGE}`);
    const unknown = streams();
    expect(await runCli(['hash'], unknown)).toBe(EXIT.usage);
    expect(unknown.err()).toBe(`unknown command: hash\n\n${USAGE}`);
    const secretLooking = streams();
    expect(await runCli(['Tr0ub4dor&3'], secretLooking)).toBe(EXIT.usage);
    expect(secretLooking.err()).toBe(`unknown command\n\n${USAGE}`);
    const stray = streams();
    expect(await runCli(['hash-password', 'the-password'], stray)).toBe(EXIT.usage);
    expect(stray.err()).not.toContain('the-password');
    expect(stray.out()).toBe('');
  });
});
