-- Audio interface inventory: the capture devices each node's agent reports, reconciled by their
-- device reference.
-- CreateTable
CREATE TABLE "NodeInterface" (
    "id" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "ref" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "channels" INTEGER NOT NULL,
    "sampleRate" INTEGER,
    "present" BOOLEAN NOT NULL DEFAULT true,
    "firstSeenAt" TIMESTAMP(3) NOT NULL,
    "lastSeenAt" TIMESTAMP(3) NOT NULL,
    "alias" TEXT,
    "enabledChannels" TEXT,
    "channelNames" TEXT NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "NodeInterface_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "NodeInterface_nodeId_ref_key" ON "NodeInterface"("nodeId", "ref");

-- AddForeignKey
ALTER TABLE "NodeInterface" ADD CONSTRAINT "NodeInterface_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;
