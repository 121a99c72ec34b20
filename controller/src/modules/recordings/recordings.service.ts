/**
 * The recording library: ad-hoc start (a recording and its queued job), stop,
 * scoped reads, and playback/download with HTTP Range. Recordings inherit their
 * node's scope; anything outside the caller's scope is a 404.
 */

import type { Readable } from 'node:stream';
import { ERROR_CODES } from '../../../../shared/src/errors.js';
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { NO_CHANGE_FEED } from '../../core/change-feed.js';
import { AppError, conflict, forbidden, notFound } from '../../core/errors.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import type { Db } from '../../db/client.js';
import type { Recording, RecordingJob } from '../../db/rows.js';
import type { NodesService } from '../nodes/index.js';
import { CONTAINER_MEDIA_TYPES, type Container } from './audio-facts.js';
import { parseRange } from './byte-range.js';
import { customFieldsOf } from './custom-fields.js';
import type { RecordingFileStore } from './file-store.js';
import type { JobsRepository, PagePosition } from './jobs.repository.js';
import { ACTIVE_JOB_STATES, isActive, presentJob } from './jobs.service.js';
import { ListedRecordingsJson } from './listed-json.js';
import { RecordingChanges } from './recording-changes.js';
import type { RecordingRow, RecordingsRepository } from './recordings.repository.js';
import {
  type CreateRecordingBody,
  checkCreatedRange,
  type RecordingListFilter,
  type RecordingState,
} from './recordings.schemas.js';

/** Sends a command to a node's agent (the MQTT broker supplies it; best effort, agents also poll). */

/** A download is audited once per user, recording and window, not once per range request. */
const DOWNLOAD_AUDIT_WINDOW_MS = 10 * 60_000;
const DOWNLOAD_AUDIT_MAX_ENTRIES = 10_000;

export interface FileResponse {
  statusCode: 200 | 206;
  headers: Record<string, string>;
  stream: Readable;
}

/** The channel groups of the map assigned to a node (the channel-maps module), null without one. */
export interface ChannelGroupSource {
  groupsFor(
    nodeId: string,
  ): Promise<{ templateId: string; groups: { name: string; channels: number[] }[] } | null>;
}

/** A recording made for one channel group. */
export interface CreatedGroup {
  name: string;
  channels: number[];
  recordingId: string;
}

export function presentRecording(
  recording: Recording & { job: RecordingJob | null; tags: { tag: string }[] },
  siteId: string,
  now: Date,
) {
  return {
    id: recording.id,
    nodeId: recording.nodeId,
    siteId,
    title: recording.title,
    state: recording.state as RecordingState,
    sampleRate: recording.sampleRate,
    channels: recording.channels,
    bitDepth: recording.bitDepth,
    container: recording.container as Container,
    sizeBytes: recording.sizeBytes === null ? null : Number(recording.sizeBytes),
    receivedBytes: Number(recording.receivedBytes),
    sha256: recording.sha256,
    durationMs: recording.durationMs,
    plannedStartAt: recording.plannedStartAt?.toISOString() ?? null,
    firstSampleAt: recording.firstSampleAt?.toISOString() ?? null,
    clockOffsetMs: recording.clockOffsetMs,
    partial: recording.partial,
    partialReason: recording.partialReason,
    loudness:
      recording.truePeakDbtp === null
        ? null
        : {
            integratedLufs: recording.integratedLufs,
            loudnessRangeLu: recording.loudnessRangeLu,
            truePeakDbtp: recording.truePeakDbtp,
          },
    notes: recording.notes,
    tags: recording.tags.map((t) => t.tag),
    customFields: customFieldsOf(recording.customFields),
    legalHold: recording.legalHold,
    createdAt: recording.createdAt.toISOString(),
    completedAt: recording.completedAt?.toISOString() ?? null,
    job: recording.job ? presentJob(recording.job, now) : null,
  };
}

/** The media type of a recording's file, from its container. */
export function mediaTypeOf(recording: Pick<Recording, 'container'>): string {
  return CONTAINER_MEDIA_TYPES[recording.container as Container] ?? 'application/octet-stream';
}

