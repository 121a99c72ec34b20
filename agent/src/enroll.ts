/** `earshot-agent enroll`: exchange a one-time enrollment token for the node credential. */
import { parseNodeCredential } from '../../shared/src/agent-api.js';
import { AgentHttpClient, ApiError, describeError, NetworkError } from './link/http-client.js';
import {
  type AgentState,
  normaliseControllerUrl,
  readAgentState,
  writeAgentState,
} from './state/state-file.js';

export interface EnrollRequest {
  controllerUrl: string;
  token: string;
  statePath: string;
  /** Replace an existing enrollment. */
  force?: boolean;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** Enrolls and writes the state file; returns the stored state. Errors say what to do. */
export async function enroll(request: EnrollRequest): Promise<AgentState> {
  const controllerUrl = normaliseControllerUrl(request.controllerUrl);
  const existing = await readAgentState(request.statePath).catch(() => undefined);
  if (existing && !request.force) {
    throw new Error(
      `already enrolled as node ${existing.nodeId} with ${existing.controllerUrl} (${request.statePath}); ` +
        'pass --force to replace that enrollment, or --config to use another state file',
    );
  }
  const client = new AgentHttpClient({ baseUrl: controllerUrl, fetch: request.fetch });
  let result: Awaited<ReturnType<AgentHttpClient['enroll']>>;
  try {
    result = await client.enroll(request.token.trim());
  } catch (error) {
    if (error instanceof NetworkError) {
      throw new Error(
        `cannot reach the controller at ${controllerUrl}: ${describeError(error)}; check the URL and network`,
      );
    }
    if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
      throw new Error(
        `the controller refused the enrollment token (${error.status} ${error.code}: ${error.message}); ` +
          'tokens are single-use and expire: create a new one for this node on the controller',
      );
    }
    throw new Error(`enrollment failed: ${describeError(error)}`);
  }
  if (parseNodeCredential(result.credential)?.nodeId !== result.nodeId) {
    throw new Error('the controller returned a credential that does not match the node id; not stored');
  }
  const state: AgentState = {
    version: 1,
    controllerUrl,
    nodeId: result.nodeId,
    name: result.name,
    siteId: result.siteId,
    credential: result.credential,
    mqttPort: result.mqttPort,
    enrolledAt: (request.now ?? (() => new Date()))().toISOString(),
  };
  await writeAgentState(request.statePath, state);
  return state;
}
