/**
 * The create / edit form of a schedule, in a native modal `<dialog>` (Esc closes it, focus goes
 * back to what opened it): name, target nodes, start as local time in an IANA zone, duration,
 * and the recurrence editor (frequency, interval, weekdays, until / count) writing the RRULE
 * line the API accepts; a rule the editor cannot show is edited as text. The controller checks
 * everything again and its refusal is shown in the form.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { allPages, api } from '../api.js';
import { failure } from '../loaded.js';
import { CancelButton, closeDialogOf, ModalDialog } from '../modal-dialog.js';
import {
  BYDAY,
  DEFAULT_RECURRENCE,
  FREQUENCIES,
  fieldsFromRule,
  operatorZone,
  overlaps,
  overlapsOf,
  overlapText,
  type RecurrenceFields,
  ruleFromFields,
  timeZones,
} from '../schedules-model.js';
import { can } from '../session.js';
import { neighbourhood, type Schedule } from './schedules-data.js';

const FREQUENCY_LABEL: Record<string, string> = {
  ONCE: 'Once',
  HOURLY: 'Hourly',
  DAILY: 'Daily',
  WEEKLY: 'Weekly',
  MONTHLY: 'Monthly',
  YEARLY: 'Yearly',
};
const DAY_LABEL: Record<string, string> = {
  MO: 'Mon',
  TU: 'Tue',
  WE: 'Wed',
  TH: 'Thu',
  FR: 'Fri',
  SA: 'Sat',
  SU: 'Sun',
};

interface Draft {
  name: string;
  nodeIds: string[];
  start: string;
  timeZone: string;
  durationMinutes: number;
  preRollSeconds: number;
  postRollSeconds: number;
  enabled: boolean;
  fields: RecurrenceFields | undefined;
  ruleText: string;
}

function draftOf(schedule: Schedule | undefined, nodeId: string): Draft {
  if (!schedule)
    return {
      name: '',
      nodeIds: nodeId ? [nodeId] : [],
      start: '',
      timeZone: operatorZone(),
      durationMinutes: 60,
      preRollSeconds: 0,
      postRollSeconds: 0,
      enabled: true,
      fields: { ...DEFAULT_RECURRENCE },
      ruleText: '',
    };
  return {
    name: schedule.name,
    nodeIds: schedule.targets.map((t) => t.nodeId),
    start: schedule.start.slice(0, 16),
    timeZone: schedule.timeZone,
    durationMinutes: Math.max(1, Math.round(schedule.durationSeconds / 60)),
    preRollSeconds: schedule.preRollSeconds,
    postRollSeconds: schedule.postRollSeconds,
    enabled: schedule.enabled,
    fields: fieldsFromRule(schedule.recurrence),
    ruleText: schedule.recurrence,
  };
}

function useNodeIds() {
  const nodes = useSignal<{ id: string; name: string }[] | undefined>(undefined);
  useEffect(() => {
    if (!can('node:read')) return;
    allPages<{ id: string; name: string }>('/nodes').then(
      (all) => {
        nodes.value = all;
      },
      () => {
        nodes.value = undefined;
      },
    );
  }, []);
  return nodes.value;
}

const DAY_MS = 24 * 3600_000;

/** An existing schedule's overlaps with others on its nodes over the next 14 days (the API's occurrences). */
function useCurrentOverlaps(schedule: Schedule | undefined): string[] | undefined {
  const found = useSignal<string[] | undefined>(undefined);
  useEffect(() => {
    if (!schedule) return;
    const from = Date.now();
    neighbourhood(schedule, from, from + 14 * DAY_MS).then(
      (near) => {
        found.value = overlapsOf(schedule.id, overlaps(near))
          .slice(0, 10)
          .map((o) => overlapText(o, schedule.timeZone));
      },
      () => {
        found.value = undefined;
      },
    );
  }, [schedule]);
  return found.value;
}

