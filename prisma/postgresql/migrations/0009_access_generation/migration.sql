-- CreateTable
CREATE TABLE "AccessGeneration" (
    "id" INTEGER NOT NULL,
    "value" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "AccessGeneration_pkey" PRIMARY KEY ("id")
);

-- The one row the controllers read and bump.
INSERT INTO "AccessGeneration" ("id", "value") VALUES (1, 0);
