-- CreateTable
CREATE TABLE "Guild" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "timeZone" TEXT NOT NULL DEFAULT 'UTC',
    "trackingMode" TEXT NOT NULL DEFAULT 'all',
    "afkChannelId" TEXT,
    "pauseOnMute" BOOLEAN NOT NULL DEFAULT false,
    "pauseOnDeafen" BOOLEAN NOT NULL DEFAULT false,
    "pauseWhenSolo" BOOLEAN NOT NULL DEFAULT false,
    "minSessionSeconds" INTEGER NOT NULL DEFAULT 0,
    "resetSchedule" TEXT,
    "periodIndex" INTEGER NOT NULL DEFAULT 0,
    "periodStartedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "planTier" TEXT NOT NULL DEFAULT 'free',
    "webhookSettings" TEXT,
    "webhookSecret" TEXT,
    "botPresent" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "TrackedChannel" (
    "guildId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("guildId", "channelId"),
    CONSTRAINT "TrackedChannel_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "VoiceSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "periodIndex" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME NOT NULL,
    "activeMs" INTEGER NOT NULL,
    "pausedMs" INTEGER NOT NULL,
    "outageMs" INTEGER NOT NULL DEFAULT 0,
    "closeReason" TEXT NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'discord',
    "signedBytes" TEXT,
    "signature" TEXT,
    "keyId" TEXT,
    "payloadHash" TEXT,
    "signedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "VoiceSession_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "OpenVoiceSession" (
    "guildId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("guildId", "userId")
);

-- CreateTable
CREATE TABLE "GuildKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "encryptedPrivateKey" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retiredAt" DATETIME,
    CONSTRAINT "GuildKey_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "AttendancePeriod" (
    "guildId" TEXT NOT NULL,
    "periodIndex" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME NOT NULL,
    "snapshot" TEXT NOT NULL,
    "signedBytes" TEXT,
    "signature" TEXT,
    "keyId" TEXT,
    "payloadHash" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("guildId", "periodIndex"),
    CONSTRAINT "AttendancePeriod_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "LogDestination" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "logType" TEXT NOT NULL,
    "frequency" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LogDestination_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "VerifiedRole" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "roleId" TEXT NOT NULL,
    "thresholdSeconds" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "VerifiedRole_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "CommandUsage" (
    "guildId" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "lastAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("guildId", "command")
);

-- CreateIndex
CREATE INDEX "VoiceSession_guildId_periodIndex_idx" ON "VoiceSession"("guildId", "periodIndex");

-- CreateIndex
CREATE INDEX "VoiceSession_guildId_userId_idx" ON "VoiceSession"("guildId", "userId");

-- CreateIndex
CREATE INDEX "VoiceSession_guildId_signedAt_idx" ON "VoiceSession"("guildId", "signedAt");

-- CreateIndex
CREATE INDEX "GuildKey_guildId_active_idx" ON "GuildKey"("guildId", "active");

-- CreateIndex
CREATE UNIQUE INDEX "LogDestination_guildId_logType_channelId_key" ON "LogDestination"("guildId", "logType", "channelId");

-- CreateIndex
CREATE UNIQUE INDEX "VerifiedRole_guildId_roleId_key" ON "VerifiedRole"("guildId", "roleId");

