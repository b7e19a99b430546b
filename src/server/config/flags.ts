/** The config keys' command-line flags, from the schema: the option table `node:util` parseArgs takes. */
import { CONFIG_SCHEMA } from './schema.js';

export type FlagOptions = Record<string, { type: 'string'; multiple?: boolean }>;

/** Every key's flag, as a string option; repeatable ones collect every value given. */
export function configFlagOptions(): FlagOptions {
  const options: FlagOptions = {};
  for (const entry of Object.values(CONFIG_SCHEMA)) {
    if (!('flag' in entry)) continue;
    options[entry.flag] = 'repeatable' in entry && entry.repeatable ? { type: 'string', multiple: true } : { type: 'string' };
  }
  return options;
}
