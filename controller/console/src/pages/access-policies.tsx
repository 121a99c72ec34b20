/**
 * Access policies (fleet-wide): the password minimum and session limits, changed in one form,
 * and the single-sign-on role mappings (IdP group → role over a scope), listed. A manager
 * without fleet scope sees the server's refusal.
 */
import { useSignal } from '@preact/signals';
import { grantLabel, type Scope } from '../access-model.js';
import { api } from '../api.js';
import { failure, LoadState, useResource } from '../loaded.js';
import { field } from './access-shared.js';

interface Policies {
  password: { minLength: number };
  sessions: { maxIdleMinutes: number | null; maxAbsoluteMinutes: number | null };
  oidcRoleMappings: { group: string; role: string; scope: { type: string; id?: string } }[];
}

const minutes = (value: string): number | null => (value.trim() === '' ? null : Number(value));

export function PoliciesTab() {
  const policies = useResource<Policies>('/auth/access-policies');
  const error = useSignal<string | undefined>(undefined);
  const saved = useSignal(false);
  const p = policies.data.value;
  return (
    <div class="access-tab">
      <LoadState of={policies} />
      {p && (
        <form
          class="policies"
          aria-label="Password and session policies"
          onSubmit={async (e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget);
            saved.value = false;
            try {
              await api('PATCH', '/auth/access-policies', {
                password: { minLength: Number(field(form, 'minLength')) },
                sessions: {
                  maxIdleMinutes: minutes(field(form, 'maxIdleMinutes')),
                  maxAbsoluteMinutes: minutes(field(form, 'maxAbsoluteMinutes')),
                },
              });
              error.value = undefined;
              saved.value = true;
              policies.reload();
            } catch (err) {
              error.value = failure(err);
            }
          }}
        >
          <label>
            Minimum password length
            <input
              name="minLength"
              type="number"
              min={12}
              max={1024}
              required
              defaultValue={String(p.password.minLength)}
            />
          </label>
          <label>
            Session idle limit (minutes; empty for the controller's setting)
            <input
              name="maxIdleMinutes"
              type="number"
              min={1}
              defaultValue={p.sessions.maxIdleMinutes?.toString() ?? ''}
            />
          </label>
          <label>
            Session lifetime limit (minutes; empty for the controller's setting)
            <input
              name="maxAbsoluteMinutes"
              type="number"
              min={5}
              defaultValue={p.sessions.maxAbsoluteMinutes?.toString() ?? ''}
            />
          </label>
          {error.value && (
            <p class="error" role="alert">
              {error.value}
            </p>
          )}
          <p role="status">{saved.value ? 'Saved.' : ''}</p>
          <button type="submit">Save policies</button>
        </form>
      )}
      {p && (
        <section aria-labelledby="sso-mappings">
          <h2 id="sso-mappings">Single sign-on role mappings</h2>
          {p.oidcRoleMappings.length === 0 ? (
            <p class="empty">
              None: single sign-on gives no role by IdP group here (groups may map their own).
            </p>
          ) : (
            <ul class="grant-list">
              {p.oidcRoleMappings.map((m) => (
                <li key={`${m.group}-${m.role}-${m.scope.type}-${m.scope.id ?? ''}`}>
                  IdP group {m.group}:{' '}
                  {grantLabel({
                    role: m.role,
                    scope: { type: m.scope.type, id: m.scope.id ?? null } as Scope,
                  })}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
