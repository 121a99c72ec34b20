/**
 * Discord API objects as the real gateway and REST API send them (v10), typed with
 * discord-api-types (re-exported by discord.js) so a missing field fails to compile
 * rather than surprising discord.js at run time.
 */
import {
  type APIApplication,
  type APIApplicationCommand,
  type APIGuildMember,
  type APIMessage,
  type APIRole,
  type APIUser,
  ApplicationCommandType,
  ApplicationFlags,
  ChannelType,
  type GatewayGuildCreateDispatchData,
  type GatewayInteractionCreateDispatchData,
  type GatewayVoiceState,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  type GuildMemberFlags,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  type GuildSystemChannelFlags,
  GuildVerificationLevel,
  InteractionContextType,
  InteractionType,
  Locale,
  MessageType,
  type RESTPutAPIApplicationCommandsJSONBody,
  type RoleFlags,
} from 'discord.js';

const DISCORD_EPOCH_MS = 1_420_070_400_000n;
let snowflakeIncrement = 0n;

/** A fresh, increasing snowflake (Discord id) as a string. */
export function snowflake(): string {
  snowflakeIncrement = (snowflakeIncrement + 1n) % 4096n;
  return String(((BigInt(Date.now()) - DISCORD_EPOCH_MS) << 22n) | snowflakeIncrement);
}

export interface FakeUser {
  id: string;
  username: string;
  /** The account's display name (Discord's `global_name`); the username when omitted. */
  globalName?: string | null;
  /** The member's nickname in the guild (members only). */
  nick?: string;
  bot?: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  /** ChannelType: 0 text, 2 voice, 4 category, 13 stage… */
  type: number;
  /** The category it sits in. */
  parentId?: string;
}

export interface FakeVoiceState {
  channelId: string;
  selfMute: boolean;
  selfDeaf: boolean;
  /** Server mute. */
  mute: boolean;
  /** Server deafen. */
  deaf: boolean;
  sessionId: string;
}

export interface FakeMember extends FakeUser {
  roles: string[];
  joinedAt: string;
}

export interface FakeRole {
  id: string;
  name: string;
  /** Permission bit set as a decimal string, as the API sends it. */
  permissions: string;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  /** Besides @everyone (whose id is the guild id). */
  roles: FakeRole[];
  afkChannelId: string | null;
  channels: FakeChannel[];
  members: Map<string, FakeMember>;
  voiceStates: Map<string, FakeVoiceState>;
  joinedAt: string;
}

/** Administrator; members are owners of their fake guild as far as permissions go. */
const ALL_PERMISSIONS = '8';

export function userPayload(user: FakeUser): APIUser {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: user.globalName === undefined ? user.username : user.globalName,
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
  };
}

export function memberPayload(member: FakeMember, voice?: FakeVoiceState): APIGuildMember {
  return {
    user: userPayload(member),
    ...(member.nick ? { nick: member.nick } : {}),
    roles: [...member.roles],
    joined_at: member.joinedAt,
    deaf: voice?.deaf ?? false,
    mute: voice?.mute ?? false,
    flags: 0 as GuildMemberFlags,
  };
}

/** The voice state of `userId`; `state` undefined means "not in a voice channel" (channel_id null). */
export function voiceStatePayload(
  guild: FakeGuild,
  userId: string,
  state: FakeVoiceState | undefined,
): GatewayVoiceState {
  const member = guild.members.get(userId);
  return {
    guild_id: guild.id,
    channel_id: state?.channelId ?? null,
    user_id: userId,
    ...(member ? { member: memberPayload(member, state) } : {}),
    session_id: state?.sessionId ?? snowflake(),
    deaf: state?.deaf ?? false,
    mute: state?.mute ?? false,
    self_deaf: state?.selfDeaf ?? false,
    self_mute: state?.selfMute ?? false,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null,
  };
}

type GuildChannelPayload = GatewayGuildCreateDispatchData['channels'][number];

function channelPayload(guildId: string, channel: FakeChannel, position: number): GuildChannelPayload {
  const base = { id: channel.id, name: channel.name, guild_id: guildId, position, permission_overwrites: [] };
  switch (channel.type) {
    case ChannelType.GuildVoice:
      return {
        ...base,
        type: ChannelType.GuildVoice,
        bitrate: 64_000,
        user_limit: 0,
        rtc_region: null,
        parent_id: channel.parentId ?? null,
        nsfw: false,
        rate_limit_per_user: 0,
      };
    case ChannelType.GuildCategory:
      return { ...base, type: ChannelType.GuildCategory, parent_id: null, nsfw: false };
    default:
      return {
        ...base,
        type: ChannelType.GuildText,
        topic: null,
        parent_id: channel.parentId ?? null,
        nsfw: false,
        rate_limit_per_user: 0,
        last_message_id: null,
      };
  }
}

