-- Retention removes the controller's own copy of a recording whose copies are verified at upload
-- providers: when, and by which policy. Nullable columns.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "localRemovedAt" TIMESTAMP(3),
ADD COLUMN     "localRemovedPolicy" TEXT;
