/**
 * Downloads prepared by `POST /recordings/:id/download`: where one recording's file is (its
 * size and SHA-256, served by `GET /recordings/:id/file` with Range), or several at once: one zip archive, written as it is sent (yazl: each
 * file read from disk into the response, never the archive in memory; ZIP64 past 4 GiB), with a
 * manifest of what it holds (`manifest.json`) and their SHA-256 sums in `sha256sum -c` form
 * (`SHA256SUMS`). Audio is stored, not compressed (it does not shrink). All or nothing: every
 * recording named must be visible to the caller, downloadable and complete, or nothing is sent.
 * Each recording's download is audited, once, before the archive starts.
 */
import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { AuditWriter } from '../../core/audit.types.js';
import { badRequest } from '../../core/errors.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import type { RecordingFileStore } from './file-store.js';
import { mediaTypeOf, type RecordingsService } from './recordings.service.js';

/** The most recordings one archive holds. */
export const MAX_ARCHIVE_RECORDINGS = 100;

export interface Archive {
  filename: string;
  stream: Readable;
  /** How many recordings it holds. */
  count: number;
}

/** A file name from a title: letters, digits, dot, dash and underscore, at most 60 characters. */
function slug(title: string): string {
  const cleaned = title
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '');
  return cleaned.slice(0, 60) || 'recording';
}

export class DownloadService {
  constructor(
    private readonly deps: {
      recordings: RecordingsService;
      files: RecordingFileStore;
      audit: AuditWriter;
      now: () => Date;
    },
  ) {}

  /** Where the recording's complete file is served, with what a client checks it against. */
  async prepareFile(id: string, ctx: CallContext) {
    const recording = await this.deps.recordings.visibleRecording(ctx.principal, 'recording:download', id);
    const { size } = await this.deps.recordings.completeFileSize(recording);
    return {
      url: `/api/v1/recordings/${id}/file`,
      filename: `${slug(recording.title)}-${id}.${recording.container}`,
      contentType: mediaTypeOf(recording),
      sizeBytes: size,
      sha256: recording.sha256,
    };
  }

  /** The archive of `first` and the recordings in `more` (duplicates ignored), in that order. */
  async archive(first: string, more: readonly string[], ctx: CallContext): Promise<Archive> {
    const ids = [...new Set([first, ...more])];
    if (ids.length > MAX_ARCHIVE_RECORDINGS)
      throw badRequest(
        `An archive holds at most ${MAX_ARCHIVE_RECORDINGS} recordings; download them in parts.`,
        {
          field: 'ids',
        },
      );
    const { recordings, files, audit } = this.deps;
    const entries: { id: string; name: string; path: string; size: number; sha256: string; title: string }[] =
      [];
    for (const id of ids) {
      const recording = await recordings.visibleRecording(ctx.principal, 'recording:download', id);
      const { filePath, size } = await recordings.completeFileSize(recording);
      entries.push({
        id,
        name: `${slug(recording.title)}-${id}.${recording.container}`,
        path: files.absolute(filePath),
        size,
        sha256: recording.sha256 ?? '',
        title: recording.title,
      });
    }
    const at = this.deps.now();
    for (const entry of entries)
      await audit.recordAlone({
        actor: actorOf(ctx.principal),
        permission: 'recording:download',
        action: 'recording.download',
        target: { type: 'recording', id: entry.id },
        outcome: 'success',
        after: { sizeBytes: entry.size, sha256: entry.sha256, archive: true, recordings: entries.length },
        context: ctx.request,
      });
    const zip = new ZipFile();
    for (const entry of entries) zip.addFile(entry.path, entry.name, { compress: false, mtime: at });
    const manifest = {
      createdAt: at.toISOString(),
      recordings: entries.map(({ id, name, size, sha256, title }) => ({
        id,
        title,
        file: name,
        sizeBytes: size,
        sha256,
      })),
    };
    zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'manifest.json', { mtime: at });
    zip.addBuffer(Buffer.from(entries.map((e) => `${e.sha256}  ${e.name}\n`).join('')), 'SHA256SUMS', {
      mtime: at,
    });
    zip.end();
    // A file that cannot be read mid-archive (removed meanwhile) ends the response, not the process.
    zip.on('error', (err: Error) => (zip.outputStream as Readable).destroy(err));
    const stamp = at.toISOString().replace(/[:.]/g, '-');
    return {
      filename: `recordings-${stamp}.zip`,
      stream: zip.outputStream as Readable,
      count: entries.length,
    };
  }
}
