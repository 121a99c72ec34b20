-- Bits per sample of a recording, read from its file at upload completion. A nullable column
-- only (ALTER TABLE ADD COLUMN: no rebuild).
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN "bitDepth" INTEGER;

