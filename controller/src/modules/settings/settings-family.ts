/**
 * A settings family: what makes recording profiles, watchdog policies, retention policies…
 * differ. Everything else (storage, history, rollback, audit, export, actions, routes) is the
 * one generic implementation in this module, driven by this definition.
 */
import type { Static, TObject } from 'typebox';
import type { AuditAction } from '../../core/audit-actions.js';
import type { Db } from '../../db/client.js';

/** Who uses a settings object (named in the 409 of a refused delete). */
export interface SettingsUser {
  type: string;
  id: string;
  name?: string;
}

/** A stored object as a family's hooks see it. */
export interface SettingsObjectOf<Body> {
  id: string;
  name: string;
  body: Body;
}

export interface SettingsFamily<S extends TObject = TObject> {
  /** The URL segment under `/api/v1/settings/`, e.g. `recording-profiles`. */
  name: string;
  /** One object, for messages and OpenAPI summaries, e.g. `recording profile`. */
  title: string;
  /** The object's body; every property required (nullable where it may be unset). */
  body: S;
  /** A full body: what a create starts from before the caller's fields. */
  defaults: Static<S>;
  /** Rules beyond the schema: each message returned is a 400. */
  rules?: (body: Static<S>) => string[];
  /** Who uses the object now (refuses its delete with a 409 naming them); none when omitted. */
  inUse?: (object: SettingsObjectOf<Static<S>>, db: Db) => Promise<SettingsUser[]>;
  /**
   * Rules that need the database, e.g. what the object's users allow (each message a 400);
   * `id` is null at creation. Run once the body passes the schema and `rules`.
   */
  check?: (object: { id: string | null; body: Static<S> }, db: Db) => Promise<string[]>;
  /**
   * The node column naming the object a node uses (its agent applies it): such nodes are users
   * of the object (a delete is refused), and a change to it nudges their agents to refetch.
   */
  nodeSetting?: NodeSettingColumn;
  /**
   * Objects this holds for are part of every agent's config (agent-cache retention policies): a
   * change to one nudges every node in service to refetch.
   */
  everyAgent?: (body: Static<S>) => boolean;
  /**
   * Secret body fields (settings-secrets.ts): sealed at rest and never shown (`<field>: null`
   * and `<field>Set`); an update that leaves one out keeps the stored one.
   */
  secrets?: readonly (keyof Static<S> & string)[];
  /**
   * Body fields naming objects of other families by id (settings-references.ts): a named object
   * must exist (else a 400), and one that is named cannot be deleted (a 409 naming who names it).
   */
  references?: readonly SettingsReference<Static<S>>[];
  /** Actions on one object that change nothing, e.g. a connection test (settings-commands.ts). */
  commands?: readonly SettingsCommand<Static<S>>[];
}

/** A body field holding the id of an object of another family, a list of ids, or null. */
export interface SettingsReference<Body> {
  field: keyof Body & string;
  /** The named family, e.g. `upload-providers`. */
  family: string;
}

/** What a command answers (its `result` schema says the rest). */
export interface SettingsCommandResult {
  ok: boolean;
  [key: string]: unknown;
}

/** `POST /api/v1/settings/<family>/:id/<name>`: settings:manage, audited once per call. */
export interface SettingsCommand<Body = Record<string, unknown>> {
  name: string;
  /** The OpenAPI summary. */
  summary: string;
  action: AuditAction;
  /** The schema of the answer's `data`. */
  result: TObject;
  /** Runs on the current object with its secrets opened; a failure is `ok: false`, not a throw. */
  run: (object: SettingsObjectOf<Body>) => Promise<SettingsCommandResult>;
  /** Why an answer with `ok: false` failed, for the audit event's reason. */
  failure?: (result: SettingsCommandResult) => string;
}

/** The node columns that name a settings object. */
export type NodeSettingColumn = 'recordingProfileId' | 'watchdogPolicyId';

/** Erases a definition's body type, for the lists the generic code walks. */
export function family<S extends TObject>(definition: SettingsFamily<S>): SettingsFamily {
  return definition as unknown as SettingsFamily;
}
