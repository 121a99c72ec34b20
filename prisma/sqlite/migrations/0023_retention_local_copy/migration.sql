-- Retention removes the controller's own copy of a recording whose copies are verified at upload
-- providers: when, and by which policy. Nullable columns, added in place.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN "localRemovedAt" DATETIME;
ALTER TABLE "Recording" ADD COLUMN "localRemovedPolicy" TEXT;
