/**
 * The caller's own API tokens: listed by name and hint (the API never returns a secret again),
 * created with the secret shown once in a dialog with a copy button (kept only in that
 * dialog's state: closing it forgets it), revoked behind a confirmation. Also where a user
 * changes their own password (everyone reaches this tab: their name in the header).
 */
import { useSignal } from '@preact/signals';
import { api } from '../api.js';
import { relativeTime } from '../fleet-model.js';
import { LoadState, useAllPages } from '../loaded.js';
import { ConfirmDialog, FormDialog, SecretOnce } from '../modal-dialog.js';
import { field } from './access-shared.js';

interface ApiToken {
  id: string;
  name: string;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revoked: boolean;
}

function When({ iso }: { iso: string | null }) {
  if (!iso) return <>never</>;
  return (
    <time dateTime={iso} title={new Date(iso).toString()}>
      {Date.parse(iso) > Date.now()
        ? `on ${new Date(iso).toLocaleDateString()}`
        : relativeTime(iso, Date.now())}
    </time>
  );
}

export function TokensTab() {
  const tokens = useAllPages<ApiToken>('/auth/api-tokens');
  const creating = useSignal(false);
  const revoking = useSignal<ApiToken | undefined>(undefined);
  const changing = useSignal(false);
  const changed = useSignal(false);
  return (
    <div class="access-tab">
      <p class="notice">Your personal API tokens: each acts as you, with your roles.</p>
      <div class="access-toolbar">
        <button type="button" aria-haspopup="dialog" onClick={() => (creating.value = true)}>
          Create token
        </button>
        <button type="button" aria-haspopup="dialog" onClick={() => (changing.value = true)}>
          Change your password…
        </button>
      </div>
      {changed.value && <p role="status">Your password is changed; your other sessions ended.</p>}
      <LoadState of={tokens} />
      {tokens.data.value?.length === 0 && <p class="empty">No API tokens.</p>}
      {tokens.data.value && tokens.data.value.length > 0 && (
        <ul class="access-list">
          {tokens.data.value.map((token) => (
            <li key={token.id} class="access-row" data-token={token.name} data-revoked={token.revoked}>
              <span class="access-name">
                {token.name} <small>…{token.hint}</small>
              </span>
              {token.revoked && <span class="badge badge-off">Revoked</span>}
              <span class="access-grants">
                Created <When iso={token.createdAt} />, last used <When iso={token.lastUsedAt} />
                {token.expiresAt && (
                  <>
                    , expires <When iso={token.expiresAt} />
                  </>
                )}
              </span>
              {!token.revoked && (
                <span class="access-actions">
                  <button type="button" aria-haspopup="dialog" onClick={() => (revoking.value = token)}>
                    Revoke
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {creating.value && (
        <CreateTokenDialog onClose={() => (creating.value = false)} onDone={tokens.reload} />
      )}
      {changing.value && (
        <OwnPasswordDialog
          onClose={() => (changing.value = false)}
          onDone={() => {
            changed.value = true;
          }}
        />
      )}
      {revoking.value && (
        <ConfirmDialog
          title={`Revoke token ${revoking.value.name}?`}
          question="Scripts using it stop working at once; this cannot be undone."
          confirmLabel="Revoke"
          onConfirm={async () => {
            await api('DELETE', `/auth/api-tokens/${encodeURIComponent(revoking.value!.id)}`);
            tokens.reload();
          }}
          onClose={() => (revoking.value = undefined)}
        />
      )}
    </div>
  );
}

function CreateTokenDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const secret = useSignal<string | undefined>(undefined);
  if (secret.value !== undefined)
    return (
      <SecretOnce
        title="Token created"
        label="Token"
        advice="Copy it now: this is the only time it is shown."
        secret={secret.value}
        onClose={onClose}
      />
    );
  return (
    <FormDialog
      title="Create API token"
      onClose={onClose}
      submitLabel="Create"
      stayOpen
      onSubmit={async (form) => {
        const days = field(form, 'expiresInDays');
        const created = await api<{ data: { token: string } }>('POST', '/auth/api-tokens', {
          name: field(form, 'name').trim(),
          ...(days && { expiresInDays: Number(days) }),
        });
        onDone();
        secret.value = created.data.token;
      }}
    >
      <label>
        Name
        <input name="name" required maxLength={100} autoComplete="off" />
      </label>
      <label>
        Expires after (days; empty for never)
        <input name="expiresInDays" type="number" min={1} max={3650} />
      </label>
    </FormDialog>
  );
}

/** The caller's own password, changed with the current one (their other sessions end). */
function OwnPasswordDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  return (
    <FormDialog
      title="Change your password"
      onClose={onClose}
      submitLabel="Change password"
      onSubmit={async (form) => {
        const password = field(form, 'password');
        if (password !== field(form, 'again')) return 'The new password and its repetition differ.';
        await api('PATCH', '/auth/me/password', {
          currentPassword: field(form, 'currentPassword'),
          password,
        });
        onDone();
      }}
    >
      <label>
        Current password
        <input name="currentPassword" type="password" required autoComplete="current-password" />
      </label>
      <label>
        New password
        <input name="password" type="password" required minLength={12} autoComplete="new-password" />
      </label>
      <label>
        New password again
        <input name="again" type="password" required minLength={12} autoComplete="new-password" />
      </label>
    </FormDialog>
  );
}
