-- CreateTable
CREATE TABLE "SettingsObject" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "family" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "SettingsRevision" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "objectId" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "action" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "actorId" TEXT,
    "actorName" TEXT,
    "reason" TEXT,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE INDEX "SettingsObject_family_createdAt_id_idx" ON "SettingsObject"("family", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "SettingsObject_family_name_key" ON "SettingsObject"("family", "name");

-- CreateIndex
CREATE UNIQUE INDEX "SettingsRevision_objectId_revision_key" ON "SettingsRevision"("objectId", "revision");

