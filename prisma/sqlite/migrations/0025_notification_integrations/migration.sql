-- Notification integrations: the integrations (URL and secret sealed), their outbox and delivery log,
-- and the quiet period's memory per condition.
-- CreateTable
CREATE TABLE "NotificationIntegration" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "urlHint" TEXT NOT NULL,
    "secret" TEXT,
    "secretHint" TEXT,
    "status" TEXT NOT NULL DEFAULT 'draft',
    "rules" TEXT NOT NULL,
    "quietSeconds" INTEGER NOT NULL,
    "verifiedAt" DATETIME,
    "lastVerifyAt" DATETIME,
    "lastVerifyStatus" INTEGER,
    "lastVerifyError" TEXT,
    "lastVerifyMs" INTEGER,
    "createdAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "NotificationDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "integrationId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL,
    "deliveredAt" DATETIME,
    CONSTRAINT "NotificationDelivery_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "NotificationIntegration" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "NotificationCondition" (
    "integrationId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "openedSentAt" DATETIME NOT NULL,
    "open" BOOLEAN NOT NULL,

    PRIMARY KEY ("integrationId", "key"),
    CONSTRAINT "NotificationCondition_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "NotificationIntegration" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "NotificationIntegration_name_key" ON "NotificationIntegration"("name");

-- CreateIndex
CREATE INDEX "NotificationDelivery_status_nextAttemptAt_idx" ON "NotificationDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "NotificationDelivery_integrationId_createdAt_idx" ON "NotificationDelivery"("integrationId", "createdAt");

