/**
 * Organising the recording library: metadata (title, notes, tags, custom fields, legal hold) on
 * one recording or many, deletion of finished recordings (one or many), the library's facets,
 * its export, and what a caller may do with a recording now.
 *
 * Deletion takes only terminal recordings (completed, failed, cancelled: nothing writes to them
 * any more), never one under legal hold, and a tagged one only when the caller says so
 * (`allowTagged`: tags mark recordings someone organised, as retention's `keepTagged` keeps
 * them). The row goes (its job and tags with it) with its audit event in one transaction; its
 * files are removed after the commit, and so are its copies at upload providers (the upload
 * queue's deletion hook), each reported with the answer. Bulk actions answer and audit per item (core/bulk.ts).
 */
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { bulkResult, eachItem, refusalEvent } from '../../core/bulk.js';
import { badRequest, conflict, forbidden } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { PagePosition } from '../../core/page-position.js';
import type { CallContext, Principal } from '../../core/principal.js';
import { type ExportRows, type ExportSummary, exportEvent, exportTable } from '../../core/table-export.js';
import type { Db } from '../../db/client.js';
import { customFieldsOf } from './custom-fields.js';
import type { CleanupResult, RecordingDeletions } from './deletion-hooks.js';
import type { RecordingFileStore } from './file-store.js';
import { isActive } from './jobs.service.js';
import { type LibraryRepository, TERMINAL_RECORDING_STATES } from './library.repository.js';
import {
  type BulkMetadataChange,
  type LibraryFilters,
  MAX_CUSTOM_FIELDS,
  MAX_TAGS,
  type MetadataPatch,
} from './library.schemas.js';
import type { RecordingRow } from './recordings.repository.js';
import { checkCreatedRange } from './recordings.schemas.js';
import type { RecordingsService } from './recordings.service.js';

interface Metadata {
  title: string;
  notes: string | null;
  tags: string[];
  customFields: Record<string, string>;
  legalHold: boolean;
}

function metadataOf(recording: RecordingRow): Metadata {
  return {
    title: recording.title,
    notes: recording.notes,
    tags: recording.tags.map((t) => t.tag),
    customFields: customFieldsOf(recording.customFields),
    legalHold: recording.legalHold,
  };
}

/** Custom fields after a JSON merge patch: a value sets, null removes. */
function mergeFields(
  fields: Record<string, string>,
  patch: Record<string, string | null> | undefined,
): Record<string, string> {
  if (!patch) return fields;
  const merged = { ...fields };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  if (Object.keys(merged).length > MAX_CUSTOM_FIELDS)
    throw badRequest(`A recording holds at most ${MAX_CUSTOM_FIELDS} custom fields; remove some first.`, {
      field: 'customFields',
    });
  return merged;
}

function withTags(tags: string[], add: readonly string[] = [], remove: readonly string[] = []): string[] {
  const next = [...new Set([...tags.filter((t) => !remove.includes(t)), ...add])].sort();
  if (next.length > MAX_TAGS)
    throw badRequest(`A recording holds at most ${MAX_TAGS} tags; remove some first.`, { field: 'tags' });
  return next;
}

/** Why `recording` may not be deleted now; null when it may. */
export function deletionRefusal(recording: RecordingRow, allowTagged: boolean): string | null {
  if (!(TERMINAL_RECORDING_STATES as readonly string[]).includes(recording.state))
    return `the recording is ${recording.state}: only completed, failed or cancelled recordings are deleted (stop it first)`;
  if (recording.legalHold) return 'the recording is under legal hold: release the hold first';
  if (recording.tags.length > 0 && !allowTagged)
    return `the recording is tagged (${recording.tags.map((t) => t.tag).join(', ')}): say allowTagged to delete it`;
  return null;
}

export class LibraryService {
  constructor(
    private readonly deps: {
      db: Db;
      repo: LibraryRepository;
      recordings: RecordingsService;
      audit: AuditWriter;
      files: RecordingFileStore;
      /** What other modules remove with a recording (its copies at upload providers). */
      deletions: RecordingDeletions;
      log: Pick<Logger, 'warn'>;
      now: () => Date;
    },
  ) {}

