-- Log destinations carry several log types and a summary frequency; verified-role grants;
-- the outbound webhook outbox. LogDestination and VerifiedRole had no rows before (no code wrote them).
-- DropIndex
DROP INDEX "LogDestination_guildId_logType_channelId_key";

-- AlterTable
ALTER TABLE "LogDestination" DROP COLUMN "logType",
ADD COLUMN     "lastSummaryAt" TIMESTAMP(3),
ADD COLUMN     "logTypes" TEXT NOT NULL DEFAULT '[]',
ALTER COLUMN "frequency" SET DEFAULT 'off';

-- AlterTable
ALTER TABLE "VerifiedRole" ADD COLUMN     "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "VerifiedRoleGrant" (
    "ruleId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "periodIndex" INTEGER NOT NULL,
    "guildId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "grantedAt" TIMESTAMP(3),

    CONSTRAINT "VerifiedRoleGrant_pkey" PRIMARY KEY ("ruleId","userId","periodIndex")
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL,
    "guildId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "VerifiedRoleGrant_status_idx" ON "VerifiedRoleGrant"("status");

-- CreateIndex
CREATE INDEX "WebhookDelivery_status_nextAttemptAt_idx" ON "WebhookDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "WebhookDelivery_guildId_createdAt_idx" ON "WebhookDelivery"("guildId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "LogDestination_guildId_channelId_key" ON "LogDestination"("guildId", "channelId");

-- AddForeignKey
ALTER TABLE "VerifiedRoleGrant" ADD CONSTRAINT "VerifiedRoleGrant_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "VerifiedRole"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild"("id") ON DELETE CASCADE ON UPDATE CASCADE;