export class RecordingsService {
  /** `${actorId}:${recordingId}` → when its download audit window ends. */
  private readonly recentDownloads = new Map<string, number>();

  private readonly db: Db;
  private readonly recordings: RecordingsRepository;
  private readonly jobs: JobsRepository;
  private readonly nodes: NodesService;
  private readonly audit: AuditWriter;
  private readonly files: RecordingFileStore;
  private readonly now: () => Date;
  private readonly channelMaps: ChannelGroupSource | undefined;
  /** New jobs and stop requests reach the agent at once (best effort: agents also poll). */
  private readonly notifyNode: NodeNotifier;
  private readonly changes: RecordingChanges;
  /** Writes the list's pages (keeps each row's JSON while the row is unchanged). */
  private readonly listed: ListedRecordingsJson;

  constructor(options: {
    db: Db;
    recordings: RecordingsRepository;
    jobs: JobsRepository;
    nodes: NodesService;
    audit: AuditWriter;
    files: RecordingFileStore;
    now?: () => Date;
    notifyNode?: NodeNotifier;
    channelMaps?: ChannelGroupSource;
    changes?: RecordingChanges;
  }) {
    this.db = options.db;
    this.recordings = options.recordings;
    this.jobs = options.jobs;
    this.nodes = options.nodes;
    this.audit = options.audit;
    this.files = options.files;
    this.now = options.now ?? (() => new Date());
    this.notifyNode = options.notifyNode ?? (async () => {});
    this.channelMaps = options.channelMaps;
    this.changes = options.changes ?? new RecordingChanges(NO_CHANGE_FEED, this.now);
    this.listed = new ListedRecordingsJson((row) => this.recordings.cells(row));
  }

  /** Announces on the change feed that `recording` was deleted (after its transaction committed). */
  announceDeleted(recording: RecordingRow): void {
    const place = { nodeId: recording.nodeId, siteId: recording.node.siteId };
    this.changes.recording(place, recording.id, 'deleted', { previousState: recording.state });
  }

  present(recording: RecordingRow) {
    return presentRecording(recording, recording.node.siteId, this.now());
  }

  async visibleRecording(
    principal: Principal,
    permission: Permission,
    id: string,
  ): Promise<Visible<RecordingRow>> {
    const recording = await this.recordings.find(id);
    if (!recording) throw notFound('recording');
    const scope = { nodeId: recording.nodeId, siteId: recording.node.siteId };
    return visibleTo(principal, permission, recording, scope, {
      name: 'recording',
      target: { type: 'recording', id },
    });
  }

  /** A page of the library the principal may see, as the answer's JSON (UTF-8; listed-json.ts). */
  async listPage(
    principal: Principal,
    query: RecordingListFilter,
    limit: number,
    after?: PagePosition,
  ): Promise<Buffer> {
    if (principal.kind !== 'user') throw forbidden('users only');
    checkCreatedRange(query);
    const rows = await this.recordings.list(principal.access.filter('recording:read'), query, limit, after);
    return this.listed.page(rows, limit, this.now().getTime());
  }

