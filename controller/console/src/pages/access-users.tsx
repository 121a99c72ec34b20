/**
 * Users: the ones the caller manages (search and page in the URL), created with a password
 * (or for single sign-on only) and a first role over a scope, disabled (behind a
 * confirmation: it ends their sessions) or enabled, their grants replaced, their password set
 * (or removed, for single sign-on), deleted behind a confirmation.
 */
import { useSignal } from '@preact/signals';
import { type Grant, grantInputs, grantLabel } from '../access-model.js';
import { api } from '../api.js';
import { failure, LoadState, useAllPages, useLoaded } from '../loaded.js';
import { ConfirmDialog, FormDialog } from '../modal-dialog.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import { field, GrantFields, GrantsEditor, grantOf, type Role } from './access-shared.js';

interface User {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  disabled: boolean;
  hasPassword: boolean;
  sso: { issuer: string; subject: string } | null;
  grants: Grant[];
  groups: { id: string; name: string; grants: Grant[] }[];
}

type Dialog =
  | { kind: 'create' }
  | { kind: 'access'; user: User }
  | { kind: 'disable'; user: User }
  | { kind: 'password'; user: User }
  | { kind: 'delete'; user: User };

export function UsersTab() {
  const params = new URLSearchParams(location.value.search);
  const q = params.get('q') ?? '';
  const cursor = params.get('cursor') ?? '';
  const query = new URLSearchParams({ limit: '50' });
  if (q) query.set('q', q);
  if (cursor) query.set('cursor', cursor);
  const loaded = useLoaded(
    () => api<{ data: User[]; nextCursor: string | null }>('GET', `/auth/users?${query}`),
    [q, cursor],
  );
  const users = loaded.data;
  const reload = loaded.reload;
  const roles = useAllPages<Role>('/auth/roles');
  const dialog = useSignal<Dialog | undefined>(undefined);
  const rowErrors = useSignal<Record<string, string>>({});

  const setStatus = async (user: User, disabled: boolean): Promise<string | undefined> => {
    try {
      await api('PATCH', `/auth/users/${encodeURIComponent(user.id)}/status`, { disabled });
      const { [user.id]: _, ...rest } = rowErrors.value;
      rowErrors.value = rest;
      reload();
      return undefined;
    } catch (err) {
      return failure(err);
    }
  };
  const path = location.value.path;

  return (
    <div class="access-tab">
      <div class="access-toolbar">
        <form
          class="filters"
          aria-label="Find users"
          key={q}
          onSubmit={(e) => {
            e.preventDefault();
            const value = field(new FormData(e.currentTarget), 'q').trim();
            navigate(value ? `${path}?q=${encodeURIComponent(value)}` : path);
          }}
        >
          <label for="users-q">Username contains</label>
          <input id="users-q" name="q" defaultValue={q} />
          <button type="submit">Find</button>
        </form>
        <button type="button" aria-haspopup="dialog" onClick={() => (dialog.value = { kind: 'create' })}>
          Create user
        </button>
      </div>
      <LoadState of={loaded} />
      {users.value?.data.length === 0 && <p class="empty">{q ? 'No user matches.' : 'No users.'}</p>}
      {users.value && users.value.data.length > 0 && (
        <ul class="access-list">
          {users.value.data.map((user) => (
            <li key={user.id} class="access-row" data-username={user.username} data-disabled={user.disabled}>
              <span class="access-name">
                {user.username}
                {user.displayName && user.displayName !== user.username && <small> {user.displayName}</small>}
              </span>
              {user.disabled && <span class="badge badge-off">Disabled</span>}
              {user.sso && <span class="badge">SSO</span>}
              <span class="access-grants">
                {[...user.grants.map(grantLabel), ...user.groups.map((g) => `group ${g.name}`)].join(', ') ||
                  'no access'}
              </span>
              <span class="access-actions">
                {can('audit:read') && (
                  <a
                    href={`/audit?targetType=user&targetId=${encodeURIComponent(user.id)}`}
                    aria-label={`Audit trail of ${user.username}`}
                  >
                    Audit
                  </a>
                )}
                <button
                  type="button"
                  aria-haspopup="dialog"
                  onClick={() => (dialog.value = { kind: 'access', user })}
                >
                  Roles…
                </button>
                <button
                  type="button"
                  aria-haspopup="dialog"
                  aria-label={`Password of ${user.username}`}
                  onClick={() => (dialog.value = { kind: 'password', user })}
                >
                  Password…
                </button>
                {user.disabled ? (
                  <button
                    type="button"
                    onClick={async () => {
                      const err = await setStatus(user, false);
                      if (err) rowErrors.value = { ...rowErrors.value, [user.id]: err };
                    }}
                  >
                    Enable
                  </button>
                ) : (
                  <button
                    type="button"
                    aria-haspopup="dialog"
                    onClick={() => (dialog.value = { kind: 'disable', user })}
                  >
                    Disable
                  </button>
                )}
                <button
                  type="button"
                  aria-haspopup="dialog"
                  aria-label={`Delete ${user.username}`}
                  onClick={() => (dialog.value = { kind: 'delete', user })}
                >
                  Delete…
                </button>
              </span>
              {rowErrors.value[user.id] && (
                <span class="error" role="alert">
                  {rowErrors.value[user.id]}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {(cursor || users.value?.nextCursor) && (
        <nav class="access-pages" aria-label="User pages">
          {cursor && <a href={q ? `${path}?q=${encodeURIComponent(q)}` : path}>First page</a>}
          {users.value?.nextCursor && (
            <a href={`${path}?${new URLSearchParams({ ...(q && { q }), cursor: users.value.nextCursor })}`}>
              Next page
            </a>
          )}
        </nav>
      )}
      {dialog.value?.kind === 'create' && (
        <CreateUserDialog
          roles={roles.data.value ?? []}
          onClose={() => (dialog.value = undefined)}
          onDone={reload}
        />
      )}
      {dialog.value?.kind === 'access' && (
        <UserAccessDialog
          user={dialog.value.user}
          roles={roles.data.value ?? []}
          onClose={() => (dialog.value = undefined)}
          onDone={reload}
        />
      )}
      {dialog.value?.kind === 'password' && (
        <PasswordDialog user={dialog.value.user} onClose={() => (dialog.value = undefined)} onDone={reload} />
      )}
      {dialog.value?.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete ${dialog.value.user.username}?`}
          question="Their account, sessions and API tokens go; the audit trail keeps what they did. This cannot be undone."
          confirmLabel="Delete"
          onConfirm={async () => {
            await api(
              'DELETE',
              `/auth/users/${encodeURIComponent((dialog.value as { user: User }).user.id)}`,
            );
            reload();
          }}
          onClose={() => (dialog.value = undefined)}
        />
      )}
      {dialog.value?.kind === 'disable' && (
        <ConfirmDialog
          title={`Disable ${dialog.value.user.username}?`}
          question="They are signed out everywhere at once and cannot sign in until enabled again."
          confirmLabel="Disable"
          onConfirm={() => setStatus((dialog.value as { user: User }).user, true)}
          onClose={() => (dialog.value = undefined)}
        />
      )}
    </div>
  );
}

function CreateUserDialog({
  roles,
  onClose,
  onDone,
}: {
  roles: readonly Role[];
  onClose: () => void;
  onDone: () => void;
}) {
  const ssoOnly = useSignal(false);
  const scopeType = useSignal('fleet');
  return (
    <FormDialog
      title="Create user"
      onClose={onClose}
      submitLabel="Create"
      onSubmit={async (form) => {
        const grant = grantOf(form);
        if (grant && 'error' in grant) return grant.error;
        const displayName = field(form, 'displayName').trim();
        const email = field(form, 'email').trim();
        await api('POST', '/auth/users', {
          username: field(form, 'username').trim(),
          ...(displayName && { displayName }),
          ...(email && { email }),
          password: ssoOnly.value ? null : field(form, 'password'),
          ...(grant && { grants: [grant.grant] }),
        });
        onDone();
      }}
    >
      <label>
        Username
        <input name="username" required autoComplete="off" />
      </label>
      <label>
        Display name
        <input name="displayName" autoComplete="off" />
      </label>
      <label>
        Email
        <input name="email" type="email" autoComplete="off" />
      </label>
      <label class="inline">
        <input
          type="checkbox"
          checked={ssoOnly.value}
          onChange={(e) => (ssoOnly.value = e.currentTarget.checked)}
        />
        Single sign-on only (no password)
      </label>
      {!ssoOnly.value && (
        <label>
          Password
          <input name="password" type="password" required minLength={12} autoComplete="new-password" />
        </label>
      )}
      <GrantFields roles={roles} optional scopeType={scopeType} />
    </FormDialog>
  );
}

function UserAccessDialog({
  user,
  roles,
  onClose,
  onDone,
}: {
  user: User;
  roles: readonly Role[];
  onClose: () => void;
  onDone: () => void;
}) {
  const grants = useSignal<Grant[]>(user.grants);
  const error = useSignal<string | undefined>(undefined);
  return (
    <FormDialog
      title={`Roles of ${user.username}`}
      onClose={onClose}
      submitLabel="Save"
      error={error}
      onSubmit={async () => {
        await api('PATCH', `/auth/users/${encodeURIComponent(user.id)}/access`, {
          grants: grantInputs(grants.value),
        });
        onDone();
      }}
    >
      <GrantsEditor
        grants={grants}
        roles={roles}
        error={error}
        none={`No roles of their own${user.groups.length > 0 ? ' (their groups still grant theirs)' : ''}.`}
      />
      <p class="notice">Saving signs them out everywhere (their access changed).</p>
    </FormDialog>
  );
}

/** Sets a user's password, or removes it for a single sign-on account (which then signs in only by SSO). */
function PasswordDialog({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => void }) {
  const remove = useSignal(false);
  return (
    <FormDialog
      title={`Password of ${user.username}`}
      onClose={onClose}
      submitLabel={remove.value ? 'Remove password' : 'Set password'}
      onSubmit={async (form) => {
        await api('PATCH', `/auth/users/${encodeURIComponent(user.id)}/password`, {
          password: remove.value ? null : field(form, 'password'),
        });
        onDone();
      }}
    >
      {user.sso && user.hasPassword && (
        <label class="inline">
          <input
            type="checkbox"
            checked={remove.value}
            onChange={(e) => (remove.value = e.currentTarget.checked)}
          />
          Remove it (single sign-on only)
        </label>
      )}
      {!remove.value && (
        <label>
          New password
          <input name="password" type="password" required minLength={12} autoComplete="new-password" />
        </label>
      )}
      <p class="notice">Their other sessions end.</p>
    </FormDialog>
  );
}
