/**
 * Text about the config, from the schema: the `serve` options of the CLI usage (every flag,
 * by section) and the README's configuration table (`switchboard config --markdown`; a unit
 * test fails when README.md holds another).
 */
import { CONFIG_SCHEMA, SECTIONS, type SectionName } from './schema.js';
import type { ConfigEntry, ValueType } from './value-types.js';

const ENTRIES = Object.entries(CONFIG_SCHEMA) as Array<[string, ConfigEntry]>;

function entriesOf(section: SectionName): Array<[string, ConfigEntry]> {
  return ENTRIES.filter(([, e]) => e.section === section);
}

/** What a flag's value looks like: `N`, `true|false`, `info|debug|…`. */
function metaOf(entry: ConfigEntry): string {
  if (entry.meta !== undefined) return entry.meta;
  switch (entry.type.kind) {
    case 'int':
      return 'N';
    case 'bool':
      return 'true|false';
    case 'enum':
      return entry.type.values.join('|');
    default:
      return 'S';
  }
}

/** `[--flag META]`, `[--flag META]...` for a repeatable one. */
export function flagUsage(entry: ConfigEntry): string {
  return `[--${entry.flag} ${metaOf(entry)}]${entry.repeatable ? '...' : ''}`;
}

/** One line per section, wrapped at `width`: every key that has a flag. */
export function optionsUsage(indent: string, width = 120): string {
  const sections = Object.keys(SECTIONS) as SectionName[];
  const label = Math.max(...sections.map((s) => s.length)) + 2;
  const lines: string[] = [];
  for (const section of sections) {
    const flags = entriesOf(section)
      .filter(([, e]) => e.flag !== undefined)
      .map(([, e]) => flagUsage(e));
    if (flags.length === 0) continue;
    let line = `${indent}${`${section}:`.padEnd(label)}`;
    const continued = ' '.repeat(line.length);
    for (const flag of flags) {
      if (line.trim().length > section.length + 1 && line.length + 1 + flag.length > width) {
        lines.push(line);
        line = continued;
      }
      line += (line.endsWith(' ') ? '' : ' ') + flag;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

function typeDoc(type: ValueType): string {
  switch (type.kind) {
    case 'int':
      return `integer ${type.min}-${type.max}`;
    case 'bool':
      return 'true, false';
    case 'string':
      return 'string';
    case 'enum':
      return type.values.join(', ');
    case 'list':
      return `list of ${type.items}`;
    case 'mapping':
      return `mapping: ${Object.entries(type.fields)
        .map(([n, f]) => `${n} (${typeDoc(f)})`)
        .join(', ')}`;
    case 'iceServers':
      return 'list of ICE servers';
  }
}

function defaultDoc(entry: ConfigEntry): string {
  if (entry.shownDefault !== undefined) return entry.shownDefault;
  if (entry.default === undefined) return '—';
  if (Array.isArray(entry.default)) return entry.default.length === 0 ? '[]' : entry.default.join(', ');
  const d = entry.default;
  // Object defaults have a shownDefault; JSON would still say more than [object Object].
  return typeof d === 'string' || typeof d === 'number' || typeof d === 'boolean' ? String(d) : JSON.stringify(d);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');
const code = (names: readonly string[]): string => names.map((n) => `\`${n}\``).join(', ');

/** The README's configuration table: one table per section, a row per key. */
export function configMarkdown(): string {
  const out: string[] = [];
  for (const [section, about] of Object.entries(SECTIONS) as Array<[SectionName, string]>) {
    out.push(`**${section}** — ${about}`, '', '| key (YAML) | flag | env | value | default | |', '|---|---|---|---|---|---|');
    for (const [key, e] of entriesOf(section)) {
      const flag = e.flag === undefined ? '' : `\`--${e.flag}\`${e.repeatable ? ' (repeatable)' : ''}`;
      out.push(`| \`${key}\` | ${flag} | ${code(e.env ?? [])} | ${cell(typeDoc(e.type))} | ${cell(defaultDoc(e))} | ${cell(e.doc)} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export const README_TABLE_START = '<!-- config-table:start (generated: switchboard config --markdown) -->';
export const README_TABLE_END = '<!-- config-table:end -->';

/** The table between the README's markers, or undefined when the markers are missing. */
export function readmeTable(readme: string): string | undefined {
  const start = readme.indexOf(README_TABLE_START);
  const end = readme.indexOf(README_TABLE_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + README_TABLE_START.length, end).trim();
}
