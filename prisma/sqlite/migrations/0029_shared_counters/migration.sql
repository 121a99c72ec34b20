-- Counters replicas sharing PostgreSQL keep together (route rate limits, login throttles); unused on
-- SQLite (one process counts in memory), kept so both schemas are one. New table only.
-- CreateTable
CREATE TABLE "SharedCounter" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "count" INTEGER NOT NULL,
    "resetAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "SharedCounter_resetAt_idx" ON "SharedCounter"("resetAt");
