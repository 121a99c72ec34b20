-- An agent-cache retention policy removed the agent's cached copy of a recording the controller
-- had confirmed: when, and by which policy. Nullable columns.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "agentCopyRemovedAt" TIMESTAMP(3),
ADD COLUMN     "agentCopyRemovedPolicy" TEXT;
