/**
 * One recording: its metadata (editable when the role may, `PATCH /recordings/:id/metadata`),
 * checksums, file facts, upload and provider copies, its audit rows, who attended meanwhile
 * (`GET /recordings/:id/context`), and a player: a waveform drawn on a canvas from the
 * server's peaks (`GET /recordings/:id/peaks`, never the file) that seeks on click or by keys, and an
 * `<audio>` fed by the playback route (`POST …/playback` sets a cookie scoped to the stream's
 * path, so `src` carries no token). Its state changes arrive from the tab's events stream.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { subscribe } from '../events.js';
import {
  formatBytes,
  formatDuration,
  parseTags,
  peakColumns,
  peakPointsFor,
  timeAtX,
  xAtTime,
} from '../recordings-model.js';
import { location } from '../router.js';
import { can } from '../session.js';
import './recordings.css';
import { Ago } from '../time-ago.js';

interface Recording {
  id: string;
  nodeId: string;
  title: string;
  state: string;
  sampleRate: number;
  channels: number;
  bitDepth: number | null;
  container: string;
  sizeBytes: number | null;
  sha256: string | null;
  durationMs: number | null;
  firstSampleAt: string | null;
  partial: boolean;
  partialReason: string | null;
  loudness: {
    integratedLufs: number | null;
    loudnessRangeLu: number | null;
    truePeakDbtp: number | null;
  } | null;
  notes: string | null;
  tags: string[];
  legalHold: boolean;
  createdAt: string;
  completedAt: string | null;
}
interface Allowed {
  allowed: boolean;
  reason?: string | null;
}
interface Actions {
  playback: Allowed;
  download: Allowed;
  editMetadata: Allowed;
}
interface Context {
  checksums: { sha256: string | null; expectedSha256: string | null };
  upload: { state: string; receivedBytes: number; expectedBytes: number | null };
  attendance: {
    guildName: string | null;
    channelId: string;
    visible: boolean;
    reason: string | null;
    sessions: {
      id: string;
      userId: string;
      displayName?: string | null;
      startedAt: string;
      endedAt: string;
      activeSeconds: number;
    }[];
  } | null;
}
interface QueueItem {
  id: string;
  providerId: string;
  state: string;
  attempts: number;
  lastError?: string | null;
}
interface AuditRow {
  id: string;
  at: string;
  actor: { name: string | null };
  action: string;
  outcome: string;
}
interface Peaks {
  points: number;
  durationMs: number | null;
  min: number[];
  max: number[];
}

const ID_PATH = /^\/recordings\/([A-Za-z0-9_-]+)$/;
const message = (err: unknown) =>
  err instanceof ApiError || err instanceof Error ? err.message : 'The controller did not answer.';
/** A part the role may not read (403) is left out, not shown as an error. */
const optional = <T,>(promise: Promise<T>) =>
  promise.catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 403) return undefined;
    throw err;
  });

