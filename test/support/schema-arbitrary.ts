/**
 * fast-check arbitraries generated from a route's JSON Schema: values that follow the
 * schema (to reach the handler), and values that break it in one place (wrong type,
 * missing required field, extra field, out-of-range number, oversized string).
 */
import fc from 'fast-check';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  patternProperties?: Record<string, Schema>;
};

const MAX_STRING = 40;

function typeOf(schema: Schema): string | undefined {
  return Array.isArray(schema.type) ? schema.type[0] : schema.type;
}

/** Values that satisfy the schema (as far as a generator can: patterns via stringMatching). */
export function validValue(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => validValue(s, depth + 1)));
  if (schema.allOf) {
    return fc
      .tuple(...schema.allOf.map((s) => validValue(s, depth + 1)))
      .map((parts) => Object.assign({}, ...parts.filter((p) => typeof p === 'object')));
  }
  switch (typeOf(schema)) {
    case 'object': {
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, sub] of Object.entries(props)) model[key] = validValue(sub, depth + 1);
      return fc.record(model, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
    }
    case 'array':
      return fc.array(validValue(schema.items, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1e6, -1e9),
        max: Math.min(schema.maximum ?? 1e6, 1e9),
      });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string': {
      if (schema.format === 'date-time')
        return fc
          .date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
          .map((d) => d.toISOString());
      if (schema.pattern) {
        const fits = (s: string) =>
          s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? 10_000);
        try {
          return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
        } catch {
          // Patterns fast-check cannot generate from (lookaheads): plain strings, often invalid.
          return fc.string({ maxLength: MAX_STRING });
        }
      }
      const min = schema.minLength ?? 0;
      return fc.string({
        minLength: min,
        maxLength: Math.max(min, Math.min(schema.maxLength ?? MAX_STRING, MAX_STRING)),
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

const wrongTypes = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 10 }),
  fc.constant([]),
  fc.constant({}),
  fc.constant('x'.repeat(5000)),
  fc.constant(-1),
  fc.constant(Number.MAX_SAFE_INTEGER),
);

/** Values that break the schema in one place: what a hostile or buggy client sends. */
export function brokenValue(schema: Schema | undefined): fc.Arbitrary<unknown> {
  if (!schema || typeOf(schema) !== 'object' || !schema.properties) return wrongTypes;
  const properties = schema.properties;
  const keys = Object.keys(properties);
  const required = schema.required ?? [];
  const breakages: fc.Arbitrary<(value: Record<string, unknown>) => void>[] = [];
  // A value of another JSON type for one typed field.
  const typed = keys.filter((k) => typeOf(properties[k]!) !== undefined);
  if (typed.length > 0) {
    breakages.push(
      fc
        .tuple(fc.constantFrom(...typed), wrongTypes)
        .filter(([k, wrong]) => !sameJsonType(properties[k]!, wrong))
        .map(([k, wrong]) => (v) => {
          v[k] = wrong;
        }),
    );
  }
  if (required.length > 0) breakages.push(fc.constantFrom(...required).map((k) => (v) => delete v[k]));
  if (schema.additionalProperties === false) breakages.push(fc.constant((v) => (v.unexpectedField = 1)));
  if (breakages.length === 0) return wrongTypes;
  return fc
    .tuple(validValue(schema) as fc.Arbitrary<Record<string, unknown>>, fc.oneof(...breakages))
    .map(([value, breakIt]) => {
      const copy = { ...value };
      breakIt(copy);
      return copy;
    });
}

function sameJsonType(schema: Schema, value: unknown): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const actual =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'array'
        : typeof value === 'object'
          ? 'object'
          : typeof value;
  return types.some(
    (t) =>
      t === actual || (t === 'integer' && Number.isInteger(value)) || (t === 'number' && actual === 'number'),
  );
}