  /**
   * One recording and its queued job; on a node with a channel map, one per channel group (each
   * job selects the group's channels; the agent records them side by side from one capture),
   * all in one transaction. Answers the first and, when split, every group's recording id.
   */
  async create(
    body: CreateRecordingBody,
    ctx: CallContext,
  ): Promise<{ recording: RecordingRow; channelGroups?: CreatedGroup[] }> {
    const node = await this.nodes.visibleNode(ctx.principal, 'recording:create', body.nodeId);
    if (node.decommissionedAt) throw conflict(`Node ${node.id} is decommissioned: it records no more.`);
    const actor = actorOf(ctx.principal);
    const now = this.now();
    const title = body.title ?? `${node.name} ${now.toISOString()}`;
    const map = await this.channelMaps?.groupsFor(node.id);
    const groups = map && map.groups.length > 0 ? map.groups : [undefined];
    const created = await this.db.$transaction(async (tx) => {
      const out: { recordingId: string; jobId: string; group?: { name: string; channels: number[] } }[] = [];
      for (const group of groups) {
        const groupTitle = group ? `${title} (${group.name})` : title;
        const recording = await this.recordings.create(tx, {
          nodeId: node.id,
          title: groupTitle,
          state: 'pending',
          sampleRate: node.sampleRate,
          channels: group?.channels.length ?? node.channels,
        });
        const job = await this.jobs.create(tx, {
          nodeId: node.id,
          recordingId: recording.id,
          state: 'queued',
          durationSeconds: body.durationSeconds ?? null,
          requestedBy: actor.id ?? null,
          channelSelection: group ? JSON.stringify(group.channels) : null,
        });
        await this.audit.record(tx, {
          actor,
          permission: 'recording:create',
          action: 'recording.create',
          target: { type: 'recording', id: recording.id },
          outcome: 'success',
          after: {
            nodeId: node.id,
            title: groupTitle,
            jobId: job.id,
            durationSeconds: job.durationSeconds,
            ...(group
              ? { channelGroup: group.name, channels: group.channels, channelMap: map!.templateId }
              : {}),
          },
          context: ctx.request,
        });
        out.push({ recordingId: recording.id, jobId: job.id, group });
      }
      return out;
    });
    const place = { nodeId: node.id, siteId: node.siteId };
    for (const { recordingId, jobId } of created) {
      this.changes.recording(place, recordingId, 'pending', { created: true });
      this.changes.job(place, { id: jobId, recordingId }, 'queued');
    }
    for (const { recordingId, jobId } of created)
      await this.notifyNode(node.id, 'job-available', { jobId, recordingId });
    const recording = (await this.recordings.find(created[0]!.recordingId))!;
    if (!map || map.groups.length === 0) return { recording };
    return {
      recording,
      channelGroups: created.map(({ recordingId, group }) => ({ ...group!, recordingId })),
    };
  }

  /**
   * Stops a recording: a queued job is cancelled at once; a running one gets
   * `stopRequested`, which the agent sees in its next job heartbeat (and is told
   * now over MQTT).
   */
  async stop(id: string, ctx: CallContext): Promise<RecordingRow> {
    const recording = await this.visibleRecording(ctx.principal, 'recording:control', id);
    const job = recording.job;
    if (!job || !(job.state === 'queued' || isActive(job.state)))
      throw conflict(`The recording is ${recording.state}; there is nothing to stop.`, {
        state: recording.state,
      });
    if (job.stopRequested) return recording;
    const now = this.now();
    const cancelled = await this.db.$transaction(async (tx) => {
      const base = {
        actor: actorOf(ctx.principal),
        permission: 'recording:control' as const,
        target: { type: 'recording', id },
        outcome: 'success' as const,
        context: ctx.request,
      };
      if (
        await this.jobs.updateIfState(tx, job.id, ['queued'], {
          state: 'cancelled',
          stopRequested: true,
          finishedAt: now,
          failureReason: 'stopped before an agent claimed it',
        })
      ) {
        await this.recordings.update(tx, id, { state: 'cancelled' });
        await this.audit.record(tx, {
          ...base,
          action: 'recording.stop',
          before: { jobState: 'queued' },
          after: { jobState: 'cancelled' },
        });
        return true;
      }
      if (
        !(await this.jobs.updateIfState(tx, job.id, ACTIVE_JOB_STATES, {
          stopRequested: true,
        }))
      )
        throw conflict('The recording finished meanwhile; there is nothing to stop.');
      await this.audit.record(tx, {
        ...base,
        action: 'recording.stop',
        before: { jobState: job.state, stopRequested: false },
        after: { jobState: job.state, stopRequested: true },
      });
      return false;
    });
    const place = { nodeId: recording.nodeId, siteId: recording.node.siteId };
    if (cancelled) this.changes.moved(place, job, 'cancelled', 'cancelled');
    else this.changes.job(place, job, job.state, { stopRequested: true });
    if (!cancelled) await this.notifyNode(recording.nodeId, 'job-stop', { jobId: job.id, recordingId: id });
    return (await this.recordings.find(id))!;
  }

  /** The file (or one byte range of it), audited once per download window. */
  async openFile(id: string, rangeHeader: string | undefined, ctx: CallContext): Promise<FileResponse> {
    const recording = await this.visibleRecording(ctx.principal, 'recording:download', id);
    return this.serveFile(recording, rangeHeader, 'attachment', () => this.auditDownload(recording, ctx));
  }