/** View, send, connect, speak: no management permissions. */
const EVERYONE_PERMISSIONS = '3148800';

function rolePayload(role: FakeRole, position: number): APIRole {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    position,
    permissions: role.permissions,
    managed: false,
    mentionable: false,
    flags: 0 as RoleFlags,
  };
}

/** A full GUILD_CREATE, with the members and voice states Discord sends to a bot. */
export function guildCreatePayload(guild: FakeGuild): GatewayGuildCreateDispatchData {
  const voiceStates = [...guild.voiceStates].map(([userId, state]) => {
    // Inside GUILD_CREATE, voice states carry no guild_id or member (members come separately).
    const { guild_id: _guildId, member: _member, ...rest } = voiceStatePayload(guild, userId, state);
    return rest;
  });
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    region: 'automatic',
    afk_channel_id: guild.afkChannelId,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: GuildVerificationLevel.None,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: [{ id: guild.id, name: '@everyone', permissions: EVERYONE_PERMISSIONS }, ...guild.roles].map(
      rolePayload,
    ),
    emojis: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0 as GuildSystemChannelFlags,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    preferred_locale: Locale.EnglishUS,
    public_updates_channel_id: null,
    nsfw_level: GuildNSFWLevel.Default,
    stickers: [],
    premium_progress_bar_enabled: false,
    hub_type: null,
    safety_alerts_channel_id: null,
    incidents_data: null,
    joined_at: guild.joinedAt,
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    voice_states: voiceStates,
    members: [...guild.members.values()].map((member) =>
      memberPayload(member, guild.voiceStates.get(member.id)),
    ),
    channels: guild.channels.map((channel, position) => channelPayload(guild.id, channel, position)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export function applicationPayload(applicationId: string, bot: FakeUser): APIApplication {
  return {
    id: applicationId,
    name: bot.username,
    icon: null,
    description: '',
    bot_public: false,
    bot_require_code_grant: false,
    bot: userPayload(bot),
    verify_key: '0'.repeat(64),
    flags: ApplicationFlags.GatewayGuildMembersLimited,
    flags_new: String(ApplicationFlags.GatewayGuildMembersLimited),
    team: null,
    summary: '',
  };
}

export function registeredCommandsPayload(
  applicationId: string,
  guildId: string | null,
  body: RESTPutAPIApplicationCommandsJSONBody,
): APIApplicationCommand[] {
  return body.map((command) => ({
    ...command,
    id: snowflake(),
    application_id: applicationId,
    ...(guildId ? { guild_id: guildId } : {}),
    type: command.type ?? ApplicationCommandType.ChatInput,
    description: 'description' in command ? command.description : '',
    default_member_permissions: command.default_member_permissions ?? null,
    version: snowflake(),
  })) as APIApplicationCommand[];
}

export function messagePayload(
  channelId: string,
  author: FakeUser,
  body: Record<string, unknown>,
): APIMessage {
  return {
    id: snowflake(),
    type: MessageType.Default,
    channel_id: channelId,
    author: userPayload(author),
    content: typeof body.content === 'string' ? body.content : '',
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: Array.isArray(body.embeds) ? (body.embeds as APIMessage['embeds']) : [],
    pinned: false,
    flags: typeof body.flags === 'number' ? body.flags : 0,
    components: [],
  };
}

export interface SlashCommandInput {
  guildId: string;
  channelId: string;
  userId: string;
  /** Command name, as registered. */
  name: string;
  /** String/number/boolean options (type 3 string, 4 integer, 5 boolean, 10 number). */
  options?: { name: string; type: number; value: string | number | boolean }[];
}

export function slashCommandPayload(
  applicationId: string,
  commandId: string,
  guild: FakeGuild,
  member: FakeMember,
  input: SlashCommandInput,
): GatewayInteractionCreateDispatchData {
  return {
    id: snowflake(),
    application_id: applicationId,
    type: InteractionType.ApplicationCommand,
    data: {
      id: commandId,
      name: input.name,
      type: ApplicationCommandType.ChatInput,
      guild_id: guild.id,
      ...(input.options ? { options: input.options } : {}),
    },
    guild_id: guild.id,
    channel: { id: input.channelId, type: ChannelType.GuildText },
    channel_id: input.channelId,
    member: { ...memberPayload(member, guild.voiceStates.get(member.id)), permissions: ALL_PERMISSIONS },
    token: `interaction-token-${snowflake()}`,
    version: 1,
    app_permissions: ALL_PERMISSIONS,
    locale: Locale.EnglishUS,
    guild_locale: Locale.EnglishUS,
    entitlements: [],
    authorizing_integration_owners: { 0: guild.id },
    context: InteractionContextType.Guild,
    attachment_size_limit: 10 * 1024 * 1024,
  } as GatewayInteractionCreateDispatchData;
}
