/**
 * The node page's sections that read more than the node: its current job (`GET /recording-jobs`
 * by node, live from `job.state`), the configuration in effect (its settings objects and channel
 * map), and the lifecycle actions (`GET /nodes/:id/actions` says which are possible now; each is
 * asked first in a native dialog, and the server's refusal is shown there).
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { failure, LoadState, useLoaded } from '../loaded.js';
import { ConfirmDialog } from '../modal-dialog.js';
import {
  currentJob,
  NODE_ACTIONS,
  type NodeAction,
  type NodeActionGate,
  type NodeJob,
} from '../node-model.js';
import { navigate } from '../router.js';
import { Ago } from '../time-ago.js';

/**
 * Reads `load` now, again (at most once per animation frame) when `prefixes` events of `nodeId`
 * (or a reset) arrive, and when `version` changes.
 */
function useLive<T>(load: () => Promise<T>, nodeId: string, prefixes: string[], version: unknown = 0) {
  return useLoaded(load, [nodeId, version], {
    live: { prefixes, when: (event) => event.nodeId === nodeId || event.nodeId === null },
  });
}

/** The job the node holds now (or is about to take), live. */
export function CurrentJob({ nodeId }: { nodeId: string }) {
  const live = useLive(
    () =>
      api<{ data: NodeJob[] }>('GET', `/recording-jobs?nodeId=${encodeURIComponent(nodeId)}&limit=20`).then(
        (page) => currentJob(page.data) ?? null,
      ),
    nodeId,
    ['job.'],
  );
  const job = live.data.value;
  return (
    <section aria-labelledby="node-job">
      <h2 id="node-job">Current job</h2>
      <LoadState of={live} />
      {job === null && <p class="empty">No recording job now.</p>}
      {job && (
        <p class="node-job" data-job-id={job.id} data-state={job.state}>
          <span class={`job-state job-${job.state}`}>{job.state}</span>{' '}
          <a href={`/recordings/${encodeURIComponent(job.recordingId)}`}>Recording</a>
          {job.startedAt ? (
            <>
              {' · started '}
              <Ago iso={job.startedAt} />
            </>
          ) : (
            <>
              {' · asked '}
              <Ago iso={job.createdAt} />
            </>
          )}
          {job.plannedEndAt && ` · until ${new Date(job.plannedEndAt).toLocaleTimeString()}`}
          {job.scheduleId && ' · scheduled'}
        </p>
      )}
      <p>
        <a href={`/jobs?nodeId=${encodeURIComponent(nodeId)}`}>All jobs of this node</a>
      </p>
    </section>
  );
}

interface SettingsObject {
  id: string;
  name: string;
  revision: number;
  body: Record<string, unknown>;
}

const shown = (value: unknown) =>
  value === null
    ? 'default'
    : Array.isArray(value)
      ? value.join(', ')
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);

async function settingsObject(family: string, id: string | null): Promise<SettingsObject | string | null> {
  if (!id) return null;
  try {
    return (await api<{ data: SettingsObject }>('GET', `/settings/${family}/${encodeURIComponent(id)}`)).data;
  } catch (err) {
    return failure(err);
  }
}

async function effective(node: {
  id: string;
  recordingProfileId: string | null;
  watchdogPolicyId: string | null;
}) {
  const [profile, watchdog, map] = await Promise.all([
    settingsObject('recording-profiles', node.recordingProfileId),
    settingsObject('watchdog-policies', node.watchdogPolicyId),
    api<{
      data: {
        template: { id: string; name: string | null } | null;
        interface: string | null;
        revision: number;
      }[];
    }>('GET', `/settings/channel-map-assignments?nodeId=${encodeURIComponent(node.id)}&limit=1`).then(
      (page) => page.data[0] ?? null,
      (err: unknown) => failure(err),
    ),
  ]);
  return { profile, watchdog, map };
}

function SettingsFact({
  term,
  family,
  value,
  none,
}: {
  term: string;
  family: string;
  value: SettingsObject | string | null;
  none: string;
}) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>
        {value === null && none}
        {typeof value === 'string' && <span class="error">{value}</span>}
        {value !== null && typeof value === 'object' && (
          <>
            <a href={`/settings?family=${family}&id=${encodeURIComponent(value.id)}`}>{value.name}</a>{' '}
            (revision {value.revision})
            <span class="node-config-body">
              {Object.entries(value.body)
                .map(([k, v]) => `${k}: ${shown(v)}`)
                .join(' · ')}
            </span>
          </>
        )}
      </dd>
    </div>
  );
}

