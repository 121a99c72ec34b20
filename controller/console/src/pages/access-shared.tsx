/** Parts the access tabs share: reading a resource, the server's refusal as words, grant fields. */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { SCOPE_TYPES } from '../access-model.js';
import { ApiError, api } from '../api.js';

export interface Role {
  id: string;
  name: string;
  builtIn: boolean;
  description: string | null;
  permissions: string[];
}

/** The server's refusal in its own words (or that it did not answer). */
export function failure(err: unknown): string {
  return err instanceof ApiError ? err.message : 'The controller did not answer.';
}

/** `GET path` while shown, again when `version` changes; data, error and a reload. */
export function useResource<T>(path: string | undefined): {
  data: Signal<T | undefined>;
  error: Signal<string | undefined>;
  reload: () => void;
} {
  const data = useSignal<T | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const version = useSignal(0);
  useEffect(() => {
    if (path === undefined) return;
    let stale = false;
    api<{ data: T }>('GET', path).then(
      (res) => {
        if (stale) return;
        data.value = res.data;
        error.value = undefined;
      },
      (err: unknown) => {
        if (!stale) error.value = failure(err);
      },
    );
    return () => {
      stale = true;
    };
  }, [path, version.value]);
  return { data, error, reload: () => (version.value += 1) };
}

/** Loading, error or nothing (the caller shows the data). */
export function LoadState({ loading, error }: { loading: boolean; error: string | undefined }) {
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  return loading ? <p class="loading">Loading…</p> : null;
}

/** A role over a scope: fields named `role`, `scopeType`, `scopeId` (read by `grantFromForm`). */
export function GrantFields({
  roles,
  optional,
  scopeType,
}: {
  roles: readonly Role[];
  optional?: boolean;
  scopeType: Signal<string>;
}) {
  return (
    <fieldset class="grant-fields">
      <legend>Role</legend>
      <label>
        Role
        <select name="role" required={!optional}>
          {optional && <option value="">none</option>}
          {roles.map((r) => (
            <option key={r.id} value={r.name}>
              {r.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Scope
        <select
          name="scopeType"
          value={scopeType.value}
          onChange={(e) => (scopeType.value = e.currentTarget.value)}
        >
          {SCOPE_TYPES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {scopeType.value !== 'fleet' && (
        <label>
          {scopeType.value === 'site' ? 'Site id' : scopeType.value === 'node' ? 'Node id' : 'Guild id'}
          <input name="scopeId" autoComplete="off" />
        </label>
      )}
    </fieldset>
  );
}

/** A form's string field ('' when absent). */
export function field(form: FormData, name: string): string {
  return String(form.get(name) ?? '');
}
