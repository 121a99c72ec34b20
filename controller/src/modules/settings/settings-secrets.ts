/**
 * Secret fields of a settings body (a family's `secrets`, e.g. an upload provider's secret
 * access key): sealed with the controller's secret box (crypto/secret-box.ts) when written,
 * opened only to act on the object (a family command, such as testing a connection), and shown
 * nowhere. Every view of a body (responses, history, audit before/after, exports) has
 * `<field>: null` and `<field>Set: true | false` instead of the value, plaintext or sealed.
 *
 * An update that leaves a secret out keeps the stored (sealed) one, and a rollback restores the
 * sealed value of its revision: a sealed value belongs to its object and field (the AAD), so it
 * opens only there.
 */
import Type, { type TObject, type TSchema } from 'typebox';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { SettingsFamily } from './settings-family.js';

type Body = Record<string, unknown>;

/** The flag shown in place of a secret field: `secretAccessKey` → `secretAccessKeySet`. */
export const secretFlag = (field: string) => `${field}Set`;

const aad = (family: SettingsFamily, id: string, field: string) => `settings:${family.name}:${id}:${field}`;

/** The body as anyone may see it: each secret replaced by null and its `…Set` flag. */
export function redacted(family: SettingsFamily, body: Body): Body {
  if (!family.secrets?.length) return body;
  const shown: Body = { ...body };
  for (const field of family.secrets) {
    shown[secretFlag(field)] = body[field] !== null && body[field] !== undefined;
    shown[field] = null;
  }
  return shown;
}

/** The body schema of what is shown: every secret field with its `…Set` flag beside it. */
export function shownBodySchema(family: SettingsFamily): TObject {
  if (!family.secrets?.length) return family.body;
  const flags: Record<string, TSchema> = {};
  for (const field of family.secrets)
    flags[secretFlag(field)] = Type.Boolean({
      description: `Whether a ${field} is stored (it is never shown)`,
    });
  return Type.Object({ ...family.body.properties, ...flags }, { additionalProperties: false });
}

/**
 * The body schema of what is stored: a secret field holds its sealed form, so it is any string
 * (the plaintext's own bounds are checked where it arrives, by the request schema).
 */
export function storedBodySchema(family: SettingsFamily): TObject {
  if (!family.secrets?.length) return family.body;
  const sealed: Record<string, TSchema> = {};
  for (const field of family.secrets) sealed[field] = Type.Union([Type.String(), Type.Null()]);
  return Type.Object({ ...family.body.properties, ...sealed }, { additionalProperties: false });
}

/** The column names of an export: the body's, each secret followed by its flag. */
export const shownColumns = (family: SettingsFamily) => Object.keys(shownBodySchema(family).properties);

export class SettingsSecrets {
  constructor(private readonly box: () => Promise<SecretBox>) {}

  /** Seals the secrets `given` sets (plaintext from the caller); the others in `body` are kept as they are. */
  async seal(family: SettingsFamily, id: string, body: Body, given: Body | undefined): Promise<Body> {
    const fields = (family.secrets ?? []).filter((f) => typeof given?.[f] === 'string');
    if (fields.length === 0) return body;
    const box = await this.box();
    const sealed: Body = { ...body };
    for (const field of fields) sealed[field] = box.seal(given![field] as string, aad(family, id, field));
    return sealed;
  }

  /** The body with its secrets opened, to act on the object; never to be shown or stored. */
  async open(family: SettingsFamily, id: string, body: Body): Promise<Body> {
    const fields = (family.secrets ?? []).filter((f) => typeof body[f] === 'string');
    if (fields.length === 0) return body;
    const box = await this.box();
    const opened: Body = { ...body };
    for (const field of fields) opened[field] = box.open(body[field] as string, aad(family, id, field));
    return opened;
  }
}
