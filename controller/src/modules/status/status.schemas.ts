/** The aggregated status (`GET /api/v1/status`). */
import Type, { type Static } from 'typebox';

const Count = Type.Integer({ minimum: 0 });

export const StatusSchema = Type.Object({
  nodes: Type.Object({
    total: Count,
    online: Count,
    offline: Count,
    /** Nodes with at least one recording in flight. */
    recording: Count,
  }),
  /** Unresolved health events by severity (running suppressions left out). */
  healthEvents: Type.Object({ info: Count, warning: Count, critical: Count }),
  recordings: Type.Object({ inFlight: Count }),
  uptimeSeconds: Type.Integer({ minimum: 0 }),
  version: Type.String(),
  at: Type.String({ format: 'date-time' }),
});
export type Status = Static<typeof StatusSchema>;
