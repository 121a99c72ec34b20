/**
 * A node's channel map on its page: every revision of its assignment (who, when, which template
 * before and after, why; `GET /settings/channel-map-assignments/:nodeId/history`), a template
 * assigned or cleared (`PUT …/:nodeId`, a new revision), and an earlier revision restored
 * behind a confirmation (`POST …/:nodeId/rollback`). Live from `settings.` events.
 */
import { useSignal } from '@preact/signals';
import { ApiError, allPages, api } from '../api.js';
import { failure, LoadState, useLoaded } from '../loaded.js';
import { ConfirmDialog } from '../modal-dialog.js';
import { can } from '../session.js';
import { Ago } from '../time-ago.js';

interface Revision {
  revision: number;
  action: 'create' | 'update' | 'rollback' | 'delete';
  at: string;
  actor: { id: string | null; name: string | null };
  reason: string | null;
  before: { templateId: string | null; interface: string | null } | null;
  after: { templateId: string | null; interface: string | null };
}
interface Template {
  id: string;
  name: string;
}

const ASSIGNMENTS = '/settings/channel-map-assignments';

/** The history (newest first; none when never assigned) and the templates to choose from. */
async function load(nodeId: string): Promise<{ history: Revision[]; templates: Template[] }> {
  const [history, templates] = await Promise.all([
    allPages<Revision>(`${ASSIGNMENTS}/${encodeURIComponent(nodeId)}/history`).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return [];
      throw err;
    }),
    allPages<Template>('/settings/channel-map-templates'),
  ]);
  return { history: [...history].sort((a, b) => b.revision - a.revision), templates };
}

export function ChannelMapHistory({ nodeId }: { nodeId: string }) {
  const loaded = useLoaded(() => load(nodeId), [nodeId], {
    live: { prefixes: ['settings.'], when: (event) => event.nodeId === nodeId || event.nodeId === null },
  });
  const restoring = useSignal<Revision | undefined>(undefined);
  const status = useSignal<string | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const mayChange = can('settings:manage');
  const data = loaded.data.value;
  const nameOf = (id: string | null) =>
    id === null ? 'none' : (data?.templates.find((t) => t.id === id)?.name ?? 'a deleted template');
  const current = data?.history[0];

  async function assign(form: HTMLFormElement) {
    const fields = new FormData(form);
    const templateId = String(fields.get('templateId') ?? '') || null;
    const reason = String(fields.get('reason') ?? '').trim();
    try {
      await api('PUT', `${ASSIGNMENTS}/${encodeURIComponent(nodeId)}`, {
        templateId,
        ...(reason && { reason }),
      });
      error.value = undefined;
      status.value = templateId ? `Assigned ${nameOf(templateId)}.` : 'Channel map cleared.';
      form.reset();
      loaded.reload();
    } catch (err) {
      error.value = failure(err);
    }
  }

  return (
    <section aria-labelledby="node-channel-map">
      <h2 id="node-channel-map">Channel map history</h2>
      <LoadState of={loaded} />
      {data && data.history.length === 0 && <p class="empty">No channel map was ever assigned.</p>}
      {data && data.history.length > 0 && (
        <table class="node-map-history">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
              {mayChange && <th scope="col">Restore</th>}
            </tr>
          </thead>
          <tbody>
            {data.history.map((r) => (
              <tr key={r.revision} data-revision={r.revision}>
                <td>{r.revision}</td>
                <td>
                  <Ago iso={r.at} />
                </td>
                <td>{r.actor.name ?? r.actor.id ?? 'the system'}</td>
                <td>
                  {r.before ? `${nameOf(r.before.templateId)} → ` : ''}
                  {nameOf(r.after.templateId)}
                  {r.after.interface && ` on ${r.after.interface}`}
                </td>
                <td>{r.reason ?? ''}</td>
                {mayChange && (
                  <td>
                    {r !== current && (
                      <button
                        type="button"
                        aria-haspopup="dialog"
                        aria-label={`Restore revision ${r.revision}`}
                        onClick={() => (restoring.value = r)}
                      >
                        Restore
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && mayChange && (
        <form
          class="filters"
          aria-label="Assign a channel map"
          onSubmit={(e) => {
            e.preventDefault();
            void assign(e.currentTarget);
          }}
        >
          <label>
            Template{' '}
            <select name="templateId" defaultValue={current?.after.templateId ?? ''}>
              <option value="">none (channels as captured)</option>
              {data.templates.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Reason <input name="reason" maxLength={500} placeholder="optional" />
          </label>
          <button type="submit">Assign</button>
          <span role="status">{status.value}</span>
          {error.value && (
            <span class="error" role="alert">
              {error.value}
            </span>
          )}
        </form>
      )}
      {restoring.value && (
        <ConfirmDialog
          title={`Restore revision ${restoring.value.revision}?`}
          question={`The node's channel map becomes ${nameOf(restoring.value.after.templateId)} again, as a new revision; the agent is told at once.`}
          confirmLabel="Restore"
          onConfirm={async () => {
            await api('POST', `${ASSIGNMENTS}/${encodeURIComponent(nodeId)}/rollback`, {
              revision: restoring.value!.revision,
            });
            loaded.reload();
          }}
          onClose={() => (restoring.value = undefined)}
        />
      )}
    </section>
  );
}
