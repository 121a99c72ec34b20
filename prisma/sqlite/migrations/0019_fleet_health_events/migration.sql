-- Health events of the controller itself (audit_chain) belong to no node: "nodeId" becomes
-- optional. SQLite rebuilds "HealthEvent", which has no children, so nothing cascades.
-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_HealthEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nodeId" TEXT,
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
INSERT INTO "new_HealthEvent" ("acknowledgedAt", "acknowledgedBy", "channel", "count", "createdAt", "firstSeenAt", "id", "lastSeenAt", "measured", "message", "nodeId", "resolvedAt", "severity", "source", "status", "suppressedUntil", "type", "updatedAt") SELECT "acknowledgedAt", "acknowledgedBy", "channel", "count", "createdAt", "firstSeenAt", "id", "lastSeenAt", "measured", "message", "nodeId", "resolvedAt", "severity", "source", "status", "suppressedUntil", "type", "updatedAt" FROM "HealthEvent";
DROP TABLE "HealthEvent";
ALTER TABLE "new_HealthEvent" RENAME TO "HealthEvent";
CREATE INDEX "HealthEvent_createdAt_id_idx" ON "HealthEvent"("createdAt", "id");
CREATE INDEX "HealthEvent_nodeId_createdAt_idx" ON "HealthEvent"("nodeId", "createdAt");
CREATE INDEX "HealthEvent_status_severity_idx" ON "HealthEvent"("status", "severity");
CREATE INDEX "HealthEvent_type_idx" ON "HealthEvent"("type");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

