-- A recording's loudness, measured by the agent while recording (BS.1770-4 / EBU R128).
-- New nullable columns only (ALTER TABLE ADD COLUMN: no rebuild).
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN "integratedLufs" REAL;
ALTER TABLE "Recording" ADD COLUMN "loudnessRangeLu" REAL;
ALTER TABLE "Recording" ADD COLUMN "truePeakDbtp" REAL;

