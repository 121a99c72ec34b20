-- Notification integrations: the integrations (URL and secret sealed), their outbox and delivery log,
-- and the quiet period's memory per condition.
-- CreateTable
CREATE TABLE "NotificationIntegration" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "urlHint" TEXT NOT NULL,
    "secret" TEXT,
    "secretHint" TEXT,
    "status" TEXT NOT NULL DEFAULT 'draft',
    "rules" TEXT NOT NULL,
    "quietSeconds" INTEGER NOT NULL,
    "verifiedAt" TIMESTAMP(3),
    "lastVerifyAt" TIMESTAMP(3),
    "lastVerifyStatus" INTEGER,
    "lastVerifyError" TEXT,
    "lastVerifyMs" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "NotificationIntegration_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationDelivery" (
    "id" TEXT NOT NULL,
    "integrationId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "NotificationDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationCondition" (
    "integrationId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "openedSentAt" TIMESTAMP(3) NOT NULL,
    "open" BOOLEAN NOT NULL,

    CONSTRAINT "NotificationCondition_pkey" PRIMARY KEY ("integrationId", "key")
);

-- CreateIndex
CREATE UNIQUE INDEX "NotificationIntegration_name_key" ON "NotificationIntegration"("name");

-- CreateIndex
CREATE INDEX "NotificationDelivery_status_nextAttemptAt_idx" ON "NotificationDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "NotificationDelivery_integrationId_createdAt_idx" ON "NotificationDelivery"("integrationId", "createdAt");

-- AddForeignKey
ALTER TABLE "NotificationDelivery" ADD CONSTRAINT "NotificationDelivery_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "NotificationIntegration"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationCondition" ADD CONSTRAINT "NotificationCondition_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "NotificationIntegration"("id") ON DELETE CASCADE ON UPDATE CASCADE;