/** What the node's agent is told to run with: its settings objects and channel map. */
export function EffectiveConfig({
  node,
}: {
  node: { id: string; recordingProfileId: string | null; watchdogPolicyId: string | null };
}) {
  const key = `${node.recordingProfileId}|${node.watchdogPolicyId}`;
  const live = useLive(() => effective(node), node.id, ['settings.'], key);
  const config = live.data.value;
  return (
    <section aria-labelledby="node-config" data-config={key}>
      <h2 id="node-config">Configuration in effect</h2>
      <LoadState of={live} />
      {config && (
        <dl class="node-config">
          <SettingsFact
            term="Recording profile"
            family="recording-profiles"
            value={config.profile}
            none="None: WAV at the capture format"
          />
          <SettingsFact
            term="Watchdog policy"
            family="watchdog-policies"
            value={config.watchdog}
            none="None: the agent's built-in thresholds"
          />
          <div>
            <dt>Channel map</dt>
            <dd>
              {config.map === null && 'None: channels as captured'}
              {typeof config.map === 'string' && <span class="error">{config.map}</span>}
              {config.map !== null &&
                typeof config.map === 'object' &&
                `${config.map.template?.name ?? 'a deleted template'}${config.map.interface ? ` on ${config.map.interface}` : ''} (revision ${config.map.revision})`}
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}

interface LifecycleJob {
  id: string;
  action: string;
  state: string;
  requestedBy: string;
  message: string | null;
  createdAt: string;
}
/** How often the lifecycle requests are read again while one is waiting or sent. */
const PENDING_POLL_MS = 5000;
type Gates = Record<NodeActionGate, { allowed: boolean; reason: string | null }>;

async function actionsOf(nodeId: string) {
  const path = encodeURIComponent(nodeId);
  const [gates, jobs] = await Promise.all([
    api<{ data: Gates }>('GET', `/nodes/${path}/actions`),
    api<{ data: LifecycleJob[] }>('GET', `/nodes/${path}/lifecycle-jobs?limit=5`),
  ]);
  return { gates: gates.data, jobs: jobs.data };
}

/** The lifecycle actions (each asked first) and the last ones asked, with their state. */
export function NodeActions({ node, onDone }: { node: { id: string; name: string }; onDone: () => void }) {
  const version = useSignal(0);
  const live = useLive(() => actionsOf(node.id), node.id, ['node.'], version.value);
  const asking = useSignal<NodeAction | undefined>(undefined);
  const said = useSignal('');
  // No event tells a lifecycle job's end: read again while one is waiting or sent.
  const pending =
    live.data.value?.jobs.some((job) => job.state === 'queued' || job.state === 'sent') ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => {
      version.value += 1;
    }, PENDING_POLL_MS);
    return () => clearTimeout(timer);
  }, [pending, live.data.value]);

  async function run(action: NodeAction): Promise<string | undefined> {
    try {
      const answer = await api<{ data?: { state?: string } } | undefined>(
        action.method,
        action.path(node.id),
        action.method === 'POST' ? {} : undefined,
      );
      if (action.key === 'delete') {
        navigate('/fleet');
        return undefined;
      }
      said.value = `${action.label}: ${answer?.data?.state ? `asked (${answer.data.state})` : 'done'}.`;
      version.value += 1;
      onDone();
      return undefined;
    } catch (err) {
      return failure(err);
    }
  }

  const actions = live.data.value;
  return (
    <section aria-labelledby="node-actions" class="node-actions">
      <h2 id="node-actions">Actions</h2>
      <p class="node-action-said" aria-live="polite">
        {said.value}
      </p>
      <LoadState of={live} />
      {actions && (
        <>
          <ul class="node-action-list">
            {NODE_ACTIONS.map((action) => {
              const gate = actions.gates[action.gate];
              return (
                <li key={action.key} class={action.danger ? 'danger' : undefined}>
                  <button
                    type="button"
                    disabled={!gate.allowed}
                    aria-describedby={gate.allowed ? undefined : `why-${action.key}`}
                    aria-haspopup="dialog"
                    onClick={() => {
                      asking.value = action;
                    }}
                  >
                    {action.label}
                  </button>
                  {!gate.allowed && gate.reason && (
                    <small id={`why-${action.key}`} class="node-action-why">
                      {gate.reason}
                    </small>
                  )}
                </li>
              );
            })}
          </ul>
          <h3>Recent lifecycle requests</h3>
          {actions.jobs.length === 0 ? (
            <p class="empty">No lifecycle request yet.</p>
          ) : (
            <ul class="node-lifecycle-jobs">
              {actions.jobs.map((job) => (
                <li key={job.id} data-lifecycle-job={job.id} data-action={job.action} data-state={job.state}>
                  {job.action} · <span class="job-state">{job.state}</span> · by {job.requestedBy} ·{' '}
                  <Ago iso={job.createdAt} />
                  {job.message && ` · ${job.message}`}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {asking.value && (
        <ConfirmDialog
          title={`${asking.value.label}?`}
          question={asking.value.question(node.name)}
          confirmLabel={asking.value.label}
          onConfirm={() => run(asking.value as NodeAction)}
          onClose={() => {
            asking.value = undefined;
          }}
        />
      )}
    </section>
  );
}
