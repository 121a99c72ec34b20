-- CreateTable
CREATE TABLE "SettingsObject" (
    "id" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SettingsObject_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SettingsRevision" (
    "id" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "action" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "actorId" TEXT,
    "actorName" TEXT,
    "reason" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SettingsRevision_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SettingsObject_family_createdAt_id_idx" ON "SettingsObject"("family", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "SettingsObject_family_name_key" ON "SettingsObject"("family", "name");

-- CreateIndex
CREATE UNIQUE INDEX "SettingsRevision_objectId_revision_key" ON "SettingsRevision"("objectId", "revision");

