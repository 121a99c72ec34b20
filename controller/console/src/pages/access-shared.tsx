/** Parts the access tabs share: reading a resource, the server's refusal as words, grant fields. */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect, useId } from 'preact/hooks';
import { SCOPE_TYPES } from '../access-model.js';
import { ApiError, api } from '../api.js';
import { can } from '../session.js';

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
  const id = useId();
  const known = useScopeSuggestions();
  const suggestions =
    scopeType.value === 'site' ? known.value?.sites : scopeType.value === 'node' ? known.value?.nodes : [];
  return (
    <fieldset class="grant-fields">
      <legend>Role and scope</legend>
      <span class="field">
        <label for={`${id}-role`}>Role</label>
        <select id={`${id}-role`} name="role" required={!optional}>
          {optional && <option value="">none</option>}
          {roles.map((r) => (
            <option key={r.id} value={r.name}>
              {r.name}
            </option>
          ))}
        </select>
      </span>
      <span class="field">
        <label for={`${id}-scope`}>Scope</label>
        <select
          id={`${id}-scope`}
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
      </span>
      {scopeType.value !== 'fleet' && (
        <span class="field">
          <label for={`${id}-scope-id`}>
            {scopeType.value === 'site' ? 'Site id' : scopeType.value === 'node' ? 'Node id' : 'Guild id'}
          </label>
          <input id={`${id}-scope-id`} name="scopeId" autoComplete="off" list={`${id}-scope-ids`} />
          <datalist id={`${id}-scope-ids`}>
            {(suggestions ?? []).map((s) => (
              <option key={s.id} value={s.id} label={s.name} />
            ))}
          </datalist>
        </span>
      )}
    </fieldset>
  );
}

type Named = { id: string; name: string };
/** Sites and nodes the caller sees (from `/nodes`, read when the fields are shown), offered as scope ids. */
function useScopeSuggestions() {
  const known = useSignal<{ sites: Named[]; nodes: Named[] } | undefined>(undefined);
  useEffect(() => {
    if (!can('node:read')) return;
    const suggestions = api<{ data: (Named & { site: Named })[] }>('GET', '/nodes?limit=200').then(
      ({ data }) => ({
        sites: [...new Map(data.map((n) => [n.site.id, n.site])).values()],
        nodes: data.map((n) => ({ id: n.id, name: n.name })),
      }),
      () => ({ sites: [], nodes: [] }),
    );
    let stale = false;
    void suggestions.then((value) => {
      if (!stale) known.value = value;
    });
    return () => {
      stale = true;
    };
  }, []);
  return known;
}

/** A form's string field ('' when absent). */
export function field(form: FormData, name: string): string {
  return String(form.get(name) ?? '');
}
