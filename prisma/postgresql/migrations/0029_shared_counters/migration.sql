-- Counters replicas sharing PostgreSQL keep together (route rate limits, login throttles). New table only.
-- CreateTable
CREATE TABLE "SharedCounter" (
    "key" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "resetAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SharedCounter_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "SharedCounter_resetAt_idx" ON "SharedCounter"("resetAt");
