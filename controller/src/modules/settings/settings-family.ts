/**
 * A settings family: what makes recording profiles, watchdog policies, retention policies…
 * differ. Everything else (storage, history, rollback, audit, export, actions, routes) is the
 * one generic implementation in this module, driven by this definition.
 */
import type { Static, TObject } from 'typebox';
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
}

/** The node columns that name a settings object. */
export type NodeSettingColumn = 'recordingProfileId' | 'watchdogPolicyId';

/** Erases a definition's body type, for the lists the generic code walks. */
export function family<S extends TObject>(definition: SettingsFamily<S>): SettingsFamily {
  return definition as unknown as SettingsFamily;
}
