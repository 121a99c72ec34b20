/**
 * What the broker and the meters module need to know about nodes. The nodes module's
 * service implements it; tests may pass a small in-memory one.
 */
export interface NodeIdentity {
  nodeId: string;
  siteId: string;
}

export interface NodeDirectory {
  /** A node credential `<nodeId>.<secret>`; undefined when it is not valid. */
  authenticate(credential: string): Promise<(NodeIdentity & { kind: 'node' }) | undefined>;
  /** The node's site, for scope checks; undefined when the node does not exist. */
  scopeOf(nodeId: string): Promise<NodeIdentity | undefined>;
  /** The agent's MQTT status (or its last will) changed. */
  setPresence(nodeId: string, online: boolean, agentVersion?: string): Promise<void>;
  /** Presence another replica recorded (clustered broker): this replica's memory only. */
  markPresence(nodeId: string, online: boolean): void;
}
