-- The recording library's metadata: notes, custom fields (a JSON object), a legal hold, and tags
-- as rows of their own. Columns added in place (constant defaults: no table rebuild, which would
-- drop the recordings' jobs with the table).
-- AlterTable
ALTER TABLE "Recording" ADD COLUMN "notes" TEXT;
ALTER TABLE "Recording" ADD COLUMN "customFields" TEXT NOT NULL DEFAULT '{}';
ALTER TABLE "Recording" ADD COLUMN "legalHold" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "RecordingTag" (
    "recordingId" TEXT NOT NULL,
    "tag" TEXT NOT NULL,

    PRIMARY KEY ("recordingId", "tag"),
    CONSTRAINT "RecordingTag_recordingId_fkey" FOREIGN KEY ("recordingId") REFERENCES "Recording" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "RecordingTag_tag_idx" ON "RecordingTag"("tag");
