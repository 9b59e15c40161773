/**
 * A wrong option, found at start-up: `path` names it as the caller wrote it
 * (`options.clients[0].grants[1]`), `problem` says what is wrong with it. The message is both
 * (`options.clients[0].grants[1] must be one of …`). A `TypeError`, as body-parser and Node throw
 * for wrong arguments.
 *
 * @example
 * try { createTokenRouter(options) } catch (error) {
 *   if (error instanceof OptionError) console.error(`${error.path}: ${error.problem}`);
 * }
 */
export class OptionError extends TypeError {
  readonly path: string;
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(`${path} ${problem}`);
    this.name = 'OptionError';
    this.path = path;
    this.problem = problem;
  }
}
