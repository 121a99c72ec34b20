-- CreateTable
CREATE TABLE "AccessGeneration" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "value" INTEGER NOT NULL DEFAULT 0
);

-- The one row the controllers read and bump.
INSERT INTO "AccessGeneration" ("id", "value") VALUES (1, 0);
