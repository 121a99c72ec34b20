import Type from 'typebox';
import { NODE_ID_PATTERN } from '../../../../shared/src/ids.js';
import { MeterFrame } from '../../../../shared/src/mqtt.js';

const nodeId = (description: string) => Type.String({ pattern: NODE_ID_PATTERN, description });

export const MeterParams = Type.Object({ id: nodeId('Node id') });

export const MeterEventsQuery = Type.Object(
  { nodeId: Type.Optional(nodeId('Only this node (404 when you may not read it)')) },
  { additionalProperties: false },
);

export const MeterSnapshot = Type.Object({
  nodeId: Type.String(),
  frame: Type.Union([MeterFrame, Type.Null()], { description: 'Null until the agent sends a frame' }),
  receivedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
