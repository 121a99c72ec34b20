/**
 * The System page's notification integrations, for roles that manage them (`/integrations`):
 * created (a webhook's signing secret shown once), edited (name, URL, what is sent, quiet
 * time), tested (`…/verify`: a test message, its answer shown), enabled once a test passed or
 * disabled, their secret rotated (shown once again), their delivery log read, and deleted
 * behind a confirmation. The server decides; a refusal is shown on the row or in the dialog.
 */
import { type Signal, useSignal } from '@preact/signals';
import { HEALTH_SEVERITIES } from '../../../../shared/src/health-kinds.js';
import {
  DEFAULT_NOTIFICATION_EVENTS,
  DEFAULT_NOTIFICATION_SEVERITIES,
  DEFAULT_QUIET_SECONDS,
  INTEGRATION_KINDS,
  MAX_QUIET_SECONDS,
  MAX_URL_LENGTH,
  NOTIFICATION_EVENTS,
} from '../../../../shared/src/notification-kinds.js';
import { api } from '../api.js';
import { relativeTime } from '../fleet-model.js';
import { failure, LoadState, useAllPages, useLoaded } from '../loaded.js';
import { ConfirmDialog, FormDialog, SecretOnce } from '../modal-dialog.js';
import { Ago } from '../time-ago.js';
import { field } from './access-shared.js';

export interface Integration {
  id: string;
  name: string;
  kind: string;
  status: 'draft' | 'enabled' | 'disabled';
  url: string;
  secret: { set: boolean; hint: string | null };
  rules: { events: string[]; healthTypes: string[] | null; severities: string[]; siteIds: string[] | null };
  quietSeconds: number;
  verifiedAt: string | null;
  lastVerification: { ok: boolean; at: string; status: number | null; error: string | null } | null;
}

interface Delivery {
  id: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
}

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; integration: Integration }
  | { kind: 'rotate'; integration: Integration }
  | { kind: 'delete'; integration: Integration };

