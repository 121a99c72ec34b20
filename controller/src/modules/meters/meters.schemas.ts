import Type from 'typebox';
import { NODE_ID_PATTERN } from '../../../../shared/src/ids.js';
import { MeterFrame } from '../../../../shared/src/mqtt.js';

const nodeId = (description: string) => Type.String({ pattern: NODE_ID_PATTERN, description });

export const MeterParams = Type.Object({ id: nodeId('Node id') });

/** Nodes one meter stream may name at most. */
export const MAX_METER_STREAM_NODES = 200;
const NODE_ID_CHARS = NODE_ID_PATTERN.slice(1, -1);

/** Node ids, comma-separated, at most MAX_METER_STREAM_NODES (the events stream's `meters` too). */
export const MeterNodesList = (description: string) =>
  Type.String({
    pattern: `^${NODE_ID_CHARS}(,${NODE_ID_CHARS}){0,${MAX_METER_STREAM_NODES - 1}}$`,
    description,
  });

export const MeterEventsQuery = Type.Object(
  {
    nodeId: Type.Optional(
      Type.Array(nodeId('A node'), {
        maxItems: MAX_METER_STREAM_NODES,
        description:
          'Only this node (repeat for several); each must be one you may read (404, for the whole ' +
          'stream, when one is not found or is outside your scope)',
      }),
    ),
    nodes: Type.Optional(
      MeterNodesList(
        `Only these nodes, comma-separated (at most ${MAX_METER_STREAM_NODES}, with \`nodeId\`), checked the same way`,
      ),
    ),
    rate: Type.Optional(
      Type.Integer({
        enum: [1, 10],
        default: 10,
        description:
          'Frames per node per second: 10 (every frame, about 10 a second) or 1 (one a second, carrying ' +
          'the highest peak and true peak and the clips of that second, and the latest RMS and loudness)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const MeterSnapshot = Type.Object({
  nodeId: Type.String(),
  frame: Type.Union([MeterFrame, Type.Null()], { description: 'Null until the agent sends a frame' }),
  receivedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