export function ScheduleForm(props: {
  schedule?: Schedule;
  nodeId: string;
  onSaved: (schedule: Schedule) => void;
  onClose: () => void;
}) {
  const draft = useSignal<Draft>(draftOf(props.schedule, props.nodeId));
  const error = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);
  const nodes = useNodeIds();
  const current = useCurrentOverlaps(props.schedule);
  const zones = useRef(timeZones()).current;
  const d = draft.value;
  const set = (patch: Partial<Draft>) => {
    draft.value = { ...draft.value, ...patch };
  };
  const setFields = (patch: Partial<RecurrenceFields>) =>
    set({ fields: { ...draft.value.fields!, ...patch } });

  async function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    if (d.nodeIds.length === 0) {
      error.value = 'Choose at least one node.';
      return;
    }
    const body = {
      name: d.name.trim(),
      targets: d.nodeIds.map((nodeId) => ({ nodeId })),
      start: d.start,
      timeZone: d.timeZone,
      durationSeconds: Math.round(d.durationMinutes * 60),
      preRollSeconds: Math.round(d.preRollSeconds),
      postRollSeconds: Math.round(d.postRollSeconds),
      enabled: d.enabled,
      recurrence: d.fields ? ruleFromFields(d.fields) : d.ruleText,
    };
    busy.value = true;
    try {
      const { data } = props.schedule
        ? await api<{ data: Schedule }>('PATCH', `/schedules/${encodeURIComponent(props.schedule.id)}`, body)
        : await api<{ data: Schedule }>('POST', '/schedules', body);
      props.onSaved(data);
      closeDialogOf(form);
    } catch (err) {
      error.value = failure(err);
    } finally {
      busy.value = false;
    }
  }

  const f = d.fields;
  return (
    <ModalDialog
      class="sched-dialog"
      title={props.schedule ? `Edit ${props.schedule.name}` : 'New schedule'}
      onClose={props.onClose}
    >
      <form class="sched-form" onSubmit={(e) => void submit(e)}>
        {current && current.length > 0 && (
          <div class="warning" role="status">
            <p>Now, in the next 14 days:</p>
            <ul aria-label="Current overlaps">
              {current.map((text) => (
                <li key={text}>⚠ {text}</li>
              ))}
            </ul>
            <p>Saving checks again.</p>
          </div>
        )}
        <label>
          Name
          <input
            required
            maxLength={200}
            value={d.name}
            onInput={(e) => set({ name: e.currentTarget.value })}
          />
        </label>
        <fieldset>
          <legend>Nodes</legend>
          {nodes ? (
            nodes.map((node) => (
              <label key={node.id} class="inline">
                <input
                  type="checkbox"
                  checked={d.nodeIds.includes(node.id)}
                  onChange={(e) =>
                    set({
                      nodeIds: e.currentTarget.checked
                        ? [...d.nodeIds, node.id]
                        : d.nodeIds.filter((id) => id !== node.id),
                    })
                  }
                />
                {node.name} <span class="muted">({node.id})</span>
              </label>
            ))
          ) : (
            <label>
              Node ids (space-separated)
              <input
                value={d.nodeIds.join(' ')}
                onInput={(e) => set({ nodeIds: e.currentTarget.value.split(/\s+/).filter(Boolean) })}
              />
            </label>
          )}
        </fieldset>
        <div class="row">
          <label>
            Start (local time)
            <input
              type="datetime-local"
              required
              value={d.start}
              onInput={(e) => set({ start: e.currentTarget.value })}
            />
          </label>
          <label>
            Time zone
            <select value={d.timeZone} onChange={(e) => set({ timeZone: e.currentTarget.value })}>
              {(zones.includes(d.timeZone) ? zones : [d.timeZone, ...zones]).map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
          </label>
          <label>
            Duration (minutes)
            <input
              type="number"
              min={1}
              max={1440}
              required
              value={d.durationMinutes}
              onInput={(e) => set({ durationMinutes: Number(e.currentTarget.value) })}
            />
          </label>
          <label>
            Pre-roll (seconds)
            <input
              type="number"
              min={0}
              max={3600}
              value={d.preRollSeconds}
              onInput={(e) => set({ preRollSeconds: Number(e.currentTarget.value) })}
            />
          </label>
          <label>
            Post-roll (seconds)
            <input
              type="number"
              min={0}
              max={3600}
              value={d.postRollSeconds}
              onInput={(e) => set({ postRollSeconds: Number(e.currentTarget.value) })}
            />
          </label>
        </div>
        <fieldset>
          <legend>Repeats</legend>
          {f ? (
            <>
              <div class="row">
                <label>
                  Frequency
                  <select
                    value={f.frequency}
                    onChange={(e) =>
                      setFields({ frequency: e.currentTarget.value as RecurrenceFields['frequency'] })
                    }
                  >
                    {FREQUENCIES.map((q) => (
                      <option key={q} value={q}>
                        {FREQUENCY_LABEL[q]}
                      </option>
                    ))}
                  </select>
                </label>
                {f.frequency !== 'ONCE' && (
                  <label>
                    Every (interval)
                    <input
                      type="number"
                      min={1}
                      max={1000}
                      value={f.interval}
                      onInput={(e) => setFields({ interval: Number(e.currentTarget.value) })}
                    />
                  </label>
                )}
              </div>
              {f.frequency === 'WEEKLY' && (
                <fieldset class="weekdays">
                  <legend>On (none: the start's weekday)</legend>
                  {BYDAY.map((day) => (
                    <label key={day} class="inline">
                      <input
                        type="checkbox"
                        checked={f.weekdays.includes(day)}
                        onChange={(e) =>
                          setFields({
                            weekdays: e.currentTarget.checked
                              ? [...f.weekdays, day]
                              : f.weekdays.filter((x) => x !== day),
                          })
                        }
                      />
                      {DAY_LABEL[day]}
                    </label>
                  ))}
                </fieldset>
              )}
              {f.frequency !== 'ONCE' && (
                <div class="row">
                  <label>
                    Ends
                    <select
                      value={f.end}
                      onChange={(e) => setFields({ end: e.currentTarget.value as RecurrenceFields['end'] })}
                    >
                      <option value="never">Never</option>
                      <option value="until">On a date</option>
                      <option value="count">After a number of times</option>
                    </select>
                  </label>
                  {f.end === 'until' && (
                    <label>
                      Last day
                      <input
                        type="date"
                        required
                        value={f.until}
                        onInput={(e) => setFields({ until: e.currentTarget.value })}
                      />
                    </label>
                  )}
                  {f.end === 'count' && (
                    <label>
                      Times
                      <input
                        type="number"
                        min={1}
                        required
                        value={f.count}
                        onInput={(e) => setFields({ count: Number(e.currentTarget.value) })}
                      />
                    </label>
                  )}
                </div>
              )}
              <p class="muted">
                Rule: <code>{ruleFromFields(f) || '(once, at the start)'}</code>
              </p>
            </>
          ) : (
            <label>
              Rule (RFC 5545 RRULE / RDATE / EXDATE lines, local times)
              <textarea
                rows={3}
                value={d.ruleText}
                onInput={(e) => set({ ruleText: e.currentTarget.value })}
              />
            </label>
          )}
        </fieldset>
        <label class="inline">
          <input
            type="checkbox"
            checked={d.enabled}
            onChange={(e) => set({ enabled: e.currentTarget.checked })}
          />
          Enabled
        </label>
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="sched-actions">
          <CancelButton />
          <button type="submit" disabled={busy.value}>
            {props.schedule ? 'Save' : 'Create schedule'}
          </button>
        </div>
      </form>
    </ModalDialog>
  );
}