export function Integrations() {
  const integrations = useAllPages<Integration>('/integrations');
  const list = integrations.data;
  const rowErrors = useSignal<Record<string, string>>({});
  const busy = useSignal<string | undefined>(undefined);
  const dialog = useSignal<Dialog | undefined>(undefined);
  const deliveriesOf = useSignal<string | undefined>(undefined);

  async function act(integration: Integration, action: 'enable' | 'disable' | 'verify') {
    busy.value = integration.id;
    try {
      await api('POST', `/integrations/${encodeURIComponent(integration.id)}/${action}`, {});
      const { [integration.id]: _, ...rest } = rowErrors.value;
      rowErrors.value = rest;
      integrations.reload();
    } catch (err) {
      rowErrors.value = { ...rowErrors.value, [integration.id]: failure(err) };
    } finally {
      busy.value = undefined;
    }
  }
  const close = () => (dialog.value = undefined);
  const done = () => integrations.reload();

  return (
    <section aria-labelledby="system-integrations">
      <h2 id="system-integrations">Notification integrations</h2>
      <p>
        <button type="button" aria-haspopup="dialog" onClick={() => (dialog.value = { kind: 'create' })}>
          New integration…
        </button>
      </p>
      <LoadState of={integrations} empty="No notification integrations." />
      {list.value && list.value.length > 0 && (
        <ul class="integrations">
          {list.value.map((integration) => (
            <IntegrationRow
              key={integration.id}
              integration={integration}
              busy={busy.value === integration.id}
              error={rowErrors.value[integration.id]}
              onAct={(action) => void act(integration, action)}
              onDialog={(kind) => (dialog.value = { kind, integration })}
              deliveriesOf={deliveriesOf}
            />
          ))}
        </ul>
      )}
      {dialog.value?.kind === 'create' && <IntegrationDialog onClose={close} onDone={done} />}
      {dialog.value?.kind === 'edit' && (
        <IntegrationDialog integration={dialog.value.integration} onClose={close} onDone={done} />
      )}
      {dialog.value?.kind === 'rotate' && (
        <RotateDialog integration={dialog.value.integration} onClose={close} onDone={done} />
      )}
      {dialog.value?.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete ${dialog.value.integration.name}?`}
          question="Nothing more is sent to it; its delivery log goes with it."
          confirmLabel="Delete"
          onConfirm={async () => {
            const { integration } = dialog.value as { integration: Integration };
            await api('DELETE', `/integrations/${encodeURIComponent(integration.id)}`);
            integrations.reload();
          }}
          onClose={close}
        />
      )}
    </section>
  );
}

function verification(integration: Integration): string {
  const last = integration.lastVerification;
  if (!last) return 'not tested';
  if (last.ok) return `test passed ${relativeTime(last.at, Date.now())}`;
  return `last test failed (${last.status ?? last.error ?? 'no answer'})`;
}

function IntegrationRow({
  integration,
  busy,
  error,
  onAct,
  onDialog,
  deliveriesOf,
}: {
  integration: Integration;
  busy: boolean;
  error: string | undefined;
  onAct: (action: 'enable' | 'disable' | 'verify') => void;
  onDialog: (kind: 'edit' | 'rotate' | 'delete') => void;
  deliveriesOf: Signal<string | undefined>;
}) {
  const name = <span class="visually-hidden">{integration.name}</span>;
  const open = deliveriesOf.value === integration.id;
  return (
    <li data-integration-id={integration.id} data-status={integration.status}>
      <strong>{integration.name}</strong> <span class="integration-meta">{integration.kind}</span>{' '}
      <span class={`integration-status status-${integration.status}`}>{integration.status}</span>{' '}
      <span class="integration-meta">
        {integration.url} · {verification(integration)}
      </span>
      <span class="integration-actions">
        <button type="button" disabled={busy} onClick={() => onAct('verify')}>
          Test {name}
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => onAct(integration.status === 'enabled' ? 'disable' : 'enable')}
        >
          {integration.status === 'enabled' ? 'Disable' : 'Enable'} {name}
        </button>
        <button type="button" aria-haspopup="dialog" onClick={() => onDialog('edit')}>
          Edit… {name}
        </button>
        {(integration.kind === 'webhook' || integration.kind === 'feishu') && (
          <button type="button" aria-haspopup="dialog" onClick={() => onDialog('rotate')}>
            Rotate secret… {name}
          </button>
        )}
        <button
          type="button"
          aria-expanded={open}
          onClick={() => (deliveriesOf.value = open ? undefined : integration.id)}
        >
          Deliveries {name}
        </button>
        <button type="button" aria-haspopup="dialog" onClick={() => onDialog('delete')}>
          Delete… {name}
        </button>
      </span>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
      {open && <Deliveries integration={integration} />}
    </li>
  );
}

/** The newest 20 messages sent to it (tests and notifications): attempts and the last answer. */
function Deliveries({ integration }: { integration: Integration }) {
  const loaded = useLoaded(
    () =>
      api<{ data: Delivery[] }>(
        'GET',
        `/integrations/${encodeURIComponent(integration.id)}/deliveries?limit=20`,
      ).then((page) => page.data),
    [integration.id, integration.lastVerification?.at],
  );
  return (
    <div class="integration-deliveries">
      <LoadState of={loaded} empty="Nothing sent yet." />
      {loaded.data.value && loaded.data.value.length > 0 && (
        <table aria-label={`Deliveries of ${integration.name}`}>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.value.map((d) => (
              <tr key={d.id} data-delivery-status={d.status}>
                <td>
                  <Ago iso={d.createdAt} />
                </td>
                <td>{d.event}</td>
                <td>{d.status}</td>
                <td>{d.attempts}</td>
                <td>{d.lastStatus ?? d.lastError ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Created, or (given `integration`) edited: its URL is kept when left empty (the API shows only its end). */
function IntegrationDialog({
  integration,
  onClose,
  onDone,
}: {
  integration?: Integration;
  onClose: () => void;
  onDone: () => void;
}) {
  const kind = useSignal(integration?.kind ?? 'webhook');
  const secret = useSignal<string | undefined>(undefined);
  if (secret.value !== undefined)
    return (
      <SecretShown name={integration?.name ?? 'the integration'} secret={secret.value} onClose={onClose} />
    );
  const events: readonly string[] = integration?.rules.events ?? DEFAULT_NOTIFICATION_EVENTS;
  const severities: readonly string[] = integration?.rules.severities ?? DEFAULT_NOTIFICATION_SEVERITIES;
  return (
    <FormDialog
      title={integration ? `Edit ${integration.name}` : 'New integration'}
      onClose={onClose}
      submitLabel={integration ? 'Save' : 'Create'}
      // A new webhook's signing secret is shown in this dialog once it is created.
      stayOpen={!integration && kind.value === 'webhook'}
      onSubmit={async (form) => {
        const url = field(form, 'url').trim();
        const quiet = field(form, 'quietSeconds');
        const rules = {
          events: form.getAll('event').map(String),
          severities: form.getAll('severity').map(String),
          healthTypes: integration?.rules.healthTypes ?? null,
          siteIds: integration?.rules.siteIds ?? null,
        };
        const body = {
          name: field(form, 'name').trim(),
          ...(url && { url }),
          rules,
          ...(quiet && { quietSeconds: Number(quiet) }),
        };
        if (integration) {
          await api('PATCH', `/integrations/${encodeURIComponent(integration.id)}`, body);
          onDone();
          return;
        }
        const botSecret = field(form, 'secret');
        const created = await api<{ data: { signingSecret?: string } }>('POST', '/integrations', {
          ...body,
          kind: kind.value,
          ...(botSecret && { secret: botSecret }),
        });
        onDone();
        secret.value = created.data.signingSecret;
      }}
    >
      <label>
        Name
        <input name="name" required maxLength={100} autoComplete="off" defaultValue={integration?.name} />
      </label>
      {!integration && (
        <label>
          Kind
          <select name="kind" value={kind.value} onChange={(e) => (kind.value = e.currentTarget.value)}>
            {INTEGRATION_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        {integration ? `URL (now ${integration.url}; empty keeps it)` : 'URL'}
        <input name="url" type="url" required={!integration} maxLength={MAX_URL_LENGTH} autoComplete="off" />
      </label>
      {!integration && kind.value === 'feishu' && (
        <label>
          The bot's signing secret
          <input name="secret" type="password" required maxLength={200} autoComplete="off" />
        </label>
      )}
      <fieldset class="integration-choices">
        <legend>Send</legend>
        {NOTIFICATION_EVENTS.map((e) => (
          <label key={e} class="inline">
            <input type="checkbox" name="event" value={e} defaultChecked={events.includes(e)} />
            {e}
          </label>
        ))}
      </fieldset>
      <fieldset class="integration-choices">
        <legend>Health events of these severities</legend>
        {HEALTH_SEVERITIES.map((s) => (
          <label key={s} class="inline">
            <input type="checkbox" name="severity" value={s} defaultChecked={severities.includes(s)} />
            {s}
          </label>
        ))}
      </fieldset>
      <label>
        Quiet time (s: the same condition again within it sends nothing)
        <input
          name="quietSeconds"
          type="number"
          min={0}
          max={MAX_QUIET_SECONDS}
          defaultValue={String(integration?.quietSeconds ?? DEFAULT_QUIET_SECONDS)}
        />
      </label>
    </FormDialog>
  );
}

/** A webhook gets a new secret (shown once); a Feishu bot's new one is given here. */
function RotateDialog({
  integration,
  onClose,
  onDone,
}: {
  integration: Integration;
  onClose: () => void;
  onDone: () => void;
}) {
  const feishu = integration.kind === 'feishu';
  const secret = useSignal<string | undefined>(undefined);
  if (secret.value !== undefined)
    return <SecretShown name={integration.name} secret={secret.value} onClose={onClose} />;
  return (
    <FormDialog
      title={`Rotate the secret of ${integration.name}?`}
      onClose={onClose}
      submitLabel="Rotate"
      stayOpen={!feishu}
      onSubmit={async (form) => {
        const rotated = await api<{ data: { signingSecret?: string } }>(
          'POST',
          `/integrations/${encodeURIComponent(integration.id)}/rotate-secret`,
          feishu ? { secret: field(form, 'secret') } : {},
        );
        onDone();
        secret.value = rotated.data.signingSecret;
      }}
    >
      {feishu ? (
        <label>
          The bot's new signing secret
          <input name="secret" type="password" required maxLength={200} autoComplete="off" />
        </label>
      ) : (
        <p>A new secret is made and shown once; the receiver must check signatures with it from now on.</p>
      )}
    </FormDialog>
  );
}

/** A webhook's signing secret, shown this once (kept only in this dialog's state). */
function SecretShown({ name, secret, onClose }: { name: string; secret: string; onClose: () => void }) {
  return (
    <SecretOnce
      title={`Signing secret of ${name}`}
      label="Secret"
      advice="Give it to the receiver now: this is the only time it is shown."
      secret={secret}
      onClose={onClose}
    />
  );
}
