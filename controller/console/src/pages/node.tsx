/**
 * Node detail: what the node is and how it is (`GET /api/v1/nodes/:id`), its interfaces and
 * channels, its meters, its current recording job (live from `job.state`), its open health
 * events (with a link to its timeline), the configuration in effect (its recording profile,
 * watchdog policy and channel map, from the settings routes) and its lifecycle actions, each
 * asked first in a dialog (node-actions.tsx). Kept live from the tab's events stream (its own
 * `node.*`, `health.*` and `job.*` events, or a `reset`).
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { subscribe } from '../events.js';
import { clockSkew, diskFree, type FleetNode, headroom, problems, tileState } from '../fleet-model.js';
import { NodeMeterWidget } from '../meter-widget.js';
import { channelsOf } from '../node-model.js';
import { location } from '../router.js';
import { can } from '../session.js';
import { ChannelMapHistory } from './node-channel-map.js';
import { CurrentJob, EffectiveConfig, NodeActions } from './node-parts.js';
import './node.css';
import { Ago } from '../time-ago.js';

interface NodeInterface {
  id: string;
  ref: string;
  kind: string;
  description: string;
  channels: number;
  sampleRate: number | null;
  present: boolean;
  alias: string | null;
  enabledChannels: number[] | null;
  channelNames: string[];
}

export interface NodeDetail extends FleetNode {
  agentVersion: string | null;
  enrolled: boolean;
  capture: { device: string; state: string | null; sampleRate: number; channels: number };
  location: string | null;
  notes: string | null;
  recordingProfileId: string | null;
  watchdogPolicyId: string | null;
  interfaces: NodeInterface[];
}

interface HealthEvent {
  id: string;
  severity: string;
  status: string;
  message: string;
  lastSeenAt: string;
}

const STATE_LABEL = { offline: 'Offline', degraded: 'Degraded', recording: 'Recording', online: 'Online' };

/** The node id in `/nodes/<id>`. */
export const NODE_PATH = /^\/nodes\/([A-Za-z0-9_-]+)$/;

async function read(id: string): Promise<{ node: NodeDetail; alerts: HealthEvent[] | undefined }> {
  const path = encodeURIComponent(id);
  const [node, alerts] = await Promise.all([
    api<{ data: NodeDetail }>('GET', `/nodes/${path}`),
    can('health:read')
      ? api<{ data: HealthEvent[] }>('GET', `/health-events?nodeId=${path}&status=open&limit=50`)
      : undefined,
  ]);
  return { node: { ...node.data, openAlerts: alerts?.data.length }, alerts: alerts?.data };
}

