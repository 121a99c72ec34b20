/**
 * Settings: the families the API offers (`GET /settings`), each family's objects,
 * one object's current body in a form built from what the API returns, its history of
 * revisions, the difference between two of them, and a rollback behind a confirmation. With
 * `settings:manage`: a new object (a name, and a body in JSON or the family's defaults) and an
 * object deleted behind a confirmation (the server's refusal, e.g. still in use, shown in it).
 * Family, object and the compared revisions are in the URL; the page reads again when a
 * `settings.changed` event names the family.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, allPages, api } from '../api.js';
import { subscribe } from '../events.js';
import { LoadState, useLoaded } from '../loaded.js';
import { CancelButton, ConfirmDialog, closeDialogOf, FormDialog, ModalDialog } from '../modal-dialog.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import {
  changeFrom,
  type DiffEntry,
  diffBodies,
  type Family,
  fieldsOf,
  type SettingsView,
  settingsSearch,
  settingsViewFrom,
  shownValue,
} from '../settings-model.js';
import './settings.css';
import { Ago } from '../time-ago.js';

interface SettingsObject {
  id: string;
  family: string;
  name: string;
  body: Record<string, unknown>;
  revision: number;
  updatedAt: string;
}

interface HistoryEntry {
  revision: number;
  action: 'create' | 'update' | 'rollback' | 'delete';
  at: string;
  actor: { id: string | null; name: string | null };
  reason: string | null;
  after: { name: string; body: Record<string, unknown> };
}

let familiesRead: Promise<Family[]> | undefined;

/** The families, read once per load of the console (they change only with the controller). */
function families(): Promise<Family[]> {
  familiesRead ??= api<{ data: Family[] }>('GET', '/settings').then((index) => index.data);
  familiesRead.catch(() => {
    familiesRead = undefined; // a retry asks again
  });
  return familiesRead;
}

const message = (err: unknown) =>
  err instanceof ApiError || err instanceof Error ? err.message : 'The controller did not answer.';

function go(view: Partial<SettingsView>, replace = false) {
  navigate(`${location.value.path}${settingsSearch(view)}`, { replace });
}

export default function SettingsPage() {
  const view = settingsViewFrom(location.value.search);
  const loaded = useLoaded(
    () =>
      families().then((found) => {
        if (!view.family && found[0]) go({ family: found[0].name }, true);
        return found;
      }),
    [],
  );
  const list = loaded.data;

  return (
    <section class="page settings-page">
      <h1>Settings</h1>
      <LoadState of={loaded} empty="The controller offers no settings families." />
      {list.value && list.value.length > 0 && (
        <form class="filters" aria-label="Settings family" onSubmit={(e) => e.preventDefault()}>
          <label for="settings-family">Family</label>
          <select
            id="settings-family"
            value={view.family ?? ''}
            onChange={(e) => go({ family: e.currentTarget.value })}
          >
            {list.value.map((family) => (
              <option key={family.name} value={family.name}>
                {family.label}
              </option>
            ))}
          </select>
        </form>
      )}
      {view.family && (
        <FamilyObjects
          view={view}
          family={view.family}
          title={list.value?.find((f) => f.name === view.family)?.title ?? view.family}
        />
      )}
    </section>
  );
}

