-- The SHA-256 the agent declared when its upload began: lets the controller verify and complete a
-- fully held file without the agent (at start-up, or on a status query) after a crash before the commit.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN "expectedSha256" TEXT;
