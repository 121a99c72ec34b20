/** The agent routes' rule for a recording: a node reaches only its own; anyone else gets a 404. */
import { hidden, notFound } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import type { RecordingRow, RecordingsRepository } from './recordings.repository.js';

export async function ownRecording(
  recordings: Pick<RecordingsRepository, 'find'>,
  principal: Principal,
  id: string,
): Promise<Visible<RecordingRow>> {
  const recording = await recordings.find(id);
  if (!recording) throw notFound('recording');
  const scope = { nodeId: recording.nodeId, siteId: recording.node.siteId };
  if (principal.kind !== 'node') throw hidden('recording', { type: 'recording', id }, 'recording:control');
  return visibleTo(principal, 'recording:control', recording, scope, {
    name: 'recording',
    target: { type: 'recording', id },
  });
}
