/**
 * The config's TypeScript types, derived from the schema (schema.ts) so that no key is written
 * twice: `ServerConfig` holds every key by its YAML name (what a file, env, flags and
 * `startSwitchboard()` overrides set); `SwitchboardConfig` holds the same values by section
 * (`config.turn.port`), which is what each part of the server receives.
 */
import type { IceServer } from '../../protocol/index.js';
import { CONFIG_SCHEMA, SECTIONS, type ConfigKey, type ConfigSchema, type SectionName } from './schema.js';
import type { ItemType, ValueType } from './value-types.js';

type ItemValue<I extends ItemType> = I extends { kind: 'int' } ? number : string;

/** The value a type describes. */
export type ValueOfType<T extends ValueType> = T extends { kind: 'int' }
  ? number
  : T extends { kind: 'bool' }
    ? boolean
    : T extends { kind: 'string' }
      ? string
      : T extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : T extends { kind: 'list'; item: infer I extends ItemType }
          ? ItemValue<I>[]
          : T extends { kind: 'mapping'; fields: infer F extends Readonly<Record<string, ValueType>> }
            ? { [N in keyof F]: ValueOfType<F[N]> }
            : T extends { kind: 'iceServers' }
              ? IceServer[]
              : never;

export type ConfigValue<K extends ConfigKey> = ValueOfType<ConfigSchema[K]['type']>;

/** Keys with a default always have a value; the others are optional. */
type KeysWithDefault = { [K in ConfigKey]: ConfigSchema[K] extends { default: unknown } ? K : never }[ConfigKey];
type KeysWithoutDefault = Exclude<ConfigKey, KeysWithDefault>;

type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** Every key by its YAML name. */
export type ServerConfig = Flatten<{ [K in KeysWithDefault]: ConfigValue<K> } & { [K in KeysWithoutDefault]?: ConfigValue<K> }>;

/** A key's name inside its section: without the section's name in front (`turnPort` → `port`). */
export type FieldName<K extends string, S extends string> = K extends `${S}${infer Rest extends `${Uppercase<string>}${string}`}`
  ? Uncapitalize<Rest>
  : K;

type KeysOf<S extends SectionName> = { [K in ConfigKey]: ConfigSchema[K]['section'] extends S ? K : never }[ConfigKey];

/** One section's values by their field names, e.g. `ConfigSection<'mcu'>` is `{ width, height, fps, tiersKbps, maxMcuRooms }`. */
export type ConfigSection<S extends SectionName> = Flatten<
  { [K in KeysOf<S> & KeysWithDefault as FieldName<K, S>]: ConfigValue<K> } & {
    [K in KeysOf<S> & KeysWithoutDefault as FieldName<K, S>]?: ConfigValue<K>;
  }
>;

/** The config by section: what `startSwitchboard()` hands each part. */
export type SwitchboardConfig = { [S in SectionName]: ConfigSection<S> };

export function fieldName(key: string, section: string): string {
  const rest = key.startsWith(section) ? key.slice(section.length) : '';
  return /^[A-Z]/.test(rest) ? rest[0]!.toLowerCase() + rest.slice(1) : key;
}

/** The values of a (merged, checked) config grouped by section; unset optional keys are left out. */
export function configSections(config: ServerConfig): SwitchboardConfig {
  const out: Record<string, Record<string, unknown>> = {};
  for (const section of Object.keys(SECTIONS)) out[section] = {};
  for (const [key, entry] of Object.entries(CONFIG_SCHEMA)) {
    const value = (config as Record<string, unknown>)[key];
    if (value !== undefined) out[entry.section]![fieldName(key, entry.section)] = value;
  }
  return out as unknown as SwitchboardConfig;
}

// Compile-time checks on the schema: every default has its key's type, and no two keys of a
// section share a field name.
type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
type BadDefaults = {
  [K in KeysWithDefault]: ConfigSchema[K] extends { default: infer D } ? (D extends DeepReadonly<ConfigValue<K>> ? never : K) : never;
}[KeysWithDefault];
type FieldClashes = {
  [S in SectionName]: { [K in KeysOf<S>]: FieldName<K, S> extends FieldName<Exclude<KeysOf<S>, K>, S> ? K : never }[KeysOf<S>];
}[SectionName];
/** Fails to compile, naming the keys, when a default does not fit its type or two keys of a section share a field name. */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents, @typescript-eslint/no-duplicate-type-constituents -- both are `never` when the schema is sound; that is the check
type SchemaProblems = BadDefaults | FieldClashes;
export const schemaIsSound: [SchemaProblems] extends [never] ? true : { wrongDefaultOrClash: SchemaProblems } = true;
