-- Health events: conditions on nodes (agent watchdog reports, controller-raised, manual) and what
-- operators did about them.
-- CreateTable
CREATE TABLE "HealthEvent" (
    "id" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'open',
    "channel" INTEGER,
    "message" TEXT NOT NULL,
    "measured" TEXT NOT NULL DEFAULT '{}',
    "firstSeenAt" TIMESTAMP(3) NOT NULL,
    "lastSeenAt" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 1,
    "resolvedAt" TIMESTAMP(3),
    "suppressedUntil" TIMESTAMP(3),
    "acknowledgedBy" TEXT,
    "acknowledgedAt" TIMESTAMP(3),
    "source" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "HealthEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "HealthEvent_createdAt_id_idx" ON "HealthEvent"("createdAt", "id");

-- CreateIndex
CREATE INDEX "HealthEvent_nodeId_createdAt_idx" ON "HealthEvent"("nodeId", "createdAt");

-- CreateIndex
CREATE INDEX "HealthEvent_status_severity_idx" ON "HealthEvent"("status", "severity");

-- CreateIndex
CREATE INDEX "HealthEvent_type_idx" ON "HealthEvent"("type");

-- AddForeignKey
ALTER TABLE "HealthEvent" ADD CONSTRAINT "HealthEvent_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;
