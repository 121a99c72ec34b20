-- Health events: conditions on nodes (agent watchdog reports, controller-raised, manual) and what
-- operators did about them. A new table only: "Node" is not rebuilt (its children would be dropped).
-- CreateTable
CREATE TABLE "HealthEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nodeId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'open',
    "channel" INTEGER,
    "message" TEXT NOT NULL,
    "measured" TEXT NOT NULL DEFAULT '{}',
    "firstSeenAt" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 1,
    "resolvedAt" DATETIME,
    "suppressedUntil" DATETIME,
    "acknowledgedBy" TEXT,
    "acknowledgedAt" DATETIME,
    "source" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "HealthEvent_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "HealthEvent_createdAt_id_idx" ON "HealthEvent"("createdAt", "id");

-- CreateIndex
CREATE INDEX "HealthEvent_nodeId_createdAt_idx" ON "HealthEvent"("nodeId", "createdAt");

-- CreateIndex
CREATE INDEX "HealthEvent_status_severity_idx" ON "HealthEvent"("status", "severity");

-- CreateIndex
CREATE INDEX "HealthEvent_type_idx" ON "HealthEvent"("type");