export default function RecordingPage() {
  const id = ID_PATH.exec(location.value.path)?.[1] ?? '';
  const recording = useSignal<Recording | undefined>(undefined);
  const actions = useSignal<Actions | undefined>(undefined);
  const context = useSignal<Context | undefined>(undefined);
  const queue = useSignal<QueueItem[] | undefined>(undefined);
  const audit = useSignal<AuditRow[] | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const version = useSignal(0);

  // Live: this recording's state and upload changes read it again (at most once a frame).
  useEffect(() => {
    let frame: number | undefined;
    const off = subscribe('recording.', (event) => {
      if (event !== 'reset' && event.subject.id !== id) return;
      frame ??= requestAnimationFrame(() => {
        frame = undefined;
        version.value += 1;
      });
    });
    return () => {
      off();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [id]);

  useEffect(() => {
    let stale = false;
    const path = `/recordings/${encodeURIComponent(id)}`;
    Promise.all([
      api<{ data: Recording }>('GET', path),
      api<{ data: Actions }>('GET', `${path}/actions`),
      optional(api<{ data: Context }>('GET', `${path}/context`)),
      optional(
        api<{ data: QueueItem[] }>('GET', `/upload-queue?recordingId=${encodeURIComponent(id)}&limit=20`),
      ),
      can('audit:read')
        ? optional(
            api<{ data: AuditRow[] }>(
              'GET',
              `/audit-events?targetType=recording&targetId=${encodeURIComponent(id)}&limit=50`,
            ),
          )
        : Promise.resolve(undefined),
    ]).then(
      ([r, a, c, q, log]) => {
        if (stale) return;
        recording.value = r.data;
        actions.value = a.data;
        context.value = c?.data;
        queue.value = q?.data;
        audit.value = log?.data;
        error.value = undefined;
      },
      (err: unknown) => {
        if (!stale) error.value = message(err);
      },
    );
    return () => {
      stale = true;
    };
  }, [id, version.value]);

  if (error.value && !recording.value)
    return (
      <section class="page">
        <h1>Recording</h1>
        <p class="error" role="alert">
          {error.value}
        </p>
        <a href="/recordings">All recordings</a>
      </section>
    );
  const r = recording.value;
  if (!r) return <p class="loading">Loading recording…</p>;
  const now = Date.now();
  return (
    <section class="page recording">
      <p>
        <a href="/recordings">← Recordings</a>
      </p>
      <h1>{r.title}</h1>
      <Player
        recording={r}
        mayPlay={actions.value?.playback.allowed ?? false}
        mayDownload={actions.value?.download.allowed ?? false}
      />
      <div class="rec-columns">
        <section aria-labelledby="rec-facts">
          <h2 id="rec-facts">File</h2>
          <dl class="facts">
            <dt>State</dt>
            <dd>{r.state}</dd>
            <dt>Node</dt>
            <dd>
              <a href={`/nodes/${encodeURIComponent(r.nodeId)}`}>{r.nodeId}</a>
            </dd>
            <dt>Created</dt>
            <dd>
              <Ago iso={r.createdAt} now={now} />
            </dd>
            <dt>Length</dt>
            <dd>{formatDuration(r.durationMs)}</dd>
            <dt>Format</dt>
            <dd>
              {r.container.toUpperCase()}, {r.sampleRate} Hz, {r.channels} ch
              {r.bitDepth ? `, ${r.bitDepth}-bit` : ''}
            </dd>
            <dt>Size</dt>
            <dd>{formatBytes(r.sizeBytes)}</dd>
            <dt>SHA-256</dt>
            <dd class="rec-hash" data-testid="rec-sha256">
              {r.sha256 ?? '—'}
            </dd>
            {context.value?.checksums.expectedSha256 && (
              <>
                <dt>Declared by the agent</dt>
                <dd class="rec-hash">
                  {context.value.checksums.expectedSha256}
                  {context.value.checksums.expectedSha256 === r.sha256 ? ' (matches)' : ' (differs)'}
                </dd>
              </>
            )}
            {r.partial && (
              <>
                <dt>Partial</dt>
                <dd>{r.partialReason ?? 'yes'}</dd>
              </>
            )}
            {r.loudness && (
              <>
                <dt>Loudness</dt>
                <dd>
                  {r.loudness.integratedLufs ?? '—'} LUFS, range {r.loudness.loudnessRangeLu ?? '—'} LU, true
                  peak {r.loudness.truePeakDbtp ?? '—'} dBTP
                </dd>
              </>
            )}
            {context.value && (
              <>
                <dt>Upload</dt>
                <dd>
                  {context.value.upload.state}, {formatBytes(context.value.upload.receivedBytes)}
                  {context.value.upload.expectedBytes !== null &&
                    ` of ${formatBytes(context.value.upload.expectedBytes)}`}
                </dd>
              </>
            )}
          </dl>
          <h2>Provider copies</h2>
          {queue.value === undefined && <p class="empty">Not shown to your role.</p>}
          {queue.value?.length === 0 && <p class="empty">No copies to upload providers.</p>}
          {queue.value && queue.value.length > 0 && (
            <ul class="rec-list">
              {queue.value.map((q) => (
                <li key={q.id}>
                  {q.providerId}: {q.state} ({q.attempts} attempt{q.attempts === 1 ? '' : 's'})
                  {q.lastError && <span class="error"> {q.lastError}</span>}
                </li>
              ))}
            </ul>
          )}
        </section>
        <Metadata
          recording={r}
          editable={actions.value?.editMetadata.allowed ?? false}
          onSaved={(next) => (recording.value = next)}
        />
      </div>
      <Attendance context={context.value} />
      {audit.value && (
        <section aria-labelledby="rec-audit">
          <h2 id="rec-audit">Audit</h2>
          {audit.value.length === 0 && <p class="empty">No audit rows for this recording.</p>}
          <ul class="rec-list" data-testid="rec-audit">
            {audit.value.map((e) => (
              <li key={e.id}>
                <Ago iso={e.at} now={now} /> {e.actor.name ?? 'system'}: {e.action} ({e.outcome})
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}

function Attendance({ context }: { context: Context | undefined }) {
  const attendance = context?.attendance;
  return (
    <section aria-labelledby="rec-attendance">
      <h2 id="rec-attendance">Attendance</h2>
      {!attendance && <p class="empty">No voice channel is linked to this recording's schedule.</p>}
      {attendance && !attendance.visible && (
        <p class="empty">{attendance.reason ?? 'Not shown to your role.'}</p>
      )}
      {attendance?.visible && attendance.sessions.length === 0 && (
        <p class="empty">Nobody attended {attendance.guildName ?? 'the channel'} meanwhile.</p>
      )}
      {attendance?.visible && attendance.sessions.length > 0 && (
        <ul class="rec-list">
          {attendance.sessions.map((s) => (
            <li key={s.id}>
              {s.displayName ? `${s.displayName} (${s.userId})` : s.userId}:{' '}
              {formatDuration(s.activeSeconds * 1000)} active,{' '}
              <time dateTime={s.startedAt} title={new Date(s.startedAt).toString()}>
                {new Date(s.startedAt).toLocaleTimeString()}
              </time>
              –{new Date(s.endedAt).toLocaleTimeString()}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Metadata(props: { recording: Recording; editable: boolean; onSaved: (next: Recording) => void }) {
  const r = props.recording;
  const status = useSignal('');
  const failure = useSignal<string | undefined>(undefined);
  if (!props.editable)
    return (
      <section aria-labelledby="rec-meta">
        <h2 id="rec-meta">Metadata</h2>
        <dl class="facts">
          <dt>Tags</dt>
          <dd>{r.tags.join(', ') || '—'}</dd>
          <dt>Notes</dt>
          <dd>{r.notes ?? '—'}</dd>
          <dt>Legal hold</dt>
          <dd>{r.legalHold ? 'held' : 'no'}</dd>
        </dl>
      </section>
    );
  return (
    <section aria-labelledby="rec-meta">
      <h2 id="rec-meta">Metadata</h2>
      <form
        class="rec-meta"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const notes = String(form.get('notes') ?? '');
          try {
            const { data } = await api<{ data: Recording }>(
              'PATCH',
              `/recordings/${encodeURIComponent(r.id)}/metadata`,
              {
                title: String(form.get('title') ?? r.title),
                notes: notes === '' ? null : notes,
                tags: parseTags(String(form.get('tags') ?? '')),
                legalHold: form.get('legalHold') === 'on',
              },
            );
            failure.value = undefined;
            status.value = 'Saved.';
            props.onSaved(data);
          } catch (err) {
            status.value = '';
            failure.value = message(err);
          }
        }}
      >
        <label for="rec-title">Title</label>
        <input id="rec-title" name="title" required maxLength={200} value={r.title} />
        <label for="rec-tags">Tags (comma separated)</label>
        <input id="rec-tags" name="tags" value={r.tags.join(', ')} />
        <label for="rec-notes">Notes</label>
        <textarea id="rec-notes" name="notes" maxLength={10_000} value={r.notes ?? ''} />
        <label>
          <input type="checkbox" name="legalHold" checked={r.legalHold} /> Legal hold (never deleted)
        </label>
        <button type="submit">Save</button>
        <span aria-live="polite">{status.value}</span>
        {failure.value && (
          <span class="error" role="alert">
            {failure.value}
          </span>
        )}
      </form>
    </section>
  );
}

/** The waveform's keys, as a media player's seek bar has them: a step, a minute, either end. */
const SEEK_KEYS: Record<string, (at: number, duration: number) => number> = {
  ArrowLeft: (at) => at - 5,
  ArrowDown: (at) => at - 5,
  ArrowRight: (at) => at + 5,
  ArrowUp: (at) => at + 5,
  PageDown: (at) => at - 60,
  PageUp: (at) => at + 60,
  Home: () => 0,
  End: (_, duration) => duration,
};

function Player({
  recording,
  mayPlay,
  mayDownload,
}: {
  recording: Recording;
  mayPlay: boolean;
  mayDownload: boolean;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const audio = useRef<HTMLAudioElement>(null);
  /** When the peaks were asked for: the first paint says how long the waveform took (the budget). */
  const asked = useRef<number | undefined>(undefined);
  const peaks = useSignal<Peaks | undefined>(undefined);
  const failure = useSignal<string | undefined>(undefined);
  const src = useSignal<string | undefined>(undefined);
  const position = useSignal(0);
  const durationS = (peaks.value?.durationMs ?? recording.durationMs ?? 0) / 1000;
  const complete = recording.state === 'completed';

  useEffect(() => {
    const element = canvas.current;
    if (!complete || !element) return;
    let stale = false;
    asked.current = performance.now();
    const points = peakPointsFor(element.clientWidth || 800, window.devicePixelRatio || 1);
    api<{ data: Peaks }>(
      'GET',
      `/recordings/${encodeURIComponent(recording.id)}/peaks?points=${points}`,
    ).then(
      ({ data }) => {
        if (!stale) peaks.value = data;
      },
      (err: unknown) => {
        if (!stale) failure.value = `The waveform is not available: ${message(err)}`;
      },
    );
    return () => {
      stale = true;
    };
  }, [recording.id, complete]);

  // Drawn when the peaks arrive and as the playhead moves.
  useEffect(() => {
    const element = canvas.current;
    const data = peaks.value;
    if (!element || !data) return;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(element.clientWidth * ratio));
    const height = Math.max(1, Math.round(element.clientHeight * ratio));
    if (element.width !== width) element.width = width;
    if (element.height !== height) element.height = height;
    const ctx = element.getContext('2d');
    if (!ctx) return;
    const style = getComputedStyle(element);
    ctx.clearRect(0, 0, width, height);
    const played = xAtTime(position.value, width, durationS);
    const wave = style.getPropertyValue('--wave').trim() || '#3b6ea5';
    const done = style.getPropertyValue('--wave-played').trim() || '#1d3f66';
    const columns = peakColumns(data.min, data.max, width, height);
    for (let x = 0; x < columns.length; x++) {
      const column = columns[x]!;
      ctx.fillStyle = x < played ? done : wave;
      ctx.fillRect(x, column.top, 1, column.bottom - column.top);
    }
    ctx.fillStyle = done;
    ctx.fillRect(Math.min(width - 1, Math.round(played)), 0, Math.max(1, Math.round(ratio)), height);
    element.dataset.painted = String(columns.length);
    if (asked.current !== undefined) {
      element.dataset.drawnMs = String(Math.round(performance.now() - asked.current));
      asked.current = undefined;
    }
  }, [peaks.value, position.value, durationS]);

  async function open(): Promise<HTMLAudioElement | undefined> {
    if (src.value) return audio.current ?? undefined;
    try {
      const { data } = await api<{ data: { streamUrl: string } }>(
        'POST',
        `/recordings/${encodeURIComponent(recording.id)}/playback`,
        {},
      );
      src.value = data.streamUrl; // the cookie the POST set is scoped to this path: no token in it
      await new Promise((resolve) => requestAnimationFrame(resolve));
      return audio.current ?? undefined;
    } catch (err) {
      failure.value = `Playback is not available: ${message(err)}`;
      return undefined;
    }
  }

  async function seekTo(time: number) {
    const at = Math.min(Math.max(time, 0), durationS);
    position.value = at;
    if (!mayPlay) return;
    const player = await open();
    if (player) player.currentTime = at;
  }

  function seek(event: MouseEvent) {
    const rect = (event.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    void seekTo(timeAtX(event.clientX - rect.left, rect.width, durationS));
  }

  function seekByKey(event: KeyboardEvent) {
    const move = SEEK_KEYS[event.key];
    if (!move) return;
    event.preventDefault();
    void seekTo(move(position.value, durationS));
  }

  return (
    <section class="rec-player" aria-labelledby="rec-player-title">
      <h2 id="rec-player-title" class="visually-hidden">
        Player
      </h2>
      {complete ? (
        // The waveform is the seek bar (a slider): a range input cannot draw it.
        <canvas
          ref={canvas}
          class="rec-wave"
          data-testid="rec-wave"
          role="slider"
          tabIndex={0}
          aria-label="Waveform: position (click, or arrow keys, Page Up/Down, Home, End)"
          aria-valuemin={0}
          aria-valuemax={Math.round(durationS)}
          aria-valuenow={Math.round(position.value)}
          aria-valuetext={`${formatDuration(position.value * 1000)} of ${formatDuration(durationS * 1000)}`}
          onClick={seek}
          onKeyDown={seekByKey}
        />
      ) : (
        <p class="empty">
          The recording is {recording.state}: its waveform and player come once its file is complete.
        </p>
      )}
      {complete && mayPlay && (
        <div class="rec-controls">
          {!src.value && (
            <button
              type="button"
              onClick={async () => {
                const player = await open();
                if (player) {
                  player.currentTime = position.value;
                  await player.play().catch((err: unknown) => {
                    failure.value = `Playback did not start: ${message(err)}`;
                  });
                }
              }}
            >
              Play
            </button>
          )}
          {src.value && (
            // biome-ignore lint/a11y/useMediaCaption: recordings of rooms have no captions to offer
            <audio
              ref={audio}
              controls
              preload="metadata"
              src={src.value}
              data-testid="rec-audio"
              onTimeUpdate={(e) => {
                position.value = e.currentTarget.currentTime;
              }}
            />
          )}
          <span>
            {formatDuration(position.value * 1000)} / {formatDuration(durationS * 1000)}
          </span>
        </div>
      )}
      {complete && mayDownload && (
        // The session cookie goes with it (a GET: no CSRF token, no token in the URL).
        <p>
          <a href={`/api/v1/recordings/${encodeURIComponent(recording.id)}/file`} download>
            Download the file
          </a>
        </p>
      )}
      {failure.value && (
        <p class="error" role="alert">
          {failure.value}
        </p>
      )}
    </section>
  );
}