function FamilyObjects({ view, family, title }: { view: SettingsView; family: string; title: string }) {
  const version = useSignal(0);
  const creating = useSignal(false);

  useEffect(() => {
    const off = subscribe('settings.', (event) => {
      if (event === 'reset' || event.data.family === family) version.value += 1;
    });
    return off;
  }, [family]);

  const loaded = useLoaded(() => allPages<SettingsObject>(`/settings/${family}`), [family, version.value]);
  const objects = loaded.data;

  return (
    <div class="settings-layout">
      <nav class="settings-objects" aria-label="Objects">
        <h2>Objects</h2>
        {can('settings:manage') && (
          <button type="button" aria-haspopup="dialog" onClick={() => (creating.value = true)}>
            New {title}…
          </button>
        )}
        <LoadState of={loaded} empty="None yet." />
        <ul>
          {objects.value?.map((object) => (
            <li key={object.id}>
              <a
                href={`${location.value.path}${settingsSearch({ family, id: object.id })}`}
                aria-current={object.id === view.id ? 'page' : undefined}
              >
                {object.name}
              </a>{' '}
              <small>rev. {object.revision}</small>
            </li>
          ))}
        </ul>
      </nav>
      {creating.value && (
        <CreateDialog
          family={family}
          title={title}
          onClose={() => (creating.value = false)}
          onCreated={(id) => {
            version.value += 1;
            go({ family, id });
          }}
        />
      )}
      {view.id ? (
        <ObjectDetail
          key={view.id}
          view={view}
          family={family}
          id={view.id}
          changed={version.value}
          onDeleted={() => {
            version.value += 1;
            go({ family });
          }}
        />
      ) : (
        objects.value &&
        objects.value.length > 0 && <p class="empty">Choose an object to see its value and history.</p>
      )}
    </div>
  );
}

async function readObject(family: string, id: string) {
  const [object, history] = await Promise.all([
    api<{ data: SettingsObject }>('GET', `/settings/${family}/${id}`),
    allPages<HistoryEntry>(`/settings/${family}/${id}/history`),
  ]);
  return { object: object.data, history: [...history].sort((a, b) => b.revision - a.revision) };
}

/** A new object: its name, and its body as JSON (fields left out take the family's defaults). */
function CreateDialog(props: {
  family: string;
  title: string;
  onClose: () => void;
  onCreated: (id: string) => void;
}) {
  const { family, title } = props;
  return (
    <FormDialog
      title={`New ${title}`}
      class="modal settings-dialog"
      submitLabel="Create"
      onClose={props.onClose}
      onSubmit={async (form) => {
        const name = String(form.get('name') ?? '').trim();
        if (!name) return 'A name is needed.';
        const text = String(form.get('body') ?? '').trim();
        let body: unknown = {};
        if (text) {
          try {
            body = JSON.parse(text);
          } catch {
            return 'The body is not valid JSON.';
          }
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            return 'The body is a JSON object: {"field": value, …}.';
        }
        const created = await api<{ data: SettingsObject }>('POST', `/settings/${family}`, { name, body });
        props.onCreated(created.data.id);
      }}
    >
      <label for="settings-new-name">Name</label>
      <input id="settings-new-name" name="name" type="text" required maxLength={200} />
      <label for="settings-new-body">Body (JSON; fields left out take the defaults)</label>
      <textarea id="settings-new-body" name="body" rows={6} class="settings-json" placeholder="{}" />
    </FormDialog>
  );
}

