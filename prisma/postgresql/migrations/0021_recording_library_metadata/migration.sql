-- The recording library's metadata: notes, custom fields (a JSON object), a legal hold, and tags
-- as rows of their own.
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "customFields" TEXT NOT NULL DEFAULT '{}',
ADD COLUMN     "legalHold" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "notes" TEXT;

-- CreateTable
CREATE TABLE "RecordingTag" (
    "recordingId" TEXT NOT NULL,
    "tag" TEXT NOT NULL,

    CONSTRAINT "RecordingTag_pkey" PRIMARY KEY ("recordingId","tag")
);

-- CreateIndex
CREATE INDEX "RecordingTag_tag_idx" ON "RecordingTag"("tag");

-- AddForeignKey
ALTER TABLE "RecordingTag" ADD CONSTRAINT "RecordingTag_recordingId_fkey" FOREIGN KEY ("recordingId") REFERENCES "Recording"("id") ON DELETE CASCADE ON UPDATE CASCADE;
