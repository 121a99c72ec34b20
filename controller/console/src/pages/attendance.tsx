/**
 * Attendance: per guild, the leaderboard of the current period or of an archived one (its
 * signed snapshot), a member's detail, the signing status (the key, records waiting to be
 * signed, each archived period signed or not, its signature verified on request) and the
 * signed export of an archived period as a plain download link (the session cookie; no token
 * in the URL). Guild, period and member are in the URL.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError, allPages, api } from '../api.js';
import {
  type AttendanceView,
  attendanceSearch,
  attendanceViewFrom,
  type BoardEntry,
  currentBoard,
  duration,
  nameAsks,
  snapshotBoard,
  withNames,
} from '../attendance-model.js';
import { LoadState, useLoaded } from '../loaded.js';
import { location, navigate } from '../router.js';
import './attendance.css';
import { Ago } from '../time-ago.js';

interface Guild {
  id: string;
  name: string;
  time_zone: string;
  period_index: number;
  period_started_at: string;
}

interface SigningStatus {
  has_key: boolean;
  locked: boolean;
  key_id: string | null;
  pending_sessions: number;
  pending_periods: number;
  period: { index: number; started_at: string; next_reset_at: string | null };
}

interface ArchivedPeriod {
  period_index: number;
  started_at: string;
  ended_at: string;
  signed: boolean;
  key_id: string | null;
  snapshot: unknown;
}

interface MemberStats {
  user_id: string;
  display_name: string | null;
  period_index: number;
  rank: number | null;
  sessions: number;
  active_seconds: number;
  paused_seconds: number;
  channels: { channel_id: string; active_seconds: number; sessions: number }[];
}

interface GuildState {
  status: SigningStatus;
  periods: ArchivedPeriod[];
  exportAllowed: boolean;
}

const message = (err: unknown) =>
  err instanceof ApiError || err instanceof Error ? err.message : 'The controller did not answer.';

const guildPath = (guild: string, path: string) => `/guilds/${encodeURIComponent(guild)}${path}`;

function go(view: Partial<AttendanceView>, replace = false) {
  navigate(`${location.value.path}${attendanceSearch(view)}`, { replace });
}

/** A member or a channel: its name with the id beside it, or the id alone when no name is known. */
function NamedId({ name, id }: { name: string | null | undefined; id: string }) {
  if (!name) return <>{id}</>;
  return (
    <>
      {name} <span class="attendance-id">{id}</span>
    </>
  );
}

const NO_NAMES: ReadonlyMap<string, string> = new Map();

/** The names of an archived board's members (its snapshot holds ids only); none if they cannot be read. */
function useBoardNames(guild: string, board: BoardEntry[], key: number): ReadonlyMap<string, string> {
  const names = useLoaded(
    () =>
      Promise.all(
        nameAsks(board).map((ids) =>
          api<{ data: { members: { user_id: string; display_name: string }[] } }>(
            'GET',
            guildPath(guild, `/members?user_ids=${ids.join(',')}`),
          ),
        ),
      ).then(
        (answers) => new Map(answers.flatMap((a) => a.data.members.map((m) => [m.user_id, m.display_name]))),
      ),
    [guild, key],
    { clear: true },
  );
  return names.data.value ?? NO_NAMES; // the ids are shown until (or unless) the names come
}

export default function AttendancePage() {
  const view = attendanceViewFrom(location.value.search);
  const loaded = useLoaded(
    () =>
      allPages<Guild>('/guilds').then((all) => {
        const first = all[0];
        if (!view.guild && first) go({ guild: first.id }, true);
        return all;
      }),
    [],
  );
  const guilds = loaded.data;

  return (
    <section class="page attendance-page">
      <h1>Attendance</h1>
      <LoadState of={loaded} empty="No guilds yet: attendance starts when one is registered." />
      {guilds.value && guilds.value.length > 0 && (
        <form class="filters" aria-label="Choose the guild" onSubmit={(e) => e.preventDefault()}>
          <label for="attendance-guild">Guild</label>
          <select
            id="attendance-guild"
            value={view.guild ?? ''}
            onChange={(e) => go({ guild: e.currentTarget.value })}
          >
            {guilds.value.map((guild) => (
              <option key={guild.id} value={guild.id}>
                {guild.name}
              </option>
            ))}
          </select>
        </form>
      )}
      {view.guild && <GuildAttendance key={view.guild} view={view} guild={view.guild} />}
    </section>
  );
}

async function readGuild(guild: string): Promise<GuildState> {
  const [status, periods, plan] = await Promise.all([
    api<{ data: SigningStatus }>('GET', guildPath(guild, '/signing/status')),
    api<{ data: ArchivedPeriod[] }>('GET', guildPath(guild, '/signing/history?limit=100')),
    api<{ data: { features: { feature: string; available: boolean }[] } }>(
      'GET',
      guildPath(guild, '/subscription'),
    ).catch(() => undefined),
  ]);
  const exportAllowed =
    plan?.data.features.some((f) => f.feature === 'period_export' && f.available) ?? false;
  return { status: status.data, periods: periods.data, exportAllowed };
}

