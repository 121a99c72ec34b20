-- Node management: operator labels and decommissioning. Added in place: rebuilding "Node"
-- would drop it, and its children (jobs, recordings, schedule targets) reference it.
ALTER TABLE "Node" ADD COLUMN "tags" TEXT NOT NULL DEFAULT '[]';
ALTER TABLE "Node" ADD COLUMN "location" TEXT;
ALTER TABLE "Node" ADD COLUMN "notes" TEXT;
ALTER TABLE "Node" ADD COLUMN "decommissionedAt" DATETIME;
