-- Schedules and their occurrences as recording jobs; capture timing and partial-recording facts.
-- AlterTable
ALTER TABLE "RecordingJob" ADD COLUMN     "channelSelection" TEXT,
ADD COLUMN     "occurrenceStart" TIMESTAMP(3),
ADD COLUMN     "parentJobId" TEXT,
ADD COLUMN     "part" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "plannedEndAt" TIMESTAMP(3),
ADD COLUMN     "plannedStartAt" TIMESTAMP(3),
ADD COLUMN     "scheduleId" TEXT;

-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "clockOffsetMs" INTEGER,
ADD COLUMN     "firstSampleAt" TIMESTAMP(3),
ADD COLUMN     "partial" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "partialReason" TEXT,
ADD COLUMN     "plannedStartAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "Schedule" (
    "id" TEXT NOT NULL,
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
    "materializedUntil" TIMESTAMP(3),
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Schedule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScheduleTarget" (
    "scheduleId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "channels" TEXT,

    CONSTRAINT "ScheduleTarget_pkey" PRIMARY KEY ("scheduleId","nodeId")
);

-- CreateIndex
CREATE INDEX "Schedule_createdAt_id_idx" ON "Schedule"("createdAt", "id");

-- CreateIndex
CREATE INDEX "ScheduleTarget_nodeId_idx" ON "ScheduleTarget"("nodeId");

-- CreateIndex
CREATE INDEX "RecordingJob_nodeId_plannedStartAt_idx" ON "RecordingJob"("nodeId", "plannedStartAt");

-- CreateIndex
CREATE UNIQUE INDEX "RecordingJob_scheduleId_nodeId_occurrenceStart_part_key" ON "RecordingJob"("scheduleId", "nodeId", "occurrenceStart", "part");

-- AddForeignKey
ALTER TABLE "RecordingJob" ADD CONSTRAINT "RecordingJob_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "Schedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ScheduleTarget" ADD CONSTRAINT "ScheduleTarget_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "Schedule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ScheduleTarget" ADD CONSTRAINT "ScheduleTarget_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

