-- An agent-cache retention policy removed the agent's cached copy of a recording the controller
-- had confirmed: when, and by which policy. Nullable columns, added in place.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN "agentCopyRemovedAt" DATETIME;
ALTER TABLE "Recording" ADD COLUMN "agentCopyRemovedPolicy" TEXT;
