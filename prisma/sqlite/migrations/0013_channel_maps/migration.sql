-- CreateTable
CREATE TABLE "ChannelMapAssignment" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nodeId" TEXT NOT NULL,
    "templateId" TEXT,
    "interface" TEXT,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "ChannelMapAssignment_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ChannelMapPlan" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closedAt" DATETIME,
    "closedBy" TEXT
);

-- CreateTable
CREATE TABLE "ChannelMapPlanItem" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "planId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "baseRevision" INTEGER NOT NULL,
    "beforeTemplateId" TEXT,
    "beforeInterface" TEXT,
    "templateId" TEXT,
    "interface" TEXT,
    CONSTRAINT "ChannelMapPlanItem_planId_fkey" FOREIGN KEY ("planId") REFERENCES "ChannelMapPlan" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ChannelMapPlanItem_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "ChannelMapAssignment_nodeId_key" ON "ChannelMapAssignment"("nodeId");

-- CreateIndex
CREATE INDEX "ChannelMapAssignment_templateId_idx" ON "ChannelMapAssignment"("templateId");

-- CreateIndex
CREATE INDEX "ChannelMapPlan_createdAt_id_idx" ON "ChannelMapPlan"("createdAt", "id");

-- CreateIndex
CREATE INDEX "ChannelMapPlanItem_nodeId_idx" ON "ChannelMapPlanItem"("nodeId");

-- CreateIndex
CREATE UNIQUE INDEX "ChannelMapPlanItem_planId_nodeId_key" ON "ChannelMapPlanItem"("planId", "nodeId");

