-- Audit events carry the site, node or guild of their target, so scoped auditors read only theirs.
-- Nullable columns, added in place: existing events keep verifying (the hash covers them only when set).
ALTER TABLE "AuditEvent" ADD COLUMN "siteId" TEXT;
ALTER TABLE "AuditEvent" ADD COLUMN "nodeId" TEXT;
ALTER TABLE "AuditEvent" ADD COLUMN "guildId" TEXT;

-- CreateIndex
CREATE INDEX "AuditEvent_siteId_idx" ON "AuditEvent"("siteId");

-- CreateIndex
CREATE INDEX "AuditEvent_nodeId_idx" ON "AuditEvent"("nodeId");

-- CreateIndex
CREATE INDEX "AuditEvent_guildId_idx" ON "AuditEvent"("guildId");
