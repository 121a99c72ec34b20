-- Session durations in BIGINT: a stay longer than 24.8 days overflowed a 32-bit INTEGER on PostgreSQL.
-- AlterTable
ALTER TABLE "VoiceSession" ALTER COLUMN "activeMs" SET DATA TYPE BIGINT,
ALTER COLUMN "pausedMs" SET DATA TYPE BIGINT,
ALTER COLUMN "outageMs" SET DATA TYPE BIGINT;