  /** Removes a recording's file (and any unfinished upload of it) from the controller's disk. */
  removeFiles(nodeId: string, recordingId: string, relativePath: string | null): Promise<void> {
    return this.files.deleteFiles(nodeId, recordingId, relativePath);
  }

  /** Where a recording file (as the database stores its path) is on the controller's disk. */
  absolutePath(relativePath: string): string {
    return this.files.absolute(relativePath);
  }

  /**
   * The size of a recording's complete file; a 409 when its file is not complete yet or is
   * missing from storage (what the file and playback routes serve).
   */
  async completeFileSize(recording: Visible<RecordingRow>): Promise<{ filePath: string; size: number }> {
    if (recording.localRemovedAt)
      throw conflict(
        `Retention removed the controller's copy on ${recording.localRemovedAt.toISOString()}; its verified ` +
          `copies are at the upload providers (GET /api/v1/upload-queue?recordingId=${recording.id}).`,
      );
    if (recording.state !== 'completed' || !recording.filePath)
      throw conflict(`The recording is ${recording.state}; its file is not available yet.`, {
        state: recording.state,
      });
    const size = await this.files.fileSize(recording.filePath);
    if (size === undefined) throw conflict('The recording file is missing from storage.');
    return { filePath: recording.filePath, size };
  }

  /**
   * A visible recording's complete file, or the one byte range `rangeHeader` asks for (206, or
   * 416 with the size). `disposition` says whether a browser saves it (download) or plays it
   * (a playback stream); `beforeSend` runs once the request is known to be served (an audit).
   */
  async serveFile(
    recording: Visible<RecordingRow>,
    rangeHeader: string | undefined,
    disposition: 'attachment' | 'inline',
    beforeSend?: () => Promise<void>,
  ): Promise<FileResponse> {
    const { filePath, size } = await this.completeFileSize(recording);
    const range = parseRange(rangeHeader, size);
    if (range.kind === 'unsatisfiable') {
      throw new AppError(
        416,
        ERROR_CODES.rangeNotSatisfiable,
        `Range ${JSON.stringify(rangeHeader)} cannot be served: send one range within 0-${size - 1}.`,
        { sizeBytes: size },
        { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes' },
      );
    }
    await beforeSend?.();
    const { start, end } = range.kind === 'full' ? { start: 0, end: size - 1 } : range.range;
    const headers: Record<string, string> = {
      'content-type': mediaTypeOf(recording),
      'accept-ranges': 'bytes',
      'content-length': String(size === 0 ? 0 : end - start + 1),
      'content-disposition': `${disposition}; filename="${recording.id}.${recording.container}"`,
      etag: `"${recording.sha256}"`,
    };
    if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${size}`;
    return {
      statusCode: range.kind === 'partial' ? 206 : 200,
      headers,
      stream: this.files.readRange(filePath, start, Math.max(end, 0)),
    };
  }

  private async auditDownload(recording: RecordingRow, ctx: CallContext): Promise<void> {
    const actor = actorOf(ctx.principal);
    const key = `${actor.type}:${actor.id ?? ''}:${recording.id}`;
    const nowMs = this.now().getTime();
    if ((this.recentDownloads.get(key) ?? 0) > nowMs) return;
    await this.audit.recordAlone({
      actor,
      permission: 'recording:download',
      action: 'recording.download',
      target: { type: 'recording', id: recording.id },
      outcome: 'success',
      after: { sizeBytes: Number(recording.sizeBytes), sha256: recording.sha256 },
      context: ctx.request,
    });
    if (this.recentDownloads.size >= DOWNLOAD_AUDIT_MAX_ENTRIES) {
      for (const [k, until] of this.recentDownloads) if (until <= nowMs) this.recentDownloads.delete(k);
      if (this.recentDownloads.size >= DOWNLOAD_AUDIT_MAX_ENTRIES) this.recentDownloads.clear();
    }
    this.recentDownloads.set(key, nowMs + DOWNLOAD_AUDIT_WINDOW_MS);
  }
}