function ObjectDetail(props: {
  view: SettingsView;
  family: string;
  id: string;
  changed: number;
  onDeleted: () => void;
}) {
  const { view, family, id } = props;
  const loaded = useLoaded(() => readObject(family, id), [family, id, props.changed], {
    notFound: 'No such object (it may have been deleted).',
  });
  const notice = useSignal<string | undefined>(undefined);
  const rollingBack = useSignal<HistoryEntry | undefined>(undefined);
  const deleting = useSignal(false);

  if (!loaded.data.value) return <LoadState of={loaded} />;
  const { object, history } = loaded.data.value;
  const newest = history[0]?.revision ?? object.revision;
  // Revisions the history does not hold (an old link) fall back to the newest and the one before.
  const held = (revision: number | undefined) =>
    history.some((entry) => entry.revision === revision) ? revision : undefined;
  const to = held(view.to) ?? newest;
  const from = held(view.from) ?? history.find((entry) => entry.revision < to)?.revision ?? to;
  const bodyAt = (revision: number) => history.find((entry) => entry.revision === revision)?.after.body;
  const diff = diffBodies(bodyAt(from), bodyAt(to));
  const mayManage = can('settings:manage');

  return (
    <article class="settings-object" data-object-id={object.id} data-revision={object.revision}>
      <h2>
        {object.name} <small>revision {object.revision}</small>
      </h2>
      {mayManage && (
        <button type="button" aria-haspopup="dialog" onClick={() => (deleting.value = true)}>
          Delete…
        </button>
      )}
      {deleting.value && (
        <ConfirmDialog
          title={`Delete ${object.name}?`}
          question="It is removed; its history is kept. The controller refuses while something uses it."
          confirmLabel="Delete"
          onConfirm={async () => {
            await api('DELETE', `/settings/${family}/${object.id}`);
            props.onDeleted();
          }}
          onClose={() => (deleting.value = false)}
        />
      )}
      {notice.value && (
        <p class="notice" role="status">
          {notice.value}
        </p>
      )}
      <ValueForm
        key={object.revision}
        family={family}
        object={object}
        editable={mayManage}
        onSaved={(text) => {
          notice.value = text;
          loaded.reload();
        }}
      />
      <section aria-labelledby="settings-history">
        <h3 id="settings-history">History</h3>
        <table class="settings-history">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">What</th>
              <th scope="col">Who</th>
              <th scope="col">When</th>
              <th scope="col">Reason</th>
              {mayManage && <th scope="col">Roll back</th>}
            </tr>
          </thead>
          <tbody>
            {history.map((entry) => (
              <tr key={entry.revision} data-revision={entry.revision}>
                <td>{entry.revision}</td>
                <td>{entry.action}</td>
                <td>{entry.actor.name ?? 'system'}</td>
                <td>
                  <Ago iso={entry.at} />
                </td>
                <td>{entry.reason ?? ''}</td>
                {mayManage && (
                  <td>
                    {entry.revision !== object.revision && entry.action !== 'delete' && (
                      <button
                        type="button"
                        aria-label={`Roll back to revision ${entry.revision}`}
                        aria-haspopup="dialog"
                        onClick={() => {
                          rollingBack.value = entry;
                        }}
                      >
                        Roll back…
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="settings-diff">
        <h3 id="settings-diff">Compare revisions</h3>
        <form class="filters" aria-label="Revisions compared" onSubmit={(e) => e.preventDefault()}>
          <label for="settings-from">From</label>
          <select
            id="settings-from"
            value={String(from)}
            onChange={(e) => go({ ...view, from: Number(e.currentTarget.value), to })}
          >
            {history.map((entry) => (
              <option key={entry.revision} value={entry.revision}>
                {entry.revision}
              </option>
            ))}
          </select>
          <label for="settings-to">To</label>
          <select
            id="settings-to"
            value={String(to)}
            onChange={(e) => go({ ...view, from, to: Number(e.currentTarget.value) })}
          >
            {history.map((entry) => (
              <option key={entry.revision} value={entry.revision}>
                {entry.revision}
              </option>
            ))}
          </select>
        </form>
        <DiffTable entries={diff} same={from === to} />
      </section>
      {rollingBack.value && (
        <RollbackDialog
          family={family}
          object={object}
          entry={rollingBack.value}
          onClose={(text) => {
            rollingBack.value = undefined;
            if (text) {
              notice.value = text;
              loaded.reload();
            }
          }}
        />
      )}
    </article>
  );
}

function DiffTable({ entries, same }: { entries: DiffEntry[]; same: boolean }) {
  if (same) return <p class="empty">Choose two different revisions.</p>;
  if (entries.length === 0) return <p class="empty">The two revisions hold the same value.</p>;
  return (
    <table class="settings-diff">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => (
          <tr key={entry.path} class={`diff-${entry.kind}`}>
            <th scope="row">{entry.path}</th>
            <td>
              <del>{shownValue(entry.before)}</del>
            </td>
            <td>
              <ins>{shownValue(entry.after)}</ins>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ValueForm(props: {
  family: string;
  object: SettingsObject;
  editable: boolean;
  onSaved: (notice: string) => void;
}) {
  const { family, object, editable } = props;
  const fields = fieldsOf(object.body);
  const texts = useSignal<Record<string, string>>({});
  const reason = useSignal('');
  const error = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);

  async function save(event: Event) {
    event.preventDefault();
    let body: Record<string, unknown>;
    try {
      body = changeFrom(object.body, fields, texts.value);
    } catch (err) {
      error.value = message(err);
      return;
    }
    if (Object.keys(body).length === 0) {
      error.value = 'Nothing changed.';
      return;
    }
    busy.value = true;
    try {
      const saved = await api<{ data: SettingsObject }>('PATCH', `/settings/${family}/${object.id}`, {
        body,
        ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
      });
      error.value = undefined;
      props.onSaved(`Saved as revision ${saved.data.revision}.`);
    } catch (err) {
      error.value = message(err);
    } finally {
      busy.value = false;
    }
  }

  const set = (key: string, value: string) => {
    texts.value = { ...texts.value, [key]: value };
  };
  return (
    <form class="settings-form" aria-label="Current value" onSubmit={(e) => void save(e)}>
      <h3>Current value</h3>
      {fields.map((field) => {
        const id = `setting-${field.key}`;
        const text = texts.value[field.key] ?? field.text;
        return (
          <div class="settings-field" key={field.key}>
            <label for={id}>{field.key}</label>
            {field.kind === 'boolean' ? (
              <input
                id={id}
                type="checkbox"
                checked={text === 'true'}
                disabled={!editable}
                onChange={(e) => set(field.key, String(e.currentTarget.checked))}
              />
            ) : (
              <input
                id={id}
                type={field.kind === 'number' ? 'number' : 'text'}
                step={field.kind === 'number' ? 'any' : undefined}
                class={field.kind === 'json' ? 'settings-json' : undefined}
                value={text}
                readOnly={!editable}
                onInput={(e) => set(field.key, e.currentTarget.value)}
              />
            )}
          </div>
        );
      })}
      {editable && (
        <>
          <div class="settings-field">
            <label for="settings-reason">Reason</label>
            <input
              id="settings-reason"
              type="text"
              maxLength={500}
              value={reason.value}
              onInput={(e) => {
                reason.value = e.currentTarget.value;
              }}
            />
          </div>
          {error.value && (
            <p class="error" role="alert">
              {error.value}
            </p>
          )}
          <button type="submit" disabled={busy.value}>
            Save
          </button>
        </>
      )}
    </form>
  );
}

/** The rollback confirmation (modal-dialog.tsx: Esc or Cancel closes it, focus back where it was). */
function RollbackDialog(props: {
  family: string;
  object: SettingsObject;
  entry: HistoryEntry;
  onClose: (notice?: string) => void;
}) {
  const { family, object, entry } = props;
  const reason = useSignal('');
  const error = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);
  /** What the page says once the dialog has closed after a rollback. */
  const notice = useRef<string | undefined>(undefined);

  async function confirm(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    busy.value = true;
    try {
      const done = await api<{ data: SettingsObject }>('POST', `/settings/${family}/${object.id}/rollback`, {
        revision: entry.revision,
        ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
      });
      notice.current = `Rolled back to revision ${entry.revision}: now revision ${done.data.revision}.`;
      closeDialogOf(form);
    } catch (err) {
      error.value = message(err);
      busy.value = false;
    }
  }

  return (
    <ModalDialog
      class="settings-dialog"
      title={`Roll ${object.name} back to revision ${entry.revision}?`}
      onClose={() => props.onClose(notice.current)}
    >
      <form method="dialog" onSubmit={(e) => void confirm(e)}>
        <p>Its value becomes that of revision {entry.revision}, kept as a new revision; the history stays.</p>
        <DiffTable entries={diffBodies(object.body, entry.after.body)} same={false} />
        <label for="rollback-reason">Reason</label>
        <input
          id="rollback-reason"
          type="text"
          maxLength={500}
          value={reason.value}
          onInput={(e) => {
            reason.value = e.currentTarget.value;
          }}
        />
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="dialog-actions">
          <CancelButton />
          <button type="submit" disabled={busy.value}>
            Roll back
          </button>
        </div>
      </form>
    </ModalDialog>
  );
}
