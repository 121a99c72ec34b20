-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "recordingProfileId" TEXT,
ADD COLUMN     "watchdogPolicyId" TEXT;

-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "container" TEXT NOT NULL DEFAULT 'wav';

-- CreateIndex
CREATE INDEX "Node_recordingProfileId_idx" ON "Node"("recordingProfileId");

-- CreateIndex
CREATE INDEX "Node_watchdogPolicyId_idx" ON "Node"("watchdogPolicyId");
