-- A recording's loudness, measured by the agent while recording (BS.1770-4 / EBU R128).
-- New nullable columns only.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "integratedLufs" DOUBLE PRECISION,
ADD COLUMN     "loudnessRangeLu" DOUBLE PRECISION,
ADD COLUMN     "truePeakDbtp" DOUBLE PRECISION;
