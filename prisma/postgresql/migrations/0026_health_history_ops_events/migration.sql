-- Health history (one sample a minute, keyed by the minute so replicas insert it once) and the
-- operational event log. New tables only.
-- CreateTable
CREATE TABLE "HealthSample" (
    "minute" TIMESTAMP(3) NOT NULL,
    "takenAt" TIMESTAMP(3) NOT NULL,
    "instanceId" TEXT NOT NULL,
    "figures" TEXT NOT NULL,

    CONSTRAINT "HealthSample_pkey" PRIMARY KEY ("minute")
);

-- CreateTable
CREATE TABLE "OpsEvent" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "level" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "OpsEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OpsEvent_at_id_idx" ON "OpsEvent"("at", "id");

-- CreateIndex
CREATE INDEX "OpsEvent_kind_at_idx" ON "OpsEvent"("kind", "at");
