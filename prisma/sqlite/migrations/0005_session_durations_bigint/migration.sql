-- Session durations in BIGINT: a stay longer than 24.8 days overflowed a 32-bit INTEGER on PostgreSQL.
-- (SQLite integers were already 64-bit; the rebuild keeps the declared type in step. No table references VoiceSession.)
-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_VoiceSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "guildId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "periodIndex" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME NOT NULL,
    "activeMs" BIGINT NOT NULL,
    "pausedMs" BIGINT NOT NULL,
    "outageMs" BIGINT NOT NULL DEFAULT 0,
    "closeReason" TEXT NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'discord',
    "signedBytes" TEXT,
    "signature" TEXT,
    "keyId" TEXT,
    "payloadHash" TEXT,
    "signedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "VoiceSession_guildId_fkey" FOREIGN KEY ("guildId") REFERENCES "Guild" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_VoiceSession" ("activeMs", "channelId", "closeReason", "createdAt", "endedAt", "guildId", "id", "keyId", "outageMs", "pausedMs", "payloadHash", "periodIndex", "signature", "signedAt", "signedBytes", "source", "startedAt", "userId") SELECT "activeMs", "channelId", "closeReason", "createdAt", "endedAt", "guildId", "id", "keyId", "outageMs", "pausedMs", "payloadHash", "periodIndex", "signature", "signedAt", "signedBytes", "source", "startedAt", "userId" FROM "VoiceSession";
DROP TABLE "VoiceSession";
ALTER TABLE "new_VoiceSession" RENAME TO "VoiceSession";
CREATE INDEX "VoiceSession_guildId_periodIndex_idx" ON "VoiceSession"("guildId", "periodIndex");
CREATE INDEX "VoiceSession_guildId_userId_idx" ON "VoiceSession"("guildId", "userId");
CREATE INDEX "VoiceSession_guildId_signedAt_idx" ON "VoiceSession"("guildId", "signedAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

