/**
 * A minimal, dependency-free field validator. Each message schema is a map from field
 * name to a FieldRule; validation returns the first offending field so that the error
 * sent back can name it.
 */
export interface FieldRule {
  optional?: boolean;
  /** Returns a human-readable problem, or undefined when the value is acceptable. */
  check(value: unknown): string | undefined;
}

export type Schema = Readonly<Record<string, FieldRule>>;

export interface ValidationFailure {
  field: string;
  problem: string;
}

export function str(opts: { min?: number; max: number; pattern?: RegExp; optional?: boolean }): FieldRule {
  const min = opts.min ?? 1;
  return {
    optional: opts.optional ?? false,
    check(v) {
      if (typeof v !== 'string') return 'must be a string';
      if (v.length < min) return `must be at least ${min} characters`;
      if (v.length > opts.max) return `must be at most ${opts.max} characters`;
      if (opts.pattern && !opts.pattern.test(v)) return `must match ${opts.pattern.source}`;
      return undefined;
    },
  };
}

export function int(opts: { min: number; max: number; optional?: boolean }): FieldRule {
  return {
    optional: opts.optional ?? false,
    check(v) {
      if (typeof v !== 'number' || !Number.isInteger(v)) return 'must be an integer';
      if (v < opts.min || v > opts.max) return `must be between ${opts.min} and ${opts.max}`;
      return undefined;
    },
  };
}

export function oneOf<T extends string>(values: readonly T[], optional = false): FieldRule {
  return {
    optional,
    check(v) {
      return typeof v === 'string' && (values as readonly string[]).includes(v) ? undefined : `must be one of ${values.join(', ')}`;
    },
  };
}

/** A request id: a short string or a safe integer, echoed back as `ref`. */
export const requestId: FieldRule = {
  optional: true,
  check(v) {
    if (typeof v === 'string' && v.length > 0 && v.length <= 64) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return undefined;
    return 'must be a string of at most 64 characters or an integer';
  },
};

/** A nested object validated by its own schema; problems are reported as `outer.inner`. */
export function object(schema: Schema, optional = false): FieldRule & { schema: Schema } {
  return {
    optional,
    schema,
    check(v) {
      const failure = validateObject(v, schema, '');
      return failure ? `${failure.field}: ${failure.problem}` : undefined;
    },
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `obj[name]` only when `obj` itself has it: inherited names (`constructor`, `toString`) read as absent. */
function own(obj: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

/**
 * Validates `value` against `schema`. Unknown fields are rejected too: they are either
 * client bugs or attempts to smuggle data through the relay. Field names are looked up as
 * own properties only, on both sides: JSON.parse makes `"__proto__"` an own key of the
 * parsed object, and `name in schema` would find `__proto__`, `constructor` or `toString`
 * on Object.prototype and let them through.
 */
export function validateObject(value: unknown, schema: Schema, prefix: string): ValidationFailure | undefined {
  if (!isPlainObject(value)) return { field: prefix || '(root)', problem: 'must be an object' };
  for (const [name, rule] of Object.entries(schema)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const v = own(value, name);
    if (v === undefined || v === null) {
      if (rule.optional) continue;
      return { field: path, problem: 'is required' };
    }
    if ('schema' in rule) {
      const nested = validateObject(v, (rule as { schema: Schema }).schema, path);
      if (nested) return nested;
      continue;
    }
    const problem = rule.check(v);
    if (problem) return { field: path, problem };
  }
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(schema, name)) return { field: prefix ? `${prefix}.${name}` : name, problem: 'is not allowed' };
  }
  return undefined;
}

/**
 * A fresh object holding only `schema`'s fields of an already validated `value` (nested
 * objects rebuilt the same way; absent and null optional fields kept as they were sent).
 * What is handed on (relayed to a peer) is then built from known fields only, whatever else
 * the parsed object carried.
 */
export function pickKnown(value: Record<string, unknown>, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(schema)) {
    if (!Object.hasOwn(value, name)) continue;
    const v = value[name];
    out[name] = 'schema' in rule && isPlainObject(v) ? pickKnown(v, (rule as { schema: Schema }).schema) : v;
  }
  return out;
}