  /** Changes what `patch` names; audited with the fields before and after. */
  async updateMetadata(id: string, patch: MetadataPatch, ctx: CallContext): Promise<RecordingRow> {
    const recording = await this.deps.recordings.visibleRecording(ctx.principal, 'recording:edit', id);
    const before = metadataOf(recording);
    const after: Metadata = {
      title: patch.title ?? before.title,
      notes: patch.notes === undefined ? before.notes : patch.notes,
      tags: patch.tags === undefined ? before.tags : withTags([], patch.tags),
      customFields: mergeFields(before.customFields, patch.customFields),
      legalHold: patch.legalHold ?? before.legalHold,
    };
    return this.write(recording, before, after, ctx);
  }

  bulkMetadata(ids: readonly string[], change: BulkMetadataChange, ctx: CallContext) {
    if (change.addTags?.some((t) => change.removeTags?.includes(t)))
      throw badRequest('A tag cannot be both added and removed.', { field: 'set' });
    return this.each(ids, ctx, 'recording:edit', 'recording.metadata_update', async (id) => {
      const recording = await this.deps.recordings.visibleRecording(ctx.principal, 'recording:edit', id);
      const before = metadataOf(recording);
      const after: Metadata = {
        ...before,
        notes: change.notes === undefined ? before.notes : change.notes,
        tags: withTags(before.tags, change.addTags, change.removeTags),
        customFields: mergeFields(before.customFields, change.customFields),
        legalHold: change.legalHold ?? before.legalHold,
      };
      return this.deps.recordings.present(await this.write(recording, before, after, ctx));
    });
  }

  /** Deletes a finished recording and its files; answers the bytes freed. */
  async delete(
    id: string,
    allowTagged: boolean,
    ctx: CallContext,
  ): Promise<{ freedBytes: number; copies: CleanupResult[] }> {
    const recording = await this.deps.recordings.visibleRecording(ctx.principal, 'recording:delete', id);
    const refusal = deletionRefusal(recording, allowTagged);
    if (refusal) throw conflict(`Recording ${id} is not deleted: ${refusal}.`);
    const cleanup = await this.deps.db.$transaction(async (tx) => {
      const after = await this.deps.deletions.prepare(tx, id);
      if (!(await this.deps.repo.deleteTerminal(tx, id)))
        throw conflict(
          `Recording ${id} changed meanwhile (held, or recording again): fetch it and try again.`,
        );
      await this.deps.audit.recordChange(tx, ctx, {
        permission: 'recording:delete',
        action: 'recording.delete',
        target: { type: 'recording', id },
        before: {
          title: recording.title,
          nodeId: recording.nodeId,
          state: recording.state,
          sizeBytes: recording.sizeBytes === null ? null : Number(recording.sizeBytes),
          sha256: recording.sha256,
          tags: recording.tags.map((t) => t.tag),
        },
      });
      return after;
    });
    this.deps.recordings.announceDeleted(recording);
    await this.deps.files.deleteFiles(recording.nodeId, id, recording.filePath).catch((err: unknown) => {
      this.deps.log.warn({ err, recordingId: id }, 'a deleted recording’s file could not be removed');
    });
    return {
      freedBytes: recording.filePath && recording.sizeBytes !== null ? Number(recording.sizeBytes) : 0,
      copies: await cleanup(),
    };
  }

  bulkDelete(ids: readonly string[], allowTagged: boolean, ctx: CallContext) {
    return this.each(ids, ctx, 'recording:delete', 'recording.delete', (id) =>
      this.delete(id, allowTagged, ctx),
    );
  }

  facets(principal: Principal, filters: LibraryFilters) {
    checkCreatedRange(filters);
    return this.deps.repo.facets(this.readable(principal), filters);
  }

  /** A page of the export of what `filters` select, newest first, after `after`. */
  filtered(
    principal: Principal,
    filters: LibraryFilters,
    limit: number,
    after: PagePosition | undefined,
  ): Promise<RecordingRow[]> {
    checkCreatedRange(filters);
    return this.deps.repo.rows(this.readable(principal), filters, limit, after);
  }

  selected(principal: Principal, ids: readonly string[]): Promise<RecordingRow[]> {
    return this.deps.repo.rowsByIds(this.readable(principal), ids);
  }