function GuildAttendance({ view, guild }: { view: AttendanceView; guild: string }) {
  const loaded = useLoaded(() => readGuild(guild), [guild], {
    notFound: 'No such guild (or not yours to see).',
  });
  if (!loaded.data.value) return <LoadState of={loaded} />;
  const { status, periods, exportAllowed } = loaded.data.value;
  const archived =
    view.period === 'current' ? undefined : periods.find((p) => p.period_index === view.period);
  return (
    <>
      <SigningPanel status={status} />
      <form class="filters" aria-label="Choose the period" onSubmit={(e) => e.preventDefault()}>
        <label for="attendance-period">Period</label>
        <select
          id="attendance-period"
          value={String(view.period)}
          onChange={(e) =>
            go({
              guild,
              period: e.currentTarget.value === 'current' ? 'current' : Number(e.currentTarget.value),
            })
          }
        >
          <option value="current">Current (period {status.period.index})</option>
          {periods.map((p) => (
            <option key={p.period_index} value={p.period_index}>
              Period {p.period_index} · ended {new Date(p.ended_at).toLocaleDateString()} ·{' '}
              {p.signed ? 'signed' : 'unsigned'}
            </option>
          ))}
        </select>
      </form>
      {view.period === 'current' ? (
        <CurrentBoard view={view} guild={guild} startedAt={status.period.started_at} />
      ) : archived ? (
        <ArchivedBoard view={view} guild={guild} period={archived} exportAllowed={exportAllowed} />
      ) : (
        <p class="error" role="alert">
          No archived period {view.period} in this guild.
        </p>
      )}
    </>
  );
}

function SigningPanel({ status }: { status: SigningStatus }) {
  const key = !status.has_key
    ? 'No signing key: records are kept unsigned.'
    : status.locked
      ? 'Locked'
      : 'Unlocked';
  return (
    <section aria-labelledby="attendance-signing" class="attendance-signing">
      <h2 id="attendance-signing">Signatures</h2>
      <dl class="facts">
        <div>
          <dt>Signing key</dt>
          <dd>
            {key}
            {status.key_id && ` · ${status.key_id}`}
          </dd>
        </div>
        <div>
          <dt>Waiting to be signed</dt>
          <dd data-pending-sessions={status.pending_sessions}>
            {status.pending_sessions} session records, {status.pending_periods} periods
          </dd>
        </div>
        <div>
          <dt>Current period</dt>
          <dd>
            {status.period.index}, started <Ago iso={status.period.started_at} />
            {status.period.next_reset_at && (
              <> · resets {new Date(status.period.next_reset_at).toLocaleString()}</>
            )}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function CurrentBoard({
  view,
  guild,
  startedAt,
}: {
  view: AttendanceView;
  guild: string;
  startedAt: string;
}) {
  const board = useSignal<BoardEntry[] | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => {
    let stale = false;
    api<{ data: { entries: Parameters<typeof currentBoard>[0] } }>(
      'GET',
      guildPath(guild, '/leaderboard?limit=100'),
    ).then(
      (answer) => {
        if (!stale) board.value = currentBoard(answer.data.entries);
      },
      (err) => {
        if (!stale) error.value = message(err);
      },
    );
    return () => {
      stale = true;
    };
  }, [guild]);
  return (
    <section aria-labelledby="attendance-board">
      <h2 id="attendance-board">Leaderboard, current period</h2>
      <p class="attendance-meta">
        Since <Ago iso={startedAt} />; live figures, not signed until the period ends.
      </p>
      <Board view={view} board={board.value} error={error.value} />
      {view.member && <CurrentMember guild={guild} member={view.member} />}
    </section>
  );
}

function ArchivedBoard(props: {
  view: AttendanceView;
  guild: string;
  period: ArchivedPeriod;
  exportAllowed: boolean;
}) {
  const { view, guild, period, exportAllowed } = props;
  const signed = snapshotBoard(period.snapshot);
  const board = withNames(signed, useBoardNames(guild, signed, period.period_index));
  const member = view.member ? board.find((entry) => entry.userId === view.member) : undefined;
  return (
    <section aria-labelledby="attendance-board">
      <h2 id="attendance-board">Leaderboard, period {period.period_index}</h2>
      <p class="attendance-meta">
        {new Date(period.started_at).toLocaleString()} – {new Date(period.ended_at).toLocaleString()}
      </p>
      <Verification guild={guild} period={period} />
      {period.signed &&
        (exportAllowed ? (
          <p>
            <a
              class="button"
              href={`/api/v1${guildPath(guild, `/export/period/${period.period_index}`)}`}
              download={`attendance-${guild}-period-${period.period_index}.json`}
            >
              Download the signed export
            </a>
          </p>
        ) : (
          <p class="attendance-meta">The signed export needs the guild’s Pro plan.</p>
        ))}
      <Board view={view} board={board} error={undefined} />
      {view.member && (
        <section aria-labelledby="attendance-member" class="attendance-member">
          <h3 id="attendance-member">
            Member <NamedId name={member?.name} id={view.member} />
          </h3>
          {member ? (
            <p>
              Rank {member.rank} · {duration(member.activeSeconds)} active
            </p>
          ) : (
            <p class="empty">Not on this period’s leaderboard.</p>
          )}
        </section>
      )}
    </section>
  );
}

/** The period's signature as the API states it; verified on request (`verify-period`). */
function Verification({ guild, period }: { guild: string; period: ArchivedPeriod }) {
  const result = useSignal<{ valid: boolean; reason?: string; key_id?: string } | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);
  async function verify() {
    busy.value = true;
    try {
      const answer = await api<{ data: { valid: boolean; reason?: string; key_id?: string } }>(
        'POST',
        guildPath(guild, '/signing/verify-period'),
        { period_index: period.period_index },
      );
      result.value = answer.data;
      error.value = undefined;
    } catch (err) {
      error.value = message(err);
    } finally {
      busy.value = false;
    }
  }
  const r = result.value;
  return (
    <p class="attendance-signature" data-signed={String(period.signed)}>
      <span class={period.signed ? 'signature-signed' : 'signature-unsigned'}>
        {period.signed ? `Signed${period.key_id ? ` (key ${period.key_id})` : ''}` : 'Unsigned'}
      </span>{' '}
      {period.signed && (
        <button type="button" disabled={busy.value} onClick={() => void verify()}>
          Verify signature
        </button>
      )}{' '}
      <span role="status">
        {r &&
          (r.valid ? (
            <strong class="signature-valid">Verified</strong>
          ) : (
            <strong>Not valid: {r.reason}</strong>
          ))}
      </span>
      {error.value && (
        <span class="error" role="alert">
          {error.value}
        </span>
      )}
    </p>
  );
}

