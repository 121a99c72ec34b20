-- The upload queue: a copy of a verified recording per upload provider, leased, retried, verified.
-- CreateTable
CREATE TABLE "UploadQueueItem" (
    "id" TEXT NOT NULL,
    "recordingId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "policyId" TEXT,
    "state" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMP(3),
    "objectKey" TEXT NOT NULL,
    "multipartId" TEXT,
    "multipartParts" TEXT,
    "sizeBytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytesSent" BIGINT NOT NULL DEFAULT 0,
    "verifiedBy" TEXT,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "verifiedAt" TIMESTAMP(3),

    CONSTRAINT "UploadQueueItem_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UploadQueueItem_state_nextAttemptAt_idx" ON "UploadQueueItem"("state", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "UploadQueueItem_recordingId_providerId_key" ON "UploadQueueItem"("recordingId", "providerId");

-- AddForeignKey
ALTER TABLE "UploadQueueItem" ADD CONSTRAINT "UploadQueueItem_recordingId_fkey" FOREIGN KEY ("recordingId") REFERENCES "Recording"("id") ON DELETE CASCADE ON UPDATE CASCADE;
