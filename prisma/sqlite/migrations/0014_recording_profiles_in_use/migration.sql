-- Nodes name the recording profile and watchdog policy they use; recordings keep the container
-- their file arrived in. Added in place: rebuilding "Node" or "Recording" would drop their children.
ALTER TABLE "Node" ADD COLUMN "recordingProfileId" TEXT;
ALTER TABLE "Node" ADD COLUMN "watchdogPolicyId" TEXT;
ALTER TABLE "Recording" ADD COLUMN "container" TEXT NOT NULL DEFAULT 'wav';
CREATE INDEX "Node_recordingProfileId_idx" ON "Node"("recordingProfileId");
CREATE INDEX "Node_watchdogPolicyId_idx" ON "Node"("watchdogPolicyId");
