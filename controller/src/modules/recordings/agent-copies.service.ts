/**
 * What agents report of their cached copies: an agent-cache retention policy (handed to every
 * agent with its config) removed the agent's copy of a recording the controller had confirmed.
 * Recorded on the recording once, with its audit event naming the policy and the limit.
 */
import type { AgentCopyRemovedBody } from '../../../../shared/src/agent-api.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { conflict } from '../../core/errors.js';
import type { CallContext } from '../../core/principal.js';
import type { Db } from '../../db/client.js';
import { ownRecording } from './own-recording.js';
import type { RecordingsRepository } from './recordings.repository.js';

export class AgentCopiesService {
  constructor(
    private readonly db: Db,
    private readonly recordings: RecordingsRepository,
    private readonly audit: AuditWriter,
  ) {}

  async removed(id: string, body: AgentCopyRemovedBody, ctx: CallContext): Promise<void> {
    const recording = await ownRecording(this.recordings, ctx.principal, id);
    if (recording.state !== 'completed')
      throw conflict(
        `The controller has not confirmed recording ${id} (it is ${recording.state}): the agent's copy ` +
          'may be its only one. Keep it until the upload completes.',
      );
    const at = new Date(body.removedAt);
    const { policy, rule } = body;
    await this.db.$transaction(async (tx) => {
      // A repeated report (the agent did not hear the answer) changes nothing and is not audited again.
      if (!(await this.recordings.markAgentCopyRemoved(tx, id, at, policy?.id ?? null))) return;
      await this.audit.recordChange(tx, ctx, {
        permission: 'recording:control',
        action: 'recording.agent_copy_removed',
        target: { type: 'recording', id },
        reason: policy
          ? `agent-cache retention policy "${policy.name}" (${rule})`
          : 'no agent-cache retention policy keeps copies any more',
        before: { agentCopy: 'kept' },
        after: { agentCopy: 'removed', removedAt: at.toISOString(), policy, rule },
      });
    });
  }
}
