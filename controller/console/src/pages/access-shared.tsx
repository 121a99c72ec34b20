/** Parts the access tabs share: roles, grant fields, form fields (reading: ../loaded.tsx). */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect, useId } from 'preact/hooks';
import { type Grant, grantFromForm, grantLabel, SCOPE_TYPES } from '../access-model.js';
import { allPages } from '../api.js';
import { can } from '../session.js';

export interface Role {
  id: string;
  name: string;
  builtIn: boolean;
  description: string | null;
  permissions: string[];
}

/** A role over a scope: fields named `role`, `scopeType`, `scopeId` (read by `grantOf`). */
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
    const suggestions = allPages<Named & { site: Named }>('/nodes').then(
      (data) => ({
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

/** The grant a form's GrantFields say (see `grantFromForm`). */
export function grantOf(form: FormData) {
  return grantFromForm(field(form, 'role'), field(form, 'scopeType'), field(form, 'scopeId'));
}

/** A form's string field ('' when absent). */
export function field(form: FormData, name: string): string {
  return String(form.get(name) ?? '');
}

/**
 * A list of grants edited in a dialog's form: each removed on its own, one added at a time from
 * the role and scope fields (their errors into `error`). `none` says what an empty list means.
 */
export function GrantsEditor({
  grants,
  roles,
  error,
  none,
}: {
  grants: Signal<Grant[]>;
  roles: readonly Role[];
  error: Signal<string | undefined>;
  none: string;
}) {
  const scopeType = useSignal('fleet');
  return (
    <>
      {grants.value.length === 0 ? (
        <p class="empty">{none}</p>
      ) : (
        <ul class="grant-list">
          {grants.value.map((g, i) => (
            <li key={`${grantLabel(g)}-${i}`}>
              {grantLabel(g)}{' '}
              <button
                type="button"
                aria-label={`Remove ${grantLabel(g)}`}
                onClick={() => (grants.value = grants.value.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <GrantFields roles={roles} scopeType={scopeType} optional />
      <button
        type="button"
        onClick={(e) => {
          const grant = grantOf(new FormData(e.currentTarget.form!));
          if (!grant) error.value = 'Choose a role to add.';
          else if ('error' in grant) error.value = grant.error;
          else {
            error.value = undefined;
            const { role, scope } = grant.grant;
            grants.value = [...grants.value, { role, scope: { type: scope.type, id: scope.id ?? null } }];
          }
        }}
      >
        Add role
      </button>
    </>
  );
}