  exportFile(rows: ExportRows<RecordingRow>, format: 'csv' | 'ndjson') {
    const { recordings } = this.deps;
    return exportTable({
      name: 'recordings',
      format,
      rows,
      present: (row) => recordings.present(row),
      columns: EXPORT_COLUMNS,
      flatten: (row) => {
        const r = recordings.present(row);
        return {
          id: r.id,
          title: r.title,
          state: r.state,
          nodeId: r.nodeId,
          siteId: r.siteId,
          createdAt: r.createdAt,
          completedAt: r.completedAt,
          durationMs: r.durationMs,
          sampleRate: r.sampleRate,
          channels: r.channels,
          bitDepth: r.bitDepth,
          container: r.container,
          sizeBytes: r.sizeBytes,
          sha256: r.sha256,
          partial: r.partial,
          partialReason: r.partialReason,
          integratedLufs: r.loudness?.integratedLufs ?? null,
          truePeakDbtp: r.loudness?.truePeakDbtp ?? null,
          tags: r.tags.join('; '),
          notes: r.notes,
          customFields: JSON.stringify(r.customFields),
          legalHold: r.legalHold,
          jobId: r.job?.id ?? null,
        };
      },
      now: this.deps.now(),
    });
  }

  async recordExport(ctx: CallContext, summary: ExportSummary): Promise<void> {
    await this.deps.audit.recordAlone(exportEvent(ctx, 'recording:read', 'recording.export', summary));
  }

  /** What the caller may do with the recording now, each with the reason when not. */
  async actions(id: string, principal: Principal) {
    const recording = await this.deps.recordings.visibleRecording(principal, 'recording:read', id);
    const scope = { siteId: recording.node.siteId, nodeId: recording.nodeId };
    const gate = (permission: Permission, ok: boolean, why: string) =>
      principal.kind === 'user' && principal.access.allows(permission, scope)
        ? { allowed: ok, reason: ok ? null : why }
        : { allowed: false, reason: `needs ${permission} on this recording's node` };
    const complete = recording.state === 'completed' && recording.filePath !== null;
    const notComplete = `the file is not complete (the recording is ${recording.state})`;
    const refusal = deletionRefusal(recording, false);
    return {
      playback: gate('recording:playback', complete, notComplete),
      download: gate('recording:download', complete, notComplete),
      editMetadata: gate('recording:edit', true, ''),
      stop: gate(
        'recording:control',
        recording.job !== null && (recording.job.state === 'queued' || isActive(recording.job.state)),
        `nothing to stop: the recording is ${recording.state}`,
      ),
      delete: gate('recording:delete', refusal === null, refusal ?? ''),
    };
  }

  private readable(principal: Principal) {
    if (principal.kind !== 'user') throw forbidden('users only');
    return principal.access.filter('recording:read');
  }

  private async write(recording: RecordingRow, before: Metadata, after: Metadata, ctx: CallContext) {
    const changed = (Object.keys(after) as (keyof Metadata)[]).filter(
      (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
    );
    if (changed.length === 0) return recording;
    const pick = (m: Metadata) => Object.fromEntries(changed.map((key) => [key, m[key]]));
    await this.deps.db.$transaction(async (tx) => {
      await this.deps.repo.updateMetadata(
        tx,
        recording.id,
        {
          title: after.title,
          notes: after.notes,
          customFields: JSON.stringify(after.customFields),
          legalHold: after.legalHold,
        },
        changed.includes('tags') ? after.tags : undefined,
      );
      await this.deps.audit.recordChange(tx, ctx, {
        permission: 'recording:edit',
        action: 'recording.metadata_update',
        target: { type: 'recording', id: recording.id },
        before: pick(before),
        after: pick(after),
      });
    });
    return (await this.deps.recordings.visibleRecording(
      ctx.principal,
      'recording:edit',
      recording.id,
    )) as RecordingRow;
  }

  private async each<T>(
    ids: readonly string[],
    ctx: CallContext,
    permission: Permission,
    action: AuditAction,
    act: (id: string) => Promise<T>,
  ) {
    this.readable(ctx.principal);
    return bulkResult(
      await eachItem(ids, act, (id, error) =>
        this.deps.audit
          .recordAlone(refusalEvent(ctx, permission, action, { type: 'recording', id }, error))
          .then(() => undefined),
      ),
    );
  }
}

const EXPORT_COLUMNS = [
  'id',
  'title',
  'state',
  'nodeId',
  'siteId',
  'createdAt',
  'completedAt',
  'durationMs',
  'sampleRate',
  'channels',
  'bitDepth',
  'container',
  'sizeBytes',
  'sha256',
  'partial',
  'partialReason',
  'integratedLufs',
  'truePeakDbtp',
  'tags',
  'notes',
  'customFields',
  'legalHold',
  'jobId',
] as const;
