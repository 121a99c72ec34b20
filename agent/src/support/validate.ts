/** Checks a value received from the controller against the shared contract schema. */
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}

const validators = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/** Returns the value typed by the schema, or throws ContractError naming `what`. */
export function expectShape<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  if (validator.Check(value)) return value as Static<S>;
  const first = [...validator.Errors(value)][0];
  const where = first ? `${first.instancePath || '/'} ${first.message}` : 'does not match the contract';
  throw new ContractError(`${what}: ${where}`);
}
