-- Live events: committed changes kept for a retention window (resume with Last-Event-ID), and the
-- WebSocket's single-use tickets (stored hashed).
-- CreateTable
CREATE TABLE "LiveEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "type" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "siteId" TEXT,
    "nodeId" TEXT,
    "subjectType" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "data" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "LiveEventTicket" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tokenHash" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "sessionId" TEXT,
    "apiTokenId" TEXT,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME
);

-- CreateIndex
CREATE INDEX "LiveEvent_at_idx" ON "LiveEvent"("at");

-- CreateIndex
CREATE UNIQUE INDEX "LiveEventTicket_tokenHash_key" ON "LiveEventTicket"("tokenHash");

-- CreateIndex
CREATE INDEX "LiveEventTicket_expiresAt_idx" ON "LiveEventTicket"("expiresAt");

