/**
 * Identifiers that reach MQTT topic names. Only these characters are allowed, so
 * no `+`, `#` or `/` can ever reach a topic or a topic filter.
 */
export const NODE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const nodeIdRegex = new RegExp(NODE_ID_PATTERN);

export function isValidNodeId(value: string): boolean {
  return nodeIdRegex.test(value);
}
