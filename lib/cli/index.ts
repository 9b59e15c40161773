#!/usr/bin/env node
/**
 * The package's command line (`bin` in package.json):
 *
 *   npx express-oauth-device-tokens hash-password    # asks twice, prints a passwordHash
 *   npx express-oauth-device-tokens --help
 */
import { CliError, EXIT, hashPasswordCommand, type CliStreams } from './hash-password';

export const USAGE = `usage: express-oauth-device-tokens <command>

Commands:
  hash-password   print a passwordHash (scrypt) for a user record; asks for the
                  password twice without echo, or reads one line from a pipe

Options:
  -h, --help      this text (also: <command> --help)
`;

/** Runs the CLI with `args` (without node and the script); resolves to the exit code. */
export async function runCli(args: readonly string[], streams: CliStreams): Promise<number> {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h' || command === 'help') {
    streams.stdout.write(USAGE);
    return EXIT.ok;
  }
  try {
    if (command === 'hash-password') return await hashPasswordCommand(rest, streams);
  } catch (error) {
    if (error instanceof CliError) {
      streams.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
  // The word is repeated only when it looks like a command name (never a mistyped password).
  const named = command !== undefined && /^[a-z][a-z-]{0,31}$/.test(command) ? `: ${command}` : '';
  streams.stderr.write(`${command === undefined ? 'no command given' : `unknown command${named}`}\n\n${USAGE}`);
  return EXIT.usage;
}

if (require.main === module) {
  runCli(process.argv.slice(2), process).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`express-oauth-device-tokens: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
