-- Health history (one sample a minute, keyed by the minute so replicas insert it once) and the
-- operational event log. New tables only.
-- CreateTable
CREATE TABLE "HealthSample" (
    "minute" DATETIME NOT NULL PRIMARY KEY,
    "takenAt" DATETIME NOT NULL,
    "instanceId" TEXT NOT NULL,
    "figures" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "OpsEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" DATETIME NOT NULL,
    "kind" TEXT NOT NULL,
    "level" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" TEXT NOT NULL DEFAULT '{}'
);

-- CreateIndex
CREATE INDEX "OpsEvent_at_id_idx" ON "OpsEvent"("at", "id");

-- CreateIndex
CREATE INDEX "OpsEvent_kind_at_idx" ON "OpsEvent"("kind", "at");

