/**
 * A wrong setting in the config file or the environment. `server.ts` prints it as the one line
 * an operator sees (no stack trace) and exits non-zero.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /** @param file the config file the setting is in; none for environment variables. */
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }

  /** The line printed at start-up: `config error in <file>: clients[0].grants[1] must be …`. */
  describe(): string {
    return `config error${this.file === undefined ? '' : ` in ${this.file}`}: ${this.message}`;
  }
}
