import { ConfigError } from '../../example-gateway/config-error';

/** The message of the `ConfigError` that `check` throws; fails the test when it throws none. */
export function configErrorMessage(check: () => unknown): string {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('no ConfigError: the setting was accepted');
}
