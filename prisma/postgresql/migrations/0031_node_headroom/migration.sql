-- The recording headroom a node reported with its last heartbeat (was kept in one replica's memory).
-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "headroomHours" DOUBLE PRECISION;
