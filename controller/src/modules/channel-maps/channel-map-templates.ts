/**
 * The `channel-map-templates` settings family: named channel layouts. A template says how many
 * channels the capture must have (`inputChannels`) and splits them into named groups, each a
 * list of 1-based capture channels (one recording per group). Storage, history, rollback,
 * audit and routes are the settings module's; a template assigned to a node cannot be deleted,
 * nor changed to need more channels than such a node captures.
 */
import Type, { type Static } from 'typebox';
import { settingsFamily } from '../settings/index.js';
import { ChannelMapsRepository } from './channel-maps.repository.js';

export const TEMPLATES_FAMILY = 'channel-map-templates';
export const MAX_CHANNELS = 64;

const Channel = Type.Integer({ minimum: 1, maximum: MAX_CHANNELS });

export const ChannelGroup = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'A slug, unique in the template (names the group’s recording)',
    }),
    channels: Type.Array(Channel, {
      minItems: 1,
      maxItems: MAX_CHANNELS,
      description: '1-based capture channels, in output order',
    }),
    channelNames: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: MAX_CHANNELS,
        description: 'One name per channel of the group, in the same order',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ChannelMapTemplateBody = Type.Object(
  {
    inputChannels: Type.Integer({
      minimum: 1,
      maximum: MAX_CHANNELS,
      description: 'How many channels the capture must have; every channel is at most this',
    }),
    groups: Type.Array(ChannelGroup, { minItems: 1, maxItems: MAX_CHANNELS }),
  },
  { additionalProperties: false },
);
export type ChannelMapTemplateBody = Static<typeof ChannelMapTemplateBody>;

const duplicates = <T>(values: readonly T[]) => [
  ...new Set(values.filter((v, i) => values.indexOf(v) !== i)),
];

/** What the schema cannot say about a template, as messages (each a 400). */
export function templateProblems(body: ChannelMapTemplateBody): string[] {
  const problems = duplicates(body.groups.map((g) => g.name)).map((n) => `group "${n}" is named twice`);
  const owner = new Map<number, string>();
  for (const group of body.groups) {
    for (const c of duplicates(group.channels))
      problems.push(`group "${group.name}" names channel ${c} twice`);
    for (const c of new Set(group.channels)) {
      if (c > body.inputChannels)
        problems.push(`group "${group.name}": channel ${c} is above inputChannels (${body.inputChannels})`);
      const other = owner.get(c);
      if (other !== undefined && other !== group.name)
        problems.push(`channel ${c} is in two groups: "${other}" and "${group.name}"`);
      owner.set(c, group.name);
    }
    if (group.channelNames && group.channelNames.length !== group.channels.length)
      problems.push(
        `group "${group.name}": ${group.channelNames.length} channelNames for ${group.channels.length} channels`,
      );
  }
  return problems;
}

/** The family definition; the nodes it is assigned to (and staged plans assigning it) are its users. */
export const channelMapTemplates = settingsFamily({
  name: TEMPLATES_FAMILY,
  title: 'channel-map template',
  body: ChannelMapTemplateBody,
  defaults: { inputChannels: 2, groups: [{ name: 'main', channels: [1, 2] }] },
  rules: templateProblems,
  // A change must still fit every node it is assigned to.
  check: async (object, db) => {
    if (object.id === null) return [];
    const nodes = await new ChannelMapsRepository(db).nodesUsing(object.id);
    return nodes
      .filter((n) => n.channels < object.body.inputChannels)
      .map(
        (n) =>
          `inputChannels ${object.body.inputChannels} is more than node ${n.id} captures (${n.channels}), ` +
          'and the node uses this template',
      );
  },
  inUse: async (object, db) => {
    const repo = new ChannelMapsRepository(db);
    const [nodes, plans] = await Promise.all([repo.nodesUsing(object.id), repo.stagedPlansUsing(object.id)]);
    return [
      ...nodes.map((n) => ({ type: 'node', id: n.id, name: n.name })),
      ...plans.map((p) => ({ type: 'staged channel-map plan', id: p.id, name: p.name })),
    ];
  },
});
