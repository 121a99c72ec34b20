/**
 * The agent's durable identity: controller URL, node id and node credential. Written
 * once by `enroll` (mode 0600, atomically) and read by `run` and `status`.
 */
import Type, { type Static } from 'typebox';
import { parseNodeCredential } from '../../../shared/src/agent-api.js';
import { ContractError, expectShape } from '../support/validate.js';
import { readJsonWithBackup, writeFileAtomic } from './atomic-file.js';

export const AgentState = Type.Object({
  version: Type.Literal(1),
  controllerUrl: Type.String({ minLength: 1 }),
  nodeId: Type.String({ minLength: 1 }),
  name: Type.String(),
  siteId: Type.String(),
  credential: Type.String({ minLength: 1 }),
  mqttPort: Type.Integer(),
  enrolledAt: Type.String(),
});
export type AgentState = Static<typeof AgentState>;

export class NotEnrolledError extends Error {
  constructor(readonly statePath: string) {
    super(
      `not enrolled (no state file at ${statePath}): run earshot-agent enroll --controller URL --token T` +
        ' (or point --config / EARSHOT_AGENT_CONFIG at the right file)',
    );
    this.name = 'NotEnrolledError';
  }
}

export async function readAgentState(path: string): Promise<AgentState | undefined> {
  const raw = await readJsonWithBackup(path);
  if (raw === undefined) return undefined;
  let state: AgentState;
  try {
    state = expectShape(AgentState, raw, path);
  } catch (error) {
    if (error instanceof ContractError) {
      throw new Error(`${error.message}; re-enroll with earshot-agent enroll --controller URL --token T`);
    }
    throw error;
  }
  if (parseNodeCredential(state.credential)?.nodeId !== state.nodeId) {
    throw new Error(`${path}: the stored credential does not belong to node ${state.nodeId}; re-enroll`);
  }
  return state;
}

export async function loadAgentState(path: string): Promise<AgentState> {
  const state = await readAgentState(path);
  if (!state) throw new NotEnrolledError(path);
  return state;
}

export async function writeAgentState(path: string, state: AgentState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The controller base URL without a trailing slash; throws a plain-words error when invalid. */
export function normaliseControllerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(
      `--controller must be a URL such as http://controller.local:8080, not ${JSON.stringify(value)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`--controller must be an http:// or https:// URL, not ${url.protocol}`);
  }
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}
