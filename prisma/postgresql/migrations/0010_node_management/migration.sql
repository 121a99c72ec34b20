-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "decommissionedAt" TIMESTAMP(3),
ADD COLUMN     "location" TEXT,
ADD COLUMN     "notes" TEXT,
ADD COLUMN     "tags" TEXT NOT NULL DEFAULT '[]';

