-- Schedules and their occurrences as recording jobs; capture timing and partial-recording facts.
-- CreateTable
CREATE TABLE "Schedule" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "recurrence" TEXT NOT NULL,
    "timeZone" TEXT NOT NULL,
    "startLocal" TEXT NOT NULL,
    "durationSeconds" INTEGER NOT NULL,
    "preRollSeconds" INTEGER NOT NULL DEFAULT 0,
    "postRollSeconds" INTEGER NOT NULL DEFAULT 0,
    "profile" TEXT NOT NULL,
    "voiceGuildId" TEXT,
    "voiceChannelId" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "skipped" TEXT NOT NULL DEFAULT '[]',
    "materializedUntil" DATETIME,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ScheduleTarget" (
    "scheduleId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "channels" TEXT,

    PRIMARY KEY ("scheduleId", "nodeId"),
    CONSTRAINT "ScheduleTarget_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "Schedule" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ScheduleTarget_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_RecordingJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nodeId" TEXT NOT NULL,
    "recordingId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "leaseExpiresAt" DATETIME,
    "durationSeconds" INTEGER,
    "stopRequested" BOOLEAN NOT NULL DEFAULT false,
    "failureReason" TEXT,
    "requestedBy" TEXT,
    "scheduleId" TEXT,
    "occurrenceStart" DATETIME,
    "plannedStartAt" DATETIME,
    "plannedEndAt" DATETIME,
    "part" INTEGER NOT NULL DEFAULT 1,
    "parentJobId" TEXT,
    "channelSelection" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claimedAt" DATETIME,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "RecordingJob_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "RecordingJob_recordingId_fkey" FOREIGN KEY ("recordingId") REFERENCES "Recording" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "RecordingJob_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "Schedule" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_RecordingJob" ("claimedAt", "createdAt", "durationSeconds", "epoch", "failureReason", "finishedAt", "id", "leaseExpiresAt", "nodeId", "recordingId", "requestedBy", "startedAt", "state", "stopRequested", "updatedAt") SELECT "claimedAt", "createdAt", "durationSeconds", "epoch", "failureReason", "finishedAt", "id", "leaseExpiresAt", "nodeId", "recordingId", "requestedBy", "startedAt", "state", "stopRequested", "updatedAt" FROM "RecordingJob";
DROP TABLE "RecordingJob";
ALTER TABLE "new_RecordingJob" RENAME TO "RecordingJob";
CREATE UNIQUE INDEX "RecordingJob_recordingId_key" ON "RecordingJob"("recordingId");
CREATE INDEX "RecordingJob_nodeId_plannedStartAt_idx" ON "RecordingJob"("nodeId", "plannedStartAt");
CREATE INDEX "RecordingJob_nodeId_state_createdAt_idx" ON "RecordingJob"("nodeId", "state", "createdAt");
CREATE INDEX "RecordingJob_createdAt_id_idx" ON "RecordingJob"("createdAt", "id");
CREATE INDEX "RecordingJob_state_idx" ON "RecordingJob"("state");
CREATE UNIQUE INDEX "RecordingJob_scheduleId_nodeId_occurrenceStart_part_key" ON "RecordingJob"("scheduleId", "nodeId", "occurrenceStart", "part");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Schedule_createdAt_id_idx" ON "Schedule"("createdAt", "id");

-- CreateIndex
CREATE INDEX "ScheduleTarget_nodeId_idx" ON "ScheduleTarget"("nodeId");

-- AlterTable (in place: rebuilding Recording would cascade-delete its jobs)
ALTER TABLE "Recording" ADD COLUMN "plannedStartAt" DATETIME;
ALTER TABLE "Recording" ADD COLUMN "firstSampleAt" DATETIME;
ALTER TABLE "Recording" ADD COLUMN "clockOffsetMs" INTEGER;
ALTER TABLE "Recording" ADD COLUMN "partial" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Recording" ADD COLUMN "partialReason" TEXT;
