/**
 * Groups (their grants, IdP group and members; created with a first role, edited, deleted behind
 * a confirmation) and roles (built-in ones read-only; custom ones created from permissions,
 * edited, and deleted behind a confirmation).
 */
import { useSignal } from '@preact/signals';
import { PERMISSIONS } from '../../../../shared/src/permissions.js';
import { type Grant, grantInputs, grantLabel } from '../access-model.js';
import { api } from '../api.js';
import { failure, LoadState, useAllPages } from '../loaded.js';
import { ConfirmDialog, FormDialog } from '../modal-dialog.js';
import { field, GrantFields, GrantsEditor, grantOf, type Role } from './access-shared.js';

interface Group {
  id: string;
  name: string;
  description: string | null;
  oidcGroup: string | null;
  grants: Grant[];
  members: { id: string; username: string; disabled: boolean }[];
}

export function GroupsTab() {
  const groups = useAllPages<Group>('/auth/groups');
  const roles = useAllPages<Role>('/auth/roles');
  const creating = useSignal(false);
  const deleting = useSignal<Group | undefined>(undefined);
  const editing = useSignal<Group | undefined>(undefined);
  const membersOf = useSignal<string | undefined>(undefined);
  const shownGroup = groups.data.value?.find((g) => g.id === membersOf.value);
  return (
    <div class="access-tab">
      <div class="access-toolbar">
        <button type="button" aria-haspopup="dialog" onClick={() => (creating.value = true)}>
          Create group
        </button>
      </div>
      <LoadState of={groups} />
      {groups.data.value?.length === 0 && <p class="empty">No groups.</p>}
      {groups.data.value && groups.data.value.length > 0 && (
        <ul class="access-list">
          {groups.data.value.map((group) => (
            <li key={group.id} class="access-row" data-group={group.name}>
              <span class="access-name">
                {group.name}
                {group.description && <small> {group.description}</small>}
              </span>
              {group.oidcGroup && <span class="badge">IdP group {group.oidcGroup}</span>}
              <span class="access-grants">{group.grants.map(grantLabel).join(', ') || 'no roles'}</span>
              <span class="access-grants">
                Members: {group.members.map((m) => m.username).join(', ') || 'none'}
              </span>
              <span class="access-actions">
                <button
                  type="button"
                  aria-haspopup="dialog"
                  aria-label={`Edit group ${group.name}`}
                  onClick={() => (editing.value = group)}
                >
                  Edit…
                </button>
                <button type="button" aria-haspopup="dialog" onClick={() => (membersOf.value = group.id)}>
                  Members…
                </button>
                <button type="button" aria-haspopup="dialog" onClick={() => (deleting.value = group)}>
                  Delete
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {shownGroup && (
        <MembersDialog
          group={shownGroup}
          onClose={() => (membersOf.value = undefined)}
          onDone={groups.reload}
        />
      )}
      {editing.value && (
        <EditGroupDialog
          group={editing.value}
          roles={roles.data.value ?? []}
          onClose={() => (editing.value = undefined)}
          onDone={groups.reload}
        />
      )}
      {creating.value && (
        <CreateGroupDialog
          roles={roles.data.value ?? []}
          onClose={() => (creating.value = false)}
          onDone={groups.reload}
        />
      )}
      {deleting.value && (
        <ConfirmDialog
          title={`Delete group ${deleting.value.name}?`}
          question="Its members lose the roles it grants (and are signed out)."
          confirmLabel="Delete"
          onConfirm={async () => {
            await api('DELETE', `/auth/groups/${encodeURIComponent(deleting.value!.id)}`);
            groups.reload();
          }}
          onClose={() => (deleting.value = undefined)}
        />
      )}
    </div>
  );
}

/** Who is in a group: added by username, removed one by one (each ends that user's sessions). */
function MembersDialog({
  group,
  onClose,
  onDone,
}: {
  group: Group;
  onClose: () => void;
  onDone: () => void;
}) {
  const users = useAllPages<{ id: string; username: string }>('/auth/users');
  const error = useSignal<string | undefined>(undefined);
  const change = async (method: 'PUT' | 'DELETE', userId: string) => {
    try {
      await api(method, `/auth/groups/${encodeURIComponent(group.id)}/members/${encodeURIComponent(userId)}`);
      error.value = undefined;
      onDone();
    } catch (err) {
      error.value = failure(err);
    }
  };
  return (
    <FormDialog
      title={`Members of ${group.name}`}
      onClose={onClose}
      submitLabel="Add"
      cancelLabel="Close"
      stayOpen
      error={error}
      onSubmit={async (form) => {
        const username = field(form, 'username').trim();
        const user = users.data.value?.find((u) => u.username === username);
        if (!user) return `No user ${username} (among those you manage).`;
        await change('PUT', user.id);
        return error.value;
      }}
    >
      {group.members.length === 0 ? (
        <p class="empty">No members.</p>
      ) : (
        <ul class="grant-list">
          {group.members.map((m) => (
            <li key={m.id}>
              {m.username}{' '}
              <button
                type="button"
                aria-label={`Remove ${m.username}`}
                onClick={() => void change('DELETE', m.id)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <label>
        Add a user
        <input name="username" list="group-member-users" autoComplete="off" required />
      </label>
      <datalist id="group-member-users">
        {(users.data.value ?? []).map((u) => (
          <option key={u.id} value={u.username} />
        ))}
      </datalist>
      <p class="notice">Joining or leaving a group signs that user out everywhere.</p>
    </FormDialog>
  );
}

function CreateGroupDialog({
  roles,
  onClose,
  onDone,
}: {
  roles: readonly Role[];
  onClose: () => void;
  onDone: () => void;
}) {
  const scopeType = useSignal('fleet');
  return (
    <FormDialog
      title="Create group"
      onClose={onClose}
      submitLabel="Create"
      onSubmit={async (form) => {
        const grant = grantOf(form);
        if (grant && 'error' in grant) return grant.error;
        const description = field(form, 'description').trim();
        const oidcGroup = field(form, 'oidcGroup').trim();
        await api('POST', '/auth/groups', {
          name: field(form, 'name').trim(),
          ...(description && { description }),
          ...(oidcGroup && { oidcGroup }),
          ...(grant && { grants: [grant.grant] }),
        });
        onDone();
      }}
    >
      <label>
        Name
        <input name="name" required autoComplete="off" />
      </label>
      <label>
        Description
        <input name="description" autoComplete="off" />
      </label>
      <label>
        IdP group (members join at single sign-on)
        <input name="oidcGroup" autoComplete="off" />
      </label>
      <GrantFields roles={roles} optional scopeType={scopeType} />
    </FormDialog>
  );
}

/** A group's name, description, IdP group and grants, saved together (its members are signed out). */
function EditGroupDialog({
  group,
  roles,
  onClose,
  onDone,
}: {
  group: Group;
  roles: readonly Role[];
  onClose: () => void;
  onDone: () => void;
}) {
  const grants = useSignal<Grant[]>(group.grants);
  const error = useSignal<string | undefined>(undefined);
  return (
    <FormDialog
      title={`Edit group ${group.name}`}
      onClose={onClose}
      submitLabel="Save"
      error={error}
      onSubmit={async (form) => {
        await api('PATCH', `/auth/groups/${encodeURIComponent(group.id)}`, {
          name: field(form, 'name').trim(),
          description: field(form, 'description').trim() || null,
          oidcGroup: field(form, 'oidcGroup').trim() || null,
          grants: grantInputs(grants.value),
        });
        onDone();
      }}
    >
      <label>
        Name
        <input name="name" required autoComplete="off" defaultValue={group.name} />
      </label>
      <label>
        Description
        <input name="description" autoComplete="off" defaultValue={group.description ?? ''} />
      </label>
      <label>
        IdP group (members join at single sign-on)
        <input name="oidcGroup" autoComplete="off" defaultValue={group.oidcGroup ?? ''} />
      </label>
      <GrantsEditor
        grants={grants}
        roles={roles}
        error={error}
        none="No roles: its members get none from it."
      />
      <p class="notice">Saving signs its members out everywhere (their access changed).</p>
    </FormDialog>
  );
}

export function RolesTab() {
  const roles = useAllPages<Role>('/auth/roles');
  const creating = useSignal(false);
  const deleting = useSignal<Role | undefined>(undefined);
  const editing = useSignal<Role | undefined>(undefined);
  return (
    <div class="access-tab">
      <div class="access-toolbar">
        <button type="button" aria-haspopup="dialog" onClick={() => (creating.value = true)}>
          Create role
        </button>
      </div>
      <LoadState of={roles} />
      {roles.data.value && (
        <ul class="access-list">
          {roles.data.value.map((role) => (
            <li key={role.id} class="access-row" data-role={role.name}>
              <span class="access-name">
                {role.name}
                {role.description && <small> {role.description}</small>}
              </span>
              <span class="badge">{role.builtIn ? 'Built-in (fixed)' : 'Custom'}</span>
              <span class="access-grants access-permissions">{role.permissions.join(', ')}</span>
              {!role.builtIn && (
                <span class="access-actions">
                  <button
                    type="button"
                    aria-haspopup="dialog"
                    aria-label={`Edit role ${role.name}`}
                    onClick={() => (editing.value = role)}
                  >
                    Edit…
                  </button>
                  <button type="button" aria-haspopup="dialog" onClick={() => (deleting.value = role)}>
                    Delete
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {creating.value && <RoleDialog onClose={() => (creating.value = false)} onDone={roles.reload} />}
      {editing.value && (
        <RoleDialog role={editing.value} onClose={() => (editing.value = undefined)} onDone={roles.reload} />
      )}
      {deleting.value && (
        <ConfirmDialog
          title={`Delete role ${deleting.value.name}?`}
          question="A role still granted to someone cannot be deleted."
          confirmLabel="Delete"
          onConfirm={async () => {
            await api('DELETE', `/auth/roles/${encodeURIComponent(deleting.value!.id)}`);
            roles.reload();
          }}
          onClose={() => (deleting.value = undefined)}
        />
      )}
    </div>
  );
}

/** A custom role created, or (given `role`) its description and permissions changed; its name stays. */
function RoleDialog({ role, onClose, onDone }: { role?: Role; onClose: () => void; onDone: () => void }) {
  return (
    <FormDialog
      title={role ? `Edit role ${role.name}` : 'Create role'}
      onClose={onClose}
      class="modal modal-wide"
      submitLabel={role ? 'Save' : 'Create'}
      onSubmit={async (form) => {
        const permissions = form.getAll('permission').map(String);
        if (permissions.length === 0) return 'Choose at least one permission.';
        const description = field(form, 'description').trim();
        if (role)
          await api('PATCH', `/auth/roles/${encodeURIComponent(role.id)}`, {
            description: description || null,
            permissions,
          });
        else
          await api('POST', '/auth/roles', {
            name: field(form, 'name').trim(),
            ...(description && { description }),
            permissions,
          });
        onDone();
      }}
    >
      {!role && (
        <label>
          Name
          <input name="name" required pattern="[A-Za-z0-9._\-]+" autoComplete="off" />
        </label>
      )}
      <label>
        Description
        <input name="description" autoComplete="off" defaultValue={role?.description ?? ''} />
      </label>
      <fieldset class="permission-fields">
        <legend>Permissions (only ones you hold can be given)</legend>
        {PERMISSIONS.map((p) => (
          <label key={p} class="inline">
            <input
              type="checkbox"
              name="permission"
              value={p}
              defaultChecked={role?.permissions.includes(p)}
            />
            {p}
          </label>
        ))}
      </fieldset>
      {role && <p class="notice">Everyone holding it gets the new permissions at once.</p>}
    </FormDialog>
  );
}
