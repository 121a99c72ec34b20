/**
 * Reconciling an agent's report of its audio interfaces with what the controller knows, by the
 * stable device reference (`ref`): a new reference is created; a known one is updated (facts
 * the agent reports, present again) or only seen; a present one missing from the report is
 * marked absent, never deleted. Operator fields (alias, enabled channels, channel names) are
 * not the agent's to change and are left alone. Pure: the service applies the plan.
 */
import type { ReportedInterface } from '../../../../shared/src/agent-api.js';

/** What the reconciliation reads of a stored interface. */
export interface KnownInterface {
  id: string;
  ref: string;
  kind: string;
  description: string;
  channels: number;
  sampleRate: number | null;
  present: boolean;
}

export interface InventoryPlan {
  create: ReportedInterface[];
  /** Known interfaces whose reported facts changed, or that came back. */
  update: { known: KnownInterface; reported: ReportedInterface }[];
  /** Known interfaces reported again, unchanged: only their last-seen time moves. */
  seen: KnownInterface[];
  /** Present interfaces the report no longer lists. */
  absent: KnownInterface[];
}

/** The references listed more than once (a report must name each device once). */
export function duplicateRefs(reported: readonly ReportedInterface[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const { ref } of reported) (seen.has(ref) ? twice : seen).add(ref);
  return [...twice];
}

function sameFacts(known: KnownInterface, reported: ReportedInterface): boolean {
  return (
    known.kind === reported.kind &&
    known.description === reported.description &&
    known.channels === reported.channels &&
    known.sampleRate === reported.sampleRate
  );
}

export function planInventory(
  known: readonly KnownInterface[],
  reported: readonly ReportedInterface[],
): InventoryPlan {
  const byRef = new Map(known.map((k) => [k.ref, k]));
  const listed = new Set(reported.map((r) => r.ref));
  const plan: InventoryPlan = { create: [], update: [], seen: [], absent: [] };
  for (const r of reported) {
    const k = byRef.get(r.ref);
    if (!k) plan.create.push(r);
    else if (k.present && sameFacts(k, r)) plan.seen.push(k);
    else plan.update.push({ known: k, reported: r });
  }
  plan.absent = known.filter((k) => k.present && !listed.has(k.ref));
  return plan;
}

/** True when applying the plan changes more than last-seen times (and so is audited). */
export function planChanges(plan: InventoryPlan): boolean {
  return plan.create.length + plan.update.length + plan.absent.length > 0;
}

/** Operator input checked against the interface's channel count; messages for a 400. */
export function operatorFieldProblems(
  channels: number,
  input: { enabledChannels?: number[] | null; channelNames?: string[] },
): string[] {
  const problems: string[] = [];
  const outside = (input.enabledChannels ?? []).filter((c) => c > channels);
  if (outside.length > 0)
    problems.push(
      `enabledChannels: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not a channel of ` +
        `this ${channels}-channel interface (channels are numbered 1 to ${channels})`,
    );
  if (input.channelNames && input.channelNames.length > channels)
    problems.push(
      `channelNames: ${input.channelNames.length} names for a ${channels}-channel interface ` +
        `(at most ${channels})`,
    );
  return problems;
}
