-- Node lifecycle actions: each operator request and how it went, and the pending credential a
-- rotate-credential hands out (it replaces the active one on first use). "Node" only gains a
-- nullable column (ALTER TABLE ADD COLUMN: no rebuild, so its children are kept).
-- AlterTable
ALTER TABLE "Node" ADD COLUMN "pendingCredentialHash" TEXT;

-- CreateTable
CREATE TABLE "NodeLifecycleJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nodeId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'queued',
    "requestedBy" TEXT NOT NULL,
    "message" TEXT,
    "diagnostics" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sentAt" DATETIME,
    "finishedAt" DATETIME,
    "expiresAt" DATETIME NOT NULL,
    CONSTRAINT "NodeLifecycleJob_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "NodeLifecycleJob_nodeId_createdAt_idx" ON "NodeLifecycleJob"("nodeId", "createdAt");

-- CreateIndex
CREATE INDEX "NodeLifecycleJob_state_idx" ON "NodeLifecycleJob"("state");

