// Reconciling an agent's interface report with the stored inventory, and the operator-field
// checks against a channel count (controller/src/modules/nodes/interface-inventory.ts).
import { describe, expect, it } from 'vitest';
import {
  duplicateRefs,
  type KnownInterface,
  operatorFieldProblems,
  planChanges,
  planInventory,
} from '../../controller/src/modules/nodes/interface-inventory.js';
import type { ReportedInterface } from '../../shared/src/agent-api.js';

const reported = (ref: string, channels = 2): ReportedInterface => ({
  ref,
  kind: 'pulse',
  description: `device ${ref}`,
  channels,
  sampleRate: 48_000,
});
const known = (ref: string, channels = 2, present = true): KnownInterface => ({
  id: `id-${ref}`,
  ...reported(ref, channels),
  present,
});

describe('interface inventory', () => {
  it('creates new references, updates changed and returning ones, marks vanished ones absent', () => {
    const plan = planInventory(
      [
        known('same'),
        known('wider', 2),
        known('back', 2, false),
        known('gone'),
        known('long-gone', 2, false),
      ],
      [reported('same'), reported('wider', 4), reported('back'), reported('new', 8)],
    );
    expect(plan.create.map((r) => r.ref)).toEqual(['new']);
    expect(plan.update.map((u) => [u.known.ref, u.reported.channels])).toEqual([
      ['wider', 4],
      ['back', 2],
    ]);
    expect(plan.seen.map((k) => k.ref)).toEqual(['same']);
    // Already absent stays as it is: nothing to change.
    expect(plan.absent.map((k) => k.ref)).toEqual(['gone']);
    expect(planChanges(plan)).toBe(true);
  });

  it('an unchanged report changes nothing but last-seen times', () => {
    const plan = planInventory([known('a'), known('b', 2, false)], [reported('a')]);
    expect(plan).toMatchObject({ create: [], update: [], absent: [] });
    expect(planChanges(plan)).toBe(false);
  });

  it('a description change counts as a change', () => {
    const plan = planInventory([known('a')], [{ ...reported('a'), description: 'renamed by the driver' }]);
    expect(plan.update).toHaveLength(1);
  });

  it('names the references a report lists twice', () => {
    expect(duplicateRefs([reported('a'), reported('b'), reported('a')])).toEqual(['a']);
    expect(duplicateRefs([reported('a')])).toEqual([]);
  });

  it('checks enabled channels and channel names against the channel count', () => {
    expect(operatorFieldProblems(2, { enabledChannels: [1, 2], channelNames: ['L', 'R'] })).toEqual([]);
    expect(operatorFieldProblems(2, { enabledChannels: null })).toEqual([]);
    expect(operatorFieldProblems(2, { enabledChannels: [1, 9] })).toEqual([
      'enabledChannels: 9 is not a channel of this 2-channel interface (channels are numbered 1 to 2)',
    ]);
    expect(operatorFieldProblems(2, { channelNames: ['a', 'b', 'c'] })).toEqual([
      'channelNames: 3 names for a 2-channel interface (at most 2)',
    ]);
  });
});
