-- Audio interface inventory: the capture devices each node's agent reports, reconciled by their
-- device reference. A new table only: "Node" is not rebuilt (its children would be dropped).
-- CreateTable
CREATE TABLE "NodeInterface" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nodeId" TEXT NOT NULL,
    "ref" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "channels" INTEGER NOT NULL,
    "sampleRate" INTEGER,
    "present" BOOLEAN NOT NULL DEFAULT true,
    "firstSeenAt" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL,
    "alias" TEXT,
    "enabledChannels" TEXT,
    "channelNames" TEXT NOT NULL DEFAULT '[]',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "NodeInterface_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "NodeInterface_nodeId_ref_key" ON "NodeInterface"("nodeId", "ref");
