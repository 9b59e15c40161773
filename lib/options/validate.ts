import { OptionError } from '../errors/option-error';

/** Validation primitives of the options: each names the option's path when it throws. */

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

export function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) <= 0) throw new OptionError(`${name}`, `must be a positive integer (seconds)`);
  return value as number;
}

export function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new OptionError(`${name}`, `must be an array of strings`);
  }
  return [...value];
}
