/**
 * The vocabulary of the config schema (schema.ts): what a key's value may be, and what one
 * entry says about its key. The TypeScript types of the config are derived from the schema
 * (types.ts), so a key is described once.
 */

/** A single value: from YAML as is, from env/flags parsed from text. */
export type ScalarType =
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'bool' }
  | { readonly kind: 'string' }
  | { readonly kind: 'enum'; readonly values: readonly string[] };

/** One item of a list. */
export type ItemType =
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'ip' }
  | { readonly kind: 'cidr' }
  | { readonly kind: 'pattern'; readonly pattern: RegExp };

export type ValueType =
  | ScalarType
  /**
   * A YAML list, or one comma-separated string (env, a flag). Each value of a repeatable flag
   * is one item, or several separated by commas unless `commaInItems` (a password may hold one).
   */
  | { readonly kind: 'list'; readonly item: ItemType; readonly items: string; readonly commaInItems: boolean }
  /** A YAML mapping of scalars; a file may set some fields, the rest keep their defaults. */
  | { readonly kind: 'mapping'; readonly fields: Readonly<Record<string, ScalarType>> }
  /** RTCIceServer entries handed to clients as they are: `{urls, username?, credential?}`. */
  | { readonly kind: 'iceServers' };

export interface ConfigEntry {
  /** Which part of the server the key configures (SECTIONS in schema.ts). */
  readonly section: string;
  readonly type: ValueType;
  /** Absent: the key is optional and unset by default (its doc says what that means). */
  readonly default?: unknown;
  /** Shown in the usage text and the README instead of the default value. */
  readonly shownDefault?: string;
  /** Environment variables that set the key; a later one wins when several are set. */
  readonly env?: readonly string[];
  /** Command-line flag, without `--`. */
  readonly flag?: string;
  /** The flag may be given more than once; the values accumulate (list keys only). */
  readonly repeatable?: boolean;
  /** The flag's value in the usage text (default: from the type). */
  readonly meta?: string;
  /** One line: what the key does. */
  readonly doc: string;
}

/** Type constructors, so that schema entries read as `int(0, 65535)`. */
export const int = <const Min extends number, const Max extends number>(min: Min, max: Max) => ({ kind: 'int', min, max }) as const;
export const bool = { kind: 'bool' } as const;
export const string = { kind: 'string' } as const;
export const oneOf = <const V extends readonly string[]>(values: V) => ({ kind: 'enum', values }) as const;
export const ip = { kind: 'ip' } as const;
export const cidr = { kind: 'cidr' } as const;
export const pattern = (re: RegExp) => ({ kind: 'pattern', pattern: re }) as const;
/** `items` names what the list holds, for messages ("must be a list of IP addresses") and docs. */
export const listOf = <const I extends ItemType>(item: I, items: string, commaInItems = false) =>
  ({ kind: 'list', item, items, commaInItems }) as const;
export const mapping = <const F extends Readonly<Record<string, ScalarType>>>(fields: F) => ({ kind: 'mapping', fields }) as const;
export const iceServers = { kind: 'iceServers' } as const;
