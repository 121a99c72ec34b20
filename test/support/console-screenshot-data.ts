/**
 * Seeded answers for the console's pages that the scripted API (console-scripted-api.ts) does
 * not script, for the screenshot tier: a few fixed rows per page (schedules, jobs and the upload
 * queue, audit trail, users, groups, roles, policies, tokens, settings with history, system
 * health, its history and log, integrations, attendance, a recording's detail), in the shapes
 * the API answers, at times relative to `nowMs`, with ids that never change. `undefined`: not
 * seeded here (the scripted API answers, or says 404).
 */
import { PERMISSIONS } from '../../shared/src/permissions.js';
import type { ScriptedApi } from './console-scripted-api.js';

/** The settings object the screenshots open (settings ids are UUIDs). */
export const SPEECH_PROFILE = '00000000-0000-4000-8000-000000000001';
/** The channel-map template of the node page's history. */
const HALL_STEREO = '00000000-0000-4000-8000-0000000000c1';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

type Answer = (query: URLSearchParams) => unknown;

export function seededAnswer(
  script: ScriptedApi,
  nowMs: number,
  method: string,
  path: string,
  query: URLSearchParams,
): unknown {
  if (method !== 'GET') return undefined;
  const at = (offsetMs: number) => new Date(nowMs + offsetMs).toISOString();
  const list = <T>(data: T[]) => ({ data, nextCursor: null });
  const node = (i: number) => script.nodes[i]!;
  const global = { type: 'global', id: null };
  const site = (i: number) => ({ type: 'site', id: `site-${i}` });

  const schedules = [
    {
      id: 'sch-morning',
      name: 'Morning service',
      recurrence: 'FREQ=WEEKLY;BYDAY=SU,WE',
      timeZone: 'UTC',
      start: '2026-01-04T09:00:00',
      durationSeconds: 2 * 3600,
      preRollSeconds: 60,
      postRollSeconds: 120,
      targets: [0, 1, 2].map((i) => ({ nodeId: node(i).id, siteId: node(i).site.id, channels: null })),
      enabled: true,
      skipped: [],
      nextOccurrence: '2026-03-15T09:00:00.000Z',
      updatedAt: at(-5 * DAY),
    },
    {
      id: 'sch-rehearsal',
      name: 'Choir rehearsal',
      recurrence: 'FREQ=WEEKLY;BYDAY=TH',
      timeZone: 'UTC',
      start: '2026-01-08T18:30:00',
      durationSeconds: 90 * 60,
      preRollSeconds: 0,
      postRollSeconds: 0,
      targets: [{ nodeId: node(4).id, siteId: node(4).site.id, channels: [1, 2] }],
      enabled: true,
      skipped: [],
      nextOccurrence: '2026-03-12T18:30:00.000Z',
      updatedAt: at(-12 * DAY),
    },
    {
      id: 'sch-lecture',
      name: 'Evening lecture (paused)',
      recurrence: 'FREQ=DAILY',
      timeZone: 'UTC',
      start: '2026-02-01T19:00:00',
      durationSeconds: 3600,
      preRollSeconds: 30,
      postRollSeconds: 30,
      targets: [{ nodeId: node(7).id, siteId: node(7).site.id, channels: null }],
      enabled: false,
      skipped: [],
      nextOccurrence: null,
      updatedAt: at(-2 * DAY),
    },
  ];
  /** A schedule's occurrences in [from, to): from its fixed start times, never from a rule engine. */
  const occurrences = (id: string, q: URLSearchParams) => {
    const schedule = schedules.find((s) => s.id === id);
    if (!schedule) return undefined;
    const from = Date.parse(q.get('from') ?? at(0));
    const to = Date.parse(q.get('to') ?? at(7 * DAY));
    const days =
      schedule.id === 'sch-morning' ? [0, 3] : schedule.id === 'sch-rehearsal' ? [4] : [0, 1, 2, 3, 4, 5, 6];
    const [hh, mm] = schedule.start.slice(11, 16).split(':').map(Number) as [number, number];
    const out: unknown[] = [];
    for (let day = Math.floor(from / DAY) * DAY; day < to; day += DAY) {
      if (!days.includes(new Date(day).getUTCDay())) continue;
      const start = day + hh * HOUR + mm * MIN;
      if (start < from || start >= to) continue;
      const past = start < nowMs;
      out.push({
        occurrenceStart: new Date(start).toISOString(),
        plannedStartAt: new Date(start - schedule.preRollSeconds * 1000).toISOString(),
        plannedEndAt: new Date(
          start + (schedule.durationSeconds + schedule.postRollSeconds) * 1000,
        ).toISOString(),
        skipped: false,
        jobs: past
          ? schedule.targets.map((t, k) => ({
              nodeId: t.nodeId,
              jobId: `job-${id}-${start}-${k}`,
              recordingId: `rec-${id}-${start}-${k}`,
              state: k === 1 && schedule.id === 'sch-morning' ? 'failed' : 'completed',
            }))
          : [],
      });
    }
    return { data: { occurrences: out } };
  };

  const jobStates = ['recording', 'queued', 'failed', 'completed', 'completed', 'cancelled', 'completed'];
  const jobs = jobStates.map((state, i) => ({
    id: `job-${String(i + 1).padStart(3, '0')}`,
    recordingId: `rec-${String(i + 1).padStart(5, '0')}`,
    nodeId: node(i).id,
    state,
    failureReason: state === 'failed' ? 'The node went offline during the recording' : null,
    stopRequested: false,
    scheduleId: i % 2 === 0 ? 'sch-morning' : null,
    plannedStartAt: at(-(i + 1) * HOUR),
    createdAt: at(-(i + 1) * HOUR - 5 * MIN),
    finishedAt: ['completed', 'failed', 'cancelled'].includes(state) ? at(-i * HOUR) : null,
  }));
  const queueStates = ['uploading', 'queued', 'failed', 'done'];
  const queue = queueStates.map((state, i) => ({
    id: `upq-${i + 1}`,
    recordingId: `rec-${String(i + 2).padStart(5, '0')}`,
    nodeId: node(i + 1).id,
    providerId: i % 2 === 0 ? 's3-archive' : 'nas-backup',
    state,
    attempts: state === 'failed' ? 5 : state === 'queued' ? 0 : 1,
    maxAttempts: 5,
    sizeBytes: 500_000_000,
    bytesSent: state === 'uploading' ? 210_000_000 : state === 'done' ? 500_000_000 : 0,
    lastError: state === 'failed' ? 'The bucket refused the upload (403 AccessDenied)' : null,
    nextAttemptAt: at(state === 'queued' ? 10 * MIN : -30 * MIN),
    objectKey: `recordings/2026/03/rec-${String(i + 2).padStart(5, '0')}.flac`,
  }));

  const auditActions = [
    ['auth.login', 'session', 'allowed', null],
    ['recording.metadata.update', 'recording', 'allowed', null],
    ['schedule.create', 'schedule', 'allowed', null],
    ['node.decommission', 'node', 'denied', 'The role lacks node:lifecycle on this site'],
    ['settings.update', 'settings', 'allowed', null],
    ['auth.api_token.create', 'api_token', 'allowed', null],
  ] as const;
  const audit = auditActions.map(([action, type, outcome, reason], i) => ({
    id: `aud-${String(i + 1).padStart(4, '0')}`,
    seq: 120 - i,
    at: at(-(i * 17 + 3) * MIN),
    actor: { type: 'user', id: i === 3 ? 'user-viewer' : 'user-owner', name: i === 3 ? 'viewer' : 'owner' },
    permission: i === 3 ? 'node:lifecycle' : null,
    action,
    target: { type, id: type === 'recording' ? 'rec-00002' : type === 'node' ? node(5).id : `${type}-1` },
    outcome,
    reason,
    requestId: `req-${String(i + 1).padStart(4, '0')}`,
    sourceIp: '192.0.2.10',
  }));

  const grant = (role: string, scope: { type: string; id: string | null }) => ({ role, scope });
  const users = [
    {
      id: 'user-owner',
      username: 'owner',
      displayName: 'Owner',
      email: 'owner@example.org',
      disabled: false,
      hasPassword: true,
      sso: null,
      grants: [grant('owner', global)],
      groups: [],
    },
    {
      id: 'user-ana',
      username: 'ana',
      displayName: 'Ana Operator',
      email: 'ana@example.org',
      disabled: false,
      hasPassword: true,
      sso: null,
      grants: [grant('operator', site(0))],
      groups: [{ id: 'grp-techs', name: 'Technicians', grants: [grant('operator', site(1))] }],
    },
    {
      id: 'user-viewer',
      username: 'viewer',
      displayName: 'Wall display',
      email: null,
      disabled: false,
      hasPassword: true,
      sso: null,
      grants: [grant('viewer', global)],
      groups: [],
    },
    {
      id: 'user-sso',
      username: 'jo@example.org',
      displayName: 'Jo (SSO)',
      email: 'jo@example.org',
      disabled: true,
      hasPassword: false,
      sso: { issuer: 'https://id.example.org', subject: 'jo' },
      grants: [],
      groups: [{ id: 'grp-techs', name: 'Technicians', grants: [grant('operator', site(1))] }],
    },
  ];
  const roles = [
    {
      id: 'owner',
      name: 'owner',
      builtIn: true,
      description: 'Everything, everywhere',
      permissions: [...PERMISSIONS],
    },
    {
      id: 'operator',
      name: 'operator',
      builtIn: true,
      description: 'Runs recordings and nodes',
      permissions: PERMISSIONS.filter((p) => !p.startsWith('auth:') && !p.startsWith('audit:')),
    },
    {
      id: 'viewer',
      name: 'viewer',
      builtIn: true,
      description: 'Reads, changes nothing',
      permissions: PERMISSIONS.filter((p) => p.endsWith(':read')),
    },
    {
      id: 'role-archivist',
      name: 'archivist',
      builtIn: false,
      description: 'Recordings and their uploads',
      permissions: PERMISSIONS.filter((p) => p.startsWith('recording:')),
    },
  ];
  const groups = [
    {
      id: 'grp-techs',
      name: 'Technicians',
      description: 'Sound technicians of Site B',
      oidcGroup: 'earshot-techs',
      grants: [grant('operator', site(1))],
      members: [
        { id: 'user-ana', username: 'ana', disabled: false },
        { id: 'user-sso', username: 'jo@example.org', disabled: true },
      ],
    },
    {
      id: 'grp-archive',
      name: 'Archive',
      description: null,
      oidcGroup: null,
      grants: [grant('role-archivist', global)],
      members: [],
    },
  ];
  const tokens = [
    {
      id: 'tok-ci',
      name: 'CI export',
      hint: 'x7Qa',
      createdAt: at(-40 * DAY),
      lastUsedAt: at(-2 * HOUR),
      expiresAt: at(50 * DAY),
      revoked: false,
    },
    {
      id: 'tok-wall',
      name: 'Lobby wall display',
      hint: 'Kp3d',
      createdAt: at(-90 * DAY),
      lastUsedAt: null,
      expiresAt: null,
      revoked: false,
    },
    {
      id: 'tok-old',
      name: 'Old script',
      hint: 'Zz90',
      createdAt: at(-200 * DAY),
      lastUsedAt: at(-120 * DAY),
      expiresAt: at(-100 * DAY),
      revoked: true,
    },
  ];

  const profile = (revision: number, silenceDbfs: number) => ({
    name: 'Speech, 48 kHz',
    body: { sampleRate: 48_000, bitDepth: 24, container: 'flac', silenceDbfs, normalize: revision > 1 },
  });
  const settingsObjects = [
    {
      id: SPEECH_PROFILE,
      family: 'recording-profiles',
      ...profile(3, -55),
      revision: 3,
      updatedAt: at(-3 * HOUR),
    },
    {
      id: '00000000-0000-4000-8000-000000000002',
      family: 'recording-profiles',
      name: 'Music, 96 kHz',
      body: { sampleRate: 96_000, bitDepth: 24, container: 'flac', silenceDbfs: -70, normalize: false },
      revision: 1,
      updatedAt: at(-30 * DAY),
    },
  ];
  const settingsHistory = [
    {
      revision: 3,
      action: 'update',
      at: at(-3 * HOUR),
      actor: { id: 'user-ana', name: 'ana' },
      reason: 'Quieter rooms',
      after: profile(3, -55),
    },
    {
      revision: 2,
      action: 'update',
      at: at(-4 * DAY),
      actor: { id: 'user-owner', name: 'owner' },
      reason: null,
      after: profile(2, -50),
    },
    {
      revision: 1,
      action: 'create',
      at: at(-30 * DAY),
      actor: { id: 'user-owner', name: 'owner' },
      reason: null,
      after: profile(1, -50),
    },
  ];

  const health = {
    version: '0.1.0',
    instanceId: 'controller-a1b2c3d4',
    startedAt: at(-3 * DAY - 4 * HOUR),
    uptimeSeconds: (3 * DAY + 4 * HOUR) / 1000,
    at: at(0),
    nodes: { total: script.nodes.length, online: script.nodes.filter((n) => n.presence.online).length },
    controller: {
      database: { provider: 'sqlite', reachable: true, latencyMs: 2 },
      broker: { listening: true, port: 1883, clients: 22 },
      discordBot: { enabled: true, state: 'ready' },
      queues: {
        recordingJobs: { queued: 1, active: 1 },
        uploadQueue: { queued: 1, uploading: 1, failed: 1 },
        webhookDeliveriesPending: 0,
        notificationDeliveriesPending: 2,
      },
      disk: { freeBytes: 412e9, totalBytes: 1e12, headroomHours: 2300 },
    },
  };
  /** One sample a minute over the window asked (paged by 200), a dip at -90 minutes (nodes offline, latency up). */
  const history = (q: URLSearchParams) => {
    const from = Date.parse(q.get('from') ?? at(-6 * HOUR));
    const samples: unknown[] = [];
    for (let t = Math.ceil(from / MIN) * MIN; t <= nowMs; t += MIN) {
      const dip = Math.abs(t - (nowMs - 90 * MIN)) < 20 * MIN;
      samples.push({
        minute: new Date(t).toISOString(),
        nodes: { total: 24, online: dip ? 17 : 22 },
        controller: {
          database: { latencyMs: dip ? 14 : 2 + ((t / MIN) % 3) },
          disk: { freeBytes: 412e9 + (nowMs - t) * 10, totalBytes: 1e12 },
        },
      });
    }
    const offset = Number(q.get('cursor') ?? 0);
    const next = offset + 200;
    return { data: samples.slice(offset, next), nextCursor: next < samples.length ? String(next) : null };
  };
  const opsKinds = [
    ['runner.recovered', 'info', 'The upload runner is running again'],
    ['runner.failed', 'error', 'The upload runner stopped: database locked'],
    ['settings.changed', 'info', 'Recording profile "Speech, 48 kHz" changed'],
    ['discord.ready', 'info', 'The Discord bot is connected (2 guilds)'],
    ['discord.reconnecting', 'warning', 'The Discord gateway closed the connection; reconnecting'],
    ['broker.started', 'info', 'The MQTT broker listens on port 1883'],
    ['controller.started', 'info', 'Earshot 0.1.0 started'],
  ] as const;
  const ops = opsKinds.map(([kind, level, message], i) => ({
    id: `ops-${i + 1}`,
    at: at(-(i * 40 + 10) * MIN),
    kind,
    level,
    instanceId: 'controller-a1b2c3d4',
    message,
    data: {},
  }));
  const integrations = [
    {
      id: 'int-crm',
      name: 'Member CRM',
      kind: 'webhook',
      status: 'enabled',
      url: 'https://crm.example.org/hooks/earshot',
      verifiedAt: at(-10 * DAY),
      lastVerification: { ok: true, at: at(-10 * DAY), status: 200, error: null },
    },
    {
      id: 'int-sheet',
      name: 'Attendance sheet',
      kind: 'webhook',
      status: 'draft',
      url: 'https://sheets.example.org/in/42',
      verifiedAt: null,
      lastVerification: { ok: false, at: at(-1 * HOUR), status: 404, error: 'Not Found' },
    },
  ];

  const MEMBER_NAMES = ['Ada (alto)', 'Benedict', 'Cecilia', 'Dorothea'];
  const guilds = [
    {
      id: '111111111111111111',
      name: 'Parish choir',
      time_zone: 'UTC',
      period_index: 4,
      period_started_at: at(-9 * DAY),
    },
  ];
  const guildAnswers: Record<string, Answer> = {
    '/signing/status': () => ({
      data: {
        has_key: true,
        locked: false,
        key_id: 'key-2026a',
        pending_sessions: 3,
        pending_periods: 0,
        period: { index: 4, started_at: at(-9 * DAY), next_reset_at: at(21 * DAY) },
      },
    }),
    '/signing/history': () => ({
      data: [3, 2, 1].map((index) => ({
        period_index: index,
        started_at: at(-(9 + (4 - index) * 30) * DAY),
        ended_at: at(-(9 + (3 - index) * 30) * DAY),
        signed: index !== 1,
        key_id: index !== 1 ? 'key-2026a' : null,
        snapshot: null,
      })),
    }),
    '/stats': (q) => ({
      data: {
        user_id: q.get('user_id'),
        display_name: MEMBER_NAMES[Number(q.get('user_id')?.slice(-2)) - 10] ?? null,
        period_index: 4,
        rank: 1,
        sessions: 12,
        active_seconds: 40_000,
        paused_seconds: 1_260,
        channels: [
          { channel_id: '333333333333333333', active_seconds: 31_000, sessions: 9 },
          { channel_id: '333333333333333334', active_seconds: 9_000, sessions: 3 },
        ],
      },
    }),
    '/channels': () => ({
      data: {
        guild_id: '111111111111111111',
        channels: [
          { id: '333333333333333333', name: 'Rehearsal room', type: 'voice', parent_id: null, position: 0 },
          // The second channel is gone (deleted since): its id is shown.
        ],
      },
    }),
    '/members': (q) => ({
      data: {
        members: (q.get('user_ids')?.split(',') ?? [])
          .map((id) => ({ id, index: Number(id.slice(-2)) - 10 }))
          .filter(({ index }) => MEMBER_NAMES[index] !== undefined)
          .map(({ id, index }) => ({
            user_id: id,
            display_name: MEMBER_NAMES[index],
            seen_at: at(-2 * DAY),
          })),
      },
    }),
    '/subscription': () => ({
      data: {
        features: [
          { feature: 'export', available: true },
          { feature: 'signing', available: true },
        ],
      },
    }),
    '/leaderboard': () => ({
      data: {
        entries: [0, 1, 2, 3, 4].map((i) => ({
          rank: i + 1,
          user_id: `2000000000000000${10 + i}`,
          // The last member was never seen with a name: the id alone.
          display_name: MEMBER_NAMES[i] ?? null,
          active_seconds: 40_000 - i * 6_130,
          sessions: 12 - i * 2,
        })),
      },
    }),
  };

  const recordingDetail: Record<string, Answer> = {
    '/actions': () => ({
      data: {
        playback: { allowed: true },
        editMetadata: { allowed: true },
      },
    }),
    '/context': () => ({
      data: {
        checksums: { sha256: 'a'.repeat(64), expectedSha256: 'a'.repeat(64) },
        upload: { state: 'completed', receivedBytes: 500_000_000, expectedBytes: 500_000_000 },
        attendance: {
          guildName: 'Parish choir',
          channelId: '333333333333333333',
          visible: true,
          reason: null,
          sessions: [0, 1, 2].map((i) => ({
            id: `vs-${i}`,
            userId: `2000000000000000${10 + i}`,
            displayName: MEMBER_NAMES[i] ?? null,
            startedAt: at(-3 * HOUR + i * 5 * MIN),
            endedAt: at(-2 * HOUR - i * 7 * MIN),
            activeSeconds: 3000 - i * 420,
          })),
        },
      },
    }),
    '/peaks': (q) => {
      const points = Math.min(Number(q.get('points') ?? 800) || 800, 2000);
      const max = Array.from({ length: points }, (_, i) =>
        Number((0.15 + 0.6 * Math.abs(Math.sin(i / 23)) * (0.6 + 0.4 * Math.sin(i / 5))).toFixed(3)),
      );
      return { data: { points, durationMs: 3_000_000, min: max.map((v) => -v), max } };
    },
  };

  /** A node's page: the scripted node with its sound card, its gates and lifecycle requests. */
  const nodeDetail = (id: string) => {
    const found = script.nodes.find((n) => n.id === id);
    if (!found) return undefined;
    const names = ['Pulpit', 'Lectern', 'Choir L', 'Choir R', 'Organ L', 'Organ R', 'Room L', 'Room R'];
    return {
      data: {
        ...found,
        location: 'Gallery rack, shelf 2',
        notes: 'Phantom power on channels 1-2.',
        interfaces: [
          {
            id: `${id}-if-1`,
            ref: 'alsa:hw:1',
            kind: 'usb',
            description: 'Focusrite Scarlett 18i8',
            channels: found.capture.channels,
            sampleRate: 48_000,
            present: true,
            alias: 'Main desk',
            enabledChannels: null,
            channelNames: names.slice(0, found.capture.channels),
          },
        ],
      },
    };
  };
  const gate = (allowed: boolean, reason: string | null = null) => ({ allowed, reason });

  const routes: [RegExp, (match: RegExpExecArray, q: URLSearchParams) => unknown][] = [
    [/^\/nodes\/([\w-]+)$/, (m) => nodeDetail(m[1]!)],
    [
      /^\/nodes\/[\w-]+\/actions$/,
      () => ({
        data: {
          lifecycle: gate(true),
          decommission: gate(true),
          delete: gate(false, 'Decommission the node first'),
        },
      }),
    ],
    [
      /^\/nodes\/([\w-]+)\/lifecycle-jobs$/,
      (m) => ({
        data: [
          {
            id: `lc-${m[1]}-1`,
            action: 'restart',
            state: 'done',
            requestedBy: 'owner',
            message: 'Agent restarted',
            createdAt: at(-2 * DAY),
          },
        ],
      }),
    ],
    [/^\/settings\/channel-map-assignments$/, () => list([])],
    // A map assigned, then cleared (the node records all its channels now, as its page says).
    [
      /^\/settings\/channel-map-assignments\/[\w-]+\/history$/,
      () => ({
        data: [
          {
            revision: 1,
            action: 'create',
            at: at(-3 * DAY),
            actor: { id: 'u-owner', name: 'owner' },
            reason: 'Stereo pair for the hall',
            before: null,
            after: { templateId: HALL_STEREO, interface: null },
          },
          {
            revision: 2,
            action: 'delete',
            at: at(-2 * DAY),
            actor: { id: 'u-owner', name: 'owner' },
            reason: 'Back to all channels',
            before: { templateId: HALL_STEREO, interface: null },
            after: { templateId: null, interface: null },
          },
        ],
      }),
    ],
    [
      /^\/settings\/channel-map-templates$/,
      () => list([{ id: HALL_STEREO, name: 'Hall stereo', revision: 1 }]),
    ],
    [/^\/schedules$/, () => list(schedules)],
    [/^\/schedules\/([\w-]+)\/occurrences$/, (m, q) => occurrences(m[1]!, q)],
    [
      /^\/recording-jobs$/,
      (_, q) => list(jobs.filter((j) => !q.get('nodeId') || j.nodeId === q.get('nodeId'))),
    ],
    [
      /^\/upload-queue$/,
      (_, q) =>
        list(q.get('recordingId') ? queue.filter((u) => u.recordingId === q.get('recordingId')) : queue),
    ],
    [
      /^\/audit-events\/facets$/,
      () => ({ data: { action: auditActions.map(([value]) => ({ value, count: 1 })) } }),
    ],
    [
      /^\/audit-events$/,
      (_, q) =>
        list(
          audit.filter(
            (a) =>
              (!q.get('targetType') || a.target.type === q.get('targetType')) &&
              (!q.get('targetId') || a.target.id === q.get('targetId')),
          ),
        ),
    ],
    [/^\/auth\/users$/, () => list(users)],
    [/^\/auth\/roles$/, () => ({ data: roles })],
    [/^\/auth\/groups$/, () => ({ data: groups })],
    [/^\/auth\/api-tokens$/, () => ({ data: tokens })],
    [
      /^\/auth\/access-policies$/,
      () => ({
        data: {
          password: { minLength: 12 },
          sessions: { maxIdleMinutes: 60, maxAbsoluteMinutes: 720 },
          oidcRoleMappings: [
            { group: 'earshot-techs', role: 'operator', scope: { type: 'site', id: 'site-1' } },
            { group: 'earshot-admins', role: 'owner', scope: { type: 'global' } },
          ],
        },
      }),
    ],
    [
      /^\/settings$/,
      () => ({
        data: [
          { name: 'recording-profiles', label: 'Recording profiles', title: 'recording profile' },
          { name: 'watchdog-policies', label: 'Watchdog policies', title: 'watchdog policy' },
        ],
      }),
    ],
    [/^\/settings\/recording-profiles$/, () => list(settingsObjects)],
    [/^\/settings\/[\w-]+$/, () => list([])],
    [
      /^\/settings\/recording-profiles\/([\w-]+)$/,
      (m) => ({ data: settingsObjects.find((o) => o.id === m[1]) }),
    ],
    [
      /^\/settings\/recording-profiles\/00000000-0000-4000-8000-000000000001\/history$/,
      () => ({ data: settingsHistory }),
    ],
    [/^\/health$/, () => ({ data: health })],
    [/^\/health\/history$/, (_, q) => history(q)],
    [/^\/ops-events$/, () => list(ops)],
    [/^\/integrations$/, () => ({ data: integrations })],
    [/^\/guilds$/, () => ({ data: guilds })],
    [/^\/guilds\/\d+(\/[\w-]+(?:\/[\w-]+)?)$/, (m, q) => guildAnswers[m[1]!]?.(q)],
    [/^\/recordings\/[\w-]+(\/(?:actions|context|peaks))$/, (m, q) => recordingDetail[m[1]!]?.(q)],
  ];
  for (const [pattern, answer] of routes) {
    const match = pattern.exec(path);
    if (match) return answer(match, query);
  }
  return undefined;
}
