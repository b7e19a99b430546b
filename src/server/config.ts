/**
 * Server configuration (src/server/config/): one schema entry per key (schema.ts), from which
 * the types (types.ts), loading and validation (parse.ts), the CLI flags (flags.ts) and the
 * usage text and README table (usage.ts) are made. Defaults < YAML file < env < flags.
 */
export { CONFIG_SCHEMA, LOG_LEVELS, SECTIONS, type ConfigKey, type LogLevel, type SectionName } from './config/schema.js';
export { configSections, type ConfigSection, type ServerConfig, type SwitchboardConfig } from './config/types.js';
export { checkConfig, defaultConfig, loadConfig, mergeConfig, type ConfigSources } from './config/parse.js';
export { configFlagOptions } from './config/flags.js';
export { configMarkdown, optionsUsage, readmeTable } from './config/usage.js';

import { checkConfig, defaultConfig, mergeConfig } from './config/parse.js';
import { configSections, type ServerConfig, type SwitchboardConfig } from './config/types.js';

/** Settings by YAML key (code's overrides, a test's), checked like a file, grouped by section. */
export function resolveConfig(settings: Partial<ServerConfig>): SwitchboardConfig {
  return configSections(checkConfig(mergeConfig(defaultConfig(), settings)));
}
