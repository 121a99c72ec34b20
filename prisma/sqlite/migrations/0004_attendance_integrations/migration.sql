-- Log destinations carry several log types and a summary frequency; verified-role grants;
-- the outbound webhook outbox. LogDestination and VerifiedRole had no rows before (no code wrote them).
-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" DATETIME,
    CONSTRAINT "WebhookDelivery_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_LogDestination" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "logTypes" TEXT NOT NULL DEFAULT '[]',
    "frequency" TEXT NOT NULL DEFAULT 'off',
    "lastSummaryAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LogDestination_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_LogDestination" ("channelId", "createdAt", "frequency", "guildId", "id") SELECT "channelId", "createdAt", "frequency", "guildId", "id" FROM "LogDestination";
DROP TABLE "LogDestination";
ALTER TABLE "new_LogDestination" RENAME TO "LogDestination";
CREATE UNIQUE INDEX "LogDestination_guildId_channelId_key" ON "LogDestination"("guildId", "channelId");
CREATE TABLE "new_VerifiedRole" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "roleId" TEXT NOT NULL,
    "thresholdSeconds" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "VerifiedRole_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_VerifiedRole" ("createdAt", "guildId", "id", "roleId", "thresholdSeconds") SELECT "createdAt", "guildId", "id", "roleId", "thresholdSeconds" FROM "VerifiedRole";
DROP TABLE "VerifiedRole";
ALTER TABLE "new_VerifiedRole" RENAME TO "VerifiedRole";
CREATE UNIQUE INDEX "VerifiedRole_guildId_roleId_key" ON "VerifiedRole"("guildId", "roleId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Created after VerifiedRole is rebuilt, so the rebuild cannot cascade into it.
-- CreateTable
CREATE TABLE "VerifiedRoleGrant" (
    "ruleId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "periodIndex" INTEGER NOT NULL,
    "guildId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "grantedAt" DATETIME,

    PRIMARY KEY ("ruleId", "userId", "periodIndex"),
    CONSTRAINT "VerifiedRoleGrant_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "VerifiedRole" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "VerifiedRoleGrant_status_idx" ON "VerifiedRoleGrant"("status");

-- CreateIndex
CREATE INDEX "WebhookDelivery_status_nextAttemptAt_idx" ON "WebhookDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "WebhookDelivery_guildId_createdAt_idx" ON "WebhookDelivery"("guildId", "createdAt");