function Board({
  view,
  board,
  error,
}: {
  view: AttendanceView;
  board: BoardEntry[] | undefined;
  error?: string;
}) {
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!board) return <p class="loading">Loading…</p>;
  if (board.length === 0) return <p class="empty">Nobody attended in this period.</p>;
  const withSessions = board.some((entry) => entry.sessions !== null);
  return (
    <table class="attendance-board">
      <thead>
        <tr>
          <th scope="col">Rank</th>
          <th scope="col">Member</th>
          <th scope="col">Active</th>
          {withSessions && <th scope="col">Sessions</th>}
        </tr>
      </thead>
      <tbody>
        {board.map((entry) => (
          <tr key={entry.userId} data-user-id={entry.userId}>
            <td>{entry.rank}</td>
            <td>
              <a
                href={`${location.value.path}${attendanceSearch({ ...view, member: entry.userId })}`}
                aria-current={entry.userId === view.member ? 'true' : undefined}
              >
                <NamedId name={entry.name} id={entry.userId} />
              </a>
            </td>
            <td>{duration(entry.activeSeconds)}</td>
            {withSessions && <td>{entry.sessions}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The guild's channel names from the bot's gateway; none when no bot is connected there (ids are shown). */
function useChannelNames(guild: string): ReadonlyMap<string, string> {
  const names = useLoaded(
    () =>
      api<{ data: { channels: { id: string; name: string }[] } }>('GET', guildPath(guild, '/channels')).then(
        (answer) => new Map(answer.data.channels.map((c) => [c.id, c.name])),
      ),
    [guild],
    { clear: true },
  );
  return names.data.value ?? NO_NAMES; // 503 without a connected bot, 409 when it is not in the guild
}

function CurrentMember({ guild, member }: { guild: string; member: string }) {
  const stats = useLoaded(
    () => api<{ data: MemberStats }>('GET', guildPath(guild, `/stats?user_id=${member}`)).then((r) => r.data),
    [guild, member],
    { clear: true },
  );
  const s = stats.data.value;
  const channelNames = useChannelNames(guild);
  return (
    <section aria-labelledby="attendance-member" class="attendance-member">
      <h3 id="attendance-member">
        Member <NamedId name={s?.display_name} id={member} />
      </h3>
      <LoadState of={stats} />
      {s && (
        <>
          <p>
            {s.rank === null ? 'Not ranked' : `Rank ${s.rank}`} · {duration(s.active_seconds)} active ·{' '}
            {duration(s.paused_seconds)} paused · {s.sessions} {s.sessions === 1 ? 'session' : 'sessions'}
          </p>
          {s.channels.length > 0 && (
            <table class="attendance-board">
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  <th scope="col">Active</th>
                  <th scope="col">Sessions</th>
                </tr>
              </thead>
              <tbody>
                {s.channels.map((c) => (
                  <tr key={c.channel_id}>
                    <td>
                      <NamedId name={channelNames.get(c.channel_id)} id={c.channel_id} />
                    </td>
                    <td>{duration(c.active_seconds)}</td>
                    <td>{c.sessions}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