export default function NodePage() {
  const id = NODE_PATH.exec(location.value.path)?.[1] ?? '';
  const state = useSignal<Awaited<ReturnType<typeof read>> | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const version = useSignal(0);

  useEffect(() => {
    let stale = false;
    let frame: number | undefined;
    const load = () => {
      frame = undefined;
      read(id).then(
        (value) => {
          if (stale) return;
          state.value = value;
          error.value = undefined;
        },
        (err: Error) => {
          if (stale) return;
          error.value =
            err instanceof ApiError && err.status === 404
              ? 'No such node (or not yours to see).'
              : err.message;
        },
      );
    };
    const reload = (event: { nodeId: string | null } | 'reset') => {
      if ((event === 'reset' || event.nodeId === id) && frame === undefined)
        frame = requestAnimationFrame(load);
    };
    load();
    const offNode = subscribe('node.', reload);
    const offHealth = subscribe('health.', reload);
    return () => {
      stale = true;
      offNode();
      offHealth();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [id, version.value]);

  if (!state.value)
    return (
      <section class="page">
        <p>
          <a href="/fleet">Fleet</a>
        </p>
        <h1>Node {id}</h1>
        {error.value ? (
          <p class="error" role="alert">
            {error.value}
          </p>
        ) : (
          <p class="loading">Loading…</p>
        )}
      </section>
    );
  const { node, alerts } = state.value;
  const status = tileState(node);
  const seen = node.presence.lastSeenAt;
  const facts: [string, string][] = [
    ['Site', node.site.name],
    ['Id', node.id],
    ['Agent', node.agentVersion ?? 'not connected yet'],
    ['Capture', `${node.capture.device} · ${node.capture.sampleRate} Hz · ${node.capture.channels} ch`],
    [
      'Disk',
      [diskFree(node.diskFreeBytes), headroom(node.headroomHours)].filter(Boolean).join(' · ') ||
        'not reported',
    ],
    ['Clock', clockSkew(node.clockOffsetMs) ?? 'not reported'],
    ['Tags', (node.tags ?? []).join(', ') || 'none'],
    ['Location', node.location ?? '—'],
    ['Notes', node.notes ?? '—'],
  ];
  return (
    <section class="page node-detail" data-node-id={node.id} data-state={status}>
      <p>
        <a href="/fleet">Fleet</a> › {node.site.name}
      </p>
      <h1>{node.name}</h1>
      <p class={`tile-${status}`}>
        <span class="tile-state">{STATE_LABEL[status]}</span> · last seen <Ago iso={seen} />
        {problems(node).length > 0 && ` · ${problems(node).join(', ')}`}
      </p>
      <dl class="facts">
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <section aria-labelledby="node-meters">
        <h2 id="node-meters">Meters</h2>
        <NodeMeterWidget
          nodeId={node.id}
          name={node.name}
          rate={10}
          heading="h3"
          offline={!node.presence.online}
        />
        {can('listen:monitor') && (
          <p>
            <a href={`/listen?node=${encodeURIComponent(node.id)}`}>Listen live</a>
          </p>
        )}
      </section>
      <Channels interfaces={node.interfaces} />
      {can('recording:read') && <CurrentJob nodeId={node.id} />}
      {alerts && (
        <section aria-labelledby="node-alerts">
          <h2 id="node-alerts">Open health events</h2>
          <p>
            <a href={`/health?nodeId=${encodeURIComponent(node.id)}&view=timeline`}>Health timeline</a>
          </p>
          {alerts.length === 0 ? (
            <p class="empty">None.</p>
          ) : (
            <ul class="alerts">
              {alerts.map((alert) => (
                <li key={alert.id} class={`severity-${alert.severity}`}>
                  <strong>{alert.severity}</strong> {alert.message} <Ago iso={alert.lastSeenAt} />
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      {can('settings:read') && <EffectiveConfig node={node} />}
      {can('settings:read') && <ChannelMapHistory nodeId={node.id} />}
      {can('node:manage') && (
        <NodeActions
          node={node}
          onDone={() => {
            version.value += 1;
          }}
        />
      )}
    </section>
  );
}

/** The node's audio interfaces as its agent reported them, each with its channels. */
function Channels({ interfaces }: { interfaces: NodeInterface[] }) {
  return (
    <section aria-labelledby="node-channels">
      <h2 id="node-channels">Interfaces and channels</h2>
      {interfaces.length === 0 ? (
        <p class="empty">The agent has not reported its interfaces yet.</p>
      ) : (
        <ul class="node-interfaces">
          {interfaces.map((iface) => (
            <li key={iface.id} data-interface-id={iface.id}>
              <h3>
                {iface.alias ?? iface.description}{' '}
                <small>
                  {iface.kind} · {iface.channels} ch
                  {iface.sampleRate ? ` · ${iface.sampleRate} Hz` : ''}
                  {!iface.present && ' · absent'}
                </small>
              </h3>
              <ol class="node-channel-list">
                {channelsOf(iface).map((ch) => (
                  <li key={ch.number} class={ch.enabled ? undefined : 'channel-off'}>
                    {ch.number}. {ch.name}
                    {!ch.enabled && ' (not in use)'}
                  </li>
                ))}
              </ol>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
