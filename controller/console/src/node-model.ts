/**
 * The node page's model, pure (test/unit/console-node-model.test.ts): its current job among the
 * node's recent jobs, the lifecycle actions it offers (each with the question asked first and
 * the route it calls), and the channels of its interfaces in words.
 */

/** The fields of a recording job (`GET /recording-jobs?nodeId=…`) the node page reads. */
export interface NodeJob {
  id: string;
  recordingId: string;
  state: string;
  createdAt: string;
  startedAt: string | null;
  plannedEndAt: string | null;
  scheduleId: string | null;
}

/** A job the node holds or is about to take (the first one of these is "current"). */
export const ACTIVE_JOB_STATES = ['recording', 'uploading', 'lost_contact', 'claimed', 'queued'] as const;

/** The node's current job: the most advanced active one (recording before queued), newest first. */
export function currentJob<T extends Pick<NodeJob, 'state' | 'createdAt'>>(
  jobs: readonly T[],
): T | undefined {
  const rank = (job: T) => (ACTIVE_JOB_STATES as readonly string[]).indexOf(job.state);
  return jobs
    .filter((job) => rank(job) >= 0)
    .sort((a, b) => rank(a) - rank(b) || b.createdAt.localeCompare(a.createdAt))[0];
}

/** The gates of `GET /nodes/:id/actions` a lifecycle action reads. */
export type NodeActionGate = 'lifecycle' | 'decommission' | 'delete';

export interface NodeAction {
  key: string;
  label: string;
  /** The confirmation's question (the node's name is put in). */
  question: (name: string) => string;
  method: 'POST' | 'DELETE';
  path: (id: string) => string;
  gate: NodeActionGate;
  /** Irreversible: shown apart, in the danger style. */
  danger?: boolean;
}

const lifecycle = (action: string, label: string, question: (name: string) => string): NodeAction => ({
  key: action,
  label,
  question,
  method: 'POST',
  path: (id) => `/nodes/${encodeURIComponent(id)}/lifecycle/${action}`,
  gate: 'lifecycle',
});

/** What the node page offers, in order (shared/src/lifecycle.ts LIFECYCLE_ACTIONS, then retirement). */
export const NODE_ACTIONS: readonly NodeAction[] = [
  lifecycle(
    'restart-agent',
    'Restart agent',
    (n) => `Restart the agent on ${n}? A recording in progress continues as a new part.`,
  ),
  lifecycle(
    'restart-capture',
    'Restart capture',
    (n) => `Restart audio capture on ${n}? Meters pause for a moment.`,
  ),
  lifecycle('reload-config', 'Reload configuration', (n) => `Ask ${n} to read its configuration again?`),
  lifecycle(
    'rotate-credential',
    'Rotate credential',
    (n) => `Give ${n} a new credential? The old one stops working once the agent uses the new one.`,
  ),
  lifecycle('upload-now', 'Upload now', (n) => `Ask ${n} to upload its waiting recordings now?`),
  lifecycle(
    'collect-diagnostics',
    'Collect diagnostics',
    (n) => `Ask ${n} for its diagnostics (configuration, last log lines, devices)?`,
  ),
  {
    key: 'decommission',
    label: 'Decommission',
    question: (n) =>
      `Decommission ${n}? Its credential is revoked and it is disconnected now; its recordings are kept.`,
    method: 'POST',
    path: (id) => `/nodes/${encodeURIComponent(id)}/decommission`,
    gate: 'decommission',
    danger: true,
  },
  {
    key: 'delete',
    label: 'Delete',
    question: (n) => `Delete ${n} for good? This cannot be undone.`,
    method: 'DELETE',
    path: (id) => `/nodes/${encodeURIComponent(id)}`,
    gate: 'delete',
    danger: true,
  },
];

/** An interface's channels as listed: name (or "Channel n"), and whether it is in use. */
export function channelsOf(iface: {
  channels: number;
  enabledChannels: number[] | null;
  channelNames: string[];
}): { number: number; name: string; enabled: boolean }[] {
  return Array.from({ length: iface.channels }, (_, i) => ({
    number: i + 1,
    name: iface.channelNames[i]?.trim() || `Channel ${i + 1}`,
    enabled: iface.enabledChannels === null || iface.enabledChannels.includes(i + 1),
  }));
}
