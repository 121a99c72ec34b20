/**
 * The members' slash commands: their registration JSON and how an interaction becomes
 * a plain AttendanceCommand for the service layer (which never sees discord.js).
 * One table, looked up by command name.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type ChatInputCommandInteraction,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';

/** A member's command, with Discord ids as strings. */
export type AttendanceCommand =
  | { name: 'stats'; guildId: string; userId: string }
  | { name: 'leaderboard'; guildId: string; userId: string }
  | { name: 'verify'; guildId: string; userId: string; receipt: string };

export type AttendanceCommandName = AttendanceCommand['name'];

/** What the bot answers; ephemeral replies are seen only by the member who asked. */
export interface CommandReply {
  content: string;
  ephemeral: boolean;
}

/** Discord's cap on a string option. */
const MAX_RECEIPT_LENGTH = 6000;

interface CommandDefinition {
  registration: RESTPostAPIChatInputApplicationCommandsJSONBody;
  parse(interaction: ChatInputCommandInteraction<'cached' | 'raw'>): AttendanceCommand;
}

const guildOnly: Pick<RESTPostAPIChatInputApplicationCommandsJSONBody, 'type' | 'contexts'> = {
  type: ApplicationCommandType.ChatInput,
  contexts: [InteractionContextType.Guild],
};

const COMMANDS: Record<AttendanceCommandName, CommandDefinition> = {
  stats: {
    registration: { ...guildOnly, name: 'stats', description: 'Your voice attendance in this server' },
    parse: (interaction) => ({ name: 'stats', guildId: interaction.guildId, userId: interaction.user.id }),
  },
  leaderboard: {
    registration: { ...guildOnly, name: 'leaderboard', description: 'Who has spent the most time in voice' },
    parse: (interaction) => ({
      name: 'leaderboard',
      guildId: interaction.guildId,
      userId: interaction.user.id,
    }),
  },
  verify: {
    registration: {
      ...guildOnly,
      name: 'verify',
      description: 'Check the signature on an attendance receipt',
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'receipt',
          description: 'The receipt, as exported',
          required: true,
          max_length: MAX_RECEIPT_LENGTH,
        },
      ],
    },
    parse: (interaction) => ({
      name: 'verify',
      guildId: interaction.guildId,
      userId: interaction.user.id,
      receipt: interaction.options.getString('receipt', true),
    }),
  },
};

/** The body of `PUT /applications/{id}/commands`. */
export function attendanceCommandRegistrations(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return Object.values(COMMANDS).map((command) => command.registration);
}

/** The command an interaction asks for; undefined outside a guild or for a name we do not own. */
export function parseAttendanceCommand(
  interaction: ChatInputCommandInteraction,
): AttendanceCommand | undefined {
  if (!interaction.inGuild()) return undefined;
  const definition = Object.hasOwn(COMMANDS, interaction.commandName)
    ? COMMANDS[interaction.commandName as AttendanceCommandName]
    : undefined;
  return definition?.parse(interaction);
}
