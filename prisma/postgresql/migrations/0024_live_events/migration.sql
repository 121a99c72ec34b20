-- Live events: committed changes kept for a retention window (resume with Last-Event-ID), and the
-- WebSocket's single-use tickets (stored hashed).
-- CreateTable
CREATE TABLE "LiveEvent" (
    "id" SERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "siteId" TEXT,
    "nodeId" TEXT,
    "subjectType" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "data" TEXT NOT NULL,

    CONSTRAINT "LiveEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LiveEventTicket" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "sessionId" TEXT,
    "apiTokenId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),

    CONSTRAINT "LiveEventTicket_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LiveEvent_at_idx" ON "LiveEvent"("at");

-- CreateIndex
CREATE UNIQUE INDEX "LiveEventTicket_tokenHash_key" ON "LiveEventTicket"("tokenHash");

-- CreateIndex
CREATE INDEX "LiveEventTicket_expiresAt_idx" ON "LiveEventTicket"("expiresAt");
